// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition (format 0.0.4) of a moat snapshot, the health
 * verdict behind /healthz, and the certificate expiry read with OpenSSL.
 * No client address ever reaches this file: the snapshot only holds
 * counters per interface, verdict and reason, and table sizes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "lib/metrics.h"

#ifndef MOAT_VERSION
#define MOAT_VERSION "unknown"
#endif

/* Configured interfaces plus every used stats slot, each name once. */
#define MAX_NAMES (2 * MOAT_MAX_IFACES)

struct iface_sums {
	char name[MOAT_IFNAMSIZ + 1];
	struct moat_counter c[MOAT_NR_VERDICTS][MOAT_NR_REASONS];
};

/* Slot names are fixed-size fields: never trust a terminating NUL. */
static bool name_eq(const char *a, const char *b)
{
	return strncmp(a, b, MOAT_IFNAMSIZ) == 0;
}

static void name_copy(char dst[MOAT_IFNAMSIZ + 1], const char *src)
{
	size_t n = strnlen(src, MOAT_IFNAMSIZ);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	/* Reject overlong forms, surrogates and code points above U+10FFFF. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/*
 * A label value as the text format wants it: \ " and newline escaped, and
 * bytes that are not UTF-8 (interface names and paths are arbitrary bytes)
 * replaced by U+FFFD so the scrape as a whole stays parseable.
 */
static void put_label_value(FILE *out, const char *v, size_t max)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strnlen(v, max), i = 0, len;

	while (i < n) {
		switch (p[i]) {
		case '\\':
			fputs("\\\\", out);
			i++;
			continue;
		case '"':
			fputs("\\\"", out);
			i++;
			continue;
		case '\n':
			fputs("\\n", out);
			i++;
			continue;
		}
		len = utf8_len(p + i, n - i);
		if (!len) {
			fputs("\xef\xbf\xbd", out);
			i++;
			continue;
		}
		fwrite(p + i, 1, len, out);
		i += len;
	}
}

static void put_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_gauge(FILE *out, const char *name, const char *help, uint64_t v)
{
	put_family(out, name, "gauge", help);
	fprintf(out, "%s %" PRIu64 "\n", name, v);
}

static const char *xdp_mode_name(uint32_t mode)
{
	switch (mode) {
	case MOAT_XDP_NATIVE:
		return "native";
	case MOAT_XDP_GENERIC:
		return "generic";
	default:
		return "none";
	}
}

static size_t configured_count(const struct moat_metrics_info *info)
{
	if (!info->interfaces)
		return 0;
	return info->n_interfaces < MOAT_MAX_IFACES ? info->n_interfaces : MOAT_MAX_IFACES;
}

static struct iface_sums *find_name(struct iface_sums *t, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (name_eq(t[i].name, name))
			return &t[i];
	return NULL;
}

/*
 * Counters per interface name. A name held by two slots (an interface
 * removed and added back) is summed, so no series is emitted twice.
 */
static size_t sum_ifaces(const struct moat_snapshot *s, const struct moat_metrics_info *info,
			 struct iface_sums *t)
{
	size_t n = 0, i, slot;
	unsigned int v, r;

	for (i = 0; i < configured_count(info); i++) {
		if (!info->interfaces[i][0] || find_name(t, n, info->interfaces[i]))
			continue;
		name_copy(t[n++].name, info->interfaces[i]);
	}
	for (slot = 0; slot < MOAT_MAX_IFACES; slot++) {
		const struct moat_iface *ifc = &s->ifaces[slot].iface;
		struct iface_sums *e;

		if (!ifc->ifindex || !ifc->name[0])
			continue;
		e = find_name(t, n, ifc->name);
		if (!e) {
			e = &t[n++];
			name_copy(e->name, ifc->name);
		}
		for (v = 0; v < MOAT_NR_VERDICTS; v++) {
			for (r = 0; r < MOAT_NR_REASONS; r++) {
				const struct moat_counter *c =
					&s->stats[MOAT_STATS_IDX(slot, v, r)];

				e->c[v][r].packets += c->packets;
				e->c[v][r].bytes += c->bytes;
			}
		}
	}
	return n;
}

