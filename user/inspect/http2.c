// SPDX-License-Identifier: GPL-2.0
/* HTTP/2 reassembly per connection: own frame parser, nghttp2's HPACK (see http2.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <nghttp2/nghttp2.h>
#include "buf.h"
#include "http2.h"

enum { F_DATA, F_HEADERS, F_PRIORITY, F_RST_STREAM, F_SETTINGS, F_PUSH_PROMISE, F_PING,
       F_GOAWAY, F_WINDOW_UPDATE, F_CONTINUATION };
#define FL_END_STREAM	0x01
#define FL_ACK		0x01
#define FL_END_HEADERS	0x04
#define FL_PADDED	0x08
#define FL_PRIORITY	0x20

enum state {
	S_PREFACE,	/* the 24 bytes of the client preface */
	S_HEADER,	/* the 9 bytes of a frame header */
	S_PAYLOAD,	/* a frame held whole */
	S_PADLEN,	/* DATA: the pad length byte */
	S_DATA,		/* DATA: body bytes */
	S_DATA_PAD,	/* DATA: its padding */
	S_SKIP,		/* frames of unknown types */
};

struct stream {
	uint32_t id;
	bool headers_done;	/* END_HEADERS seen (the first block: later ones are trailers) */
	bool end_stream;	/* END_STREAM seen on the frame the block started with */
	char method[16];
	struct buf url, headers, cookie, host, body;
	size_t n_headers;
	bool truncated;
};

struct h2_conn {
	size_t max_body;
	h1_request_cb cb;
	void *ctx;
	bool dead;
	enum state state;
	size_t need;		/* bytes left in this state */
	unsigned char hdr[9];
	size_t have;		/* bytes of hdr or of the preface matched */
	uint32_t len, sid;	/* the current frame */
	uint8_t type, flags;
	struct buf frame;	/* S_PAYLOAD */
	struct stream *data_to;	/* S_DATA: the stream (NULL: bytes dropped) */
	size_t pad;		/* S_DATA: padding after the body bytes */
	uint32_t cont_sid;	/* a header block continues on this stream (0: none) */
	uint32_t last_sid;	/* the highest stream the client opened */
	nghttp2_hd_inflater *hpack;
	struct stream *streams[H2_MAX_STREAMS];
};

