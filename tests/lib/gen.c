// SPDX-License-Identifier: GPL-2.0
/* What the tests that load real programs share (see gen.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "gen.h"

int test_gen_load(struct moat_gen *g, const char *name, const char *yaml, const __u32 *slots,
		  size_t n_slots, struct moat_config *cfg, char *err, size_t errlen)
{
	struct moat_config own, *c = cfg ? cfg : &own;
	int ret = moat_config_parse(name, yaml, strlen(yaml), c, err, errlen);

	if (ret)
		return ret;
	ret = moat_gen_load(g, c, slots, n_slots, NULL, err, errlen);
	if (!ret)
		ret = moat_gen_fill(g, c, err, errlen);
	if (ret || !cfg)
		moat_config_free(c);
	return ret;
}

int test_table_add(struct moat_table t, const char *cidr, __u64 expires_ns, __u32 origin,
		   const char *name)
{
	struct moat_entry e = { .expires_ns = expires_ns, .origin = origin };
	struct moat_cidr c;

	if (moat_parse_cidr(cidr, &c))
		return -EINVAL;
	snprintf(e.name, sizeof(e.name), "%s", name);
	return moat_table_put(t, &c, &e);
}

int test_stats_read(int fd, struct moat_counter *out, __u32 n)
{
	/* one batch for every counter and CPU: the fuzzer reads after each frame */
	static struct moat_counter *vals;
	static __u32 *keys, have;
	static int ncpus;
	__u32 count = n, batch = 0;

	if (!ncpus) {
		ncpus = libbpf_num_possible_cpus();
		if (ncpus < 1)
			return ncpus < 0 ? ncpus : -EINVAL;
	}
	if (n > have) {
		free(vals);
		free(keys);
		vals = calloc((size_t)n * ncpus, sizeof(*vals));
		keys = calloc(n, sizeof(*keys));
		have = vals && keys ? n : 0;
		if (!have)
			return -ENOMEM;
	}
	if (bpf_map_lookup_batch(fd, NULL, &batch, keys, vals, &count, NULL) && errno != ENOENT)
		return -errno;
	if (count != n)
		return -EIO;
	for (__u32 k = 0; k < n; k++) {
		if (keys[k] != k)
			return -EIO;
		out[k] = (struct moat_counter){};
		for (int cpu = 0; cpu < ncpus; cpu++) {
			out[k].packets += vals[(size_t)k * ncpus + cpu].packets;
			out[k].bytes += vals[(size_t)k * ncpus + cpu].bytes;
		}
	}
	return 0;
}

int test_run_frame(int prog_fd, const void *frame, __u32 len, __u32 *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = frame,
		.data_size_in = len,
		.repeat = 1,
	);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*retval = opts.retval;
	return 0;
}