static void put_counters(FILE *out, const struct iface_sums *t, size_t n, bool bytes)
{
	unsigned int v, r;
	size_t i;

	for (i = 0; i < n; i++) {
		for (v = 0; v < MOAT_NR_VERDICTS; v++) {
			for (r = 0; r < MOAT_NR_REASONS; r++) {
				fputs(bytes ? "moat_bytes_total{interface=\"" :
					      "moat_packets_total{interface=\"", out);
				put_label_value(out, t[i].name, MOAT_IFNAMSIZ);
				fprintf(out, "\",verdict=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
					moat_verdict_name(v), moat_reason_name(r),
					(uint64_t)(bytes ? t[i].c[v][r].bytes :
							   t[i].c[v][r].packets));
			}
		}
	}
}

/* The slot state of a configured interface: attached wins over a stale slot. */
static const struct moat_iface_state *iface_state(const struct moat_snapshot *s, const char *name)
{
	const struct moat_iface_state *found = NULL;
	size_t slot;

	for (slot = 0; slot < MOAT_MAX_IFACES; slot++) {
		const struct moat_iface_state *st = &s->ifaces[slot];

		if (!st->iface.ifindex || !name_eq(st->iface.name, name))
			continue;
		if (st->attached)
			return st;
		found = st;
	}
	return found;
}

static void put_attached(FILE *out, const struct moat_snapshot *s,
			 const struct moat_metrics_info *info)
{
	size_t i, n = configured_count(info);

	put_family(out, "moat_attached", "gauge",
		   "1 when moat's XDP program is attached to the configured interface, else 0.");
	for (i = 0; i < n; i++) {
		const struct moat_iface_state *st = iface_state(s, info->interfaces[i]);

		if (!info->interfaces[i][0])
			continue;
		fputs("moat_attached{interface=\"", out);
		put_label_value(out, info->interfaces[i], MOAT_IFNAMSIZ);
		fprintf(out, "\",xdp_mode=\"%s\"} %d\n",
			xdp_mode_name(st ? st->iface.xdp_mode : 0), st && st->attached);
	}
}

#define INSP_NAME(e, name) [e] = name,
static const char *const insp_results[] = { MOAT_INSP_RESULTS(INSP_NAME) };
static const char *const insp_categories[] = { MOAT_INSP_CATEGORIES(INSP_NAME) };
#undef INSP_NAME

static void put_latency(FILE *out, const struct moat_insp_counts *c)
{
	static const double le[] = MOAT_INSP_LATENCY_BOUNDS;
	uint64_t n = 0;

	put_family(out, "moat_inspector_detection_latency_seconds", "histogram",
		   "Time from the read that completed a request to its verdict in moatd.");
	for (int i = 0; i <= MOAT_INSP_N_LATENCY; i++) {
		n += c->latency[i];
		if (i < MOAT_INSP_N_LATENCY)
			fprintf(out, "moat_inspector_detection_latency_seconds_bucket{le=\"%g\"} %"
				PRIu64 "\n", le[i], n);
		else
			fprintf(out, "moat_inspector_detection_latency_seconds_bucket{le=\"+Inf\"} %"
				PRIu64 "\n", n);
	}
	fprintf(out, "moat_inspector_detection_latency_seconds_sum %.9f\n",
		(double)c->latency_sum_ns / 1e9);
	fprintf(out, "moat_inspector_detection_latency_seconds_count %" PRIu64 "\n", n);
}

