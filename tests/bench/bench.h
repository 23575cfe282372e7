/* SPDX-License-Identifier: GPL-2.0 */
/*
 * make bench, shared by its parts: measure.c (test_run timing, medians,
 * the programs of tests/bench/bench.bpf.c), data.c (addresses, tables,
 * packets), bench.c (moat alone: one packet, 1M sources, a big config),
 * peers.c (the floor and xdp-filter at 0, 10k and 1M entries), live.c
 * (live frames into a veth: moat against nftables), report.c (bench.json,
 * the plot, every goal met or missed).
 */
#ifndef MOAT_BENCH_H
#define MOAT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <linux/types.h>
#include "moat/shared.h"
#include "lib/loader.h"
#include "lib/pins.h"
#include "../prog/pkt.h"
#include "bench.skel.h"

#define ROUNDS		11
#define SADDR_OFF	(14 + 12)	/* IPv4 source in an untagged frame */

#define DEVOPS_HOST	"198.51.100.7"
#define DENY_HOST	"192.0.2.66"

/* Shipped defaults (validation on), a devops host and networks, so that a
 * devops miss walks the hash and then the prefix trie. */
#define YAML_BASE							\
	"interfaces: [lo]\n"						\
	"ssh:\n"							\
	"  ports: [22]\n"						\
	"  devops:\n"							\
	"    - { cidr: " DEVOPS_HOST "/32, name: alice }\n"		\
	"    - { cidr: 203.0.113.0/24, name: lab }\n"			\
	"    - { cidr: 2001:db8:100::/48, name: ops-vpn }\n"

/* Which empty-program figure a case is compared with: the same method. */
enum baseline { BASE_ONE_PKT, BASE_SHIM, BASE_DISTINCT_1, NR_BASES };

struct bench_case {
	const char *name;
	int prog_fd;
	const struct pkt_buf *pkts;	/* one, or n_pkts distinct ones */
	size_t n_pkts;
	__u32 repeat;			/* per test_run call; 0 = calibrate */
	enum baseline base;
	double target;			/* max ratio to empty, 0 = none */
	int want;			/* XDP action the path must return, -1 any */
	bool is_base;
	double samples[ROUNDS];
};

#define CASE(n, fd, p, np, rep, b, tgt, w)					\
	{ .name = (n), .prog_fd = (fd), .pkts = (p), .n_pkts = (np), .repeat = (rep),	\
	  .base = (b), .target = (tgt), .want = (w) }
#define EMPTY(n, fd, p, np, rep, b)						\
	{ .name = (n), .prog_fd = (fd), .pkts = (p), .n_pkts = (np), .repeat = (rep),	\
	  .base = (b), .want = XDP_PASS, .is_base = true }

/* measure.c */
extern unsigned long long bench_round_ns;	/* each round of a case runs this long */
int bench_run(int prog_fd, const struct pkt_buf *f, __u32 repeat, __u32 *ns, __u32 *ret);
int bench_once(int prog_fd, const struct pkt_buf *f);
int run_cases(struct bench_case *cs, size_t n);
double median(const double *v);
void print_table(const struct bench_case *cs, size_t n);
struct bench_bpf *bench_load(__u32 n_src, int src_map, __u32 n_lpm);
struct bench_bpf *shim_load(int src_map, __u32 n_src, int target_fd);
int shim_fd(const struct bench_bpf *shim);
void shims_destroy(void);
int load_gen(struct moat_gen *g, const char *yaml);
double elapsed(const struct timespec *t0);

/* data.c */
__u32 rnd32(void);
__u32 *random_hosts(size_t n);
__u32 *hosts_outside(const __u32 *sorted, size_t n_sorted, size_t n);
void shuffle(__u32 *a, size_t n);
void mapped(struct moat_addr *m, __u32 host_order);
int fill_hosts(struct moat_table t, const __u32 *hosts, size_t n);
int fill_lpm(int map_fd, const __u32 *hosts, size_t n);
int source_map(const __u32 *hosts, __u32 n);
struct pkt_buf *with_sources(const struct pkt_buf *tpl, const __u32 *src, size_t n);
int syn(struct pkt_buf *f, int ip, const char *src, __u16 dport);
int stateful_pkts(struct moat_gen *g, struct pkt_buf *tfo, struct pkt_buf *data,
		  struct pkt_buf *reply);

/* peers.c, live.c, big.c: each section prints its own table */
int bench_private_ns(void);
int peers_run(int empty_fd, int floor_fd);
int live_run(void);
int big_config_run(void);

/* report.c */
void report_ns(const char *table, const char *cls, const char *who, double ns);
void report_mpps(const char *cls, const char *who, double mpps, double sent_mpps);
bool report_goal(const char *what, double value, double goal, bool at_most);
int report_write(void);

#endif /* MOAT_BENCH_H */
