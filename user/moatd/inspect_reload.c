// SPDX-License-Identifier: GPL-2.0
/*
 * The inspector's settings (SPEC §3 inspector.*), at start and on reload.
 * Every key takes effect on SIGHUP / moatctl reload, none needs a restart:
 *   enabled                  the inspector starts or stops
 *   library, processes       probe sites picked again, every process let go
 *                            and attached again (reads in between are not seen)
 *   crs, max_body            a new worker with the new settings (connections
 *                            it was reassembling start over: their next
 *                            request is inspected; not counted as a restart)
 *   ban.*                    the next detection uses them; bans made stay
 * A library with nothing to probe keeps the previous settings, logged; the
 * packet policy of the reload is in force either way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "insp.h"
#include "lib/log.h"

static void log_sites(const struct moatd_inspector *in)
{
	if (in->sites.read)
		moat_info("inspector: %s: reads probed at libssl's internal read (file offset "
			  "0x%zx), whose first instruction is emulated", in->library, in->sites.read);
	else
		moat_warn("inspector: %s: no cheap probe site found; probing SSL_read and "
			  "SSL_read_ex at entry, which the kernel single-steps (~11 µs a read)",
			  in->library);
}

/* Whether the worker's own settings differ from cfg's; takes them. */
static bool worker_settings(struct moatd_inspector *in, const struct moat_config *cfg)
{
	const typeof(cfg->inspector) *c = &cfg->inspector;
	bool changed = strcmp(in->rules, c->crs_rules) || in->paranoia != c->paranoia ||
		       in->max_body != c->max_body;

	snprintf(in->rules, sizeof(in->rules), "%s", c->crs_rules);
	in->paranoia = c->paranoia;
	in->max_body = c->max_body;
	return changed;
}

int insp_settings_take(struct moatd_inspector *in, const struct moat_config *cfg, bool *retarget,
		       bool *new_worker)
{
	const typeof(cfg->inspector) *c = &cfg->inspector;
	char (*processes)[PATH_MAX] = calloc(c->n_processes + 1, sizeof(*processes));
	struct moat_cidr *exempt = calloc(c->n_ban_exempt + 1, sizeof(*exempt));
	struct insp_sites sites;
	int err;

	if (!processes || !exempt) {
		free(processes);
		free(exempt);
		return -ENOMEM;
	}
	err = insp_pick_sites(c->library, &sites);
	if (err) {
		moat_err("inspector: %s: no SSL_set_fd/SSL_free/SSL_read to probe: %s", c->library,
			 strerror(-err));
		free(processes);
		free(exempt);
		return err;
	}
	memcpy(processes, c->processes, c->n_processes * sizeof(*processes));
	memcpy(exempt, c->ban_exempt, c->n_ban_exempt * sizeof(*exempt));
	if (retarget)
		*retarget = strcmp(in->library, c->library) || in->n_processes != c->n_processes ||
			    memcmp(in->processes, processes, c->n_processes * sizeof(*processes));
	free(in->processes);
	free(in->exempt);
	in->processes = processes;
	in->n_processes = c->n_processes;
	in->exempt = exempt;
	in->n_exempt = c->n_ban_exempt;
	if (!retarget || *retarget || memcmp(&in->sites, &sites, sizeof(sites))) {
		snprintf(in->library, sizeof(in->library), "%s", c->library);
		in->sites = sites;
		log_sites(in);
	}
	in->ban_enabled = c->ban_enabled;
	in->ban_ttl = c->ban_ttl;
	if (worker_settings(in, cfg) && new_worker)
		*new_worker = true;
	return 0;
}

void moatd_inspector_reload(struct moatd *d)
{
	struct moatd_inspector *in = d->insp;
	bool retarget = false, new_worker = false;

	if (!d->cfg.inspector.enabled) {
		if (!in)
			return;
		pthread_mutex_lock(&d->lock);	/* the metrics thread reads d->insp */
		d->insp = NULL;
		pthread_mutex_unlock(&d->lock);
		moatd_inspector_stop(in);
		moat_info("inspector: stopped (inspector.enabled is false)");
		return;
	}
	if (!in) {
		if (moatd_inspector_start(d, &in)) {
			moat_err("inspector: not running; enforcement is unaffected");
			return;
		}
		pthread_mutex_lock(&d->lock);
		d->insp = in;
		pthread_mutex_unlock(&d->lock);
		return;
	}
	pthread_mutex_lock(&in->lock);
	snprintf(in->state_dir, sizeof(in->state_dir), "%s", d->cfg.state_dir);
	if (insp_settings_take(in, &d->cfg, &retarget, &new_worker)) {
		moat_err("inspector: reload: keeping the previous inspector settings");
	} else {
		if (retarget)
			insp_retarget(in);
		if (new_worker)
			insp_replace_worker(in);
		moat_info("inspector: settings reloaded");
	}
	pthread_mutex_unlock(&in->lock);
}