/* SPEC §5: every label value from the start, zeros included. */
static void put_inspector(FILE *out, const struct moat_insp_counts *c)
{
	put_family(out, "moat_inspector_requests_total", "counter",
		   "Decrypted HTTP requests the inspector saw, by result.");
	for (int i = 0; i < MOAT_INSP_N_RESULTS; i++)
		fprintf(out, "moat_inspector_requests_total{result=\"%s\"} %" PRIu64 "\n",
			insp_results[i], c->requests[i]);
	put_family(out, "moat_inspector_detections_total", "counter",
		   "Requests the CRS flagged, by attack category.");
	for (int i = 0; i < MOAT_INSP_N_CATEGORIES; i++)
		fprintf(out, "moat_inspector_detections_total{category=\"%s\"} %" PRIu64 "\n",
			insp_categories[i], c->detections[i]);
	put_family(out, "moat_inspector_events_lost_total", "counter",
		   "Probe records lost (ring buffer full, read too large) or not attributable "
		   "to a client.");
	fprintf(out, "moat_inspector_events_lost_total %" PRIu64 "\n", c->events_lost);
	put_gauge(out, "moat_inspector_attached_processes",
		  "Processes whose TLS reads the inspector's probes are attached to.", c->attached);
	put_family(out, "moat_inspector_worker_restarts_total", "counter",
		   "Times the inspector's worker process died and was started again.");
	fprintf(out, "moat_inspector_worker_restarts_total %" PRIu64 "\n", c->worker_restarts);
	put_latency(out, c);
}

int moat_metrics_render(FILE *out, const struct moat_snapshot *s,
			const struct moat_metrics_info *info)
{
	struct iface_sums *t;
	size_t n;

	if (!out || !s || !info)
		return -EINVAL;
	t = calloc(MAX_NAMES, sizeof(*t));
	if (!t)
		return -ENOMEM;
	n = sum_ifaces(s, info, t);

	put_family(out, "moat_packets_total", "counter",
		   "Packets judged by moat's XDP program, by interface, verdict and reason.");
	put_counters(out, t, n, false);
	put_family(out, "moat_bytes_total", "counter",
		   "Bytes of the packets judged by moat's XDP program, by interface, verdict and reason.");
	put_counters(out, t, n, true);
	free(t);

	put_attached(out, s, info);
	put_gauge(out, "moat_flows", "Outbound flows currently tracked for replies.",
		  info->flows);
	put_gauge(out, "moat_flows_max", "Capacity of the flow table (outbound.max_flows).",
		  info->flows_max);
	put_gauge(out, "moat_conns",
		  "Inbound connections on validated ports whose state moat keeps (unevictable).",
		  info->conns);
	put_gauge(out, "moat_conns_max", "Capacity of the connection table.", MOAT_MAX_CONNS);
	put_family(out, "moat_conn_events_total", "counter",
		   "Pressure on the connection tables: table_full (a connection could not get an "
		   "unevictable entry), untracked (payload with no state, dropped).");
	fprintf(out, "moat_conn_events_total{event=\"table_full\"} %" PRIu64 "\n",
		s->conn_events[MOAT_CONN_EV_TABLE_FULL]);
	fprintf(out, "moat_conn_events_total{event=\"untracked\"} %" PRIu64 "\n",
		s->conn_events[MOAT_CONN_EV_UNTRACKED]);
	put_gauge(out, "moat_devops_entries",
		  "Unexpired entries in the devops SSH allowlist (config and runtime).",
		  s->devops_entries);
	put_gauge(out, "moat_bans", "Sources currently banned at XDP.", s->bans);
	put_gauge(out, "moat_deny_entries", "Entries in the deny list.", s->deny_entries);
	put_family(out, "moat_interface_reattaches_total", "counter",
		   "Configured interfaces that were deleted and re-created, and that moatd "
		   "attached to again on its own.");
	fprintf(out, "moat_interface_reattaches_total %" PRIu64 "\n", info->reattaches);
	put_inspector(out, &info->insp);
	put_gauge(out, "moat_config_reload_success",
		  "1 when the last configuration (re)load was applied, 0 when it was refused.",
		  info->reload_success);
	put_gauge(out, "moat_config_last_reload_timestamp_seconds",
		  "Unix time of the last successful configuration (re)load.",
		  info->last_reload_ts);

	put_family(out, "moat_build_info", "gauge", "moat version; always 1.");
	fputs("moat_build_info{version=\"", out);
	put_label_value(out, info->version ? info->version : MOAT_VERSION, 256);
	fputs("\"} 1\n", out);

	/* Only a known expiry: a made-up 0 would read as "expired in 1970". */
	if (info->cert_path && info->cert_path[0] && info->cert_expiry) {
		put_family(out, "moat_tls_certificate_expiry_timestamp_seconds", "gauge",
			   "Unix time when the configured gateway certificate expires (notAfter).");
		fputs("moat_tls_certificate_expiry_timestamp_seconds{path=\"", out);
		put_label_value(out, info->cert_path, PATH_MAX);
		fprintf(out, "\"} %" PRId64 "\n", info->cert_expiry);
	}
	return ferror(out) ? -EIO : 0;
}

