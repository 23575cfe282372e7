// SPDX-License-Identifier: GPL-2.0
/*
 * Peers and the floor (issue 10), in one run, on the same packets: the
 * floor program (bench.bpf.c: the least any policy program can do), moat
 * with N devops hosts, N deny and N bans (N = 0, 10k, 1M), and xdp-filter
 * (Debian xdp-tools) with the closest policy it can express: policy deny,
 * allow tcp dst 443 and 22 (it cannot tie a port to a source), and N
 * allowed sources in its IPv4 table (up to the size it was built with).
 * xdp-filter holds a host-wide lock and pins under /sys/fs/bpf: it runs in
 * a mount and network namespace of this process's own, gone when the bench
 * exits. Classes that need a different source in every packet go through
 * a shim, and the ratios compare shim + moat with shim + floor.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/mount.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench.h"

#define XF_IF		"ncxf0"
#define XF_V4_PIN	"/sys/fs/bpf/xdp-filter/filter_ipv4"
#define XF_SRC		1		/* xdp-filter's MAP_FLAG_SRC */
#define N_FLOOD		(1U << 20)	/* random sources of the SYN flood */
#define PEERS_ROUND_NS	50000000ULL
#define MAX_CASES	48

enum who { W_EMPTY, W_FLOOR, W_MOAT, W_XF, NR_WHO };
static const char *const who_name[NR_WHO] = { "empty", "floor", "moat", "xdp-filter" };

static const char yaml_peers[] = YAML_BASE;

/* Private mount and network namespaces for the rest of the run (once). */
int bench_private_ns(void)
{
	static int done;

	if (done)
		return 0;
	if (unshare(CLONE_NEWNS | CLONE_NEWNET) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") ||
	    system("ip link set lo up")) {
		fprintf(stderr, "bench: couldn't make private namespaces: %s\n", strerror(errno));
		return -1;
	}
	done = 1;
	return 0;
}

/* xdp-filter on a veth of our own: its program (its dispatcher) as an fd. */
static int xdp_filter_prog(void)
{
	const char *cmds[] = {
		"ip link add " XF_IF " type veth peer name ncxf1",
		"ip link set " XF_IF " up", "ip link set ncxf1 up",
		"xdp-filter load " XF_IF " --mode native --policy deny >/dev/null",
		"xdp-filter port 443 --mode dst --proto tcp >/dev/null",
		"xdp-filter port 22 --mode dst --proto tcp >/dev/null",
	};
	__u32 id = 0;
	int ifindex;

	if (bench_private_ns())
		return -1;
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

/* xdp-filter's allowed IPv4 sources: the first n of hosts (host order);
 * how many it took (its table has a fixed size), or -errno. */
static long xf_sources(int map, const __u32 *hosts, size_t n, bool del)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	__u64 val = XF_SRC;

	if (bpf_obj_get_info_by_fd(map, &info, &len))
		return -errno;
	if (n > info.max_entries)
		n = info.max_entries;
	for (size_t i = 0; i < n; i++) {
		__u32 be = htonl(hosts[i]);

		if (del ? bpf_map_delete_elem(map, &be) : bpf_map_update_elem(map, &be, &val, BPF_ANY))
			return -errno;
	}
	return n;
}

struct peer_class {
	const char *name;
	const struct pkt_buf *pkt;
	int src_map;		/* >= 0: a shim feeds it a new source of n_src each run */
	__u32 n_src;
	double goal_floor;	/* moat <= goal x floor; 0: none */
	int moat_want, xf_want;	/* XDP action, -1: any */
};

/* An ARRAY of n_slots sources (a power of two), hosts[] repeated. */
static int cycled_source_map(const __u32 *hosts, size_t n, __u32 n_slots)
{
	__u32 *a = malloc(n_slots * sizeof(*a));
	int fd;

	if (!a)
		return -ENOMEM;
	for (__u32 i = 0; i < n_slots; i++)
		a[i] = hosts[i % n];
	fd = source_map(a, n_slots);
	free(a);
	return fd;
}

