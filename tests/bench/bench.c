// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: what moat's XDP program costs per packet, measured with
 * BPF_PROG_TEST_RUN against an empty XDP program loaded in the same run
 * (no hardware counters in these VMs: PLATFORM.md). Figures are the
 * kernel's own `duration`, ns per program run (integer ns), so syscall
 * overhead is not in them. Cases run ROUNDS times, interleaved; the median
 * is reported. A missed target is reported, not an error: the exit status
 * is non-zero only when something could not be measured.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "moat/reasons.h"
#include "moat/shared.h"
#include "lib/config.h"
#include "lib/loader.h"
#include "lib/table.h"
#include "../prog/pkt.h"
#include "bench.skel.h"
#include <net/if.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <linux/if_link.h>

/* tests/bench/bench_scrape.c, when linked in: run after ours. */
int bench_scrape_run(void) __attribute__((weak));

#define ROUNDS		11
#define ROUND_NS	200000000ULL	/* each round of a case runs >= 0.2 s */
#define MIN_REPEAT	100000U
#define MAX_REPEAT	100000000U
#define N_TABLE		(1U << 20)	/* random devops hosts in the big table */
#define N_PKTS		65536		/* user-built distinct packets, cross-check */
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

#define NO_VALIDATE "  validate: false\ntls: { ports: [443], validate: false }\n"

static const char yaml_default[] = YAML_BASE;
static const char yaml_novalidate[] = YAML_BASE NO_VALIDATE;
static const char yaml_deny[] = YAML_BASE NO_VALIDATE "deny: [" DENY_HOST "]\n";

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

/*
 * The programs moat is measured against and the shim (tests/bench/
 * bench.bpf.c): one instance holds bench_empty, bench_floor and bench_lpm;
 * each shim is an instance of its own (its run counter and the program it
 * feeds), sharing a source array.
 */
static struct bench_bpf *bench_load(__u32 n_src, int src_map, __u32 n_lpm)
{
	struct bench_bpf *b = bench_bpf__open();
	int err = b ? 0 : -errno;

	if (!err && src_map >= 0) {
		bpf_map__set_max_entries(b->maps.shim_src, n_src);
		err = bpf_map__reuse_fd(b->maps.shim_src, src_map);
		b->rodata->shim_mask = n_src - 1;
	}
	if (!err && n_lpm)
		err = bpf_map__set_max_entries(b->maps.lpm, n_lpm);
	if (!err)
		err = bench_bpf__load(b);
	if (err) {
		fprintf(stderr, "bench: couldn't load tests/bench/bench.bpf.c: %s\n", strerror(-err));
		bench_bpf__destroy(b);
		return NULL;
	}
	return b;
}

/* The shims, one per case that needs a different source in every run. */
enum shim_id {
	SH_EMPTY, SH_MISS, SH_HIT, SH_NOV_MISS, SH_NOV_HIT, SH_TLS, SH_NOV_TLS,
	SH_LPM_MISS, SH_LPM_HIT, NR_SHIMS
};

static struct bench_bpf *shims[NR_SHIMS];

static int shim_prog(enum shim_id id)
{
	return shims[id] ? bpf_program__fd(shims[id]->progs.bench_shim) : -1;
}

