/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP/1.1 requests from one connection's client bytes, fed in whatever
 * pieces the reads returned (Debian's http-parser underneath): keep-alive,
 * pipelining, Content-Length and chunked bodies. Knows nothing of CRS.
 */
#ifndef MOAT_HTTP1_H
#define MOAT_HTTP1_H

#include <stdbool.h>
#include <stddef.h>

#define H1_MAX_URL	8192		/* longer: the stream is unparsed */
#define H1_MAX_HEADERS	(64 * 1024)	/* all names and values of one request */

struct h1_request {
	char method[16];
	const char *url;		/* NUL-terminated, as sent (query included) */
	/* n_headers pairs "name\0value\0" one after the other */
	const char *headers;
	size_t n_headers;
	const char *body;		/* decoded (chunked framing removed) */
	size_t body_len;
	bool truncated;			/* more than max_body bytes: only the first kept */
	bool incomplete;		/* the stream ended inside it (h1_end): what came */
};

typedef void (*h1_request_cb)(void *ctx, const struct h1_request *req);

struct h1_conn;

/* NULL when out of memory. cb runs once per complete request, inside h1_feed. */
struct h1_conn *h1_new(size_t max_body, h1_request_cb cb, void *ctx);
/*
 * Parses len more bytes. 0, or -EPROTO once the stream is not (or no
 * longer) HTTP/1.x that can be followed (bad framing, an Upgrade, limits);
 * that is sticky: later calls return -EPROTO and call nothing.
 */
int h1_feed(struct h1_conn *c, const char *data, size_t len);
/*
 * The stream ends (the connection closed): a request begun and not complete
 * (an HTTP/0.9 line nginx answers, a body cut short) still goes to cb once,
 * marked incomplete, with what was seen of it. Nothing after a parse error.
 */
void h1_end(struct h1_conn *c);
void h1_free(struct h1_conn *c);

#endif /* MOAT_HTTP1_H */
