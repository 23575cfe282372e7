/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP/2 requests from one connection's client bytes (RFC 9113), fed in
 * whatever pieces the reads returned. Frames are parsed here (the 9-byte
 * header, PADDED and PRIORITY, HEADERS + CONTINUATION, DATA, RST_STREAM,
 * SETTINGS); header blocks are decoded with libnghttp2's HPACK inflater
 * alone, one per connection since the dynamic table is. No flow control, no
 * session: the worker only watches. Requests come out as the same struct
 * h1_request HTTP/1.1 gives: pseudo-headers become method and url,
 * :authority becomes a Host header when there is none, cookie fields are
 * joined with "; " (RFC 9113 §8.2.3).
 */
#ifndef MOAT_HTTP2_H
#define MOAT_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include "http1.h"

#define H2_PREFACE	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN	24
/* Payload of a frame that must be held whole (HEADERS, CONTINUATION,
 * SETTINGS...); DATA and unknown types stream through at any length. */
#define H2_MAX_FRAME	(64 * 1024)
/* Streams open at once (nginx's default http2_max_concurrent_streams). */
#define H2_MAX_STREAMS	128
/* The HPACK dynamic table the client's encoder may grow to: the limit is
 * the server's SETTINGS_HEADER_TABLE_SIZE, which these bytes don't carry. */
#define H2_MAX_TABLE	(64 * 1024)

struct h2_conn;

/* NULL when out of memory. cb runs once per complete request, inside h2_feed. */
struct h2_conn *h2_new(size_t max_body, h1_request_cb cb, void *ctx);
/*
 * Parses len more bytes, starting with the client preface. 0, or -EPROTO
 * once the stream can't be followed (bad framing, HPACK error, limits);
 * sticky like h1_feed.
 */
int h2_feed(struct h2_conn *c, const char *data, size_t len);
/*
 * The connection ended: streams whose headers arrived but not their end
 * are inspected with what arrived (the server may act on a request before
 * its body is whole), as a reset stream is.
 */
void h2_close(struct h2_conn *c);
void h2_free(struct h2_conn *c);

#endif /* MOAT_HTTP2_H */