/* The shim id feeds target_fd the next of n_src sources of src_map. */
static int shim_load(enum shim_id id, int src_map, __u32 n_src, int target_fd)
{
	__u32 zero = 0;

	shims[id] = bench_load(n_src, src_map, 0);
	if (!shims[id])
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(shims[id]->maps.shim_next), &zero, &target_fd,
				BPF_ANY)) {
		fprintf(stderr, "bench: couldn't put the program under test behind the shim: %s\n",
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int load_gen(struct moat_gen *g, const char *yaml)
{
	struct moat_config cfg;
	char err[MOAT_ERR_LEN];
	__u32 slot = 0;
	int ret;

	ret = moat_config_parse("bench.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));
	if (!ret) {
		ret = moat_gen_load(g, &cfg, &slot, 1, NULL, err, sizeof(err));
		if (!ret)
			ret = moat_gen_fill(g, &cfg, err, sizeof(err));
		moat_config_free(&cfg);
	}
	if (ret)
		fprintf(stderr, "Error: %s\n", err);
	return ret;
}

/* One test_run: the kernel's mean ns per run, and the action returned. */
static int run(int prog_fd, const struct pkt_buf *f, __u32 repeat, __u32 *ns, __u32 *ret)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = f->buf,
		.data_size_in = f->len,
		.repeat = repeat,
	);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*ns = opts.duration;
	*ret = opts.retval;
	return 0;
}

/* One round of a case: ns per program run, averaged over its packets. */
static int measure(const struct bench_case *c, double *out)
{
	__u32 ns = 0, ret = 0;
	double sum = 0;
	int err;

	for (size_t i = 0; i < c->n_pkts; i++) {
		err = run(c->prog_fd, &c->pkts[i], c->repeat, &ns, &ret);
		if (err)
			return err;
		/* measuring another path than the one named is an error */
		if (c->want >= 0 && ret != (__u32)c->want) {
			fprintf(stderr, "Error: '%s' returned XDP action %u, want %d\n", c->name,
				ret, c->want);
			return -EPROTO;
		}
		sum += ns;
	}
	*out = sum / c->n_pkts;
	return 0;
}

static int calibrate(struct bench_case *c)
{
	__u32 ns = 0, ret;
	int err = run(c->prog_fd, c->pkts, 100000, &ns, &ret);
	__u64 r;

	if (err)
		return err;
	r = ROUND_NS / (ns ? ns : 1);
	c->repeat = r < MIN_REPEAT ? MIN_REPEAT : r > MAX_REPEAT ? MAX_REPEAT : r;
	return 0;
}

/* All rounds of all cases, interleaved so that drift hits each alike. */
static int run_cases(struct bench_case *cs, size_t n)
{
	int err;

	for (size_t i = 0; i < n; i++)
		if (!cs[i].repeat && (err = calibrate(&cs[i])))
			return err;
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < n; i++)
			if ((err = measure(&cs[i], &cs[i].samples[r])))
				return err;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v)
{
	double s[ROUNDS];

	memcpy(s, v, sizeof(s));
	qsort(s, ROUNDS, sizeof(s[0]), cmp_double);
	return s[ROUNDS / 2];
}

static void print_table(const struct bench_case *cs, size_t n)
{
	double base[NR_BASES] = {};

	for (size_t i = 0; i < n; i++)
		if (cs[i].is_base)
			base[cs[i].base] = median(cs[i].samples);

	printf("%-62s %9s %8s %8s  %s\n", "case", "ns/packet", "x empty", "target", "result");
	for (size_t i = 0; i < n; i++) {
		const struct bench_case *c = &cs[i];
		double m = median(c->samples), b = base[c->base];
		char tgt[16] = "-";

		if (c->target)
			snprintf(tgt, sizeof(tgt), "<= %gx", c->target);
		printf("%-62s %9.1f %8.2f %8s  %s\n", c->name, m, b ? m / b : 0, tgt,
		       !c->target ? "" : m / b <= c->target ? "met" : "MISSED");
	}
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

/* xorshift64*: the same addresses every run. */
static __u64 rng_state = 0x9e3779b97f4a7c15ULL;

static __u32 rnd32(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * 0x2545f4914f6cdd1dULL) >> 32;
}

/* n distinct random IPv4 addresses (host order), sorted. */
static __u32 *random_hosts(size_t n)
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

