// SPDX-License-Identifier: GPL-2.0
/*
 * moat-inspect: the inspector's worker (SPEC §6). Request bytes are
 * hostile, so they are parsed and evaluated here, not in moatd: moatd
 * starts this with the socketpair on fd 3, the worker loads the CRS, then
 * gives up everything (uid nobody, no capabilities, no writable file, a
 * seccomp filter) before it reads a single byte of a request. It answers
 * one verdict per request; moatd decides what to do with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <seccomp.h>
#include "moat/shared.h"
#include "moat/inspect.h"
#include "crs.h"
#include "http1.h"

#define SOCK_FD		3
#define NOBODY		65534
#define BUCKETS		4096

struct conn {
	struct conn *next;
	__u64 id;
	struct moat_addr client;
	__be16 port;
	char client_str[INET6_ADDRSTRLEN];
	struct h1_conn *h1;
	__u64 last_ts;		/* ts_ns of the record being parsed */
	bool given_up;		/* counted unparsed once; ignored until closed */
};

static struct conn *table[BUCKETS];
static struct crs *crs;
static size_t max_body = 64 * 1024;

static void send_verdict(const struct moat_insp_verdict *v)
{
	/* moatd gone: nothing left to answer to. */
	if (send(SOCK_FD, v, sizeof(*v), MSG_NOSIGNAL) < 0 && errno == EPIPE)
		_exit(0);
}

static void verdict_init(struct moat_insp_verdict *v, const struct conn *c)
{
	memset(v, 0, sizeof(*v));
	v->conn = c->id;
	v->client = c->client;
	v->port = c->port;
}

static void on_request(void *ctx, const struct h1_request *r)
{
	struct conn *c = ctx;
	struct moat_insp_verdict v;

	verdict_init(&v, c);
	v.read_ns = c->last_ts;	/* the record that completed this request */
	crs_eval(crs, r, c->client_str, ntohs(c->port), &v);
	/* Cut short by the end of the connection, and nothing found in what came. */
	if (r->incomplete && v.result != MOAT_INSP_DETECTED)
		v.result = MOAT_INSP_UNPARSED;
	send_verdict(&v);
}

static void give_up(struct conn *c)
{
	struct moat_insp_verdict v;

	if (c->given_up)
		return;
	c->given_up = true;
	verdict_init(&v, c);
	v.result = MOAT_INSP_UNPARSED;
	send_verdict(&v);
}

static struct conn **slot(__u64 id)
{
	struct conn **p = &table[id % BUCKETS];

	while (*p && (*p)->id != id)
		p = &(*p)->next;
	return p;
}

/* The connection is over: a request it left unfinished is evaluated as it is. */
static void conn_drop(__u64 id)
{
	struct conn **p = slot(id), *c = *p;

	if (!c)
		return;
	if (!c->given_up)
		h1_end(c->h1);
	*p = c->next;
	h1_free(c->h1);
	free(c);
}

static struct conn *conn_get(const struct moat_insp_rec *r)
{
	struct conn **p = slot(r->conn), *c = *p;
	struct in6_addr a;

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = r->conn;
	c->client = r->client;
	c->port = r->port;
	memcpy(&a, &r->client, sizeof(a));
	if (IN6_IS_ADDR_V4MAPPED(&a))
		inet_ntop(AF_INET, &a.s6_addr[12], c->client_str, sizeof(c->client_str));
	else
		inet_ntop(AF_INET6, &a, c->client_str, sizeof(c->client_str));
	c->h1 = h1_new(max_body, on_request, c);
	if (!c->h1) {
		free(c);
		return NULL;
	}
	*p = c;
	return c;
}

static void handle(const struct moat_insp_rec *r, size_t len)
{
	struct conn *c;

	if (len < MOAT_INSP_REC_HDR || r->len > len - MOAT_INSP_REC_HDR)
		return;	/* moatd sends whole records; anything else is not one */
	switch (r->type) {
	case MOAT_INSP_OPEN:
	case MOAT_INSP_CLOSE:
		conn_drop(r->conn);	/* an SSL* reused: a new stream */
		return;
	case MOAT_INSP_DATA:
		c = conn_get(r);
		if (!c)
			return;
		c->last_ts = r->ts_ns;
		if (r->flags & MOAT_INSP_F_GAP)
			give_up(c);	/* bytes are missing: the stream can't be followed */
		if (!c->given_up && h1_feed(c->h1, (const char *)r->data, r->len))
			give_up(c);
		return;
	}
}

/* After the rules are loaded: nobody, no capabilities, no files, few syscalls. */
static int sandbox(void)
{
	static const int allowed[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
		SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(futex), SCMP_SYS(mmap),
		SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise),
		SCMP_SYS(mprotect), SCMP_SYS(rt_sigprocmask), SCMP_SYS(clock_gettime),
		SCMP_SYS(gettimeofday), SCMP_SYS(getrandom), SCMP_SYS(exit),
		SCMP_SYS(exit_group),
	};
	scmp_filter_ctx ctx;
	int null, err;

	/* stdin/stdout/stderr are moatd's log: the worker writes only to its socket. */
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		return -errno;
	close(null);
	if (chdir("/") || setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	err = 0;
	for (size_t i = 0; !err && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "paranoia", required_argument, NULL, 'p' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "check", no_argument, NULL, 'c' },
		{}
	};
	const char *rules = "/usr/share/modsecurity-crs/rules";
	static struct moat_insp_rec rec;
	int c, paranoia = 1, err;
	bool check = false;
	char why[512];
	ssize_t n;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rules = optarg; break;
		case 'p': paranoia = atoi(optarg); break;
		case 'b': max_body = strtoull(optarg, NULL, 10); break;
		case 'c': check = true; break;
		default:
			fprintf(stderr, "usage: moat-inspect [--rules DIR] [--paranoia N] "
				"[--max-body BYTES] [--check]\n");
			return 2;
		}
	}
	/* Whatever moatd's process held open without CLOEXEC stays out. */
	if (!check && close_range(SOCK_FD + 1, ~0U, 0)) {
		fprintf(stderr, "moat-inspect: error: close_range: %s\n", strerror(errno));
		return 1;
	}
	mallopt(M_ARENA_MAX, 1);
	crs = crs_load(rules, paranoia, why, sizeof(why));
	if (!crs) {
		fprintf(stderr, "moat-inspect: error: %s\n", why);
		return 1;
	}
	if (check) {
		printf("moat-inspect: CRS from %s loaded at paranoia %d\n", rules, paranoia);
		crs_free(crs);
		return 0;
	}
	err = sandbox();
	if (err) {
		fprintf(stderr, "moat-inspect: error: sandbox: %s\n", strerror(-err));
		return 1;
	}
	while ((n = recv(SOCK_FD, &rec, sizeof(rec), 0)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		handle(&rec, n);
	}
	return 0;
}
