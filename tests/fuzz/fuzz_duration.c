// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the duration and expiry arithmetic
 * (user/lib/parse.c): an accepted duration is positive, fits a __u64 in
 * nanoseconds and prints in canonical form (largest unit first) as text
 * that parses to the same count; an expiry after it is never past
 * MOAT_TIME_MAX and never before now.
 */
#include <errno.h>
#include <stdio.h>
#include "lib/parse.h"
#include "fuzz.h"

/* The canonical form: each unit at most once, largest first, no zero part. */
static void format(uint64_t v, char *buf, size_t len)
{
	static const struct { char unit; uint64_t mult; } units[] = {
		{ 'w', 7 * 86400 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	size_t at = 0;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (v / units[i].mult == 0)
			continue;
		at += snprintf(buf + at, len - at, "%llu%c",
			       (unsigned long long)(v / units[i].mult), units[i].unit);
		v %= units[i].mult;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	uint64_t secs = 0, back = 0;
	char text[128];
	time_t until;

	if (!moat_parse_duration(s, &secs)) {
		fuzz_assert(secs > 0 && secs <= UINT64_MAX / 1000000000ULL);
		format(secs, text, sizeof(text));
		fuzz_assert(moat_parse_duration(text, &back) == 0 && back == secs);
		for (time_t now = 0; now <= MOAT_TIME_MAX; now += MOAT_TIME_MAX / 3) {
			int err = moat_expiry_after(now, secs, &until);

			fuzz_assert(err == 0 || err == -ERANGE);
			if (!err)
				fuzz_assert(until > now && until <= MOAT_TIME_MAX);
		}
	}
	free(s);
	return 0;
}
