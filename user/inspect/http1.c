// SPDX-License-Identifier: GPL-2.0
/* HTTP/1.1 reassembly per connection on http-parser (see http1.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <http_parser.h>
#include "buf.h"
#include "http1.h"

/* Longest method token held back between requests; longer goes to the parser as is. */
#define METHOD_MAX	32

struct h1_conn {
	http_parser parser;
	size_t max_body;
	h1_request_cb cb;
	void *ctx;
	bool dead;
	bool in_value;		/* the last header callback was a value */
	bool in_message;	/* a request has begun and is not complete */
	bool headers_done;
	struct buf url, headers, body;
	size_t n_headers;
	bool truncated;
	/* Between requests, the method token until its end: nginx takes any
	 * [A-Z_-] token as a method, http-parser only those it knows. */
	char token[METHOD_MAX + 1];
	size_t token_len;
	char method[METHOD_MAX + 1];	/* an unknown method, parsed as GET; "" = none */
};

static struct h1_conn *conn_of(http_parser *p)
{
	return p->data;
}

static int on_message_begin(http_parser *p)
{
	struct h1_conn *c = conn_of(p);

	c->url.len = c->headers.len = c->body.len = 0;
	c->n_headers = 0;
	c->in_value = false;
	c->truncated = false;
	c->in_message = true;
	c->headers_done = false;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	return buf_add(&conn_of(p)->url, at, n, H1_MAX_URL);
}

/* Names and values arrive in fragments: a pair ends where the next name starts. */
static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct h1_conn *c = conn_of(p);

	if (c->in_value || !c->n_headers) {
		if (c->n_headers && buf_add(&c->headers, "", 1, H1_MAX_HEADERS))
			return -1;	/* the previous value's NUL */
		c->n_headers++;
		c->in_value = false;
	}
	return buf_add(&c->headers, at, n, H1_MAX_HEADERS);
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct h1_conn *c = conn_of(p);

	if (!c->in_value) {
		if (buf_add(&c->headers, "", 1, H1_MAX_HEADERS))
			return -1;	/* the name's NUL */
		c->in_value = true;
	}
	return buf_add(&c->headers, at, n, H1_MAX_HEADERS);
}

static int on_headers_complete(http_parser *p)
{
	struct h1_conn *c = conn_of(p);

	/* A name with no value callback (empty value) still needs both NULs. */
	if (c->n_headers && !c->in_value && buf_add(&c->headers, "", 1, H1_MAX_HEADERS))
		return -1;
	if (c->n_headers && buf_add(&c->headers, "", 1, H1_MAX_HEADERS))
		return -1;
	c->in_value = false;
	c->headers_done = true;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct h1_conn *c = conn_of(p);
	size_t room = c->max_body - c->body.len;

	if (n > room) {
		c->truncated = true;
		n = room;
	}
	/* +1: buf_add keeps a NUL after the bytes. */
	return n ? buf_add(&c->body, at, n, c->max_body + 1) : 0;
}

static void deliver(struct h1_conn *c, bool incomplete)
{
	http_parser *p = &c->parser;
	struct h1_request r = {
		.url = c->url.p ? c->url.p : "",
		.headers = c->headers.p,
		.n_headers = c->n_headers,
		.body = c->body.p,
		.body_len = c->body.len,
		.truncated = c->truncated,
		.incomplete = incomplete,
	};

	c->in_message = false;
	snprintf(r.method, sizeof(r.method), "%s",
		 c->method[0] ? c->method : http_method_str(p->method));
	c->method[0] = '\0';
	c->cb(c->ctx, &r);
}

/* Pauses the parser after each request: h1_feed looks at the next method itself. */
static int on_message_complete(http_parser *p)
{
	deliver(conn_of(p), false);
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/*
 * Lenient headers: nginx takes any byte but NUL, CR and LF in a header
 * value, so the parser must too, or one such header would make the rest
 * of a keep-alive connection go uninspected. Framing stays strict (two
 * Content-Lengths, one with chunked: errors; nginx refuses them too).
 */
static void parser_init(struct h1_conn *c)
{
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->parser.lenient_http_headers = 1;
}

struct h1_conn *h1_new(size_t max_body, h1_request_cb cb, void *ctx)
{
	struct h1_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	parser_init(c);
	c->max_body = max_body;
	c->cb = cb;
	c->ctx = ctx;
	return c;
}

/* Runs the parser over data; false when the stream can't be followed. */
static bool run(struct h1_conn *c, const char *data, size_t len, size_t *used)
{
	*used = http_parser_execute(&c->parser, &settings, data, len);
	if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED) {
		/* A request ended (on_message_complete). */
		http_parser_pause(&c->parser, 0);
		/*
		 * An Upgrade or CONNECT: whether the server switched protocols
		 * is in its answer, which is not seen here. nginx ignores an
		 * Upgrade it does not proxy and reads the next request, so
		 * parsing goes on; after a switch the bytes are a websocket
		 * frame or TLS, never a request line, and the stream is given up.
		 */
		if (c->parser.upgrade)
			parser_init(c);
		return true;
	}
	return HTTP_PARSER_ERRNO(&c->parser) == HPE_OK && !c->parser.upgrade && *used == len;
}

static bool known_method(const char *m)
{
	static const char *const known[] = {
#define XX(num, name, string) #string,
		HTTP_METHOD_MAP(XX)
#undef XX
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(m, known[i]))
			return true;
	return false;
}

/*
 * Between requests: drops the empty lines nginx skips too, holds back the
 * method token; returns the bytes taken. Then token_done gives the token to
 * the parser: one it does not know, ended by a space, as GET (its name kept
 * for the verdict), anything else as it came.
 */
static size_t token_take(struct h1_conn *c, const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char ch = data[i];

		if (!c->token_len && (ch == '\r' || ch == '\n'))
			continue;
		if (c->token_len == METHOD_MAX || !((ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '-'))
			break;
		c->token[c->token_len++] = ch;
	}
	return i;
}

static bool token_done(struct h1_conn *c, char next)
{
	const char *feed = c->token;
	size_t n = c->token_len, used;

	if (!n)
		return true;
	c->token[n] = '\0';
	c->token_len = 0;
	if (next == ' ' && !known_method(c->token)) {
		feed = "GET";
		n = 3;
	}
	if (!run(c, feed, n, &used))
		return false;
	if (feed != c->token)
		memcpy(c->method, c->token, sizeof(c->method));	/* after on_message_begin */
	return true;
}

int h1_feed(struct h1_conn *c, const char *data, size_t len)
{
	size_t used;

	while (len && !c->dead) {
		if (!c->in_message) {
			used = token_take(c, data, len);
			data += used;
			len -= used;
			if (!len)
				break;
			if (!token_done(c, *data)) {
				c->dead = true;
				break;
			}
		}
		if (!run(c, data, len, &used))
			c->dead = true;
		data += used;
		len -= used;
	}
	return c->dead ? -EPROTO : 0;
}

void h1_end(struct h1_conn *c)
{
	if (c->dead || !c->in_message)
		return;
	/* The header block as on_headers_complete leaves it: pairs of strings. */
	if (!c->headers_done && c->n_headers) {
		if ((!c->in_value && buf_add(&c->headers, "", 1, H1_MAX_HEADERS + 2)) ||
		    buf_add(&c->headers, "", 1, H1_MAX_HEADERS + 2))
			return;
	}
	deliver(c, true);
}

void h1_free(struct h1_conn *c)
{
	if (!c)
		return;
	buf_free(&c->url);
	buf_free(&c->headers);
	buf_free(&c->body);
	free(c);
}
