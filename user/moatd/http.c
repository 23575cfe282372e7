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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "moatd/http.h"

#define METRICS_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define TEXT_TYPE	"text/plain; charset=utf-8"
#define REASON_LEN	512
#define CONN_LIMIT	32	/* Prometheus needs one; leave room for status pages */
#define CONN_TIMEOUT	10	/* seconds: an idle client can't hold a slot forever */

struct moat_http {
	struct MHD_Daemon *daemon;
	struct moat_http_source src;
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
	if (ret == 0)
		return reply_text(conn, MHD_HTTP_OK, "%s\n", "ok");
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

/* "host:port", "[v6]:port" or ":port" (any address) -> host, port strings. */
static int split_listen(const char *addr, char *host, size_t hostlen, const char **port)
{
	const char *colon;
	size_t n;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		n = end - addr - 1;
		addr++;
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || memchr(addr, ':', colon - addr))
			return -EINVAL;	/* a bare IPv6 address needs brackets */
		n = colon - addr;
	}
	if (n >= hostlen || !colon[1])
		return -EINVAL;
	memcpy(host, addr, n);
	host[n] = '\0';
	*port = colon + 1;
	return 0;
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
	char host[256];
	const char *port;
	int fd, one = 1, ret;

	if (split_listen(addr, host, sizeof(host), &port)) {
		snprintf(err, errlen, "'%s': expected HOST:PORT or [IPV6]:PORT", addr);
		return -EINVAL;
	}
	ret = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
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
	fd = open_listener(addr, &family, err, errlen);
	if (fd < 0) {
		free(h);
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
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT,
				     MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h->daemon) {
		snprintf(err, errlen, "couldn't start the HTTP server on '%s'", addr);
		close(fd);
		free(h);
		return NULL;
	}
	return h;
}

void moat_http_stop(struct moat_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}
