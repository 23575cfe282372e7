// SPDX-License-Identifier: GPL-2.0
/*
 * moat-inspect: the inspector's worker (SPEC §6). Request bytes are
 * hostile, so they are parsed and evaluated here, not in moatd: moatd
 * starts this with the socketpair on fd 3, the worker loads the CRS, then
 * gives up everything (uid nobody, no capabilities, no writable file, a
 * seccomp filter) before it reads a single byte of a request. It answers
 * one verdict per request; moatd decides what to do with it.
 *
 * This thread reads records and reassembles (HTTP/1.1 or HTTP/2, reasm.c);
 * a complete request the pre-filter clears is answered clean here, any
 * other is queued to the evaluation threads (pool.c, the CRS), or answered
 * `shed` when the queue is full.
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
#include "pool.h"
#include "prefilter.h"
#include "reasm.h"

#define SOCK_FD		3
#define NOBODY		65534
#define BUCKETS		4096

struct conn {
	struct conn *next;
	__u64 id;
	struct moat_addr client;
	__be16 port;
	char client_str[INET6_ADDRSTRLEN];
	struct reasm *reasm;
	__u64 last_ts;		/* ts_ns of the record being parsed */
	bool given_up;		/* counted unparsed once; ignored until closed */
};

static struct conn *table[BUCKETS];
static struct crs *crs;
static struct prefilter *prefilter;
static struct pool *pool;
static size_t max_body = 64 * 1024;

/* From the reader and the pool's threads: one datagram each, atomic. */
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
	/* A few µs here spare the queue every request no rule could match:
	 * those are never shed. */
	if (judge_plain(prefilter, r, &v)) {
		send_verdict(&v);
		return;
	}
	if (pool_submit(pool, r, c->client_str, ntohs(c->port), &v)) {
		/* The evaluation threads are behind: counted, not judged. */
		crs_describe(r, &v);
		v.result = MOAT_INSP_SHED;
		send_verdict(&v);
	}
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
	/* Requests begun and never finished, on a connection given up too:
	 * the server may have acted on their headers. */
	reasm_close(c->reasm);
	*p = c->next;
	reasm_free(c->reasm);
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
	c->reasm = reasm_new(max_body, on_request, c);
	if (!c->reasm) {
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
		if (!c->given_up && reasm_feed(c->reasm, (const char *)r->data, r->len))
			give_up(c);
		return;
	}
}

/* After the rules are loaded: nobody, no capabilities, no files. Before
 * any thread starts, so that glibc's set*id broadcast to threads (a signal
 * each, returning through rt_sigreturn) never meets the filter. */
static int drop_privileges(void)
{
	int null;

	/* stdin/stdout/stderr are moatd's log: the worker writes only to its socket. */
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		return -errno;
	close(null);
	if (chdir("/") || setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -errno;
	return 0;
}

/* Then, with the evaluation threads running: few syscalls, on every thread. */
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
	int err;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	/* The evaluation threads exist already (no clone allowed after): the
	 * filter and no_new_privs go onto every thread at once. */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
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
		{ "threads", required_argument, NULL, 't' },
		{ "check", no_argument, NULL, 'c' },
		{}
	};
	const char *rules = "/usr/share/modsecurity-crs/rules";
	static struct moat_insp_rec rec;
	int c, paranoia = 1, threads = 2, err;
	bool check = false;
	char why[512];
	ssize_t n;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rules = optarg; break;
		case 'p': paranoia = atoi(optarg); break;
		case 'b': max_body = strtoull(optarg, NULL, 10); break;
		case 't': threads = atoi(optarg); break;
		case 'c': check = true; break;
		default:
			fprintf(stderr, "usage: moat-inspect [--rules DIR] [--paranoia N] "
				"[--max-body BYTES] [--threads N] [--check]\n");
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
	prefilter = prefilter_load(rules, paranoia, why, sizeof(why));
	if (!prefilter) {
		fprintf(stderr, "moat-inspect: error: pre-filter: %s\n", why);
		return 1;
	}
	if (check) {
		printf("moat-inspect: CRS from %s loaded at paranoia %d\n", rules, paranoia);
		prefilter_free(prefilter);
		crs_free(crs);
		return 0;
	}
	err = drop_privileges();
	if (err) {
		fprintf(stderr, "moat-inspect: error: dropping privileges: %s\n", strerror(-err));
		return 1;
	}
	pool = pool_new(crs, threads, send_verdict);
	if (!pool) {
		/* stderr is /dev/null by now: moatd sees the exit status. */
		fprintf(stderr, "moat-inspect: error: evaluation threads: %s\n", strerror(errno));
		return 1;
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
			_exit(1);
		}
		handle(&rec, n);
	}
	/* moatd closed its end: no one to answer, and the threads may be
	 * inside a transaction, so no exit handlers run under them. */
	_exit(0);
}
