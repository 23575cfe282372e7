// SPDX-License-Identifier: GPL-2.0
/*
 * How long a big config takes from file to filled tables (issue 8: goal
 * < 1 s for 100k devops entries).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/config.h"
#include "bench.h"

/*
 * A config of 100k devops entries (16000 networks and 84000 hosts, v4 and
 * v6) parsed, loaded into a generation and filled: what a moatd start or
 * reload spends before it attaches (issue 8: goal < 1 s).
 */
#define BIG_NETS	16000
#define BIG_HOSTS	84000

int big_config_run(void)
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
