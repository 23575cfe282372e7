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
 * never across BPF work. Wiring, in moatd's main:
 *
 *	static int render(void *ctx, FILE *out)
 *	{
 *		struct moatd *d = ctx;
 *		struct moat_metrics_info info;
 *		struct moat_snapshot *s = malloc(sizeof(*s));
 *		struct moat_pins p;
 *		int err;
 *
 *		if (!s)
 *			return -ENOMEM;
 *		moatd_info_copy(d, &info);	// mutex, memcpy, unlock
 *		err = moat_pins_open(d->pin_dir, &p);
 *		if (!err) {
 *			err = moat_snapshot_read(&p, s);
 *			moat_pins_close(&p);
 *		}
 *		if (!err)
 *			err = moat_metrics_render(out, s, &info);
 *		free(s);
 *		return err;
 *	}
 *	// health(): same snapshot, then
 *	//	return moat_health(err ? NULL : s, &info, reason, len);
 *
 *	struct moat_http_source src = { render, health, &daemon };
 *	daemon.http = moat_http_start(cfg.metrics.listen, &src, err, sizeof(err));
 *	if (!daemon.http)
 *		fail: "couldn't serve metrics on '%s': %s", listen, err
 *	...main loop...
 *	moat_http_stop(daemon.http);	// before freeing what ctx points to
 *
 * Start it after blocking the signals moatd waits for (the HTTP thread is
 * started with every signal blocked anyway). A reload that changes
 * metrics.listen restarts it: moat_http_stop() then moat_http_start().
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
