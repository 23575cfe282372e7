// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: what moat's XDP program costs per packet, measured with
 * BPF_PROG_TEST_RUN against an empty XDP program loaded in the same run
 * (measure.c says how). This file measures moat alone: one packet
 * repeated, then 1M devops hosts with a different source in every run;
 * peers.c compares it with the floor and xdp-filter, live.c with nftables
 * on live frames, big.c times a big config, bench_scrape.c a /metrics
 * scrape. `bench SECTION...` runs only those (one, distinct, config, peers,
 * live, scrape). A missed goal is reported, not an error: the exit status
 * is non-zero only when something could not be measured.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "moat/reasons.h"
#include "lib/config.h"
#include "lib/loader.h"
#include "bench.h"

/* tests/bench/bench_scrape.c, when linked in: run after ours. */
int bench_scrape_run(void) __attribute__((weak));

#define N_TABLE		(1U << 20)	/* random devops hosts in the big table */
#define N_PKTS		65536		/* user-built distinct packets, cross-check */

#define NO_VALIDATE "  validate: false\ntls: { ports: [443], validate: false }\n"

static const char yaml_default[] = YAML_BASE;
static const char yaml_novalidate[] = YAML_BASE NO_VALIDATE;
static const char yaml_deny[] = YAML_BASE NO_VALIDATE "deny: [" DENY_HOST "]\n";

/* One packet, repeated: moat with the config's own small tables. */
static int one_packet(int empty_fd)
{
	struct moat_gen gen = {}, gen_deny = {}, gen_nov = {};
	struct pkt_buf tls4, tls6, ssh_ok, ssh_no, ssh_deny, tls_deny, port80;
	struct pkt_buf tfo, tls_data, reply;
	int xdp, nov, deny, err;

	err = load_gen(&gen, yaml_default) ?: load_gen(&gen_deny, yaml_deny) ?:
	      load_gen(&gen_nov, yaml_novalidate);
	if (err)
		goto out;
	xdp = moat_gen_prog_fd(&gen, 0);
	nov = moat_gen_prog_fd(&gen_nov, 0);
	deny = moat_gen_prog_fd(&gen_deny, 0);
	err = syn(&tls4, 4, NULL, 443) ?: syn(&tls6, 6, NULL, 443) ?:
	      syn(&ssh_ok, 4, DEVOPS_HOST, 22) ?: syn(&ssh_no, 4, NULL, 22) ?:
	      syn(&ssh_deny, 4, DENY_HOST, 22) ?: syn(&tls_deny, 4, DENY_HOST, 443) ?:
	      syn(&port80, 4, NULL, 80) ?: stateful_pkts(&gen, &tfo, &tls_data, &reply);
	if (err)
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

	printf("\nOne packet, repeated (moat with its config's tables):\n");
	err = run_cases(one, sizeof(one) / sizeof(one[0]));
	if (!err)
		print_table(one, sizeof(one) / sizeof(one[0]));
out:
	moat_gen_destroy(&gen);
	moat_gen_destroy(&gen_deny);
	moat_gen_destroy(&gen_nov);
	return err;
}

/*
 * The big table: 1M random devops hosts. Sources: 1M others (miss) and the
 * 1M hosts themselves in random order (hit), through the shim; then the
 * same without it, as a cross-check.
 */
