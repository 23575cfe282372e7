/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tests send the inspector: one request written as HTTP/1.1 bytes
 * or as a client's HTTP/2 frames (HPACK by libnghttp2's deflater, so the
 * dynamic table is really used across requests). Test code, not the worker's.
 */
#ifndef MOAT_TESTS_H2ENC_H
#define MOAT_TESTS_H2ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <nghttp2/nghttp2.h>
#include "inspect/buf.h"

#define TREQ_MAX_HEADERS	32

struct treq {
	const char *method, *path, *host;
	const char *hdr[TREQ_MAX_HEADERS][2];	/* name, value */
	size_t n_hdr;
	const char *body;
	size_t body_len;
};

/* How frames are cut; zero fields: one HEADERS, one DATA, no padding. */
struct h2shape {
	size_t frag;		/* header block bytes per HEADERS/CONTINUATION frame */
	size_t data;		/* body bytes per DATA frame */
	uint8_t pad;		/* padding on every HEADERS and DATA frame (PADDED) */
	bool priority;		/* PRIORITY flag on HEADERS */
	bool split_cookie;	/* one cookie field per "; "-separated crumb */
};

struct h2enc {
	nghttp2_hd_deflater *hpack;
	struct buf out;
	uint32_t next_sid;
};

/* The request as HTTP/1.1 bytes (Content-Length added when there is a body). */
int treq_h1(const struct treq *r, struct buf *out);

/* Preface and a SETTINGS frame; table: the deflater's dynamic table size. */
int h2enc_init(struct h2enc *e, size_t table);
void h2enc_free(struct h2enc *e);
void h2enc_frame(struct h2enc *e, uint8_t type, uint8_t flags, uint32_t sid, const void *p,
		 size_t n);
/* Header block of r on stream sid (no END_STREAM). */
int h2enc_headers(struct h2enc *e, uint32_t sid, const struct treq *r, const struct h2shape *s,
		  bool end_stream);
void h2enc_data(struct h2enc *e, uint32_t sid, const char *p, size_t n,
		const struct h2shape *s, bool end_stream);
/* A whole request on the next stream id; returns the stream id or 0. */
uint32_t h2enc_request(struct h2enc *e, const struct treq *r, const struct h2shape *s);

#endif /* MOAT_TESTS_H2ENC_H */
