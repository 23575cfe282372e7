// SPDX-License-Identifier: GPL-2.0
/* Pre-filter, CRS and the evaluation threads (see pool.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pool.h"

struct job {
	struct job *next;
	struct moat_insp_verdict v;
	char client[46];
	int port;
	size_t bytes;
	struct h1_request r;	/* pointing into data */
	char data[];
};

struct pool {
	struct crs *crs;
	pool_done_cb done;
	pthread_mutex_t lock;
	pthread_cond_t work, idle;
	struct job *head, **tail;
	size_t jobs, bytes, busy;
	int started;
	bool stop;
	int n_threads;
	pthread_t threads[POOL_MAX_THREADS];
};

bool judge_plain(const struct prefilter *pf, const struct h1_request *r,
		 struct moat_insp_verdict *v)
{
	if (!prefilter_plain(pf, r))
		return false;
	crs_describe(r, v);
	v->result = judged_clean(r);
	return true;
}

void judge_crs(struct crs *crs, const struct h1_request *r, const char *client, int port,
	       struct moat_insp_verdict *v)
{
	crs_eval(crs, r, client, port, v);
	if (v->result == MOAT_INSP_CLEAN)
		v->result = judged_clean(r);
}

void judge(struct crs *crs, const struct prefilter *pf, const struct h1_request *r,
	   const char *client, int port, struct moat_insp_verdict *v)
{
	if (!judge_plain(pf, r, v))
		judge_crs(crs, r, client, port, v);
}

static void *run(void *arg)
{
	struct pool *p = arg;
	struct job *j;

	pthread_mutex_lock(&p->lock);
	p->started++;
	pthread_cond_broadcast(&p->idle);
	for (;;) {
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (!p->head)
			break;	/* stopping, nothing left */
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = &p->head;
		p->busy++;
		pthread_mutex_unlock(&p->lock);

		judge_crs(p->crs, &j->r, j->client, j->port, &j->v);
		p->done(&j->v);

		pthread_mutex_lock(&p->lock);
		p->jobs--;
		p->bytes -= j->bytes;
		p->busy--;
		free(j);
		if (!p->head && !p->busy)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct pool *pool_new(struct crs *crs, int threads, pool_done_cb done)
{
	struct pool *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return NULL;
	if (threads < 1)
		threads = 1;
	if (threads > POOL_MAX_THREADS)
		threads = POOL_MAX_THREADS;
	p->crs = crs;
	p->done = done;
	p->tail = &p->head;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	for (; p->n_threads < threads; p->n_threads++) {
		err = pthread_create(&p->threads[p->n_threads], NULL, run, p);
		if (err) {
			pool_free(p);
			errno = err;
			return NULL;
		}
	}
	/* Each thread's start (rseq, robust list...) is over before a caller
	 * installs a seccomp filter that allows none of it. */
	pthread_mutex_lock(&p->lock);
	while (p->started < p->n_threads)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return p;
}

/* Headers are n "name\0value\0" pairs: their length. */
static size_t headers_len(const struct h1_request *r)
{
	const char *h = r->headers;

	for (size_t i = 0; i < 2 * r->n_headers; i++)
		h += strlen(h) + 1;
	return h - r->headers;
}

int pool_submit(struct pool *p, const struct h1_request *r, const char *client, int port,
		const struct moat_insp_verdict *v)
{
	size_t url = strlen(r->url) + 1, hdr = r->n_headers ? headers_len(r) : 0;
	size_t bytes = sizeof(struct job) + url + hdr + r->body_len + 1;
	struct job *j;

	pthread_mutex_lock(&p->lock);
	if (p->jobs >= POOL_MAX_JOBS || p->bytes + bytes > POOL_MAX_BYTES) {
		pthread_mutex_unlock(&p->lock);
		return -EAGAIN;
	}
	p->jobs++;
	p->bytes += bytes;	/* reserved before the copy: the reader is the only submitter */
	pthread_mutex_unlock(&p->lock);

	j = malloc(bytes);
	if (!j) {
		pthread_mutex_lock(&p->lock);
		p->jobs--;
		p->bytes -= bytes;
		pthread_mutex_unlock(&p->lock);
		return -ENOMEM;
	}
	j->next = NULL;
	j->v = *v;
	snprintf(j->client, sizeof(j->client), "%s", client);
	j->port = port;
	j->bytes = bytes;
	j->r = *r;
	memcpy(j->data, r->url, url);
	j->r.url = j->data;
	if (hdr)
		memcpy(j->data + url, r->headers, hdr);
	j->r.headers = hdr ? j->data + url : NULL;
	if (r->body_len)
		memcpy(j->data + url + hdr, r->body, r->body_len);
	j->data[url + hdr + r->body_len] = '\0';
	j->r.body = r->body_len ? j->data + url + hdr : NULL;

	pthread_mutex_lock(&p->lock);
	*p->tail = j;
	p->tail = &j->next;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void pool_drain(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->jobs)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->idle);
	free(p);
}
