// SPDX-License-Identifier: GPL-2.0
/*
 * The worker's evaluation threads (user/inspect/pool.c): requests queued
 * are each judged once, by threads sharing one CRS, with the verdicts of
 * judging them one by one; the queue is bounded in requests and in bytes,
 * and a full queue refuses (the worker answers shed) instead of blocking
 * or dropping; the copy a job holds does not depend on the caller's buffers.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "inspect/pool.h"

#define RULES	"/usr/share/modsecurity-crs/rules"

static struct crs *crs;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t open_cond = PTHREAD_COND_INITIALIZER;
static bool gate_closed;
static size_t n_done, by_conn[64][MOAT_INSP_N_RESULTS];

static void done(const struct moat_insp_verdict *v)
{
	pthread_mutex_lock(&lock);
	while (gate_closed)
		pthread_cond_wait(&open_cond, &lock);
	n_done++;
	if (v->conn < 64 && v->result < MOAT_INSP_N_RESULTS)
		by_conn[v->conn][v->result]++;
	pthread_mutex_unlock(&lock);
}

static void gate(bool closed)
{
	pthread_mutex_lock(&lock);
	gate_closed = closed;
	pthread_cond_broadcast(&open_cond);
	pthread_mutex_unlock(&lock);
}

static int setup(void **state)
{
	char err[512];

	crs = crs_load(RULES, 1, err, sizeof(err));
	if (!crs)
		fprintf(stderr, "load: %s\n", err);
	return crs ? 0 : -1;
}

static int teardown(void **state)
{
	crs_free(crs);
	return 0;
}

static void reset(void)
{
	n_done = 0;
	memset(by_conn, 0, sizeof(by_conn));
}

/* conn 0: a plain GET, 1: a clean form, 2: an XSS in the query. */
static void make(struct h1_request *r, int kind, char *url, char *hdrs, size_t *hlen)
{
	static const char form[] = "Host\0gw\0Content-Type\0application/x-www-form-urlencoded\0";
	static const char plain[] = "Host\0gw\0User-Agent\0curl/7.88.1\0";

	memset(r, 0, sizeof(*r));
	strcpy(r->method, kind == 1 ? "POST" : "GET");
	strcpy(url, kind == 0 ? "/index.html" : kind == 1 ? "/login" :
	       "/s?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
	r->url = url;
	*hlen = kind == 1 ? sizeof(form) - 1 : sizeof(plain) - 1;
	memcpy(hdrs, kind == 1 ? form : plain, *hlen);
	r->headers = hdrs;
	r->n_headers = 2;
	if (kind == 1) {
		r->body = "user=alice&comment=hello+world";
		r->body_len = strlen(r->body);
	}
}

static void test_judged_once_each(void **state)
{
	struct pool *p = pool_new(crs, 3, done);

	assert_non_null(p);
	reset();
	for (int i = 0; i < 60; i++) {
		struct moat_insp_verdict v = { .conn = i % 3 };
		struct h1_request r;
		char url[128], hdrs[128];
		size_t hlen;

		make(&r, i % 3, url, hdrs, &hlen);
		assert_int_equal(pool_submit(p, &r, "198.18.0.9", 40000, &v), 0);
		/* The job has its own copy: the caller's buffers change at once. */
		memset(url, 'x', sizeof(url) - 1);
		memset(hdrs, 'x', hlen);
	}
	pool_drain(p);
	assert_int_equal(n_done, 60);
	assert_int_equal(by_conn[0][MOAT_INSP_CLEAN], 20);
	assert_int_equal(by_conn[1][MOAT_INSP_CLEAN], 20);
	assert_int_equal(by_conn[2][MOAT_INSP_DETECTED], 20);
	pool_free(p);
}

/* Threads held in their callback: the queue fills to its bound, then refuses. */
static void test_full_queue_refuses(void **state)
{
	struct pool *p = pool_new(crs, 2, done);
	struct moat_insp_verdict v = { .conn = 0 };
	struct h1_request r;
	char url[128], hdrs[128];
	size_t hlen, accepted = 0;

	assert_non_null(p);
	reset();
	gate(true);
	make(&r, 0, url, hdrs, &hlen);
	while (pool_submit(p, &r, "198.18.0.9", 40000, &v) == 0)
		accepted++;
	assert_int_equal(accepted, POOL_MAX_JOBS);
	assert_int_equal(pool_submit(p, &r, "198.18.0.9", 40000, &v), -EAGAIN);
	gate(false);
	pool_drain(p);
	assert_int_equal(n_done, POOL_MAX_JOBS);
	/* Room again. */
	assert_int_equal(pool_submit(p, &r, "198.18.0.9", 40000, &v), 0);
	pool_drain(p);
	assert_int_equal(n_done, POOL_MAX_JOBS + 1);
	pool_free(p);
}

/* Big bodies: the byte bound refuses before the request count does. */
static void test_byte_bound(void **state)
{
	struct pool *p = pool_new(crs, 1, done);
	struct moat_insp_verdict v = { .conn = 1 };
	static char body[64 * 1024];
	struct h1_request r;
	char url[128], hdrs[128];
	size_t hlen, accepted = 0;

	assert_non_null(p);
	reset();
	gate(true);
	/* No Content-Type: the CRS has no body processor to run, the test stays quick. */
	make(&r, 0, url, hdrs, &hlen);
	memset(body, 'a', sizeof(body));
	r.body = body;
	r.body_len = sizeof(body);
	while (pool_submit(p, &r, "198.18.0.9", 40000, &v) == 0)
		accepted++;
	assert_true(accepted < POOL_MAX_JOBS);
	/* Each job counts its body, url, headers and a little bookkeeping. */
	assert_in_range(accepted, POOL_MAX_BYTES / (sizeof(body) + 1024),
			POOL_MAX_BYTES / sizeof(body));
	gate(false);
	pool_drain(p);
	assert_int_equal(n_done, accepted);
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judged_once_each),
		cmocka_unit_test(test_full_queue_refuses),
		cmocka_unit_test(test_byte_bound),
	};

	return cmocka_run_group_tests_name("pool", tests, setup, teardown);
}
