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
#include "fuzz_reasm.h"

static int run(const uint8_t *data, size_t size, size_t step, struct digest *d)
{
	struct h1_conn *c = h1_new(MAX_BODY, on_request, d);
	int err = 0;

	if (!c)
		abort();
	digest_init(d);
	for (size_t at = 0; at < size && !err; at += step)
		err = h1_feed(c, (const char *)data + at, size - at < step ? size - at : step);
	h1_end(c);	/* the connection closes: a request left open comes out */
	h1_free(c);
	return err;
}
