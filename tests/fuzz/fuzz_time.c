// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the RFC 3339 parser (moat_parse_time,
 * user/lib/parse.c): an accepted time printed back in UTC as
 * YYYY-MM-DDTHH:MM:SSZ parses to the same second, and the fields of what
 * was written are in range.
 */
#include <stdio.h>
#include "lib/parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	time_t t = 0, back = 0;
	struct tm tm;
	char text[64];

	if (!moat_parse_time(s, &t)) {
		fuzz_assert(strlen(s) >= 20);
		fuzz_assert(gmtime_r(&t, &tm));
		/* four digits of year, offsets of at most a day: -1..10000 */
		fuzz_assert(tm.tm_year + 1900 >= -1 && tm.tm_year + 1900 <= 10000);
		if (tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999) {
			snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min, tm.tm_sec);
			fuzz_assert(moat_parse_time(text, &back) == 0 && back == t);
		}
	}
	free(s);
	return 0;
}
