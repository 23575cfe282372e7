/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The worker's evaluation: the pre-filter, then the CRS, on a small pool of
 * threads sharing one rule set (each transaction is its own), fed by a
 * bounded queue. The thread that reads the socketpair only submits: when
 * the queue is full the request is answered `shed`, never dropped unsaid.
 */
#ifndef MOAT_POOL_H
#define MOAT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "moat/shared.h"
#include "moat/inspect.h"
#include "crs.h"
#include "http1.h"
#include "prefilter.h"

#define POOL_MAX_THREADS	8

/* Requests and bytes (copies of url, headers, body) the queue holds at most. */
#define POOL_MAX_JOBS		256
#define POOL_MAX_BYTES		(8u << 20)

struct pool;

/* Called from the pool's threads, one verdict per request. */
typedef void (*pool_done_cb)(const struct moat_insp_verdict *v);

/* A request nothing was found in: clean, or unparsed when the connection
 * ended inside it (what came was judged, not a whole request). */
static inline __u32 judged_clean(const struct h1_request *r)
{
	return r->incomplete ? MOAT_INSP_UNPARSED : MOAT_INSP_CLEAN;
}

/*
 * The verdict of one request, on the calling thread; v comes with conn,
 * client, port and read_ns set, the rest is filled here. judge_plain:
 * true when the pre-filter clears r (v filled), false to leave it to the
 * CRS; judge_crs: the CRS's verdict; judge: the one, else the other.
 */
bool judge_plain(const struct prefilter *pf, const struct h1_request *r,
		 struct moat_insp_verdict *v);
void judge_crs(struct crs *crs, const struct h1_request *r, const char *client, int port,
	       struct moat_insp_verdict *v);
void judge(struct crs *crs, const struct prefilter *pf, const struct h1_request *r,
	   const char *client, int port, struct moat_insp_verdict *v);

/* Starts threads (1..POOL_MAX_THREADS) judging with the CRS (the caller
 * ran the pre-filter); NULL with errno on failure. */
struct pool *pool_new(struct crs *crs, int threads, pool_done_cb done);
/*
 * Queues a copy of r for judging; -EAGAIN when the queue is full (the
 * caller answers shed), -ENOMEM. v as for judge().
 */
int pool_submit(struct pool *p, const struct h1_request *r, const char *client, int port,
		const struct moat_insp_verdict *v);
/* Waits until the queue is empty and no thread is judging. */
void pool_drain(struct pool *p);
/* Judges what is queued, stops the threads. */
void pool_free(struct pool *p);

#endif /* MOAT_POOL_H */
