// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the small grammars of user/lib/parse.c: an accepted
 * number prints back as the same text (so no sign, space, leading zero or
 * other base slips through), a port is 1..65535, a TLS version is one of
 * four, and a devops name moat accepts is printable and short.
 */
#include <errno.h>
#include <stdio.h>
#include "lib/parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	uint64_t v = 0;
	uint16_t port = 0, tls = 0;
	char text[32];
	int err = moat_parse_uint(s, UINT64_MAX, &v);

	fuzz_assert(err == 0 || err == -EINVAL || err == -ERANGE);
	if (!err) {
		snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
		fuzz_assert(!strcmp(text, s));
	}
	if (!moat_parse_port(s, &port))
		fuzz_assert(!err && port >= 1 && port == v);
	if (!moat_parse_tls_version(s, &tls))
		fuzz_assert(tls >= 0x0301 && tls <= 0x0304);
	if (!moat_name_problem(s)) {
		fuzz_assert(*s && strlen(s) < MOAT_NAME_LEN);
		for (const char *p = s; *p; p++)
			fuzz_assert((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
	free(s);
	return 0;
}
