// SPDX-License-Identifier: GPL-2.0
/* Test-side request encoders (see h2enc.h). */
#include <stdio.h>
#include <string.h>
#include "h2enc.h"

#define LIMIT	(16u << 20)

static int add(struct buf *b, const void *p, size_t n)
{
	return buf_add(b, p, n, LIMIT);
}

static int adds(struct buf *b, const char *s)
{
	return add(b, s, strlen(s));
}

int treq_h1(const struct treq *r, struct buf *out)
{
	char cl[64];
	int err = 0;

	err |= adds(out, r->method) | adds(out, " ") | adds(out, r->path) |
	       adds(out, " HTTP/1.1\r\nHost: ") | adds(out, r->host) | adds(out, "\r\n");
	for (size_t i = 0; i < r->n_hdr; i++)
		err |= adds(out, r->hdr[i][0]) | adds(out, ": ") | adds(out, r->hdr[i][1]) |
		       adds(out, "\r\n");
	if (r->body_len || !strcmp(r->method, "POST")) {
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", r->body_len);
		err |= adds(out, cl);
	}
	err |= adds(out, "\r\n");
	if (r->body_len)
		err |= add(out, r->body, r->body_len);
	return err ? -1 : 0;
}

void h2enc_frame(struct h2enc *e, uint8_t type, uint8_t flags, uint32_t sid, const void *p,
		 size_t n)
{
	unsigned char h[9] = { n >> 16, n >> 8, n, type, flags, sid >> 24 & 0x7f, sid >> 16,
			       sid >> 8, sid };

	add(&e->out, h, 9);
	if (n)
		add(&e->out, p, n);
}

int h2enc_init(struct h2enc *e, size_t table)
{
	/* SETTINGS_HEADER_TABLE_SIZE, SETTINGS_ENABLE_PUSH = 0 */
	static const unsigned char settings[] = { 0, 1, 0, 0, 0x10, 0, 0, 2, 0, 0, 0, 0 };

	memset(e, 0, sizeof(*e));
	if (nghttp2_hd_deflate_new(&e->hpack, table))
		return -1;
	e->next_sid = 1;
	adds(&e->out, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	h2enc_frame(e, 4, 0, 0, settings, sizeof(settings));
	return 0;
}

void h2enc_free(struct h2enc *e)
{
	if (e->hpack)
		nghttp2_hd_deflate_del(e->hpack);
	buf_free(&e->out);
}

/* One frame with optional padding and priority fields around a payload. */
static void frame_padded(struct h2enc *e, uint8_t type, uint8_t flags, uint32_t sid,
			 const unsigned char *p, size_t n, const struct h2shape *s, bool prio)
{
	unsigned char f[1 + 5 + 65536 + 255];
	size_t len = 0;

	if (s && s->pad) {
		flags |= 0x08;
		f[len++] = s->pad;
	}
	if (prio) {
		flags |= 0x20;
		memcpy(f + len, "\x80\0\0\0\x0f", 5);	/* exclusive on stream 0, weight 16 */
		len += 5;
	}
	memcpy(f + len, p, n);
	len += n;
	if (s && s->pad) {
		memset(f + len, 0, s->pad);
		len += s->pad;
	}
	h2enc_frame(e, type, flags, sid, f, len);
}

int h2enc_headers(struct h2enc *e, uint32_t sid, const struct treq *r, const struct h2shape *s,
		  bool end_stream)
{
	nghttp2_nv nv[4 + TREQ_MAX_HEADERS * 8];
	char lower[TREQ_MAX_HEADERS][64];
	unsigned char block[65536];
	size_t n = 0, frag;
	ssize_t len;

#define NV(k, v) nv[n++] = (nghttp2_nv){ (uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), 0 }
	NV(":method", r->method);
	NV(":scheme", "https");
	NV(":authority", r->host);
	NV(":path", r->path);
	for (size_t i = 0; i < r->n_hdr; i++) {
		size_t k;

		for (k = 0; r->hdr[i][0][k] && k < sizeof(lower[i]) - 1; k++)
			lower[i][k] = r->hdr[i][0][k] | (r->hdr[i][0][k] >= 'A' && r->hdr[i][0][k] <= 'Z' ? 0x20 : 0);
		lower[i][k] = '\0';
		if (s && s->split_cookie && !strcmp(lower[i], "cookie")) {
			const char *v = r->hdr[i][1], *sep;

			while ((sep = strstr(v, "; ")) && n < sizeof(nv) / sizeof(nv[0]) - 1) {
				nv[n++] = (nghttp2_nv){ (uint8_t *)"cookie", (uint8_t *)v, 6, sep - v, 0 };
				v = sep + 2;
			}
			NV("cookie", v);
			continue;
		}
		NV(lower[i], r->hdr[i][1]);
	}
#undef NV
	len = nghttp2_hd_deflate_hd(e->hpack, block, sizeof(block), nv, n);
	if (len < 0)
		return -1;
	frag = s && s->frag ? s->frag : (size_t)len;
	for (size_t at = 0; at < (size_t)len || at == 0; at += frag) {
		size_t part = (size_t)len - at < frag ? (size_t)len - at : frag;
		bool last = at + part >= (size_t)len;
		uint8_t flags = last ? 0x04 : 0;

		if (at == 0)
			frame_padded(e, 1, flags | (end_stream ? 1 : 0), sid, block, part, s,
				     s && s->priority);
		else
			h2enc_frame(e, 9, flags, sid, block + at, part);
		if (last)
			break;
	}
	return 0;
}

void h2enc_data(struct h2enc *e, uint32_t sid, const char *p, size_t n,
		const struct h2shape *s, bool end_stream)
{
	size_t step = s && s->data ? s->data : 16384;

	for (size_t at = 0;; at += step) {
		size_t part = n - at < step ? n - at : step;
		bool last = at + part >= n;

		frame_padded(e, 0, last && end_stream ? 1 : 0, sid, (const unsigned char *)p + at,
			     part, s, false);
		if (last)
			break;
	}
}

uint32_t h2enc_request(struct h2enc *e, const struct treq *r, const struct h2shape *s)
{
	uint32_t sid = e->next_sid;

	e->next_sid += 2;
	if (h2enc_headers(e, sid, r, s, !r->body_len))
		return 0;
	if (r->body_len)
		h2enc_data(e, sid, r->body, r->body_len, s, true);
	return sid;
}
