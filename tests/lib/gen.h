/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tests that load real programs share (tests/lib/gen.c): a
 * generation from YAML text, run-time table entries, the stats map summed
 * over CPUs, one frame through a program. The prog tests, the differential
 * fuzzer and the bench use them; packets come from pkt.h.
 */
#ifndef MOAT_TEST_GEN_H
#define MOAT_TEST_GEN_H

#include <stddef.h>
#include <linux/types.h>
#include "moat/shared.h"
#include "lib/config.h"
#include "lib/loader.h"
#include "lib/table.h"

/*
 * Loads and fills a generation from YAML text, as moatd does from a file
 * (name is FILE in messages), into the interface slots given. The config
 * stays in *cfg for the caller to read and free when cfg is not NULL.
 */
int test_gen_load(struct moat_gen *g, const char *name, const char *yaml, const __u32 *slots,
		  size_t n_slots, struct moat_config *cfg, char *err, size_t errlen);
/* Adds cidr to a table as moatctl or the inspector would, named name. */
int test_table_add(struct moat_table t, const char *cidr, __u64 expires_ns, __u32 origin,
		   const char *name);
/* The first n counters of a per-CPU stats map, each summed over every CPU. */
int test_stats_read(int fd, struct moat_counter *out, __u32 n);
/* One frame through a program (BPF_PROG_TEST_RUN); what it returned in *retval. */
int test_run_frame(int prog_fd, const void *frame, __u32 len, __u32 *retval);

#endif /* MOAT_TEST_GEN_H */
