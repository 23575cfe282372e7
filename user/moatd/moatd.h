/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MOATD_H
#define MOATD_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include "lib/config.h"
#include "lib/loader.h"
#include "lib/pins.h"

/* What the HTTP thread may read, copied under moatd.lock. */
struct moatd_public {
	char interfaces[MOAT_MAX_IFACES][MOAT_IFNAMSIZ];
	size_t n_interfaces;
	char pin_dir[PATH_MAX];
	char cert_path[PATH_MAX];
	bool reload_ok;
	time_t last_reload;
	uint64_t flows, flows_max, conns;
	uint64_t reattaches;
};

struct moat_http;
struct moatd_inspector;
struct moat_insp_counts;

struct moatd {
	const char *config_path;
	struct moat_config cfg;		/* the policy in force */
	bool have_cfg;
	struct moat_gen gen;		/* its programs and generation maps */
	/* Guards the generation swap against readers (metrics); never held
	 * while loading or verifying, only while fds change hands. */
	pthread_mutex_t lock;
	bool reload_ok;
	time_t last_reload;
	struct moatd_public pub;	/* guarded by lock */
	struct moat_config rollback;	/* the last confirmed policy, while one waits */
	bool have_rollback;
	struct moat_http *http;
	char http_listen[128];
	uint64_t reattaches;		/* interfaces re-created and attached again */
	struct moatd_inspector *insp;	/* NULL when inspector.enabled is false */
};

/* Creates pin_dir on bpffs (mounting /sys/fs/bpf if needed); err says why not. */
int moatd_prepare_pin_dir(const char *dir, char *err, size_t errlen);

/* Publishes cfg, reload outcome and flow count for the HTTP thread. */
void moatd_publish(struct moatd *d);
/*
 * Binds cfg's metrics.listen ahead of a reload, while the old listener
 * still serves: *next is the new server, or NULL when there is nothing to
 * bind now (same address, or the same port that the old one holds).
 * -EADDRNOTAVAIL with err when the address cannot be had.
 */
int moatd_serve_prepare(struct moatd *d, const struct moat_config *cfg, struct moat_http **next,
			char *err, size_t errlen);
/*
 * Serves /metrics and /healthz on d->cfg.metrics.listen: installs next
 * (from moatd_serve_prepare) or binds it now. On failure the old listener
 * keeps serving.
 */
int moatd_serve(struct moatd *d, struct moat_http *next, char *err, size_t errlen);

/*
 * Makes cfg the enforced policy: loads a new generation next to the running
 * one, fills it, swaps every interface's link to it, then pins it. Returns
 * 0; -errno when nothing changed (err says why); 1 when cfg is in force
 * but something after the swap failed (err says what, meta records it).
 */
int moatd_apply(struct moatd *d, struct moat_config *cfg, char *err, size_t errlen);

/*
 * attach.c: points the interface's pinned XDP link at prog_fd, or creates
 * and pins one (mode: want, native first for auto). Returns the attach
 * mode (old_mode when the link was there), or -errno with err.
 */
int moatd_attach_xdp(const char *dir, const char *name, int ifindex, int prog_fd,
		     enum moat_xdp_mode want, __u32 old_mode, char *err, size_t errlen);
/* The egress program the same way with track; without, its link goes. */
int moatd_attach_egress(const char *dir, const char *name, int ifindex, int prog_fd,
			bool track, char *err, size_t errlen);
/* Both of moat's links on an interface, detached and unpinned. */
void moatd_unpin_links(const char *dir, const char *name);

/*
 * Refuses (-EPERM, err says who) a policy whose program prog_fd would drop
 * an established SSH session of this host that the program in force
 * (old_fd, -1 when none) passes. old: the policy in force or NULL.
 */
int moatd_lockout_guard(const struct moat_config *old, const struct moat_config *cfg,
			int old_fd, int prog_fd, char *err, size_t errlen);

/* systemd's notify socket, when there is one: "READY=1" and the like. */
void moatd_notify(const char *msg);

/*
 * reload.c: SIGHUP re-reads the file (a refused one changes nothing);
 * check_rollback, every second, rolls back a policy not confirmed in time;
 * at start, a deadline a previous moatd left goes (nothing to roll back to).
 */
void moatd_reload(struct moatd *d);
void moatd_check_rollback(struct moatd *d);
void moatd_clear_orphan_deadline(struct moatd *d);

/* Deletes expired devops entries and bans; logs what it removed. */
void moatd_sweep(struct moatd *d);

/*
 * Connections on ports cfg validates that the host already has, into conns
 * as passing (they predate moat): on every such port when all (the table is
 * new), else on those old did not validate. Skips what conn_pending knows.
 */
int moatd_seed_conns(const struct moat_config *old, const struct moat_config *cfg, bool all,
		     const struct moat_pins *m);
/* Removes conns entries whose socket is gone; returns how many, or -errno. */
int moatd_sweep_conns(const struct moat_pins *p);

/*
 * The inspector (inspect*.c): probes on the configured processes' libssl,
 * the worker, bans on detection, with the settings of d->cfg. Returns 0 or
 * -errno (logged).
 */
int moatd_inspector_start(struct moatd *d, struct moatd_inspector **out);
void moatd_inspector_stop(struct moatd_inspector *in);
/* After a reload put d->cfg in force: starts, stops or re-sets d->insp. */
void moatd_inspector_reload(struct moatd *d);
/* Its counters now (all 0 for NULL); callable from any thread. */
void moatd_inspector_counts(struct moatd_inspector *in, struct moat_insp_counts *c);

#endif /* MOATD_H */
