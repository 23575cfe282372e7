// SPDX-License-Identifier: GPL-2.0
/*
 * lockout_guard: before a policy goes in force, every established SSH
 * session on this host is run, as its next ACK, through the new program in
 * dry-run mode. If the new policy would drop one that the policy in force
 * passes, it is refused: an operator must never cut the branch they sit on
 * by a typo in devops. (A session moat already cut, say for a bad banner,
 * is no reason to refuse anything.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "moatd.h"
#include "lib/log.h"
#include "lib/probe.h"
#include "lib/socktab.h"

static bool is_ssh_port(const struct moat_config *cfg, unsigned int port)
{
	for (size_t i = 0; cfg && i < cfg->ssh.ports.n; i++)
		if (cfg->ssh.ports.port[i] == port)
			return true;
	return false;
}

struct guard {
	const struct moat_config *old, *cfg;
	int old_fd, prog_fd;
	char *err;
	size_t errlen;
};

static int check_session(const struct moat_sock *s, void *ctx)
{
	struct guard *g = ctx;
	struct moat_probe pr = { .proto = IPPROTO_TCP, .tcp_flags = MOAT_PROBE_ACK, .seq = 1 };
	unsigned int verdict, reason;
	char who[64];
	int ret;

	if (s->state != MOAT_TCP_ESTABLISHED ||
	    (!is_ssh_port(g->old, s->lport) && !is_ssh_port(g->cfg, s->lport)))
		return 0;
	pr.from = s->remote;
	pr.to = s->local;
	pr.sport = s->rport;
	pr.dport = s->lport;
	if (g->old_fd >= 0 && !moat_probe_run(g->old_fd, &pr, &verdict, &reason) &&
	    verdict == MOAT_V_DROP)
		return 0;	/* already cut: not ours to protect */
	ret = moat_probe_run(g->prog_fd, &pr, &verdict, &reason);
	if (ret) {
		snprintf(g->err, g->errlen, "lockout_guard: couldn't probe the new policy: %s",
			 strerror(-ret));
		return ret;
	}
	if (verdict != MOAT_V_DROP)
		return 0;
	moat_format_cidr(&pr.from, who, sizeof(who));
	snprintf(g->err, g->errlen,
		 "lockout_guard: the new policy would cut the SSH session from %s "
		 "to port %u (%s); allow it in ssh.devops, or set lockout_guard: false",
		 who, s->lport, moat_reason_name(reason));
	return -EPERM;
}

int moatd_lockout_guard(const struct moat_config *old, const struct moat_config *cfg,
			int old_fd, int prog_fd, char *err, size_t errlen)
{
	struct guard g = { old, cfg, old_fd, prog_fd, err, errlen };

	if (!cfg->lockout_guard)
		return 0;
	return moat_socktab_foreach(check_session, &g);
}
