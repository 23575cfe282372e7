// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include "log.h"

const char *moat_prog = "moat";
bool moat_verbose;

static void vlog(const char *level, const char *fmt, va_list ap)
{
	/* One write per line so concurrent threads don't interleave. */
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s: %s", moat_prog, level);

	if (n < (int)sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

#define DEFINE_LOG(fn, level, cond)			\
	void fn(const char *fmt, ...)			\
	{						\
		va_list ap;				\
		if (!(cond))				\
			return;				\
		va_start(ap, fmt);			\
		vlog(level, fmt, ap);			\
		va_end(ap);				\
	}

DEFINE_LOG(moat_err, "error: ", 1)
DEFINE_LOG(moat_warn, "warning: ", 1)
DEFINE_LOG(moat_info, "", 1)
