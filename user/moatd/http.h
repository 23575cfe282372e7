/* SPDX-License-Identifier: GPL-2.0 */
/*
 * moatd's metrics endpoint (libmicrohttpd, one internal polling thread):
 * GET /metrics, GET /healthz, 404 elsewhere, 405 for anything but GET/HEAD.
 *
 * The callbacks run on the HTTP thread, concurrently with the main loop.
 * They must never wait for the reload path: read the pinned maps through a
 * pin set of their own (moatctl's path, so a reload swapping map fds under
 * the main loop cannot pull an fd away), and copy the few fields only moatd
 * knows under a mutex the main loop holds just long enough to write them,
 * never across BPF work. serve.c does that: its render() and health() are
 * the source, moatd_publish() writes the copy.
 *
 * Start it after blocking the signals moatd waits for (the HTTP thread is
 * started with every signal blocked anyway), and stop it before freeing
 * what src->ctx points to. A reload that changes metrics.listen binds the
 * new address first and stops the old server only once that succeeded
 * (moatd_serve_prepare, moatd_serve).
 */
#ifndef MOATD_HTTP_H
#define MOATD_HTTP_H

#include <stddef.h>
#include <stdio.h>

struct moat_http_source {
	/* Writes the exposition to out; 0 or -errno (-> 500). */
	int (*render_metrics)(void *ctx, FILE *out);
	/* 0 healthy (reason: "" or "ok; warning: ..."), 1 unhealthy with a
	 * one-line reason, -errno on failure (-> 503). */
	int (*health)(void *ctx, char *reason, size_t len);
	void *ctx;
};

struct moat_http;

/*
 * Listens on "127.0.0.1:9477", "[::1]:9477" or "host:port" and serves src
 * from a thread of its own. NULL on failure with the cause in err.
 */
struct moat_http *moat_http_start(const char *listen, const struct moat_http_source *src,
				  char *err, size_t errlen);
/* Stops the thread (waits for a scrape in progress) and frees h; NULL is fine. */
void moat_http_stop(struct moat_http *h);

#endif /* MOATD_HTTP_H */