static uint32_t be24(const unsigned char *p) { return p[0] << 16 | p[1] << 8 | p[2]; }
static uint32_t be31(const unsigned char *p)
{
	return (uint32_t)(p[0] & 0x7f) << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static struct stream **stream_slot(struct h2_conn *c, uint32_t id)
{
	for (int i = 0; i < H2_MAX_STREAMS; i++)
		if (c->streams[i] && c->streams[i]->id == id)
			return &c->streams[i];
	return NULL;
}

static void stream_free(struct stream *s)
{
	buf_free(&s->url);
	buf_free(&s->headers);
	buf_free(&s->cookie);
	buf_free(&s->host);
	buf_free(&s->body);
	free(s);
}

static void stream_drop(struct h2_conn *c, uint32_t id)
{
	struct stream **p = stream_slot(c, id);

	if (p) {
		stream_free(*p);
		*p = NULL;
	}
}

/* A stream the client opens: odd, above every earlier one, and room for it. */
static struct stream *stream_open(struct h2_conn *c, uint32_t id)
{
	struct stream *s;

	if (!(id & 1) || id <= c->last_sid)
		return NULL;
	for (int i = 0; i < H2_MAX_STREAMS; i++) {
		if (c->streams[i])
			continue;
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		s->id = id;
		c->last_sid = id;
		c->streams[i] = s;
		return s;
	}
	return NULL;
}

static int add_pair(struct buf *b, const char *name, size_t nlen, const char *value,
		    size_t vlen)
{
	if (buf_add(b, name, nlen, H1_MAX_HEADERS) || buf_add(b, "", 1, H1_MAX_HEADERS) ||
	    buf_add(b, value, vlen, H1_MAX_HEADERS) || buf_add(b, "", 1, H1_MAX_HEADERS))
		return -1;
	return 0;
}

/* One decoded field: pseudo-headers (first block only) or a header. */
static int on_field(struct stream *s, const nghttp2_nv *nv)
{
	const char *name = (const char *)nv->name, *value = (const char *)nv->value;

	if (nv->namelen && name[0] == ':') {
		if (s->headers_done)
			return 0;	/* pseudo-headers in trailers: malformed, nothing to inspect */
		if (nv->namelen == 7 && !memcmp(name, ":method", 7)) {
			size_t n = nv->valuelen < sizeof(s->method) - 1 ? nv->valuelen :
				   sizeof(s->method) - 1;

			memcpy(s->method, value, n);
			s->method[n] = '\0';
		} else if (nv->namelen == 5 && !memcmp(name, ":path", 5)) {
			s->url.len = 0;
			return buf_add(&s->url, value, nv->valuelen, H1_MAX_URL);
		} else if (nv->namelen == 10 && !memcmp(name, ":authority", 10)) {
			s->host.len = 0;
			return buf_add(&s->host, value, nv->valuelen, H1_MAX_HEADERS);
		}
		return 0;
	}
	if (nv->namelen == 6 && !strncasecmp(name, "cookie", 6)) {
		if (s->cookie.len && buf_add(&s->cookie, "; ", 2, H1_MAX_HEADERS))
			return -1;
		return buf_add(&s->cookie, value, nv->valuelen, H1_MAX_HEADERS);
	}
	if (nv->namelen == 4 && !strncasecmp(name, "host", 4))
		s->host.len = 0;	/* a Host header wins over :authority */
	s->n_headers++;
	return add_pair(&s->headers, name, nv->namelen, value, nv->valuelen);
}

/* The request is whole (END_STREAM) or reset: hand it on, forget the stream. */
static int stream_done(struct h2_conn *c, struct stream *s)
{
	struct h1_request r = { .truncated = s->truncated };
	int err = 0;

	if (s->host.len) {
		err |= add_pair(&s->headers, "host", 4, s->host.p, s->host.len);
		s->n_headers++;
	}
	if (s->cookie.len) {
		err |= add_pair(&s->headers, "cookie", 6, s->cookie.p, s->cookie.len);
		s->n_headers++;
	}
	if (!err) {
		memcpy(r.method, s->method, sizeof(r.method));
		r.url = s->url.p ? s->url.p : "";
		r.headers = s->headers.p;
		r.n_headers = s->n_headers;
		r.body = s->body.p;
		r.body_len = s->body.len;
		c->cb(c->ctx, &r);
	}
	stream_drop(c, s->id);
	return err;
}

/* Decodes one fragment of a header block into stream s (NULL: decode, drop). */
static int inflate(struct h2_conn *c, struct stream *s, const unsigned char *in, size_t len,
		   bool final)
{
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t n = nghttp2_hd_inflate_hd2(c->hpack, &nv, &flags, in, len, final);

		if (n < 0)
			return -1;
		in += n;
		len -= n;
		if ((flags & NGHTTP2_HD_INFLATE_EMIT) && s && on_field(s, &nv))
			return -1;
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(c->hpack);
			return 0;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && !len)
			return final ? -1 : 0;
	}
}

/* A header block fragment ended: on END_HEADERS the block is whole. */
static int block_fragment(struct h2_conn *c, uint32_t sid, const unsigned char *p, size_t n,
			  bool end_headers)
{
	struct stream **slot = stream_slot(c, sid), *s = slot ? *slot : NULL;

	if (inflate(c, s, p, n, end_headers))
		return -1;
	if (!end_headers) {
		c->cont_sid = sid;
		return 0;
	}
	c->cont_sid = 0;
	if (!s)
		return 0;
	s->headers_done = true;
	return s->end_stream ? stream_done(c, s) : 0;
}