/* The cases of one class: one per program, shimmed when it needs to be. */
static int class_cases(struct bench_case *cs, const struct peer_class *pc, const int fds[NR_WHO])
{
	int want[NR_WHO] = { XDP_PASS, -1, pc->moat_want, pc->xf_want };

	for (int w = 0; w < NR_WHO; w++) {
		int fd = fds[w];

		if (pc->src_map >= 0)
			fd = shim_fd(shim_load(pc->src_map, pc->n_src, fds[w]));
		if (fd < 0)
			return -EINVAL;
		cs[w] = (struct bench_case)CASE(pc->name, fd, pc->pkt, 1, 0, BASE_ONE_PKT, 0,
						want[w]);
	}
	return 0;
}

static void print_class(const char *table, const struct peer_class *pc, const struct bench_case *cs)
{
	double e = median(cs[W_EMPTY].samples), f = median(cs[W_FLOOR].samples);
	double m = median(cs[W_MOAT].samples), x = median(cs[W_XF].samples);
	char what[160];

	printf("%-52s %7.1f %7.1f %7.1f %10.1f %8.2f %9.2f\n", pc->name, e, f, m, x, m / f, x / m);
	for (int w = 0; w < NR_WHO; w++)
		report_ns(table, pc->name, who_name[w], median(cs[w].samples));
	if (pc->goal_floor) {
		snprintf(what, sizeof(what), "%s entries, %s: moat / floor", table, pc->name);
		report_goal(what, m / f, pc->goal_floor, true);
	}
	snprintf(what, sizeof(what), "%s entries, %s: xdp-filter / moat", table, pc->name);
	report_goal(what, x / m, 2, false);
}

/* One table size: moat filled with n devops, n deny, n bans; xdp-filter
 * with n allowed sources. */
