/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One connection's client bytes to requests, HTTP/1.1 or HTTP/2: a
 * connection that opens with the HTTP/2 client preface is HTTP/2 (ALPN h2
 * over TLS), any other is HTTP/1.x. Both give struct h1_request.
 */
#ifndef MOAT_REASM_H
#define MOAT_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include "http1.h"

struct reasm;

/* NULL when out of memory. cb runs once per complete request, inside reasm_feed. */
struct reasm *reasm_new(size_t max_body, h1_request_cb cb, void *ctx);
/* 0, or -EPROTO (sticky) once the stream can't be followed. */
int reasm_feed(struct reasm *a, const char *data, size_t len);
/* true once the preface was seen. */
bool reasm_is_h2(const struct reasm *a);
/* The connection ended: requests begun and not finished are judged (HTTP/2). */
void reasm_close(struct reasm *a);
void reasm_free(struct reasm *a);

#endif /* MOAT_REASM_H */
