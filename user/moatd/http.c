// SPDX-License-Identifier: GPL-2.0
/*
 * /metrics and /healthz over libmicrohttpd. One internal polling thread
 * serves every connection; a scrape runs the source's callbacks on that
 * thread and never touches the packet path (it only reads maps).
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "lib/parse.h"
#include "moatd/http.h"

#define METRICS_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define TEXT_TYPE	"text/plain; charset=utf-8"
#define REASON_LEN	512
/*
 * Slots: Prometheus needs one, status pages a few. A client that sends its
 * request slowly (a header line every few seconds) keeps a slot only until
 * its deadline, which activity does not extend; one address may take at
 * most CONN_PER_IP of them, so the rest stay for everyone else (a scraper
 * on the same host as an attacker shares its address: the deadline is
 * what frees slots then). Past the limit, clients wait in the backlog.
 */
#define CONN_LIMIT	64
#define CONN_PER_IP	48
#define CONN_TIMEOUT	10	/* seconds: idle, as MHD counts it */
#define REQUEST_DEADLINE 5	/* seconds from accept, or the last answer, to the next answer */
#define WATCH_PERIOD_MS	250

/* One open connection, while MHD holds it (its socket_context). */
struct conn {
	struct conn *next, **pprev;
	int fd;
	struct timespec deadline;
	bool cut;
};

struct moat_http {
	struct MHD_Daemon *daemon;
	struct moat_http_source src;
	/* The deadline watch: its own thread, so that nothing moatd does
	 * (a long reload) delays it. conns is guarded by lock. */
	pthread_t watch;
	bool watching, stop;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct conn *conns;
};

/* Takes ownership of buf (malloc'd) whatever happens. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
			     const char *type, char *buf, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *fmt, const char *arg)
{
	char *buf;
	int n;

	n = asprintf(&buf, fmt, arg);
	if (n < 0)
		return MHD_NO;
	return reply(conn, status, TEXT_TYPE, buf, n);
}

static enum MHD_Result serve_metrics(struct moat_http *h, struct MHD_Connection *conn)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	f = open_memstream(&buf, &len);
	if (!f)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "error: %s\n",
				  strerror(errno));
	err = h->src.render_metrics(h->src.ctx, f);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(buf);
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "error: %s\n",
				  strerror(-err));
	}
	return reply(conn, MHD_HTTP_OK, METRICS_TYPE, buf, len);
}

static enum MHD_Result serve_health(struct moat_http *h, struct MHD_Connection *conn)
{
	char reason[REASON_LEN] = "";
	int ret;
	char *p;

	ret = h->src.health(h->src.ctx, reason, sizeof(reason));
	if (ret == 0)	/* "ok", or "ok; warning: ..." */
		return reply_text(conn, MHD_HTTP_OK, "%s\n", reason[0] ? reason : "ok");
	if (ret < 0)
		snprintf(reason, sizeof(reason), "health check failed: %s", strerror(-ret));
	else if (!reason[0])
		snprintf(reason, sizeof(reason), "unhealthy");
	/* The body is one line whatever the callback wrote. */
	for (p = reason; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "%s\n", reason);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version,
			      const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	static int seen;
	struct moat_http *h = cls;

	/* First call: headers only. Answer once any request body is consumed. */
	if (!*req_cls) {
		*req_cls = &seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "%s\n",
				  "method not allowed");
	/* MHD drops the body of a HEAD reply itself. */
	if (!strcmp(url, "/metrics"))
		return serve_metrics(h, conn);
	if (!strcmp(url, "/healthz"))
		return serve_health(h, conn);
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "%s\n", "not found: try /metrics or /healthz");
}

static void set_deadline(struct conn *c)
{
	clock_gettime(CLOCK_MONOTONIC, &c->deadline);
	c->deadline.tv_sec += REQUEST_DEADLINE;
}

