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
#include "fuzz_reasm.h"

static int run(const uint8_t *data, size_t size, size_t step, struct digest *d)
{
	struct h2_conn *c = h2_new(MAX_BODY, on_request, d);
	int err;

	if (!c)
		abort();
	digest_init(d);
	err = h2_feed(c, H2_PREFACE, H2_PREFACE_LEN);
	for (size_t at = 0; at < size && !err; at += step)
		err = h2_feed(c, (const char *)data + at, size - at < step ? size - at : step);
	h2_close(c);	/* what the worker does at the connection's end */
	h2_free(c);
	return err;
}