static int on_headers(struct h2_conn *c, const unsigned char *p, size_t n)
{
	struct stream **slot = stream_slot(c, c->sid), *s = slot ? *slot : NULL;
	size_t pad = 0;

	if (!c->sid)
		return -1;
	if (c->flags & FL_PADDED) {
		if (n < 1)
			return -1;
		pad = p[0];
		p++, n--;
	}
	if (c->flags & FL_PRIORITY) {
		if (n < 5)
			return -1;
		p += 5, n -= 5;
	}
	if (pad > n)
		return -1;
	n -= pad;
	if (!s) {
		s = stream_open(c, c->sid);
		if (!s)
			return -1;	/* a closed or even stream, or too many open */
	} else if (!s->headers_done || !(c->flags & FL_END_STREAM)) {
		return -1;	/* a second block is only trailers, which end the stream */
	}
	s->end_stream = c->flags & FL_END_STREAM;
	return block_fragment(c, c->sid, p, n, c->flags & FL_END_HEADERS);
}

/* A frame held whole (S_PAYLOAD) is complete. */
static int on_frame(struct h2_conn *c)
{
	const unsigned char *p = c->frame.p ? (const unsigned char *)c->frame.p :
				 (const unsigned char *)"";
	size_t n = c->len;
	struct stream **slot;

	if (c->cont_sid && (c->type != F_CONTINUATION || c->sid != c->cont_sid))
		return -1;	/* nothing may come between a block's fragments */
	switch (c->type) {
	case F_HEADERS:
		return on_headers(c, p, n);
	case F_CONTINUATION:
		if (!c->cont_sid)
			return -1;
		return block_fragment(c, c->sid, p, n, c->flags & FL_END_HEADERS);
	case F_SETTINGS:
		/* The client's own SETTINGS_HEADER_TABLE_SIZE bounds the
		 * server's encoder, not the blocks decoded here: only framing
		 * is checked. */
		if (c->sid || (c->flags & FL_ACK ? n != 0 : n % 6))
			return -1;
		return 0;
	case F_RST_STREAM:
		if (!c->sid || n != 4)
			return -1;
		/* The server may already act on what arrived: inspect it. */
		slot = stream_slot(c, c->sid);
		if (slot && (*slot)->headers_done)
			return stream_done(c, *slot);
		stream_drop(c, c->sid);
		return 0;
	case F_PRIORITY:
		return !c->sid || n != 5 ? -1 : 0;
	case F_PING:
		return c->sid || n != 8 ? -1 : 0;
	case F_GOAWAY:
		return c->sid || n < 8 ? -1 : 0;
	case F_WINDOW_UPDATE:
		return n != 4 ? -1 : 0;
	default:
		return -1;	/* PUSH_PROMISE: a client never sends one */
	}
}

/* A frame header is complete: decide where its payload goes. */
static int on_frame_header(struct h2_conn *c)
{
	struct stream **slot;

	c->len = be24(c->hdr);
	c->type = c->hdr[3];
	c->flags = c->hdr[4];
	c->sid = be31(c->hdr + 5);
	if (c->type > F_CONTINUATION) {
		/* Unknown types are ignored (RFC 9113 §4.1), but not inside a block. */
		if (c->cont_sid)
			return -1;
		c->state = S_SKIP;
		c->need = c->len;
		return 0;
	}
	if (c->type != F_DATA) {
		if (c->len > H2_MAX_FRAME)
			return -1;
		c->frame.len = 0;
		c->state = S_PAYLOAD;
		c->need = c->len;
		return 0;
	}
	if (!c->sid || c->cont_sid)
		return -1;
	slot = stream_slot(c, c->sid);
	/* DATA on a stream not open for a body: the server refuses it, nothing to inspect. */
	c->data_to = slot && (*slot)->headers_done ? *slot : NULL;
	c->pad = 0;
	c->need = c->len;
	c->state = c->flags & FL_PADDED ? S_PADLEN : S_DATA;
	return 0;
}

/* A DATA frame's bytes are all in. */
static int on_data_end(struct h2_conn *c)
{
	if (c->data_to && (c->flags & FL_END_STREAM))
		return stream_done(c, c->data_to);
	return 0;
}

