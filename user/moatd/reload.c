// SPDX-License-Identifier: GPL-2.0
/*
 * SIGHUP reloads and 'moatctl reload --confirm-within': a refused file
 * changes nothing, and a policy not confirmed in time rolls back to the
 * last confirmed one. moatctl and moatd talk through meta (shared.h).
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "moatd.h"
#include "http.h"
#include "lib/log.h"
#include "lib/table.h"

/* moat_meta_edit on the pinned meta map: the one map these need. */
static int meta_edit(const struct moat_config *cfg, bool (*fn)(struct moat_meta *, void *),
		     void *arg, struct moat_meta *out)
{
	int fd = moat_pin_get(cfg->pin_dir, MOAT_PIN_META), err;

	if (fd < 0)
		return -errno;
	err = moat_meta_edit(fd, fn, arg, out);
	close(fd);
	return err;
}

static bool set_failed(struct moat_meta *m, void *arg)
{
	m->reload_failed_at = time(NULL);
	return true;
}

static bool count_reload(struct moat_meta *m, void *arg)
{
	m->reloads++;
	return true;
}

static bool clear_deadline(struct moat_meta *m, void *arg)
{
	m->confirm_deadline = 0;
	m->confirm_within = 0;
	return true;
}

static bool clear_within(struct moat_meta *m, void *arg)
{
	m->confirm_within = 0;
	return true;
}

/* The operator can try a policy only once it is in force: the time to
 * confirm it counts from then, however long the reload took. */
static bool start_deadline(struct moat_meta *m, void *arg)
{
	if (m->confirm_within && m->confirm_deadline)
		m->confirm_deadline = time(NULL) + m->confirm_within;
	m->confirm_within = 0;
	return true;
}

/* A deadline with no rollback target in this process: it cannot be kept. */
static bool clear_orphan(struct moat_meta *m, void *arg)
{
	if (!m->confirm_deadline)
		return false;
	*(__u64 *)arg = m->confirm_deadline;
	m->confirm_deadline = 0;
	m->confirm_within = 0;
	return true;
}

/*
 * The policy just replaced stays in memory while moatctl reload
 * --confirm-within waits for 'moatctl confirm' (meta.confirm_deadline);
 * a later reload keeps the oldest one: the last confirmed policy.
 */
static void keep_for_rollback(struct moatd *d, struct moat_config *old)
{
	struct moat_meta meta;

	if (meta_edit(&d->cfg, start_deadline, NULL, &meta) || !meta.confirm_deadline) {
		moat_config_free(old);
		if (d->have_rollback) {	/* reloaded without waiting: confirmed */
			moat_config_free(&d->rollback);
			d->have_rollback = false;
		}
		return;
	}
	if (d->have_rollback) {
		moat_config_free(old);
	} else {
		d->rollback = *old;
		d->have_rollback = true;
	}
	moat_info("this policy rolls back in %lld s unless 'moatctl confirm' runs",
		  (long long)meta.confirm_deadline - (long long)time(NULL));
}

/* Called every second: confirmed, still waiting, or time to roll back. */
void moatd_check_rollback(struct moatd *d)
{
	char err[MOAT_ERR_LEN];
	struct moat_meta meta;
	int ret;

	if (!d->have_rollback || meta_edit(&d->cfg, NULL, NULL, &meta))
		return;
	if (!meta.confirm_deadline) {
		moat_info("policy generation %llu confirmed", (unsigned long long)meta.generation);
		moat_config_free(&d->rollback);
		d->have_rollback = false;
		return;
	}
	if ((__u64)time(NULL) < meta.confirm_deadline)
		return;
	moat_warn("not confirmed in time: rolling back to the previous policy "
		  "(%s still holds the unconfirmed one: fix it before the next reload)",
		  d->config_path);
	d->have_rollback = false;
	ret = moatd_apply(d, &d->rollback, err, sizeof(err));
	/* Cleared once the apply is over, not before: while the deadline
	 * shows, moatctl status says the rollback has not happened yet. */
	meta_edit(&d->cfg, clear_deadline, NULL, NULL);
	if (ret > 0)
		moat_err("rollback: %s", err);
	if (ret < 0) {
		moat_err("rollback refused: %s", err);
		moat_config_free(&d->rollback);
		d->reload_ok = false;
		meta_edit(&d->cfg, set_failed, NULL, NULL);
		moatd_publish(d);
		return;
	}
	moat_config_free(&d->cfg);
	d->cfg = d->rollback;
	moatd_inspector_reload(d);
	d->reload_ok = ret == 0;
	d->last_reload = time(NULL);
	moatd_publish(d);
}