static int peers_size(const char *table, size_t n, const int base_fds[NR_WHO], int xf_v4)
{
	struct pkt_buf tls4, tls6, port80, ssh_dev, ssh_other, tfo, data, reply;
	struct bench_case cs[MAX_CASES];
	struct moat_gen g = {};
	struct moat_pins maps;
	__u32 *hosts = n ? random_hosts(3 * n) : NULL, *flood = NULL, *dev = NULL;
	int fds[NR_WHO] = { base_fds[W_EMPTY], base_fds[W_FLOOR], -1, base_fds[W_XF] };
	int flood_map = -1, dev_map = -1, err = -ENOMEM;
	long xf_n = 0;
	size_t nc = 0;

	if (n && !hosts)
		goto out;
	flood = hosts_outside(hosts, 3 * n, N_FLOOD);
	dev = n ? malloc(n * sizeof(*dev)) : NULL;
	if (!flood || (n && !dev))
		goto out;
	if ((err = load_gen(&g, yaml_peers)))
		goto out;
	fds[W_MOAT] = moat_gen_prog_fd(&g, 0);
	moat_gen_maps(&g, &maps);
	err = fill_hosts(moat_pins_devops(&maps), hosts, n) ?:
	      fill_hosts(moat_pins_deny(&maps), hosts + n, n) ?:
	      fill_hosts(moat_pins_ban(&maps), hosts + 2 * n, n) ?:
	      stateful_pkts(&g, &tfo, &data, &reply) ?:
	      syn(&tls4, 4, NULL, 443) ?: syn(&tls6, 6, NULL, 443) ?: syn(&port80, 4, NULL, 80) ?:
	      syn(&ssh_dev, 4, DEVOPS_HOST, 22) ?: syn(&ssh_other, 4, NULL, 22);
	if (err)
		goto out;
	if (n) {
		__u32 be = htonl(hosts[n / 2]);

		memcpy(ssh_dev.buf + SADDR_OFF, &be, 4);
		memcpy(dev, hosts, n * sizeof(*dev));
		shuffle(dev, n);
		dev_map = cycled_source_map(dev, n, n > 16384 ? N_FLOOD : 16384);
	}
	flood_map = source_map(flood, N_FLOOD);
	if (flood_map < 0 || (n && dev_map < 0)) {
		err = -EINVAL;
		goto out;
	}
	if (xf_v4 >= 0 && n && (xf_n = xf_sources(xf_v4, hosts, n, false)) < 0) {
		err = xf_n;
		goto out;
	}

	/* The goals against the floor: at 10k entries, and for a
	 * different devops host each packet at 1M. */
	bool at10k = n == 10000;
	const struct peer_class pc[] = {
		{ "TLS SYN v4", &tls4, -1, 0, at10k ? 1.5 : 0, XDP_PASS, XDP_PASS },
		{ "TLS SYN v6", &tls6, -1, 0, at10k ? 1.5 : 0, XDP_PASS, XDP_PASS },
		{ "TLS data (accepted connection)", &data, -1, 0, at10k ? 1.5 : 0, XDP_PASS,
		  XDP_PASS },
		{ "closed port (tcp/80)", &port80, -1, 0, at10k ? 1.5 : 0, XDP_DROP, XDP_DROP },
		{ "SSH SYN from a devops host", &ssh_dev, -1, 0, at10k ? 2 : 0, XDP_PASS, XDP_PASS },
		{ "SSH SYN from another source", &ssh_other, -1, 0, 0, XDP_DROP, XDP_PASS },
		{ "UDP reply to the host's query", &reply, -1, 0, 0, XDP_PASS, -1 },
		{ "SYN flood, TLS SYN from 1M random sources", &tls4, flood_map, N_FLOOD, 0,
		  XDP_PASS, XDP_PASS },
		{ "SSH SYN, a different devops host each packet", &ssh_other, dev_map,
		  n > 16384 ? N_FLOOD : 16384, n >= N_FLOOD ? 4 : 0, XDP_PASS, XDP_PASS },
	};
	size_t n_pc = sizeof(pc) / sizeof(pc[0]) - (n ? 0 : 1);

	for (size_t i = 0; i < n_pc; i++, nc += NR_WHO)
		if ((err = class_cases(cs + nc, &pc[i], fds)))
			goto out;
	if ((err = run_cases(cs, nc)))
		goto out;
	printf("\n%s devops hosts, %s deny, %s bans in moat; %ld allowed sources in "
	       "xdp-filter's table\n", table, table, table, xf_n);
	printf("%-52s %7s %7s %7s %10s %8s %9s\n", "class (ns/packet)", "empty", "floor", "moat",
	       "xdp-filter", "x floor", "xf / moat");
	for (size_t i = 0; i < n_pc; i++)
		print_class(table, &pc[i], cs + i * NR_WHO);
	if (xf_n > 0)
		xf_sources(xf_v4, hosts, xf_n, true);
out:
	shims_destroy();
	if (flood_map >= 0)
		close(flood_map);
	if (dev_map >= 0)
		close(dev_map);
	moat_gen_destroy(&g);
	free(hosts);
	free(flood);
	free(dev);
	if (err)
		fprintf(stderr, "Error: peers at %s entries: %s\n", table, strerror(-err));
	return err;
}

int peers_run(int empty_fd, int floor_fd)
{
	static const struct { const char *name; size_t n; } sizes[] = {
		{ "0", 0 }, { "10k", 10000 }, { "1M", 1U << 20 },
	};
	unsigned long long saved = bench_round_ns;
	int fds[NR_WHO] = { empty_fd, floor_fd, -1, -1 }, xf_v4 = -1, err = 0;

	if ((fds[W_XF] = xdp_filter_prog()) < 0)
		return -ENOENT;
	xf_v4 = bpf_obj_get(XF_V4_PIN);
	if (xf_v4 < 0)
		fprintf(stderr, "bench: xdp-filter's IPv4 table is not at %s: its table stays "
			"empty\n", XF_V4_PIN);
	printf("\nPeers and the floor, the same packets, median of %d rounds of >= %llu ms.\n"
	       "x floor: moat / floor; xf / moat: xdp-filter / moat (goal >= 2).\n", ROUNDS,
	       PEERS_ROUND_NS / 1000000);
	bench_round_ns = PEERS_ROUND_NS;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && !err; i++)
		err = peers_size(sizes[i].name, sizes[i].n, fds, xf_v4);
	bench_round_ns = saved;
	close(fds[W_XF]);
	if (xf_v4 >= 0)
		close(xf_v4);
	return err;
}
