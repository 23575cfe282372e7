// SPDX-License-Identifier: GPL-2.0
/* moatctl top: the sources with the most drops (per-CPU LRU, summed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "moatctl.h"

struct top_row {
	struct moat_addr addr;
	struct moat_src_stat st;
};

static int by_packets(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return x->st.packets < y->st.packets ? 1 : x->st.packets > y->st.packets ? -1 : 0;
}

static void format_addr(const struct moat_addr *a, char *buf, size_t len)
{
	struct moat_cidr c = { .addr = *a, .prefixlen = 128 };

	c.family = (!a->a[0] && !a->a[1] && a->a[2] == htonl(0xffff)) ? AF_INET : AF_INET6;
	moat_format_cidr(&c, buf, len);
}

int do_top(struct ctl *c, int argc, char **argv)
{
	int ncpu = libbpf_num_possible_cpus(), ret = EXIT_OK;
	struct moat_src_stat *percpu = NULL;
	struct top_row *rows = NULL;
	struct moat_addr key, *prev = NULL;
	size_t n = 0, cap = 0;
	static const struct option opts[] = { { "count", required_argument, NULL, 'n' }, {} };
	struct ctl_getopt g = { .argc = argc, .argv = argv, .opts = opts };
	uint64_t limit = 10;
	int opt;

	while ((opt = ctl_getopt(c, &g)) != -1) {
		if (opt != 'n')
			return EXIT_USAGE;
		if (moat_parse_uint(g.arg, 100000, &limit) || !limit) {
			ctl_error(c, "top: -n '%s': expected a count from 1 to 100000", g.arg);
			return EXIT_USAGE;
		}
	}
	if ((ret = ctl_no_more_args(c, argc, argv, g.next)))
		return ret;
	if ((ret = ctl_open(c)))
		return ret;
	percpu = calloc(ncpu > 0 ? ncpu : 1, sizeof(*percpu));
	if (!percpu)
		return EXIT_FAILED;
	while (!bpf_map_get_next_key(c->pins.top_sources, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(c->pins.top_sources, &key, percpu))
			continue;	/* evicted under us */
		if (n == cap) {
			struct top_row *r = realloc(rows, (cap = cap ? cap * 2 : 256) * sizeof(*r));

			if (!r) {
				ret = EXIT_FAILED;
				goto out;
			}
			rows = r;
		}
		memset(&rows[n], 0, sizeof(rows[n]));
		rows[n].addr = key;
		for (int cpu = 0; cpu < ncpu; cpu++) {
			rows[n].st.packets += percpu[cpu].packets;
			rows[n].st.bytes += percpu[cpu].bytes;
			if (percpu[cpu].packets)
				rows[n].st.last_reason = percpu[cpu].last_reason;
		}
		n++;
	}
	qsort(rows, n, sizeof(*rows), by_packets);
	if (n > limit)
		n = limit;

	json_object *arr = c->json ? json_object_new_array() : NULL;

	if (!c->json)
		printf("%-40s %14s %16s  %s\n", "SOURCE", "DROPPED~", "BYTES~", "REASON (LAST)");
	for (size_t i = 0; i < n; i++) {
		char buf[64];

		format_addr(&rows[i].addr, buf, sizeof(buf));
		if (!c->json) {
			printf("%-40s %14llu %16llu  %s\n", buf, (unsigned long long)rows[i].st.packets,
			       (unsigned long long)rows[i].st.bytes,
			       moat_reason_name(rows[i].st.last_reason));
			continue;
		}
		json_object *o = json_object_new_object();

		json_object_object_add(o, "source", json_object_new_string(buf));
		json_object_object_add(o, "packets", json_object_new_uint64(rows[i].st.packets));
		json_object_object_add(o, "bytes", json_object_new_uint64(rows[i].st.bytes));
		json_object_object_add(o, "last_reason", json_object_new_string(moat_reason_name(rows[i].st.last_reason)));
		json_object_array_add(arr, o);
	}
	if (arr) {
		ctl_print_json(arr);
		json_object_put(arr);
	} else {
		printf("~ estimates: one drop in %d is attributed to its source\n", MOAT_TOP_SAMPLE);
	}
out:
	free(rows);
	free(percpu);
	return ret;
}
