// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the worker's HTTP/2 reassembly
 * (user/inspect/http2.c): the client preface, then any bytes (frames,
 * HPACK), fed whole and fed in pieces cut where the first input byte says,
 * give the same requests and the same outcome; every request is well formed
 * (strings terminated, header pairs inside their limit, body within the
 * limit). Never a crash, a leak or a read out of bounds (ASan, UBSan).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "inspect/http2.h"

#define MAX_BODY	256

struct digest {
	uint64_t h;
	size_t n;
};

static void mix(struct digest *d, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		d->h = (d->h ^ b[i]) * 0x100000001b3ull;
}

static void on_request(void *ctx, const struct h1_request *r)
{
	struct digest *d = ctx;
	const char *h = r->headers;
	size_t url_len = strlen(r->url), total = 0;

	if (url_len >= H1_MAX_URL || r->body_len > MAX_BODY || !memchr(r->method, 0, sizeof(r->method)))
		abort();
	mix(d, r->method, strlen(r->method));
	mix(d, r->url, url_len + 1);
	for (size_t i = 0; i < r->n_headers; i++) {
		size_t n = strlen(h), v = strlen(h + n + 1);

		total += n + v + 2;
		if (total > H1_MAX_HEADERS)
			abort();
		mix(d, h, n + v + 2);
		h += n + v + 2;
	}
	if (r->body_len)
		mix(d, r->body, r->body_len);
	mix(d, &r->truncated, sizeof(r->truncated));
	d->n++;
}

static int run(const uint8_t *data, size_t size, size_t step, struct digest *d)
{
	struct h2_conn *c = h2_new(MAX_BODY, on_request, d);
	int err;

	if (!c)
		abort();
	d->h = 0xcbf29ce484222325ull;
	d->n = 0;
	err = h2_feed(c, H2_PREFACE, H2_PREFACE_LEN);
	for (size_t at = 0; at < size && !err; at += step)
		err = h2_feed(c, (const char *)data + at, size - at < step ? size - at : step);
	h2_close(c);	/* what the worker does at the connection's end */
	h2_free(c);
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest whole, cut;
	size_t step;
	int e1, e2;

	if (size < 2)
		return 0;
	step = 1 + data[0] % 64;
	data++;
	size--;
	e1 = run(data, size, size, &whole);
	e2 = run(data, size, step, &cut);
	if (e1 != e2 || whole.n != cut.n || whole.h != cut.h)
		abort();
	return 0;
}
