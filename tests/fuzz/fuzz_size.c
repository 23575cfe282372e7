// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the byte-count parser (moat_parse_size,
 * user/lib/parse.c), against a second reading written here: digits (no
 * leading zero) and one of "", "B", "KiB", "MiB"; refused when it
 * overflows 64 bits.
 */
#include "lib/parse.h"
#include "fuzz.h"

static int reference(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
			return -1;
	}
	if (!strcmp(p, "KiB"))
		mult = 1024;
	else if (!strcmp(p, "MiB"))
		mult = 1024 * 1024;
	else if (strcmp(p, "B") && *p)
		return -1;
	if (__builtin_mul_overflow(v, mult, out))
		return -1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	uint64_t got = 0, want = 0;
	int err = moat_parse_size(s, &got), ref = reference(s, &want);

	/* past 31 digits the parser refuses what no size needs */
	if (strlen(s) < 32)
		fuzz_assert((err == 0) == (ref == 0));
	if (!err)
		fuzz_assert(!ref && got == want);
	free(s);
	return 0;
}
