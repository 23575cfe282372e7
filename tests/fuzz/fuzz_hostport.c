// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the listen-address parser (moat_parse_hostport,
 * user/lib/parse.c): what is accepted is exactly "HOST:PORT" or
 * "[HOST]:PORT" rebuilt from what came out, the host fits its buffer, the
 * port is 1..65535; a refusal always says why.
 */
#include <stdio.h>
#include "lib/parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	char host[40], again[64];
	uint16_t port = 0;
	const char *why = moat_parse_hostport(s, host, sizeof(host), &port);

	if (!why) {
		fuzz_assert(strlen(host) < sizeof(host) && port >= 1);
		snprintf(again, sizeof(again), s[0] == '[' ? "[%s]:%u" : "%s:%u", host, port);
		fuzz_assert(!strcmp(again, s));
	} else {
		fuzz_assert(*why);
	}
	free(s);
	return 0;
}
