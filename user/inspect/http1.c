// SPDX-License-Identifier: GPL-2.0
/* HTTP/1.1 reassembly per connection on http-parser (see http1.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <http_parser.h>
#include "buf.h"
#include "http1.h"

struct h1_conn {
	http_parser parser;
	size_t max_body;
	h1_request_cb cb;
	void *ctx;
	bool dead;
	bool in_value;		/* the last header callback was a value */
	struct buf url, headers, body;
	size_t n_headers;
	bool truncated;
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

static int on_message_complete(http_parser *p)
{
	struct h1_conn *c = conn_of(p);
	struct h1_request r = {
		.url = c->url.p ? c->url.p : "",
		.headers = c->headers.p,
		.n_headers = c->n_headers,
		.body = c->body.p,
		.body_len = c->body.len,
		.truncated = c->truncated,
	};

	strncpy(r.method, http_method_str(p->method), sizeof(r.method) - 1);
	c->cb(c->ctx, &r);
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

struct h1_conn *h1_new(size_t max_body, h1_request_cb cb, void *ctx)
{
	struct h1_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->max_body = max_body;
	c->cb = cb;
	c->ctx = ctx;
	return c;
}

int h1_feed(struct h1_conn *c, const char *data, size_t len)
{
	size_t done;

	if (c->dead)
		return -EPROTO;
	done = http_parser_execute(&c->parser, &settings, data, len);
	/* An Upgrade (h2c, websocket) or CONNECT: what follows is not HTTP/1. */
	if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || c->parser.upgrade || done != len) {
		c->dead = true;
		return -EPROTO;
	}
	return 0;
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
