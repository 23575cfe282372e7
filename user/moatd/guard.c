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

#define TCP_ESTABLISHED_ 1

static bool is_ssh_port(const struct moat_config *cfg, unsigned int port)
{
	for (size_t i = 0; cfg && i < cfg->ssh.ports.n; i++)
		if (cfg->ssh.ports.port[i] == port)
			return true;
	return false;
}

/* "0100007F:0016" (v4) or 32 hex digits (v6), words in host order. */
static int parse_sock_addr(const char *s, bool v6, struct moat_cidr *c, unsigned int *port)
{
	char word[9] = "";

	memset(c, 0, sizeof(*c));
	c->prefixlen = 128;
	c->family = v6 ? AF_INET6 : AF_INET;
	if (!v6) {
		c->addr.a[2] = htonl(0xffff);
		memcpy(word, s, 8);
		c->addr.a[3] = strtoul(word, NULL, 16);
		s += 8;
	} else {
		for (int i = 0; i < 4; i++, s += 8) {
			memcpy(word, s, 8);
			c->addr.a[i] = strtoul(word, NULL, 16);
		}
	}
	if (*s != ':')
		return -EINVAL;
	*port = strtoul(s + 1, NULL, 16);
	return 0;
}

static int check_table(const char *path, bool v6, const struct moat_config *old,
		       const struct moat_config *cfg, int old_fd, int prog_fd, char *err,
		       size_t errlen)
{
	char line[512], local[64], remote[64], who[64];
	unsigned int st, lport, rport, verdict, reason;
	struct moat_probe pr = { .proto = IPPROTO_TCP, .tcp_flags = MOAT_PROBE_ACK, .seq = 1 };
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;	/* no IPv6: nothing to guard */
	while (!ret && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*d: %63s %63s %x", local, remote, &st) != 3 ||
		    st != TCP_ESTABLISHED_)
			continue;
		if (parse_sock_addr(local, v6, &pr.to, &lport) ||
		    parse_sock_addr(remote, v6, &pr.from, &rport))
			continue;
		if (!is_ssh_port(old, lport) && !is_ssh_port(cfg, lport))
			continue;
		pr.sport = rport;
		pr.dport = lport;
		if (old_fd >= 0 && !moat_probe_run(old_fd, &pr, &verdict, &reason) &&
		    verdict == MOAT_V_DROP)
			continue;	/* already cut: not ours to protect */
		ret = moat_probe_run(prog_fd, &pr, &verdict, &reason);
		if (ret) {
			snprintf(err, errlen, "lockout_guard: couldn't probe the new policy: %s",
				 strerror(-ret));
			break;
		}
		if (verdict == MOAT_V_DROP) {
			moat_format_cidr(&pr.from, who, sizeof(who));
			snprintf(err, errlen,
				 "lockout_guard: the new policy would cut the SSH session from %s "
				 "to port %u (%s); allow it in ssh.devops, or set lockout_guard: false",
				 who, lport, moat_reason_name(reason));
			ret = -EPERM;
		}
	}
	fclose(f);
	return ret;
}

int moatd_lockout_guard(const struct moat_config *old, const struct moat_config *cfg,
			int old_fd, int prog_fd, char *err, size_t errlen)
{
	int ret;

	if (!cfg->lockout_guard)
		return 0;
	ret = check_table("/proc/net/tcp", false, old, cfg, old_fd, prog_fd, err, errlen);
	if (!ret)
		ret = check_table("/proc/net/tcp6", true, old, cfg, old_fd, prog_fd, err, errlen);
	return ret;
}
