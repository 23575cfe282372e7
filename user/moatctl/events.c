// SPDX-License-Identifier: GPL-2.0
/*
 * moatctl events: live sampled drops and the inspector's detections from the
 * pinned ring buffer, one line each, until interrupted. Source addresses of
 * drops appear here and nowhere else (never in a metric or a log), for the
 * operator at the console. A detection (written there by moatd, see
 * include/moat/inspect.h) is told from a drop by its size; with --json it is
 * the same line as in moatd's log.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "moatctl.h"
#include "lib/insp_event.h"
#include "lib/table.h"

struct events_ctx {
	struct ctl *c;
	struct moat_iface ifaces[MOAT_MAX_IFACES];
	__u64 since_ns;		/* older records were waiting in the ring: skip */
	__s64 mono_to_real_ns;
	long long max;		/* stop after this many; 0 = never */
	long long seen;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static __u64 now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void addr_text(const struct moat_addr *a, __u16 port, char *buf, size_t len)
{
	struct moat_cidr c = { .addr = *a, .prefixlen = 128 };
	char ip[64];

	c.family = (!a->a[0] && !a->a[1] && a->a[2] == htonl(0xffff)) ? AF_INET : AF_INET6;
	moat_format_cidr(&c, ip, sizeof(ip));
	if (!port)
		snprintf(buf, len, "%s", ip);
	else if (c.family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, port);
	else
		snprintf(buf, len, "%s:%u", ip, port);
}

static const char *proto_name(__u8 p)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	}
	return "other";
}

static void on_detection(struct events_ctx *x, const struct moat_insp_event *e)
{
	json_object *o = moat_insp_event_json(e);

	if (x->c->json) {
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		json_object *v;

		json_object_object_get_ex(o, "rules", &v);
		printf("%s detection %-8s %s %s %s rules %s: %s\n",
		       json_object_get_string(json_object_object_get(o, "time")),
		       json_object_get_string(json_object_object_get(o, "category")),
		       json_object_get_string(json_object_object_get(o, "client")),
		       json_object_get_string(json_object_object_get(o, "method")),
		       json_object_get_string(json_object_object_get(o, "path")),
		       json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
		       json_object_get_string(json_object_object_get(o, "action")));
	}
	json_object_put(o);
}

static int on_event(void *arg, void *data, size_t size)
{
	struct events_ctx *x = arg;
	const struct moat_event *e = data;
	char src[80], dst[80], when[40];
	const char *ifname;
	time_t secs;
	struct tm tm;
	__u64 real;

	if (size < sizeof(*e) || e->ts_ns < x->since_ns)
		return 0;
	if (size == sizeof(struct moat_insp_event)) {
		on_detection(x, data);
		goto out;
	}
	real = e->ts_ns + x->mono_to_real_ns;
	secs = real / 1000000000ull;
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03lluZ",
		 (unsigned long long)(real / 1000000 % 1000));
	addr_text(&e->src, e->sport, src, sizeof(src));
	addr_text(&e->dst, e->dport, dst, sizeof(dst));
	ifname = e->slot < MOAT_MAX_IFACES && x->ifaces[e->slot].ifindex ? x->ifaces[e->slot].name
									 : "?";
	if (x->c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "time", json_object_new_string(when));
		json_object_object_add(o, "interface", json_object_new_string(ifname));
		json_object_object_add(o, "verdict", json_object_new_string(moat_verdict_name(e->verdict)));
		json_object_object_add(o, "reason", json_object_new_string(moat_reason_name(e->reason)));
		json_object_object_add(o, "proto", json_object_new_string(proto_name(e->proto)));
		json_object_object_add(o, "source", json_object_new_string(src));
		json_object_object_add(o, "destination", json_object_new_string(dst));
		json_object_object_add(o, "bytes", json_object_new_int(e->len));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("%s %-8s %-12s %-12s %-6s %s -> %s %u B\n", when, ifname,
		       moat_verdict_name(e->verdict), moat_reason_name(e->reason),
		       proto_name(e->proto), src, dst, e->len);
	}
out:
	fflush(stdout);
	if (x->max && ++x->seen >= x->max)
		stop = 1;
	return 0;
}

int do_events(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = { { "count", required_argument, NULL, 'n' }, {} };
	struct ctl_getopt g = { .argc = argc, .argv = argv, .opts = opts };
	struct events_ctx x = { .c = c };
	struct ring_buffer *rb;
	uint64_t n;
	int opt, ret;

	while ((opt = ctl_getopt(c, &g)) != -1) {
		if (opt != 'n')
			return EXIT_USAGE;
		if (moat_parse_uint(g.arg, 1000000000, &n) || !n) {
			ctl_error(c, "events: -n '%s': expected a positive count", g.arg);
			return EXIT_USAGE;
		}
		x.max = n;
	}
	if ((ret = ctl_no_more_args(c, argc, argv, g.next)))
		return ret;
	if ((ret = ctl_open(c)))
		return ret;
	for (__u32 s = 0; s < MOAT_MAX_IFACES; s++)
		bpf_map_lookup_elem(c->pins.ifaces, &s, &x.ifaces[s]);
	x.since_ns = now_ns(CLOCK_MONOTONIC);
	x.mono_to_real_ns = (__s64)now_ns(CLOCK_REALTIME) - (__s64)x.since_ns;

	rb = ring_buffer__new(c->pins.events, on_event, &x, NULL);
	if (!rb) {
		ctl_error(c, "events: couldn't open %s/%s: %s", c->pin_dir, MOAT_PIN_EVENTS,
			  strerror(errno));
		return EXIT_FAILED;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!c->json)
		fprintf(stderr, "sampled drops (one in %d) and detections, Ctrl-C to stop\n",
			MOAT_TOP_SAMPLE);
	ret = EXIT_OK;
	while (!stop) {
		int err = ring_buffer__poll(rb, 200);

		if (err < 0 && err != -EINTR) {
			ctl_error(c, "events: %s", strerror(-err));
			ret = EXIT_FAILED;
			break;
		}
	}
	ring_buffer__free(rb);
	return ret;
}
