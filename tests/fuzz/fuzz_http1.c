// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the worker's HTTP/1.1 reassembly
 * (user/inspect/http1.c): any bytes, fed whole and fed in pieces cut where
 * the first input byte says, give the same requests and the same outcome;
 * every request is well formed (strings terminated, header pairs inside
 * their buffer, body within the limit), also one the end of the stream
 * cuts short (h1_end).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "inspect/http1.h"

#define MAX_BODY	256

/* A running digest of what the callback saw (FNV-1a over the requests). */
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
	size_t url_len = strlen(r->url);

	if (url_len >= H1_MAX_URL || r->body_len > MAX_BODY || !memchr(r->method, 0, sizeof(r->method)))
		abort();
	mix(d, r->method, strlen(r->method));
	mix(d, r->url, url_len + 1);
	for (size_t i = 0; i < r->n_headers; i++) {
		size_t n = strlen(h), v = strlen(h + n + 1);

		if (n + v + 2 > H1_MAX_HEADERS)
			abort();
		mix(d, h, n + v + 2);
		h += n + v + 2;
	}
	if (r->body_len)
		mix(d, r->body, r->body_len);
	mix(d, &r->truncated, sizeof(r->truncated));
	mix(d, &r->incomplete, sizeof(r->incomplete));
	d->n++;
}

static int run(const uint8_t *data, size_t size, size_t step, struct digest *d)
{
	struct h1_conn *c = h1_new(MAX_BODY, on_request, d);
	int err = 0;

	if (!c)
		abort();
	d->h = 0xcbf29ce484222325ull;
	d->n = 0;
	for (size_t at = 0; at < size && !err; at += step)
		err = h1_feed(c, (const char *)data + at, size - at < step ? size - at : step);
	h1_end(c);	/* the connection closes: a request left open comes out */
	h1_free(c);
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