static bool past(const struct timespec *t, const struct timespec *now)
{
	return now->tv_sec > t->tv_sec || (now->tv_sec == t->tv_sec && now->tv_nsec >= t->tv_nsec);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *info;
	struct moat_http *h = cls;
	struct conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		info = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = info ? calloc(1, sizeof(*c)) : NULL;
		if (!c)
			return;	/* no deadline for this one: MHD's idle timeout still holds */
		c->fd = info->connect_fd;
		set_deadline(c);
		pthread_mutex_lock(&h->lock);
		c->next = h->conns;
		c->pprev = &h->conns;
		if (h->conns)
			h->conns->pprev = &c->next;
		h->conns = c;
		pthread_mutex_unlock(&h->lock);
		*socket_context = c;
		return;
	}
	if (!c)
		return;
	/* MHD closes the socket after this: from here the watch must not touch it. */
	pthread_mutex_lock(&h->lock);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	pthread_mutex_unlock(&h->lock);
	free(c);
	*socket_context = NULL;
}

/* An answer went out: the next request on this connection gets a full deadline. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo *info;
	struct moat_http *h = cls;
	struct conn *c;

	info = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	c = info ? info->socket_context : NULL;
	if (!c)
		return;
	pthread_mutex_lock(&h->lock);
	if (!c->cut)
		set_deadline(c);
	pthread_mutex_unlock(&h->lock);
}

/*
 * Every WATCH_PERIOD_MS: a connection past its deadline is shut down (not
 * closed: the fd stays MHD's), MHD sees the end of the stream and frees
 * the slot. The lock keeps the fd valid: MHD closes it only after
 * on_connection() has taken it out of the list.
 */
static void *watch(void *arg)
{
	struct moat_http *h = arg;
	struct timespec now, until;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (struct conn *c = h->conns; c; c = c->next) {
			if (!c->cut && past(&c->deadline, &now)) {
				shutdown(c->fd, SHUT_RDWR);
				c->cut = true;
			}
		}
		until = now;
		until.tv_nsec += WATCH_PERIOD_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->wake, &h->lock, &until);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/*
 * The listening socket is ours so that a busy port or a missing address is
 * reported with its errno; MHD serves on it and closes it when stopped.
 */
static int open_listener(const char *addr, int *family, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *ai;
	char host[256], port[8];
	const char *why;
	uint16_t pn;
	int fd, one = 1, ret;

	why = moat_parse_hostport(addr, host, sizeof(host), &pn);
	if (why) {
		snprintf(err, errlen, "'%s': %s", addr, why);
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%u", pn);
	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret) {
		snprintf(err, errlen, "'%s': %s", addr, gai_strerror(ret));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	/* A restarted moatd must rebind while old connections sit in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, CONN_LIMIT)) {
		ret = -errno;
		close(fd);
		goto out;
	}
	*family = ai->ai_family;
	ret = fd;
out:
	if (ret < 0)
		snprintf(err, errlen, "couldn't listen on '%s': %s", addr, strerror(-ret));
	freeaddrinfo(ai);
	return ret;
}

struct moat_http *moat_http_start(const char *addr, const struct moat_http_source *src,
				  char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	pthread_condattr_t cattr;
	sigset_t all, old;
	struct moat_http *h;
	int fd, family = AF_INET;

	if (!src || !src->render_metrics || !src->health) {
		snprintf(err, errlen, "no metrics source");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	h->src = *src;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &cattr);
	pthread_condattr_destroy(&cattr);
	fd = open_listener(addr, &family, err, errlen);
	if (fd < 0) {
		moat_http_stop(h);
		return NULL;
	}
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The HTTP thread inherits this mask: signals stay with moatd's main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
				     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_LIMIT,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)CONN_PER_IP,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT,
				     MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				     MHD_OPTION_END);
	if (h->daemon)
		h->watching = !pthread_create(&h->watch, NULL, watch, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h->daemon || !h->watching) {
		snprintf(err, errlen, "couldn't start the HTTP server on '%s'", addr);
		if (!h->daemon)
			close(fd);
		moat_http_stop(h);
		return NULL;
	}
	return h;
}

void moat_http_stop(struct moat_http *h)
{
	if (!h)
		return;
	if (h->watching) {
		pthread_mutex_lock(&h->lock);
		h->stop = true;
		pthread_cond_signal(&h->wake);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->watch, NULL);
	}
	/* Closes every connection (each one's notification frees it). */
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