static void body_add(struct h2_conn *c, struct stream *s, const char *p, size_t n)
{
	size_t room = c->max_body - s->body.len;

	if (n > room) {
		s->truncated = true;
		n = room;
	}
	/* +1: buf keeps a NUL after the bytes; out of memory reads as truncated. */
	if (n && buf_add(&s->body, p, n, c->max_body + 1))
		s->truncated = true;
}

/*
 * States whose bytes are all in move on; zero-length frames end right at
 * their header. -1 on bad framing.
 */
static int advance(struct h2_conn *c)
{
	while (!c->need) {
		switch (c->state) {
		case S_PAYLOAD:
			c->state = S_HEADER;
			if (on_frame(c))
				return -1;
			break;
		case S_PADLEN:
			return -1;	/* PADDED without room for its length byte */
		case S_DATA:
			if (c->pad) {
				c->need = c->pad;
				c->pad = 0;
				c->state = S_DATA_PAD;
				break;
			}
			/* fall through */
		case S_DATA_PAD:
			c->state = S_HEADER;
			if (on_data_end(c))
				return -1;
			break;
		case S_SKIP:
			c->state = S_HEADER;
			break;
		default:
			return 0;	/* S_PREFACE, S_HEADER: counted by have */
		}
	}
	return 0;
}

/* Consumes what the current state can take of data; returns bytes used or -1. */
static ssize_t step(struct h2_conn *c, const char *data, size_t len)
{
	size_t n = c->need < len ? c->need : len;

	switch (c->state) {
	case S_PREFACE:
		n = H2_PREFACE_LEN - c->have < len ? H2_PREFACE_LEN - c->have : len;
		if (memcmp(data, &H2_PREFACE[c->have], n))
			return -1;
		c->have += n;
		if (c->have == H2_PREFACE_LEN) {
			c->have = 0;
			c->state = S_HEADER;
		}
		return n;
	case S_HEADER:
		n = 9 - c->have < len ? 9 - c->have : len;
		memcpy(c->hdr + c->have, data, n);
		c->have += n;
		if (c->have == 9) {
			c->have = 0;
			if (on_frame_header(c))
				return -1;
		}
		break;
	case S_PAYLOAD:
		if (buf_add(&c->frame, data, n, H2_MAX_FRAME + 1))
			return -1;
		c->need -= n;
		break;
	case S_PADLEN:
		n = 1;
		c->pad = (unsigned char)data[0];
		c->need--;
		if (c->pad > c->need)
			return -1;
		c->need -= c->pad;
		c->state = S_DATA;
		break;
	case S_DATA:
		if (c->data_to)
			body_add(c, c->data_to, data, n);
		c->need -= n;
		break;
	case S_DATA_PAD:
	case S_SKIP:
		c->need -= n;
		break;
	}
	return advance(c) ? -1 : (ssize_t)n;
}

int h2_feed(struct h2_conn *c, const char *data, size_t len)
{
	while (!c->dead && len) {
		ssize_t n = step(c, data, len);

		if (n < 0) {
			c->dead = true;
			break;
		}
		data += n;
		len -= n;
	}
	return c->dead ? -EPROTO : 0;
}

struct h2_conn *h2_new(size_t max_body, h1_request_cb cb, void *ctx)
{
	struct h2_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (nghttp2_hd_inflate_new(&c->hpack) ||
	    nghttp2_hd_inflate_change_table_size(c->hpack, H2_MAX_TABLE)) {
		h2_free(c);
		return NULL;
	}
	c->max_body = max_body;
	c->cb = cb;
	c->ctx = ctx;
	return c;
}

void h2_close(struct h2_conn *c)
{
	for (int i = 0; i < H2_MAX_STREAMS; i++)
		if (c->streams[i] && c->streams[i]->headers_done)
			stream_done(c, c->streams[i]);
}

void h2_free(struct h2_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < H2_MAX_STREAMS; i++)
		if (c->streams[i])
			stream_free(c->streams[i]);
	if (c->hpack)
		nghttp2_hd_inflate_del(c->hpack);
	buf_free(&c->frame);
	free(c);
}
