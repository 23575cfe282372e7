// SPDX-License-Identifier: GPL-2.0
/*
 * What make bench feeds the programs: random addresses (the same every
 * run), moat's tables filled with them, source arrays for the shims, and
 * the packets of each class (tests/prog/pkt.h builds them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "lib/table.h"
#include "bench.h"

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

/* xorshift64*: the same addresses every run. */
static __u64 rng_state = 0x9e3779b97f4a7c15ULL;

__u32 rnd32(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * 0x2545f4914f6cdd1dULL) >> 32;
}

/* n distinct random IPv4 addresses (host order), sorted. */
__u32 *random_hosts(size_t n)
{
	__u32 *a = malloc(n * sizeof(*a));
	size_t have = 0;

	if (!a)
		return NULL;
	while (have < n) {
		size_t w = 0;

		for (size_t i = have; i < n; i++)
			a[i] = rnd32();
		qsort(a, n, sizeof(*a), cmp_u32);
		for (size_t i = 0; i < n; i++)	/* drop duplicates, then refill */
			if (!w || a[i] != a[w - 1])
				a[w++] = a[i];
		have = w;
	}
	return a;
}

void shuffle(__u32 *a, size_t n)
{
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd32() % (i + 1);
		__u32 t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

/* n random hosts (host order, random order) that are not in sorted[]. */
__u32 *hosts_outside(const __u32 *sorted, size_t n_sorted, size_t n)
{
	size_t cand = n + n / 8 + 64, w = 0;
	__u32 *a = random_hosts(cand);

	if (!a)
		return NULL;
	/* both sorted: keep the candidates that are not in the table */
	for (size_t i = 0, j = 0; i < cand && w < n; i++) {
		while (j < n_sorted && sorted[j] < a[i])
			j++;
		if (j == n_sorted || sorted[j] != a[i])
			a[w++] = a[i];
	}
	if (w < n) {
		free(a);
		return NULL;
	}
	shuffle(a, n);
	return a;
}

void mapped(struct moat_addr *m, __u32 host_order)
{
	m->a[0] = 0;
	m->a[1] = 0;
	m->a[2] = htonl(0xffff);
	m->a[3] = htonl(host_order);
}

/* n random hosts into one of moat's tables, through the library's batch
 * fill (filter, entries, count in the order the program relies on). */
int fill_hosts(struct moat_table t, const __u32 *hosts, size_t n)
{
	struct moat_cidr *c = calloc(n, sizeof(*c));
	struct moat_entry *e = calloc(n, sizeof(*e));
	int err = -ENOMEM;

	if (c && e) {
		for (size_t i = 0; i < n; i++) {
			mapped(&c[i].addr, hosts[i]);
			c[i].prefixlen = 128;
			c[i].family = AF_INET;
			e[i].origin = MOAT_ORIGIN_RUNTIME;
			snprintf(e[i].name, sizeof(e[i].name), "bench");
		}
		err = moat_table_fill(t, c, e, n);
	}
	free(c);
	free(e);
	return err;
}

/* The LPM trie has no batch update: one syscall per entry. */
int fill_lpm(int map_fd, const __u32 *hosts, size_t n)
{
	struct moat_lpm_key key = { .prefixlen = 128 };
	__u64 one = 1;

	for (size_t i = 0; i < n; i++) {
		mapped(&key.addr, hosts[i]);
		if (bpf_map_update_elem(map_fd, &key, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* An array map of n IPv4 sources, network order, for a shim. */
int source_map(const __u32 *hosts, __u32 n)
{
	__u32 *keys = malloc(n * sizeof(*keys)), *vals = malloc(n * sizeof(*vals)), cnt = n;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "shim_src", 4, 4, n, NULL);
	int err = fd < 0 ? -errno : 0;

	if (!err && (!keys || !vals))
		err = -ENOMEM;
	for (__u32 i = 0; !err && i < n; i++) {
		keys[i] = i;
		vals[i] = htonl(hosts[i]);
	}
	if (!err && bpf_map_update_batch(fd, keys, vals, &cnt, NULL))
		err = -errno;
	free(keys);
	free(vals);
	if (err && fd >= 0)
		close(fd);
	return err ? err : fd;
}

/* n copies of a template, each with its own IPv4 source. */
struct pkt_buf *with_sources(const struct pkt_buf *tpl, const __u32 *src, size_t n)
{
	struct pkt_buf *p = malloc(n * sizeof(*p));

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		__u32 be = htonl(src[i]);

		p[i] = *tpl;
		memcpy(p[i].buf + SADDR_OFF, &be, 4);
	}
	return p;
}

/* A SYN with the usual 20 bytes of options (MSS, SACK, timestamps, WS). */
int syn(struct pkt_buf *f, int ip, const char *src, __u16 dport)
{
	const struct pkt_spec s = {
		.ip = ip, .src = src, .proto = IPPROTO_TCP, .sport = 40000, .dport = dport,
		.flags = TCPF_SYN, .tcp_opts = 20,
	};

	if (pkt_build(&s, f)) {
		fprintf(stderr, "Error: bench packet spec cannot be built\n");
		return -EINVAL;
	}
	return 0;
}

static int build(struct pkt_buf *f, const struct pkt_spec *s)
{
	if (pkt_build(s, f)) {
		fprintf(stderr, "Error: bench packet spec cannot be built\n");
		return -EINVAL;
	}
	return 0;
}

/* The first bytes of a TLS 1.2 ClientHello, as the program reads them. */
static const char hello12[] = "\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03"
			      "0123456789abcdef0123456789abcdef";

/*
 * Issue 3's packets: a TFO SYN carrying a ClientHello (validated on every
 * run), a data segment of an accepted TLS connection (its handshake, first
 * bytes and the host's ACK of them run first, through XDP and egress), and
 * a UDP answer to a query the host sent (recorded by the egress program).
 */
int stateful_pkts(struct moat_gen *g, struct pkt_buf *tfo, struct pkt_buf *data,
			 struct pkt_buf *reply)
{
	struct pkt_buf syn2, synack, ack, first, host_ack, query;
	const struct pkt_spec s_tfo = {
		.ip = 4, .proto = IPPROTO_TCP, .sport = 40001, .dport = 443, .flags = TCPF_SYN,
		.seq = 1000, .data = hello12, .payload = sizeof(hello12) - 1,
	};
	const struct pkt_spec s_syn = {
		.ip = 4, .proto = IPPROTO_TCP, .sport = 40002, .dport = 443, .flags = TCPF_SYN,
		.seq = 1000,
	};
	const struct pkt_spec s_synack = {
		.ip = 4, .src = PKT_DST4, .dst = PKT_SRC4, .proto = IPPROTO_TCP, .sport = 443,
		.dport = 40002, .flags = TCPF_SYN | TCPF_ACK, .seq = 5000, .ack = 1001,
	};
	const struct pkt_spec s_ack = {
		.ip = 4, .proto = IPPROTO_TCP, .sport = 40002, .dport = 443,
		.flags = TCPF_ACK, .seq = 1001, .ack = 5001,
	};
	const struct pkt_spec s_first = {
		.ip = 4, .proto = IPPROTO_TCP, .sport = 40002, .dport = 443,
		.flags = TCPF_ACK | TCPF_PSH, .seq = 1001, .ack = 5001, .data = hello12,
		.payload = sizeof(hello12) - 1,
	};
	const struct pkt_spec s_host_ack = {
		.ip = 4, .src = PKT_DST4, .dst = PKT_SRC4, .proto = IPPROTO_TCP, .sport = 443,
		.dport = 40002, .flags = TCPF_ACK, .seq = 5001, .ack = 1001 + sizeof(hello12) - 1,
	};
	const struct pkt_spec s_data = {
		.ip = 4, .proto = IPPROTO_TCP, .sport = 40002, .dport = 443,
		.flags = TCPF_ACK | TCPF_PSH, .seq = 1001 + sizeof(hello12) - 1, .ack = 5001,
		.payload = 512,
	};
	const struct pkt_spec s_query = {
		.ip = 4, .src = PKT_DST4, .dst = PKT_SRC4, .proto = IPPROTO_UDP, .sport = 40500,
		.dport = 53, .payload = 32,
	};
	const struct pkt_spec s_reply = {
		.ip = 4, .proto = IPPROTO_UDP, .sport = 53, .dport = 40500, .payload = 64,
	};
	int xdp = moat_gen_prog_fd(g, 0), egress = moat_gen_egress_fd(g, 0);

	return build(tfo, &s_tfo) ?: build(&syn2, &s_syn) ?: build(&synack, &s_synack) ?:
	       build(&ack, &s_ack) ?: build(&first, &s_first) ?: build(&host_ack, &s_host_ack) ?:
	       build(data, &s_data) ?: build(&query, &s_query) ?: build(reply, &s_reply) ?:
	       bench_once(xdp, &syn2) ?: bench_once(egress, &synack) ?: bench_once(xdp, &ack) ?:
	       bench_once(xdp, &first) ?: bench_once(egress, &host_ack) ?: bench_once(egress, &query);
}
