/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the libFuzzer targets of the worker's reassemblers share: every
 * request a reassembler gives is checked well formed (strings terminated,
 * headers inside their buffer, body within the limit) and folded into a
 * digest; input fed whole and fed in pieces cut where its first byte says
 * must give the same digest, the same number of requests and the same
 * outcome. A target supplies run(): one connection, fed in steps.
 */
#ifndef MOAT_FUZZ_REASM_H
#define MOAT_FUZZ_REASM_H

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

static void digest_init(struct digest *d)
{
	d->h = 0xcbf29ce484222325ull;
	d->n = 0;
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
	mix(d, &r->incomplete, sizeof(r->incomplete));
	d->n++;
}

/* One connection: data fed step bytes at a time; returns the feed's error. */
static int run(const uint8_t *data, size_t size, size_t step, struct digest *d);

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

#endif /* MOAT_FUZZ_REASM_H */
