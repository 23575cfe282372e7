// SPDX-License-Identifier: GPL-2.0
/*
 * How make bench times a program: BPF_PROG_TEST_RUN's own `duration`, ns
 * per run (integer ns, no syscall overhead in it), against an empty XDP
 * program loaded in the same run (no hardware counters in these VMs:
 * PLATFORM.md). Cases run ROUNDS times, interleaved so that drift hits each
 * alike; the median is reported. Also the programs of bench.bpf.c and the
 * shims that feed a program a different source in every run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/config.h"
#include "bench.h"

#define MIN_REPEAT	100000U
#define MAX_REPEAT	100000000U

unsigned long long bench_round_ns = 200000000ULL;

/* One test_run: the kernel's mean ns per run, and the action returned. */
int bench_run(int prog_fd, const struct pkt_buf *f, __u32 repeat, __u32 *ns, __u32 *ret)
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

/* Runs a packet once through a program, to set up state. */
int bench_once(int prog_fd, const struct pkt_buf *f)
{
	__u32 ns, ret;

	return bench_run(prog_fd, f, 1, &ns, &ret);
}

/* One round of a case: ns per program run, averaged over its packets. */
static int measure(const struct bench_case *c, double *out)
{
	__u32 ns = 0, ret = 0;
	double sum = 0;
	int err;

	for (size_t i = 0; i < c->n_pkts; i++) {
		err = bench_run(c->prog_fd, &c->pkts[i], c->repeat, &ns, &ret);
		if (err)
			return err;
		/* measuring another path than the one named is an error */
		if (c->want >= 0 && ret != (__u32)c->want) {
			fprintf(stderr, "Error: %s (program fd %d) returned XDP action %u, want %d\n", c->name, c->prog_fd,
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
	int err = bench_run(c->prog_fd, c->pkts, 100000, &ns, &ret);
	__u64 r;

	if (err)
		return err;
	r = bench_round_ns / (ns ? ns : 1);
	c->repeat = r < MIN_REPEAT ? MIN_REPEAT : r > MAX_REPEAT ? MAX_REPEAT : r;
	return 0;
}

/* All rounds of all cases, interleaved so that drift hits each alike. */
int run_cases(struct bench_case *cs, size_t n)
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

double median(const double *v)
{
	double s[ROUNDS];

	memcpy(s, v, sizeof(s));
	qsort(s, ROUNDS, sizeof(s[0]), cmp_double);
	return s[ROUNDS / 2];
}

void print_table(const struct bench_case *cs, size_t n)
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

/*
 * The programs moat is measured against and the shim (tests/bench/
 * bench.bpf.c): one instance holds bench_empty, bench_floor and bench_lpm;
 * each shim is an instance of its own (its run counter and the program it
 * feeds), sharing a source array.
 */
struct bench_bpf *bench_load(__u32 n_src, int src_map, __u32 n_lpm)
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

#define MAX_SHIMS	64

static struct bench_bpf *shims[MAX_SHIMS];
static size_t n_shims;

/* A shim that feeds target_fd the next of n_src sources of src_map in every
 * run; destroyed by shims_destroy(). */
struct bench_bpf *shim_load(int src_map, __u32 n_src, int target_fd)
{
	struct bench_bpf *s;
	__u32 zero = 0;

	if (n_shims == MAX_SHIMS || !(s = bench_load(n_src, src_map, 0)))
		return NULL;
	shims[n_shims++] = s;
	if (bpf_map_update_elem(bpf_map__fd(s->maps.shim_next), &zero, &target_fd, BPF_ANY)) {
		fprintf(stderr, "bench: couldn't put the program under test behind the shim: %s\n",
			strerror(errno));
		return NULL;
	}
	return s;
}

int shim_fd(const struct bench_bpf *shim)
{
	return shim ? bpf_program__fd(shim->progs.bench_shim) : -1;
}

void shims_destroy(void)
{
	while (n_shims)
		bench_bpf__destroy(shims[--n_shims]);
}

int load_gen(struct moat_gen *g, const char *yaml)
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

double elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}
