/* SPDX-License-Identifier: GPL-2.0 */
/* What the libFuzzer targets of the value parsers share. */
#ifndef MOAT_FUZZ_H
#define MOAT_FUZZ_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The input as a C string (to its first NUL), in a buffer of its own size
 * so ASan sees a read past the end; free() it. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* Fails the run with the finding in libFuzzer's log. */
#define fuzz_assert(cond) do { if (!(cond)) abort(); } while (0)

#endif /* MOAT_FUZZ_H */
