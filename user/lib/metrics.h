/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus exposition (SPEC §5) and health of a moat snapshot. Pure
 * functions of a struct moat_snapshot plus what only moatd knows (reload
 * outcome, configured interfaces, certificate), so the text is unit-testable
 * without a kernel and the HTTP side never touches BPF itself.
 */
#ifndef MOAT_METRICS_H
#define MOAT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/pins.h"
#include "moat/inspect.h"

/* The inspector's counters, kept by moatd (user/moatd/inspect.c). */
struct moat_insp_counts {
	uint64_t requests[MOAT_INSP_N_RESULTS];		/* by enum moat_insp_result */
	uint64_t detections[MOAT_INSP_N_CATEGORIES];	/* by enum moat_insp_category */
	uint64_t events_lost;		/* probe records lost or unattributable */
	uint64_t attached;		/* processes with probes attached now */
	uint64_t worker_restarts;
	uint64_t latency[MOAT_INSP_N_LATENCY + 1];	/* per bucket (last: +Inf), not cumulative */
	uint64_t latency_sum_ns;
};

struct moat_metrics_info {
	bool reload_success;		/* the last (re)load was applied */
	uint64_t last_reload_ts;	/* unix seconds of the last successful (re)load */
	const char *version;		/* NULL: MOAT_VERSION */
	const char (*interfaces)[MOAT_IFNAMSIZ];	/* configured */
	size_t n_interfaces;
	const char *cert_path;		/* NULL or "": no certificate configured */
	int64_t cert_expiry;		/* unix seconds of notAfter; 0 = unknown */
	uint64_t flows;			/* tracked outbound flows (0 until tracking) */
	uint64_t flows_max;		/* outbound.max_flows; 0 = tracking off */
	uint64_t conns;			/* inbound connections tracked for validation */
	uint64_t reattaches;		/* interfaces re-created and guarded again */
	struct moat_insp_counts insp;	/* all 0 while the inspector is off */
};

/*
 * Writes the whole exposition to out. Counters are emitted for every
 * interface (configured or holding a stats slot) x verdict x reason, zeros
 * included, so rate() works from the first scrape. Returns 0 or -errno
 * (-EIO when out reports a write error).
 */
int moat_metrics_render(FILE *out, const struct moat_snapshot *s,
			const struct moat_metrics_info *info);

/*
 * notAfter of the first certificate in a PEM file, as unix seconds.
 * 0, -errno when the file can't be opened, or -EINVAL with a message in err.
 */
int moat_cert_expiry(const char *pem_path, int64_t *unix_time, char *err, size_t errlen);

/*
 * 0 when every configured interface has moat attached, with reason "" or,
 * after a refused reload (the previous policy still enforced), a one-line
 * "ok; warning: ..."; else 1 with a one-line reason ("interface gwd0: moat
 * not attached", "last reload failed", joined by "; "). s may be NULL when
 * the pinned state could not be read (unhealthy).
 */
int moat_health(const struct moat_snapshot *s, const struct moat_metrics_info *info,
		char *reason, size_t len);

#endif /* MOAT_METRICS_H */
