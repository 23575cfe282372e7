// SPDX-License-Identifier: GPL-2.0
/*
 * Live traffic (issue 10): a generator (bench_gen, run with
 * BPF_F_TEST_XDP_LIVE_FRAMES) sends real frames out of one end of a veth,
 * each with the next of 64k sources; the other end judges them with
 *  - moat, native XDP: tls on 443, ssh on 22 with 10k devops networks;
 *  - nftables at the netdev ingress hook with the same policy: tcp dport
 *    443 accept, tcp dport 22 from a set of the same 10k prefixes accept,
 *    drop the rest (an XDP program that passes everything sits on the veth:
 *    a veth takes frames from XDP only when it has one);
 *  - for the ceiling, an XDP program that counts and drops everything.
 * Each side counts what it judged (moat's stats, the rules' counters); the
 * figure is judged frames per second of wall clock around the generator's
 * run. The receiver's NAPI runs on the generator's CPU, so the generator's
 * own cost is in both figures alike. Addresses: 198.18.0.0/15 only; the
 * veth and the nftables table live in this process's private network
 * namespace (bench_private_ns), gone with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench.h"

#define LIVE_TX		"nclive0"
#define LIVE_RX		"nclive1"
#define N_PREFIX	10000		/* devops /29s from 198.18.0.0 */
#define N_SRC		65536		/* flood sources in 198.19.128.0/17 */
#define LIVE_ROUNDS	5
#define LIVE_SECONDS	0.5

static char *live_yaml(void)
{
	size_t cap = N_PREFIX * 48 + 256, len = 0;
	char *y = malloc(cap);

	if (!y)
		return NULL;
	len += snprintf(y + len, cap - len, "interfaces: [" LIVE_RX "]\ntls: { ports: [443] }\n"
			"ssh:\n  ports: [22]\n  devops:\n");
	for (__u32 i = 0; i < N_PREFIX; i++) {
		__u32 a = 0xc6120000 + i * 8;

		len += snprintf(y + len, cap - len, "    - { cidr: %u.%u.%u.%u/29, name: p%u }\n",
				a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, i);
	}
	return y;
}