static int distinct(struct bench_bpf *base)
{
	struct moat_gen gen = {}, gen_nov = {};
	struct pkt_buf tls4, ssh_no, *miss = NULL, *hit = NULL;
	__u32 *table = random_hosts(N_TABLE), *miss_src = NULL, *hit_src = NULL;
	int empty_fd = bpf_program__fd(base->progs.bench_empty);
	int lpm_fd = bpf_program__fd(base->progs.bench_lpm), xdp, nov;
	int miss_map = -1, hit_map = -1, err = -ENOMEM;
	struct bench_bpf *sh[9] = {};
	struct moat_pins maps;
	struct timespec t0;
	bool lpm = false;

	if (!table || !(miss_src = hosts_outside(table, N_TABLE, N_TABLE)) ||
	    !(hit_src = malloc(N_TABLE * sizeof(*hit_src))))
		goto out;
	memcpy(hit_src, table, N_TABLE * sizeof(*hit_src));
	shuffle(hit_src, N_TABLE);
	err = load_gen(&gen, yaml_default) ?: load_gen(&gen_nov, yaml_novalidate) ?:
	      syn(&tls4, 4, NULL, 443) ?: syn(&ssh_no, 4, NULL, 22);
	if (err)
		goto out;
	xdp = moat_gen_prog_fd(&gen, 0);
	nov = moat_gen_prog_fd(&gen_nov, 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	moat_gen_maps(&gen, &maps);
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
		err = miss_map < 0 ? miss_map : hit_map;
		goto out;
	}
	sh[0] = shim_load(miss_map, N_TABLE, empty_fd);
	sh[1] = shim_load(miss_map, N_TABLE, xdp);
	sh[2] = shim_load(hit_map, N_TABLE, xdp);
	sh[3] = shim_load(miss_map, N_TABLE, nov);
	sh[4] = shim_load(hit_map, N_TABLE, nov);
	sh[5] = shim_load(miss_map, N_TABLE, xdp);
	sh[6] = shim_load(miss_map, N_TABLE, nov);
	for (int i = 0; i < 7; i++)
		if (!sh[i]) {
			err = -EINVAL;
			goto out;
		}

	/* Optional contrast: the same 1M hosts in a plain LPM trie. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((err = fill_lpm(bpf_map__fd(base->maps.lpm), table, N_TABLE)))
		fprintf(stderr, "bench: no LPM contrast: %s\n", strerror(-err));
	else if ((sh[7] = shim_load(miss_map, N_TABLE, lpm_fd)) &&
		 (sh[8] = shim_load(hit_map, N_TABLE, lpm_fd)))
		lpm = true;
	if (lpm)
		printf("LPM trie (contrast): the same entries added in %.2f s (one by one)\n",
		       elapsed(&t0));

	struct bench_case distinct[] = {
		EMPTY("shim, then the empty XDP program", shim_fd(sh[0]), &ssh_no, 1, 0, BASE_SHIM),
		CASE("1M devops, SSH SYN, source not in devops (ssh_source)", shim_fd(sh[1]), &ssh_no,
		     1, 0, BASE_SHIM, 8, XDP_DROP),
		CASE("1M devops, SSH SYN, source in devops (ssh)", shim_fd(sh[2]), &ssh_no, 1, 0,
		     BASE_SHIM, 8, XDP_PASS),
		CASE("more: the same, not in devops, ssh.validate false", shim_fd(sh[3]), &ssh_no,
		     1, 0, BASE_SHIM, 0, XDP_DROP),
		CASE("more: the same, in devops, ssh.validate false", shim_fd(sh[4]), &ssh_no,
		     1, 0, BASE_SHIM, 0, XDP_PASS),
		CASE("more: TLS SYN v4 from 1M sources (a SYN flood)", shim_fd(sh[5]), &tls4, 1, 0,
		     BASE_SHIM, 0, XDP_PASS),
		CASE("more: the same, tls.validate false", shim_fd(sh[6]), &tls4, 1, 0, BASE_SHIM, 0,
		     XDP_PASS),
		CASE("contrast, not moat: bare LPM lookup, 1M /128, miss", shim_fd(sh[7]),
		     &ssh_no, 1, 0, BASE_SHIM, 0, XDP_DROP),
		CASE("contrast, not moat: bare LPM lookup, 1M /128, hit", shim_fd(sh[8]),
		     &ssh_no, 1, 0, BASE_SHIM, 0, XDP_PASS),
	};

	printf("\nA different source in every run: a shim program writes the next of 1M\n"
	       "sources into the frame, then tail-calls the program under test; both are\n"
	       "timed, and compared with the shim in front of the empty program.\n");
	err = run_cases(distinct, sizeof(distinct) / sizeof(distinct[0]) - (lpm ? 0 : 2));
	if (err)
		goto out;
	print_table(distinct, sizeof(distinct) / sizeof(distinct[0]) - (lpm ? 0 : 2));

	/* Cross-check without the shim: distinct packets built here, one
	 * test_run each with repeat 1 (repeat > 1 re-registers the program with
	 * the XDP dispatcher, two RCU grace periods per call on this kernel). */
	miss = with_sources(&ssh_no, miss_src, N_PKTS);
	hit = with_sources(&ssh_no, hit_src, N_PKTS);
	if (!miss || !hit) {
		err = -ENOMEM;
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
	if (!err)
		print_table(cold, sizeof(cold) / sizeof(cold[0]));
out:
	shims_destroy();
	if (miss_map >= 0)
		close(miss_map);
	if (hit_map >= 0)
		close(hit_map);
	moat_gen_destroy(&gen);
	moat_gen_destroy(&gen_nov);
	free(miss);
	free(hit);
	free(table);
	free(miss_src);
	free(hit_src);
	return err;
}

static bool wanted(int argc, char **argv, const char *section)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], section))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct bench_bpf *base;
	int err = 0, empty_fd;

	moat_libbpf_logging(false);
	setvbuf(stdout, NULL, _IOLBF, 0);
	base = bench_load(1, -1, N_TABLE);
	if (!base)
		return 1;
	empty_fd = bpf_program__fd(base->progs.bench_empty);
	printf("moat bench: BPF_PROG_TEST_RUN; ns per program run as the kernel reports it\n"
	       "(integer ns); median of %d interleaved rounds.\n", ROUNDS);
	if (!err && wanted(argc, argv, "one"))
		err = one_packet(empty_fd);
	if (!err && wanted(argc, argv, "distinct"))
		err = distinct(base);
	if (!err && wanted(argc, argv, "config"))
		err = big_config_run();
	if (!err && wanted(argc, argv, "peers"))
		err = peers_run(empty_fd, bpf_program__fd(base->progs.bench_floor));
	if (!err && wanted(argc, argv, "live"))
		err = live_run();
	if (!err && (wanted(argc, argv, "peers") || wanted(argc, argv, "live")))
		err = report_write();
	if (!err && bench_scrape_run && wanted(argc, argv, "scrape")) {
		printf("\n");
		err = bench_scrape_run();
	}
	bench_bpf__destroy(base);
	if (err)
		fprintf(stderr, "Error: the bench could not measure everything: %s\n",
			strerror(err < 0 ? -err : EIO));
	return err ? 1 : 0;
}