static void shuffle(__u32 *a, size_t n)
{
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd32() % (i + 1);
		__u32 t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

static void mapped(struct moat_addr *m, __u32 host_order)
{
	m->a[0] = 0;
	m->a[1] = 0;
	m->a[2] = htonl(0xffff);
	m->a[3] = htonl(host_order);
}

/* n random hosts into one of moat's tables, through the library's batch
 * fill (filter, entries, count in the order the program relies on). */
static int fill_hosts(struct moat_table t, const __u32 *hosts, size_t n)
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
static int fill_lpm(int map_fd, const __u32 *hosts, size_t n)
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
static int source_map(const __u32 *hosts, __u32 n)
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
static struct pkt_buf *with_sources(const struct pkt_buf *tpl, const __u32 *src, size_t n)
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
static int syn(struct pkt_buf *f, int ip, const char *src, __u16 dport)
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

/* Runs a packet once through a program, to set up state. */
static int once(int prog_fd, const struct pkt_buf *f)
{
	__u32 ns, ret;

	return run(prog_fd, f, 1, &ns, &ret);
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
static int stateful_pkts(struct moat_gen *g, struct pkt_buf *tfo, struct pkt_buf *data,
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
	       once(xdp, &syn2) ?: once(egress, &synack) ?: once(xdp, &ack) ?:
	       once(xdp, &first) ?: once(egress, &host_ack) ?: once(egress, &query);
}

/*
 * Peers and the floor (issue 10): the same packets through the floor
 * program (tests/bench/floor.bpf.c), moat with 10k devops hosts, 10k deny
 * and 10k bans loaded, and xdp-filter (Debian xdp-tools) with the closest
 * policy it can express: policy deny, allow tcp dst 443 and 22 (it cannot
 * tie a port to a source). xdp-filter holds a host-wide lock and pins under
 * /sys/fs/bpf: it runs in a mount and network namespace of this process's
 * own (a veth there), gone when the bench exits.
 */
#define PEER_N		10000
#define XF_IF		"benchxf0"

static int xdp_filter_prog(void)
{
	const char *cmds[] = {
		"ip link add " XF_IF " type veth peer name benchxf1",
		"ip link set " XF_IF " up", "ip link set benchxf1 up",
		"xdp-filter load " XF_IF " --mode native --policy deny >/dev/null",
		"xdp-filter port 443 --mode dst --proto tcp >/dev/null",
		"xdp-filter port 22 --mode dst --proto tcp >/dev/null",
	};
	__u32 id = 0;
	int ifindex;

	if (unshare(CLONE_NEWNS | CLONE_NEWNET) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		fprintf(stderr, "bench: couldn't make a namespace for xdp-filter: %s\n",
			strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (system(cmds[i])) {
			fprintf(stderr, "bench: '%s' failed (make deps installs xdp-tools)\n",
				cmds[i]);
			return -1;
		}
	}
	ifindex = if_nametoindex(XF_IF);
	if (!ifindex || bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id) || !id) {
		fprintf(stderr, "bench: xdp-filter's program is not on %s\n", XF_IF);
		return -1;
	}
	return bpf_prog_get_fd_by_id(id);
}

struct peer_class {
	const char *name;
	const struct pkt_buf *pkt;
	double goal_floor;	/* moat <= goal x floor; 0: none */
	int moat_want, xf_want;	/* XDP action, -1: any */
};

/*
 * build/bench/bench.json (the peers table, medians in ns per packet) and
 * build/bench/bench.png, a plot of it (gnuplot from Debian): what the
 * README shows. A missing gnuplot costs the picture, not the run.
 */
#define BENCH_DIR	"build/bench"

static void write_results(const struct bench_case *cs, const struct peer_class *pc, size_t n)
{
	static const char *const who[] = { "empty", "floor", "moat", "xdp-filter" };
	FILE *js, *dat;

	if (mkdir(BENCH_DIR, 0755) && errno != EEXIST)
		return;
	js = fopen(BENCH_DIR "/bench.json", "w");
	dat = fopen(BENCH_DIR "/bench.dat", "w");
	if (!js || !dat)
		goto out;
	fprintf(js, "{\n  \"unit\": \"ns per packet (BPF_PROG_TEST_RUN, median of %d rounds)\",\n"
		"  \"classes\": [\n", ROUNDS);
	for (size_t i = 0; i < n; i++) {
		fprintf(js, "    { \"class\": \"%s\"", pc[i].name);
		fprintf(dat, "\"%s\"", pc[i].name);
		for (size_t k = 0; k < 4; k++) {
			double m = median(cs[4 * i + k].samples);

			fprintf(js, ", \"%s\": %.1f", who[k], m);
			fprintf(dat, " %.1f", m);
		}
		fprintf(js, " }%s\n", i + 1 < n ? "," : "");
		fprintf(dat, "\n");
	}
	fprintf(js, "  ]\n}\n");
out:
	if (js)
		fclose(js);
	if (dat)
		fclose(dat);
	if (js && dat && system("gnuplot -e \"set terminal png size 1000,500; "
				"set output '" BENCH_DIR "/bench.png'; set style data histogram; "
				"set style histogram clustered; set style fill solid border -1; "
				"set ylabel 'ns per packet'; set xtics rotate by -20; "
				"set key top left; set yrange [0:*]; "
				"plot '" BENCH_DIR "/bench.dat' using 2:xtic(1) title 'empty', "
				"'' using 3 title 'floor', '' using 4 title 'moat', "
				"'' using 5 title 'xdp-filter'\" 2>/dev/null") == 0)
		printf("wrote %s/bench.json and %s/bench.png\n", BENCH_DIR, BENCH_DIR);
}

static int peers_run(int empty_fd, int floor_fd, int moat_fd, int xf_fd,
		     const struct peer_class *pc, size_t n)
{
	struct bench_case *cs = calloc(4 * n, sizeof(*cs));
	int err;

	if (!cs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cs[4 * i + 0] = (struct bench_case)EMPTY("empty", empty_fd, pc[i].pkt, 1, 0, BASE_ONE_PKT);
		cs[4 * i + 1] = (struct bench_case)CASE("floor", floor_fd, pc[i].pkt, 1, 0, BASE_ONE_PKT,
							0, -1);
		cs[4 * i + 2] = (struct bench_case)CASE("moat", moat_fd, pc[i].pkt, 1, 0, BASE_ONE_PKT, 0,
							pc[i].moat_want);
		cs[4 * i + 3] = (struct bench_case)CASE("xdp-filter", xf_fd, pc[i].pkt, 1, 0,
							BASE_ONE_PKT, 0, pc[i].xf_want);
	}
	err = run_cases(cs, 4 * n);
	if (err)
		goto out;
	printf("%-44s %7s %7s %7s %10s %8s %11s %10s\n", "class (ns/packet)", "empty", "floor",
	       "moat", "xdp-filter", "x floor", "goal", "xf / moat");
	for (size_t i = 0; i < n; i++) {
		double e = median(cs[4 * i].samples), f = median(cs[4 * i + 1].samples);
		double m = median(cs[4 * i + 2].samples), x = median(cs[4 * i + 3].samples);
		char goal[24] = "-";

		if (pc[i].goal_floor)
			snprintf(goal, sizeof(goal), "<=%gx %s", pc[i].goal_floor,
				 m / f <= pc[i].goal_floor ? "met" : "MISSED");
		printf("%-44s %7.1f %7.1f %7.1f %10.1f %8.2f %11s %6.2f %s\n", pc[i].name, e, f, m,
		       x, m / f, goal, x / m, x / m >= 2 ? "met" : "MISSED");
	}
	printf("(xf / moat: goal >= 2, xdp-filter at least twice moat's cost)\n");
	write_results(cs, pc, n);
out:
	free(cs);
	return err;
}

/*
 * A config of 100k devops entries (16000 networks and 84000 hosts, v4 and
 * v6) parsed, loaded into a generation and filled: what a moatd start or
 * reload spends before it attaches (issue 8: goal < 1 s).
 */
#define BIG_NETS	16000
#define BIG_HOSTS	84000

static double elapsed(const struct timespec *t0);

static int big_config_run(void)
{
	size_t cap = (BIG_NETS + BIG_HOSTS) * 64 + 256, len = 0;
	char *yaml = malloc(cap), errbuf[MOAT_ERR_LEN];
	struct moat_config cfg;
	struct moat_gen g = {};
	struct timespec t0;
	__u32 slot = 0;
	int err;

	if (!yaml)
		return -ENOMEM;
	len += snprintf(yaml + len, cap - len, "interfaces: [lo]\nssh:\n  ports: [22]\n  devops:\n");
	for (__u32 i = 0; i < BIG_NETS; i++) {
		if (i % 2)
			len += snprintf(yaml + len, cap - len,
					"    - { cidr: \"2001:db8:%x::/48\", name: n%u }\n", i, i);
		else
			len += snprintf(yaml + len, cap - len,
					"    - { cidr: 10.%u.%u.0/24, name: n%u }\n",
					(i >> 8) & 255, i & 255, i);
	}
	for (__u32 i = 0; i < BIG_HOSTS; i++) {
		if (i % 2)
			len += snprintf(yaml + len, cap - len,
					"    - { cidr: \"2001:db8:ffff::%x:%x\", name: h%u }\n",
					i >> 16, i & 0xffff, i);
		else
			len += snprintf(yaml + len, cap - len,
					"    - { cidr: 172.%u.%u.%u, name: h%u }\n",
					16 + (i >> 16), (i >> 8) & 255, i & 255, i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = moat_config_parse("big.yaml", yaml, len, &cfg, errbuf, sizeof(errbuf));
	if (!err) {
		double parsed = elapsed(&t0);

		double loaded = 0;

		err = moat_gen_load(&g, &cfg, &slot, 1, NULL, errbuf, sizeof(errbuf));
		if (!err) {
			loaded = elapsed(&t0);
			err = moat_gen_fill(&g, &cfg, errbuf, sizeof(errbuf));
		}
		if (!err) {
			double t = elapsed(&t0);

			printf("\n%d devops entries (%d networks, %d hosts, v4 and v6): parsed by "
			       "%.3f s, programs loaded by %.3f s, tables filled by %.3f s: goal < 1 s "
			       "%s\n", BIG_NETS + BIG_HOSTS, BIG_NETS, BIG_HOSTS, parsed, loaded, t,
			       t < 1 ? "met" : "MISSED");
		}
		moat_gen_destroy(&g);
		moat_config_free(&cfg);
	}
	if (err)
		fprintf(stderr, "Error: big config: %s\n", errbuf);
	free(yaml);
	return err;
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(void)
{
	struct moat_gen gen = {}, gen_deny = {}, gen_nov = {}, gen_peer = {};
	struct pkt_buf tls4, tls6, ssh_ok, ssh_no, ssh_deny, tls_deny, port80;
	struct pkt_buf tfo, tls_data, reply;
	struct pkt_buf *miss = NULL, *hit = NULL;
	__u32 *table = NULL, *miss_src = NULL, *hit_src = NULL;
	struct bench_bpf *base = NULL;
	int empty_fd = -1, lpm_fd = -1, lpm_map = -1, miss_map = -1, hit_map = -1;
	int xdp, nov, deny, ret = 1, err = 0;
	bool lpm = false;
	struct moat_pins maps;
	struct timespec t0;

	moat_libbpf_logging(false);
	setvbuf(stdout, NULL, _IOLBF, 0);

	base = bench_load(1, -1, N_TABLE);
	if (!base)
		goto out;
	empty_fd = bpf_program__fd(base->progs.bench_empty);
	lpm_fd = bpf_program__fd(base->progs.bench_lpm);
	lpm_map = bpf_map__fd(base->maps.lpm);
	if (load_gen(&gen, yaml_default) || load_gen(&gen_deny, yaml_deny) ||
	    load_gen(&gen_nov, yaml_novalidate))
		goto out;
	xdp = moat_gen_prog_fd(&gen, 0);
	nov = moat_gen_prog_fd(&gen_nov, 0);
	deny = moat_gen_prog_fd(&gen_deny, 0);
	if (syn(&tls4, 4, NULL, 443) || syn(&tls6, 6, NULL, 443) ||
	    syn(&ssh_ok, 4, DEVOPS_HOST, 22) || syn(&ssh_no, 4, NULL, 22) ||
	    syn(&ssh_deny, 4, DENY_HOST, 22) || syn(&tls_deny, 4, DENY_HOST, 443) ||
	    syn(&port80, 4, NULL, 80) || stateful_pkts(&gen, &tfo, &tls_data, &reply))
		goto out;

	struct bench_case one[] = {
		EMPTY("empty XDP program (r0 = XDP_PASS; exit)", empty_fd, &tls4, 1, 0,
		      BASE_ONE_PKT),
		CASE("TLS SYN v4 (tcp/443)", xdp, &tls4, 1, 0, BASE_ONE_PKT, 1.5, XDP_PASS),
		CASE("TLS SYN v6 (tcp/443)", xdp, &tls6, 1, 0, BASE_ONE_PKT, 1.5, XDP_PASS),
		CASE("SSH SYN v4 from a devops host", xdp, &ssh_ok, 1, 0, BASE_ONE_PKT, 0,
		     XDP_PASS),
		CASE("SSH SYN v4 from a source not in devops (ssh_source)", xdp, &ssh_no, 1, 0,
		     BASE_ONE_PKT, 0, XDP_DROP),
		CASE("closed port SYN v4 (tcp/80)", xdp, &port80, 1, 0, BASE_ONE_PKT, 1.5, XDP_DROP),
		CASE("TFO SYN carrying a TLS 1.2 ClientHello (validated)", xdp, &tfo, 1, 0,
		     BASE_ONE_PKT, 0, XDP_PASS),
		CASE("TLS data segment of an accepted connection", xdp, &tls_data, 1, 0,
		     BASE_ONE_PKT, 0, XDP_PASS),
		CASE("UDP reply to the host's DNS query (reply)", xdp, &reply, 1, 0, BASE_ONE_PKT, 0,
		     XDP_PASS),
		CASE("more: TLS SYN v4, tls.validate false", nov, &tls4, 1, 0, BASE_ONE_PKT, 0,
		     XDP_PASS),
		CASE("more: SSH SYN v4 from devops, ssh.validate false", nov, &ssh_ok, 1, 0,
		     BASE_ONE_PKT, 0, XDP_PASS),
		CASE("more: TLS SYN v4, no validation, deny list of one host", deny, &tls4, 1, 0,
		     BASE_ONE_PKT, 0, XDP_PASS),
		CASE("more: SSH SYN v4 from that deny-listed host (denied)", deny, &ssh_deny, 1, 0,
		     BASE_ONE_PKT, 0, XDP_DROP),
		CASE("more: TLS SYN v4 from that deny-listed host (denied)", deny, &tls_deny, 1, 0,
		     BASE_ONE_PKT, 0, XDP_DROP),
	};

	printf("moat bench: BPF_PROG_TEST_RUN; ns per program run as the kernel reports it\n"
	       "(integer ns); median of %d interleaved rounds of >= %llu ms each.\n\n"
	       "One packet, repeated:\n", ROUNDS, ROUND_NS / 1000000);
	err = run_cases(one, sizeof(one) / sizeof(one[0]));
	if (err)
		goto run_failed;
	print_table(one, sizeof(one) / sizeof(one[0]));

	/* The big table: 1M random devops hosts. Sources: 1M others (miss)
	 * and the 1M hosts themselves in random order (hit). */
	table = random_hosts(N_TABLE);
	miss_src = random_hosts(N_TABLE + N_TABLE / 8);
	hit_src = malloc(N_TABLE * sizeof(*hit_src));
	if (!table || !miss_src || !hit_src) {
		fprintf(stderr, "Error: out of memory\n");
		goto out;
	}
	{
		size_t w = 0;

		/* both sorted: keep the candidates that are not in the table */
		for (size_t i = 0, j = 0; i < N_TABLE + N_TABLE / 8 && w < N_TABLE; i++) {
			while (j < N_TABLE && table[j] < miss_src[i])
				j++;
			if (j == N_TABLE || table[j] != miss_src[i])
				miss_src[w++] = miss_src[i];
		}
		if (w < N_TABLE) {
			fprintf(stderr, "Error: not enough random sources outside the table\n");
			goto out;
		}
	}
	memcpy(hit_src, table, N_TABLE * sizeof(*hit_src));
	shuffle(hit_src, N_TABLE);
	shuffle(miss_src, N_TABLE);

	moat_gen_maps(&gen, &maps);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = fill_hosts(moat_pins_devops(&maps), table, N_TABLE);
	if (!err) {
		moat_gen_maps(&gen_nov, &maps);
		err = fill_hosts(moat_pins_devops(&maps), table, N_TABLE);
	}
	if (err) {
		fprintf(stderr, "Error: couldn't fill the devops table: %s\n", strerror(-err));
		goto out;
	}
	printf("\ndevops tables: %u random /32 entries added to two generations in %.2f s\n"
	       "(batched updates)\n", N_TABLE, elapsed(&t0));

	miss_map = source_map(miss_src, N_TABLE);
	hit_map = source_map(hit_src, N_TABLE);
	if (miss_map < 0 || hit_map < 0) {
		fprintf(stderr, "Error: couldn't create the source arrays: %s\n",
			strerror(-(miss_map < 0 ? miss_map : hit_map)));
		goto out;
	}
	if (shim_load(SH_EMPTY, miss_map, N_TABLE, empty_fd) ||
	    shim_load(SH_MISS, miss_map, N_TABLE, xdp) ||
	    shim_load(SH_HIT, hit_map, N_TABLE, xdp) ||
	    shim_load(SH_NOV_MISS, miss_map, N_TABLE, nov) ||
	    shim_load(SH_NOV_HIT, hit_map, N_TABLE, nov) ||
	    shim_load(SH_TLS, miss_map, N_TABLE, xdp) ||
	    shim_load(SH_NOV_TLS, miss_map, N_TABLE, nov))
		goto out;

	/* Optional contrast: the same 1M hosts in a plain LPM trie. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((err = fill_lpm(lpm_map, table, N_TABLE)))
		fprintf(stderr, "bench: no LPM contrast: %s\n", strerror(-err));
	else if (!shim_load(SH_LPM_MISS, miss_map, N_TABLE, lpm_fd) &&
		 !shim_load(SH_LPM_HIT, hit_map, N_TABLE, lpm_fd))
		lpm = true;
	if (lpm)
		printf("LPM trie (contrast): the same entries added in %.2f s (one by one)\n",
		       elapsed(&t0));

	struct bench_case distinct[] = {
		EMPTY("shim, then the empty XDP program", shim_prog(SH_EMPTY), &ssh_no, 1, 0, BASE_SHIM),
		CASE("1M devops, SSH SYN, source not in devops (ssh_source)", shim_prog(SH_MISS), &ssh_no,
		     1, 0, BASE_SHIM, 8, XDP_DROP),
		CASE("1M devops, SSH SYN, source in devops (ssh)", shim_prog(SH_HIT), &ssh_no, 1, 0,
		     BASE_SHIM, 8, XDP_PASS),
		CASE("more: the same, not in devops, ssh.validate false", shim_prog(SH_NOV_MISS), &ssh_no,
		     1, 0, BASE_SHIM, 0, XDP_DROP),
		CASE("more: the same, in devops, ssh.validate false", shim_prog(SH_NOV_HIT), &ssh_no,
		     1, 0, BASE_SHIM, 0, XDP_PASS),
		CASE("more: TLS SYN v4 from 1M sources (a SYN flood)", shim_prog(SH_TLS), &tls4, 1, 0,
		     BASE_SHIM, 0, XDP_PASS),
		CASE("more: the same, tls.validate false", shim_prog(SH_NOV_TLS), &tls4, 1, 0, BASE_SHIM, 0,
		     XDP_PASS),
		CASE("contrast, not moat: bare LPM lookup, 1M /128, miss", shim_prog(SH_LPM_MISS),
		     &ssh_no, 1, 0, BASE_SHIM, 0, XDP_DROP),
		CASE("contrast, not moat: bare LPM lookup, 1M /128, hit", shim_prog(SH_LPM_HIT),
		     &ssh_no, 1, 0, BASE_SHIM, 0, XDP_PASS),
	};

	printf("\nA different source in every run: a shim program writes the next of 1M\n"
	       "sources into the frame, then tail-calls the program under test; both are\n"
	       "timed, and compared with the shim in front of the empty program.\n");
	err = run_cases(distinct, sizeof(distinct) / sizeof(distinct[0]) - (lpm ? 0 : 2));
	if (err)
		goto run_failed;
	print_table(distinct, sizeof(distinct) / sizeof(distinct[0]) - (lpm ? 0 : 2));

	/* Cross-check without the shim: distinct packets built here, one
	 * test_run each with repeat 1 (repeat > 1 re-registers the program with
	 * the XDP dispatcher, two RCU grace periods per call on this kernel). */
	miss = with_sources(&ssh_no, miss_src, N_PKTS);
	hit = with_sources(&ssh_no, hit_src, N_PKTS);
	if (!miss || !hit) {
		fprintf(stderr, "Error: out of memory\n");
		goto out;
	}

	struct bench_case cold[] = {
		EMPTY("empty XDP program", empty_fd, miss, N_PKTS, 1, BASE_DISTINCT_1),
		CASE("1M devops, SSH SYN, source not in devops (ssh_source)", xdp, miss, N_PKTS, 1,
		     BASE_DISTINCT_1, 0, XDP_DROP),
		CASE("1M devops, SSH SYN, source in devops (ssh)", xdp, hit, N_PKTS, 1,
		     BASE_DISTINCT_1, 0, XDP_PASS),
	};

	printf("\nCross-check: %d packets with distinct sources built in user space, one\n"
	       "test_run each, repeat 1; mean of the kernel's timing of each single run\n"
	       "(its clock reads included, so the empty program is measured the same way).\n",
	       N_PKTS);
	err = run_cases(cold, sizeof(cold) / sizeof(cold[0]));
	if (err)
		goto run_failed;
	print_table(cold, sizeof(cold) / sizeof(cold[0]));

	if (big_config_run())
		goto out;

	/* Peers and the floor: moat with 10k devops, deny and ban entries. */
	{
		struct pkt_buf ssh_stranger, ssh_devops10k;
		__u32 *hosts = random_hosts(3 * PEER_N);
		int xf_fd = -1;

		if (!hosts || load_gen(&gen_peer, yaml_default)) {
			fprintf(stderr, "Error: couldn't set up the peers section\n");
			free(hosts);
			goto out;
		}
		moat_gen_maps(&gen_peer, &maps);
		err = fill_hosts(moat_pins_devops(&maps), hosts, PEER_N) ?:
		      fill_hosts(moat_pins_deny(&maps), hosts + PEER_N, PEER_N) ?:
		      fill_hosts(moat_pins_ban(&maps), hosts + 2 * PEER_N, PEER_N) ?:
		      stateful_pkts(&gen_peer, &tfo, &tls_data, &reply) ?:
		      syn(&ssh_stranger, 4, NULL, 22);
		ssh_devops10k = ssh_stranger;
		{
			__u32 be = htonl(hosts[PEER_N / 2]);

			memcpy(ssh_devops10k.buf + SADDR_OFF, &be, 4);
		}
		free(hosts);
		if (!err && (xf_fd = xdp_filter_prog()) < 0)
			err = -ENOENT;
		if (!err) {
			const struct peer_class pc[] = {
				{ "TLS SYN v4", &tls4, 1.5, XDP_PASS, XDP_PASS },
				{ "TLS SYN v6", &tls6, 1.5, XDP_PASS, XDP_PASS },
				{ "TLS data (accepted connection)", &tls_data, 1.5, XDP_PASS, XDP_PASS },
				{ "closed port (tcp/80)", &port80, 1.5, XDP_DROP, XDP_DROP },
				{ "SSH SYN from a devops host (10k table)", &ssh_devops10k, 2, XDP_PASS,
				  XDP_PASS },
				{ "SSH SYN from another source", &ssh_stranger, 0, XDP_DROP, XDP_PASS },
				{ "UDP reply to the host's query", &reply, 0, XDP_PASS, -1 },
			};

			printf("\nPeers and the floor, the same packets; moat with %d devops hosts, "
			       "%d deny and %d bans.\n", PEER_N, PEER_N, PEER_N);
			err = peers_run(empty_fd, bpf_program__fd(base->progs.bench_floor),
					moat_gen_prog_fd(&gen_peer, 0), xf_fd, pc,
					sizeof(pc) / sizeof(pc[0]));
		}
		if (xf_fd >= 0)
			close(xf_fd);
		if (err)
			goto run_failed;
	}
	ret = 0;

	if (bench_scrape_run) {
		printf("\n");
		if (bench_scrape_run())
			ret = 1;
	}
	goto out;

run_failed:
	fprintf(stderr, "Error: BPF_PROG_TEST_RUN failed: %s\n", strerror(-err));
out:
	free(miss);
	free(hit);
	free(table);
	free(miss_src);
	free(hit_src);
	for (int i = 0; i < NR_SHIMS; i++)
		bench_bpf__destroy(shims[i]);
	if (miss_map >= 0)
		close(miss_map);
	if (hit_map >= 0)
		close(hit_map);
	bench_bpf__destroy(base);
	moat_gen_destroy(&gen);
	moat_gen_destroy(&gen_deny);
	moat_gen_destroy(&gen_nov);
	moat_gen_destroy(&gen_peer);
	return ret;
}