void moatd_reload(struct moatd *d)
{
	struct moat_http *next = NULL;
	char err[MOAT_ERR_LEN];
	struct moat_config cfg, old;
	int ret;

	moat_info("SIGHUP: reloading %s", d->config_path);
	moatd_notify("RELOADING=1");
	if (moat_config_load(d->config_path, &cfg, err, sizeof(err))) {
		moat_err("%s", err);
		moat_err("reload refused; the policy in force is unchanged");
		goto failed;
	}
	if (strcmp(cfg.pin_dir, d->cfg.pin_dir)) {
		moat_err("%s: pin_dir cannot change on reload (%s -> %s); restart moatd",
			 d->config_path, d->cfg.pin_dir, cfg.pin_dir);
		moat_config_free(&cfg);
		goto failed;
	}
	/* The new address is bound before anything changes, the old one
	 * still serving: a busy port refuses the reload, never the metrics. */
	if (moatd_serve_prepare(d, &cfg, &next, err, sizeof(err))) {
		moat_err("metrics.listen: %s", err);
		moat_err("reload refused; the policy in force is unchanged, metrics stay on %s",
			 d->http_listen[0] ? d->http_listen : "(none)");
		moat_config_free(&cfg);
		goto failed;
	}
	ret = moatd_apply(d, &cfg, err, sizeof(err));
	if (ret < 0) {
		moat_err("%s", err);
		moat_err("reload refused; the policy in force is unchanged");
		moat_http_stop(next);
		moat_config_free(&cfg);
		goto failed;
	}
	if (ret > 0)
		moat_err("reload: %s", err);
	old = d->cfg;
	d->cfg = cfg;
	moatd_inspector_reload(d);
	keep_for_rollback(d, &old);
	d->reload_ok = ret == 0;
	d->last_reload = time(NULL);
	moatd_publish(d);
	if (moatd_serve(d, next, err, sizeof(err)))
		moat_err("metrics: couldn't move to %s: %s; still serving on %s", d->cfg.metrics.listen,
			 err, d->http_listen[0] ? d->http_listen : "(none)");
	meta_edit(&d->cfg, count_reload, NULL, NULL);	/* moatctl reload waits for it */
	moatd_notify("READY=1");
	return;
failed:
	d->reload_ok = false;
	/* A refused reload confirms nothing and rolls nothing back; a
	 * deadline moatctl set for it has nothing to wait for. */
	meta_edit(&d->cfg, set_failed, NULL, NULL);
	if (!d->have_rollback)
		meta_edit(&d->cfg, clear_deadline, NULL, NULL);
	else	/* the rollback in wait keeps its own deadline */
		meta_edit(&d->cfg, clear_within, NULL, NULL);
	meta_edit(&d->cfg, count_reload, NULL, NULL);
	moatd_publish(d);
	moatd_notify("READY=1");
}

/*
 * A moatd that died while a reload waited for 'moatctl confirm' took the
 * rollback target with it: the deadline goes too, or the next good reload
 * would be rolled back to what is in force now.
 */
void moatd_clear_orphan_deadline(struct moatd *d)
{
	char when[32];
	__u64 orphan = 0;

	if (meta_edit(&d->cfg, clear_orphan, &orphan, NULL) || !orphan)
		return;
	moat_format_time((time_t)orphan, when, sizeof(when));
	moat_warn("a reload waiting for 'moatctl confirm' until %s was left by a previous "
		  "moatd; what it would roll back to is gone: %s is in force and nothing "
		  "will roll back", when, d->config_path);
}
