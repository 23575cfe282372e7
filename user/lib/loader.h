/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A policy generation: one XDP program instance per interface slot (the
 * slot and the policy live in each instance's .rodata), all sharing one set
 * of maps. Persistent maps (stats, ifaces, meta, bans) are reused from the
 * pins when given; generation maps (devops, deny) are always new, filled
 * before the generation is attached.
 */
#ifndef MOAT_LOADER_H
#define MOAT_LOADER_H

#include "config.h"
#include "pins.h"

struct moat_bpf;

struct moat_gen {
	struct moat_bpf *skel[MOAT_MAX_IFACES];
	__u32 slot[MOAT_MAX_IFACES];
	size_t n;
	bool conns_new;		/* the connection table starts empty (not adopted) */
	bool ban_filter_new;	/* a new ban filter beside adopted bans: refill it */
};

/*
 * Loads n instances for slots[]. persist: maps to reuse (fds < 0 are
 * created), or NULL for a private set (tests, bench, moatctl check).
 */
int moat_gen_load(struct moat_gen *g, const struct moat_config *cfg, const __u32 *slots,
		  size_t n, const struct moat_pins *persist, char *err, size_t errlen);
void moat_gen_destroy(struct moat_gen *g);

/* The generation's map fds in pins form (not duplicated; dir and lock unset). */
void moat_gen_maps(const struct moat_gen *g, struct moat_pins *out);
int moat_gen_prog_fd(const struct moat_gen *g, size_t i);	/* XDP ingress */
int moat_gen_egress_fd(const struct moat_gen *g, size_t i);	/* TC egress */

/* Puts the config's devops and deny entries into the generation's tables. */
int moat_gen_fill(struct moat_gen *g, const struct moat_config *cfg, char *err, size_t errlen);

/* libbpf messages to stderr; debug ones only when verbose. */
void moat_libbpf_logging(bool verbose);

#endif /* MOAT_LOADER_H */
