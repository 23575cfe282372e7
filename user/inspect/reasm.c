// SPDX-License-Identifier: GPL-2.0
/* HTTP/1.1 or HTTP/2 by the client preface (see reasm.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "http2.h"
#include "reasm.h"

struct reasm {
	size_t max_body;
	h1_request_cb cb;
	void *ctx;
	size_t seen;		/* bytes so far, while they are a prefix of the preface */
	struct h1_conn *h1;
	struct h2_conn *h2;
};

struct reasm *reasm_new(size_t max_body, h1_request_cb cb, void *ctx)
{
	struct reasm *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->max_body = max_body;
	a->cb = cb;
	a->ctx = ctx;
	return a;
}

int reasm_feed(struct reasm *a, const char *data, size_t len)
{
	size_t n;

	if (a->h1)
		return h1_feed(a->h1, data, len);
	if (a->h2)
		return h2_feed(a->h2, data, len);
	/* Still deciding: only the preface's own bytes have come so far. */
	n = H2_PREFACE_LEN - a->seen < len ? H2_PREFACE_LEN - a->seen : len;
	if (!memcmp(data, &H2_PREFACE[a->seen], n)) {
		a->seen += n;
		if (a->seen < H2_PREFACE_LEN)
			return 0;
		a->h2 = h2_new(a->max_body, a->cb, a->ctx);
		if (!a->h2)
			return -ENOMEM;
		h2_feed(a->h2, H2_PREFACE, H2_PREFACE_LEN);
		return h2_feed(a->h2, data + n, len - n);
	}
	/* Not HTTP/2: what was held back is the start of an HTTP/1 stream. */
	a->h1 = h1_new(a->max_body, a->cb, a->ctx);
	if (!a->h1)
		return -ENOMEM;
	if (a->seen && h1_feed(a->h1, H2_PREFACE, a->seen))
		return -EPROTO;
	return h1_feed(a->h1, data, len);
}

bool reasm_is_h2(const struct reasm *a)
{
	return a->h2;
}

void reasm_close(struct reasm *a)
{
	if (a->h2)
		h2_close(a->h2);
	else if (a->h1)
		h1_end(a->h1);
}

void reasm_free(struct reasm *a)
{
	if (!a)
		return;
	h1_free(a->h1);
	h2_free(a->h2);
	free(a);
}