int moat_cert_expiry(const char *pem_path, int64_t *unix_time, char *err, size_t errlen)
{
	const ASN1_TIME *not_after;
	struct tm tm = {};
	X509 *cert;
	FILE *f;
	time_t t;
	int ret;

	f = fopen(pem_path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "couldn't open certificate '%s': %s", pem_path,
			 strerror(-ret));
		return ret;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!cert) {
		snprintf(err, errlen, "certificate '%s': no PEM certificate (%s)", pem_path,
			 ERR_reason_error_string(ERR_peek_last_error()) ?: "unknown error");
		ERR_clear_error();
		return -EINVAL;
	}
	not_after = X509_get0_notAfter(cert);
	if (!not_after || !ASN1_TIME_to_tm(not_after, &tm)) {
		snprintf(err, errlen, "certificate '%s': unreadable notAfter", pem_path);
		ERR_clear_error();
		X509_free(cert);
		return -EINVAL;
	}
	X509_free(cert);
	t = timegm(&tm);
	if (t == (time_t)-1) {
		snprintf(err, errlen, "certificate '%s': notAfter out of range", pem_path);
		return -ERANGE;
	}
	*unix_time = t;
	return 0;
}

/* Appends one problem to a "; "-joined, single-line reason. */
static void add_reason(char *reason, size_t len, const char *what, const char *name)
{
	size_t used = strnlen(reason, len);
	size_t i;

	if (used + 1 >= len)
		return;
	snprintf(reason + used, len - used, "%s%s%.*s%s", used ? "; " : "",
		 name ? "interface " : "", name ? MOAT_IFNAMSIZ : 0, name ? name : "", what);
	/* An interface name may hold control characters: keep it one line. */
	for (i = used; i < len && reason[i]; i++)
		if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
			reason[i] = '?';
}

int moat_health(const struct moat_snapshot *s, const struct moat_metrics_info *info,
		char *reason, size_t len)
{
	size_t i;

	if (!len)
		return -EINVAL;
	reason[0] = '\0';
	if (!s) {
		add_reason(reason, len, "moat pinned state unreadable", NULL);
	} else {
		for (i = 0; i < configured_count(info); i++) {
			const struct moat_iface_state *st = iface_state(s, info->interfaces[i]);

			if (!st || !st->attached)
				add_reason(reason, len, ": moat not attached", info->interfaces[i]);
		}
	}
	if (reason[0]) {
		if (!info->reload_success)
			add_reason(reason, len, "last reload failed", NULL);
		return 1;
	}
	/* A refused reload leaves the previous policy enforced everywhere:
	 * healthy, with a warning (moat_config_reload_success alerts on it). */
	if (!info->reload_success)
		snprintf(reason, len, "ok; warning: the last reload was refused, the previous "
			 "policy is enforced");
	return 0;
}
