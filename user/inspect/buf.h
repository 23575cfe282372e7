/* SPDX-License-Identifier: GPL-2.0 */
/* A growing byte buffer with a hard limit, always NUL-terminated. */
#ifndef MOAT_INSPECT_BUF_H
#define MOAT_INSPECT_BUF_H

#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t len, cap;
};

/* Appends n bytes; -1 when len + n + 1 would pass limit or memory runs out. */
static inline int buf_add(struct buf *b, const char *s, size_t n, size_t limit)
{
	if (b->len + n + 1 > limit)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static inline void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

#endif /* MOAT_INSPECT_BUF_H */
