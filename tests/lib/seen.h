/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For the reassemblers' unit tests (cmocka): what the request callback saw,
 * each request flattened to one line of text so tests compare it with
 * strcmp: "METHOD URL|Name=value|...|body=BODY", then "|truncated" and
 * "|incomplete" when the request says so.
 */
#ifndef MOAT_TESTS_SEEN_H
#define MOAT_TESTS_SEEN_H

#include <stdio.h>
#include <string.h>
#include "inspect/http1.h"

#define MAX_SEEN	8

struct seen {
	size_t n;
	char req[MAX_SEEN][1024];
};

static inline void collect(void *ctx, const struct h1_request *r)
{
	struct seen *s = ctx;
	char *out = s->req[s->n], *end = out + sizeof(s->req[0]);
	const char *h = r->headers;

	assert_true(s->n < MAX_SEEN);
	out += snprintf(out, end - out, "%s %s|", r->method, r->url);
	for (size_t i = 0; i < r->n_headers; i++) {
		const char *v = h + strlen(h) + 1;

		out += snprintf(out, end - out, "%s=%s|", h, v);
		h = v + strlen(v) + 1;
	}
	snprintf(out, end - out, "body=%.*s%s%s", (int)r->body_len,
		 r->body_len ? r->body : "", r->truncated ? "|truncated" : "",
		 r->incomplete ? "|incomplete" : "");
	s->n++;
}

#endif /* MOAT_TESTS_SEEN_H */
