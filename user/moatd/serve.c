// SPDX-License-Identifier: GPL-2.0
/*
 * /metrics and /healthz for moatd. The HTTP thread reads the pinned maps
 * through pins of its own and what only moatd knows from a copy published
 * under the lock, so a scrape never waits for a reload, nor a reload for a
 * scrape, and the packet path never sees either.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "moatd.h"
#include "http.h"
#include "lib/metrics.h"

void moatd_publish(struct moatd *d)
{
	struct moatd_public pub = {};
	uint64_t flows = 0, conns = 0;
	struct moat_pins p;

	if (!moat_pins_open(d->cfg.pin_dir, &p)) {
		moat_map_count(p.flows, &flows);
		moat_map_count(p.conns, &conns);
		moat_pins_close(&p);
	}
	memcpy(pub.interfaces, d->cfg.interfaces, sizeof(pub.interfaces));
	pub.n_interfaces = d->cfg.n_interfaces;
	snprintf(pub.pin_dir, sizeof(pub.pin_dir), "%s", d->cfg.pin_dir);
	snprintf(pub.cert_path, sizeof(pub.cert_path), "%s", d->cfg.inspector.certificate);
	pub.reload_ok = d->reload_ok;
	pub.last_reload = d->last_reload;
	pub.flows = flows;
	pub.conns = conns;
	pub.flows_max = d->cfg.outbound.track ? d->cfg.outbound.max_flows : 0;
	pub.reattaches = d->reattaches;
	pthread_mutex_lock(&d->lock);
	d->pub = pub;
	pthread_mutex_unlock(&d->lock);
}

/* Snapshot + info for one request; the cert is read per scrape, so a
 * renewed certificate shows without a reload. */
static int gather(struct moatd *d, struct moatd_public *pub, struct moat_metrics_info *info,
		  struct moat_snapshot *s)
{
	char cerr[256];
	struct moat_pins p;
	int err;

	pthread_mutex_lock(&d->lock);
	*pub = d->pub;
	pthread_mutex_unlock(&d->lock);

	memset(info, 0, sizeof(*info));
	info->reload_success = pub->reload_ok;
	info->last_reload_ts = pub->last_reload;
	info->interfaces = (const char (*)[MOAT_IFNAMSIZ])pub->interfaces;
	info->n_interfaces = pub->n_interfaces;
	info->cert_path = pub->cert_path;
	info->flows = pub->flows;
	info->flows_max = pub->flows_max;
	info->conns = pub->conns;
	info->reattaches = pub->reattaches;
	pthread_mutex_lock(&d->lock);	/* a reload may stop the inspector */
	moatd_inspector_counts(d->insp, &info->insp);
	pthread_mutex_unlock(&d->lock);
	if (pub->cert_path[0] && moat_cert_expiry(pub->cert_path, &info->cert_expiry, cerr, sizeof(cerr)))
		info->cert_expiry = 0;	/* unknown: the gauge is left out */

	err = moat_pins_open(pub->pin_dir, &p);
	if (err)
		return err;
	err = moat_snapshot_read(&p, s);
	moat_pins_close(&p);
	return err;
}

static int render(void *ctx, FILE *out)
{
	struct moat_snapshot *s = malloc(sizeof(*s));
	struct moat_metrics_info info;
	struct moatd_public pub;
	int err;

	if (!s)
		return -ENOMEM;
	err = gather(ctx, &pub, &info, s);
	if (!err)
		err = moat_metrics_render(out, s, &info);
	free(s);
	return err;
}

static int health(void *ctx, char *reason, size_t len)
{
	struct moat_snapshot *s = malloc(sizeof(*s));
	struct moat_metrics_info info;
	struct moatd_public pub;
	int err, ret;

	if (!s)
		return -ENOMEM;
	err = gather(ctx, &pub, &info, s);
	ret = moat_health(err ? NULL : s, &info, reason, len);
	free(s);
	return ret;
}

static struct moat_http_source source(struct moatd *d)
{
	return (struct moat_http_source){ render, health, d };
}

/* Whether two listen addresses name the same port ("127.0.0.1:9477", "[::]:9477"). */
static bool same_port(const char *a, const char *b)
{
	const char *pa = strrchr(a, ':'), *pb = strrchr(b, ':');

	return pa && pb && !strcmp(pa, pb);
}

int moatd_serve_prepare(struct moatd *d, const struct moat_config *cfg, struct moat_http **next,
			char *err, size_t errlen)
{
	struct moat_http_source src = source(d);

	*next = NULL;
	/* Nothing served now (the port was busy at start): nothing to keep,
	 * and no reason to refuse a policy; moatd_serve() tries again. */
	if (!d->http || !strcmp(d->http_listen, cfg->metrics.listen) ||
	    same_port(d->http_listen, cfg->metrics.listen))
		return 0;
	*next = moat_http_start(cfg->metrics.listen, &src, err, errlen);
	return *next ? 0 : -EADDRNOTAVAIL;
}

int moatd_serve(struct moatd *d, struct moat_http *next, char *err, size_t errlen)
{
	struct moat_http_source src = source(d);
	char again[MOAT_ERR_LEN];

	if (!next && d->http && !strcmp(d->http_listen, d->cfg.metrics.listen))
		return 0;
	if (!next)
		next = moat_http_start(d->cfg.metrics.listen, &src, err, errlen);
	if (!next && d->http && same_port(d->http_listen, d->cfg.metrics.listen)) {
		/* The old address holds the port (127.0.0.1:P -> 0.0.0.0:P): let
		 * go of it for the new one, and take it back if that fails. */
		moat_http_stop(d->http);
		d->http = NULL;
		next = moat_http_start(d->cfg.metrics.listen, &src, err, errlen);
		if (!next) {
			d->http = moat_http_start(d->http_listen, &src, again, sizeof(again));
			if (!d->http)
				d->http_listen[0] = '\0';
			return -EADDRNOTAVAIL;
		}
	}
	if (!next)
		return -EADDRNOTAVAIL;	/* the old one, if any, keeps serving */
	moat_http_stop(d->http);
	d->http = next;
	snprintf(d->http_listen, sizeof(d->http_listen), "%s", d->cfg.metrics.listen);
	return 0;
}