static int nft_setup(void)
{
	char path[] = "/tmp/ncbench-nft-XXXXXX", cmd[64];
	FILE *f;
	int fd = mkstemp(path), err;

	if (fd < 0 || !(f = fdopen(fd, "w")))
		return -errno;
	fprintf(f, "table netdev nclive {\n  set devops {\n    type ipv4_addr; flags interval;\n"
		"    elements = {");
	for (__u32 i = 0; i < N_PREFIX; i++) {
		__u32 a = 0xc6120000 + i * 8;

		fprintf(f, "%s %u.%u.%u.%u/29", i ? "," : "", a >> 24, a >> 16 & 255, a >> 8 & 255,
			a & 255);
	}
	fprintf(f, " }\n  }\n  chain in {\n    type filter hook ingress device \"" LIVE_RX
		"\" priority 0; policy accept;\n    tcp dport 443 counter accept\n"
		"    tcp dport 22 ip saddr @devops counter accept\n    counter drop\n  }\n}\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "nft -f %s", path);
	err = system(cmd) ? -EINVAL : 0;
	unlink(path);
	return err;
}

/* Packets nftables judged: the sum of its rules' counters. */
static double nft_count(void)
{
	FILE *p = popen("nft list chain netdev nclive in", "r");
	char line[512], *s;
	double n = 0;

	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		if ((s = strstr(line, "counter packets ")))
			n += strtod(s + strlen("counter packets "), NULL);
	return pclose(p) ? -1 : n;
}

/* Packets a per-CPU map counted: every entry (n of them), every CPU;
 * moat's stats (struct moat_counter) or bench_drop's count (one __u64). */
static double percpu_count(int map, __u32 n, bool moat)
{
	int ncpu = libbpf_num_possible_cpus();
	struct moat_counter *c = calloc(ncpu, sizeof(*c));
	double sum = 0;

	if (!c)
		return -1;
	for (__u32 k = 0; k < n; k++) {
		if (bpf_map_lookup_elem(map, &k, c)) {
			sum = -1;
			break;
		}
		for (int i = 0; i < ncpu; i++)
			sum += moat ? c[i].packets : ((__u64 *)c)[i];
	}
	free(c);
	return sum;
}

struct side {
	const char *name;
	int rx_prog;	/* on LIVE_RX */
	int map;	/* moat's stats, bench_drop's count, or -1: nftables' counters */
	bool moat;
};

static double side_count(const struct side *s)
{
	if (s->map < 0)
		return nft_count();
	return percpu_count(s->map, s->moat ? MOAT_STATS_ENTRIES : 1, s->moat);
}

/* One run: repeat frames; *mpps judged, *sent generated, per second. */
static int live_once(int gen_fd, const struct pkt_buf *pkt, const struct side *s, __u32 repeat,
		     double *mpps, double *sent)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt->buf, .data_size_in = pkt->len,
		    .repeat = repeat, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	double before = side_count(s), after, last;
	struct timespec t0;
	double t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (bpf_prog_test_run_opts(gen_fd, &opts))
		return -errno;
	t = elapsed(&t0);
	/* whatever NAPI left for ksoftirqd: counted, and timed, until the
	 * counters settle */
	after = side_count(s);
	for (;;) {
		usleep(20000);
		last = after;
		after = side_count(s);
		if (after == last)
			break;
		t = elapsed(&t0);
	}
	if (before < 0 || after < 0)
		return -EIO;
	*mpps = (after - before) / t / 1e6;
	*sent = repeat / t / 1e6;
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median over LIVE_ROUNDS of each side, alternating; returns the Mpps. */
static int live_class(const char *cls, int gen_fd, const struct pkt_buf *pkt,
		      const struct side *sides, int n_sides, int rx_ifindex, double *out)
{
	double mpps[4][LIVE_ROUNDS], sent[4][LIVE_ROUNDS], m = 0, probe_s;

	if (n_sides > 4)
		return -EINVAL;
	__u32 repeat[4];
	int err;

	for (int k = 0; k < n_sides; k++) {
		if (bpf_xdp_attach(rx_ifindex, sides[k].rx_prog, XDP_FLAGS_DRV_MODE, NULL))
			return -errno;
		if ((err = live_once(gen_fd, pkt, &sides[k], 100000, &m, &probe_s)))
			return err;
		repeat[k] = m * 1e6 * LIVE_SECONDS;
		if (repeat[k] < 100000)
			repeat[k] = 100000;
	}
	for (int r = 0; r < LIVE_ROUNDS; r++) {
		for (int k = 0; k < n_sides; k++) {
			if (bpf_xdp_attach(rx_ifindex, sides[k].rx_prog, XDP_FLAGS_DRV_MODE, NULL))
				return -errno;
			if ((err = live_once(gen_fd, pkt, &sides[k], repeat[k], &mpps[k][r],
					     &sent[k][r])))
				return err;
		}
	}
	for (int k = 0; k < n_sides; k++) {
		qsort(mpps[k], LIVE_ROUNDS, sizeof(double), cmp_d);
		qsort(sent[k], LIVE_ROUNDS, sizeof(double), cmp_d);
		out[k] = mpps[k][LIVE_ROUNDS / 2];
		printf("%-44s %-10s %8.3f %8.3f\n", cls, sides[k].name, out[k],
		       sent[k][LIVE_ROUNDS / 2]);
		report_mpps(cls, sides[k].name, out[k], sent[k][LIVE_ROUNDS / 2]);
	}
	return 0;
}

int live_run(void)
{
	struct bench_bpf *gen = NULL, *pass = NULL, *drop = NULL;
	struct moat_gen g = {};
	struct moat_pins maps;
	struct pkt_buf ssh, closed;
	__u32 *src = NULL;
	char *yaml = NULL;
	int tx = 0, rx = 0, src_fd = -1, err = -ENOMEM;
	double ssh_m[3], closed_m[3];

	if (bench_private_ns())
		return -EPERM;
	if (system("ip link add " LIVE_TX " type veth peer name " LIVE_RX " && "
		   "ip link set " LIVE_TX " up && ip link set " LIVE_RX " up") ||
	    !(tx = if_nametoindex(LIVE_TX)) || !(rx = if_nametoindex(LIVE_RX))) {
		system("ip link del " LIVE_TX " 2>/dev/null");
		fprintf(stderr, "bench: couldn't make the live veth\n");
		return -ENODEV;
	}
	if (!(yaml = live_yaml()) || !(src = random_hosts(N_SRC)))
		goto out;
	for (__u32 i = 0; i < N_SRC; i++)
		src[i] = 0xc6138000 | (src[i] & 0x7fff);	/* 198.19.128.0/17 */
	shuffle(src, N_SRC);
	if ((src_fd = source_map(src, N_SRC)) < 0 || !(gen = bench_load(N_SRC, src_fd, 0)) ||
	    !(pass = bench_load(1, -1, 0)) || !(drop = bench_load(1, -1, 0))) {
		err = -EINVAL;
		goto out;
	}
	gen->bss->gen_ifindex = tx;
	if ((err = load_gen(&g, yaml)) || (err = nft_setup()) ||
	    (err = syn(&ssh, 4, "198.19.200.1", 22)) || (err = syn(&closed, 4, "198.19.200.1", 80)))
		goto out;
	moat_gen_maps(&g, &maps);

	const struct side sides[] = {
		{ "moat", moat_gen_prog_fd(&g, 0), maps.stats, true },
		{ "nftables", bpf_program__fd(pass->progs.bench_empty), -1, false },
		{ "XDP drop-all", bpf_program__fd(drop->progs.bench_drop),
		  bpf_map__fd(drop->maps.drop_count), false },
	};

	printf("\nLive frames (BPF_F_TEST_XDP_LIVE_FRAMES) into a veth, median of %d runs of "
	       "~%.1f s;\npolicy: tcp/443 accept, tcp/22 from 10k prefixes accept, drop the rest.\n"
	       "%-44s %-10s %8s %8s\n", LIVE_ROUNDS, LIVE_SECONDS, "class (all dropped)", "receiver",
	       "Mpps", "sent");
	err = live_class("SSH SYN flood from 64k sources", bpf_program__fd(gen->progs.bench_gen),
			 &ssh, sides, 3, rx, ssh_m) ?:
	      live_class("closed-port SYN flood from 64k sources",
			 bpf_program__fd(gen->progs.bench_gen), &closed, sides, 3, rx, closed_m);
	if (!err) {
		report_goal("live drop rate, SSH SYN flood: moat / nftables", ssh_m[0] / ssh_m[1], 5,
			    false);
		report_goal("live drop rate, closed-port SYN flood: moat / nftables",
			    closed_m[0] / closed_m[1], 5, false);
		printf("(XDP drop-all: the most any XDP receiver can take here, generator and "
		       "veth included; moat reaches %.0f%% and %.0f%% of it)\n",
		       100 * ssh_m[0] / ssh_m[2], 100 * closed_m[0] / closed_m[2]);
	}
out:
	bpf_xdp_detach(rx, XDP_FLAGS_DRV_MODE, NULL);
	system("nft delete table netdev nclive 2>/dev/null; ip link del " LIVE_TX " 2>/dev/null");
	moat_gen_destroy(&g);
	bench_bpf__destroy(gen);
	bench_bpf__destroy(pass);
	bench_bpf__destroy(drop);
	if (src_fd >= 0)
		close(src_fd);
	free(src);
	free(yaml);
	if (err)
		fprintf(stderr, "Error: live: %s\n", strerror(-err));
	return err;
}
