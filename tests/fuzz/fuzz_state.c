// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the runtime.json reader (user/lib/state.c): any
 * bytes, no crash, no sanitizer report, and what comes out holds: entries
 * are well formed, problem lines are single lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/state.h"

static int check_entry(void *ctx, const struct moat_state_entry *e)
{
	size_t n = strnlen(e->name, sizeof(e->name));

	if (n == 0 || n == sizeof(e->name) || e->expires < 0 || e->expires > MOAT_TIME_MAX ||
	    (e->origin != MOAT_ORIGIN_RUNTIME && e->origin != MOAT_ORIGIN_INSPECTOR) ||
	    e->cidr.prefixlen > 128 || (e->list != MOAT_STATE_DEVOPS && e->list != MOAT_STATE_BAN))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)e->name[i] < 0x20 || e->name[i] == 0x7f)
			abort();
	return 0;
}

static void check_problem(void *ctx, const char *msg)
{
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			abort();
	++*(int *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int problems = 0;
	struct moat_state_sink sink = { check_entry, check_problem, &problems };
	int ret = moat_state_parse("runtime.json", (const char *)data, size, &sink);

	/* the count returned is the count reported */
	if (ret != problems)
		abort();
	return 0;
}
