// SPDX-License-Identifier: GPL-2.0
/*
 * Putting a policy in force (SPEC §4): moatd_apply plans where each
 * interface goes, builds the new generation next to the running one,
 * has the lockout guard judge it, attaches it, releases interfaces that
 * left the config, then commits: pins, meta, and the generation moatd holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "moatd.h"
#include "lib/log.h"
#include "lib/state.h"
#include "lib/table.h"

#define BPFFS_ROOT "/sys/fs/bpf"

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* pin_dir must sit on bpffs; mount it at /sys/fs/bpf where systemd didn't. */
int moatd_prepare_pin_dir(const char *dir, char *err, size_t errlen)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (!on_bpffs(parent)) {
		if (strcmp(parent, BPFFS_ROOT) ||
		    mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			snprintf(err, errlen, "pin_dir %s: %s is not a bpf filesystem%s%s", dir,
				 parent, errno ? ": " : "", errno ? strerror(errno) : "");
			return -ENOTSUP;
		}
		moat_info("mounted bpffs on %s", BPFFS_ROOT);
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "pin_dir %s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * One apply, step to step. Every step fills what the next reads; a step
 * that fails says why in err and leaves what is in force as it was (only
 * commit, the last, is past that point).
 */
struct apply_plan {
	struct moatd *d;
	struct moat_config *cfg;		/* the policy to put in force */
	const struct moat_config *in_force;	/* NULL at start */
	char *err;
	size_t errlen;
	/* plan: */
	struct moat_pins prev;		/* what is pinned now (fd -1 where not); holds the lock */
	bool fresh;			/* nothing pinned: the first load since boot */
	struct moat_iface old[MOAT_MAX_IFACES];	/* the ifaces table as it was, by slot */
	__u32 slots[MOAT_MAX_IFACES];	/* by interface of cfg */
	int ifindex[MOAT_MAX_IFACES];
	bool held[MOAT_MAX_IFACES];	/* moat's link there runs already */
	/* build: */
	struct moat_gen gen;
	struct moat_pins m;		/* the new generation's maps */
	bool seed_all;
};

/*
 * Takes the pin-dir lock, then opens the maps already pinned (a previous
 * moatd), fd -1 where not. In that order: maps opened before the lock may
 * be a generation that moatctl no longer writes to.
 */
static int open_pinned(const char *dir, struct moat_pins *p)
{
	int err;

	moat_pins_init(p, dir);
	if ((err = moat_pins_lock(p)))
		return err;
	for (size_t i = 0; i < moat_nr_pin_maps; i++)
		*moat_pin_fd(p, &moat_pin_maps[i]) = moat_pin_get(dir, moat_pin_maps[i].name);
	return 0;
}

/* Slot of each configured interface: its old slot by name, else a free one. */
static int assign_slots(struct apply_plan *p)
{
	const struct moat_config *cfg = p->cfg;
	bool used[MOAT_MAX_IFACES] = {};
	__u32 *slots = p->slots;

	for (__u32 s = 0; s < MOAT_MAX_IFACES; s++) {
		memset(&p->old[s], 0, sizeof(p->old[s]));
		if (p->prev.ifaces >= 0)
			bpf_map_lookup_elem(p->prev.ifaces, &s, &p->old[s]);
	}
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		slots[i] = MOAT_MAX_IFACES;
		for (__u32 s = 0; s < MOAT_MAX_IFACES; s++)
			if (p->old[s].ifindex &&
			    !strncmp(p->old[s].name, cfg->interfaces[i], MOAT_IFNAMSIZ))
				slots[i] = s;
		if (slots[i] < MOAT_MAX_IFACES)
			used[slots[i]] = true;
	}
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		if (slots[i] < MOAT_MAX_IFACES)
			continue;
		for (__u32 s = 0; s < MOAT_MAX_IFACES; s++) {
			if (!used[s] && !p->old[s].ifindex) {
				slots[i] = s;
				used[s] = true;
				break;
			}
		}
		if (slots[i] == MOAT_MAX_IFACES) {
			snprintf(p->err, p->errlen, "interface '%s': no free slot (%d interfaces at most)",
				 cfg->interfaces[i], MOAT_MAX_IFACES);
			return -ENOSPC;
		}
	}
	return 0;
}

/* Whether moat's pinned XDP link on this interface is live. */
static bool pinned_prog_alive(const char *dir, const char *name)
{
	int fd = moat_pinned_prog(dir, name);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Step 1: the pins in place (locked), and where each interface goes. */
static int plan(struct apply_plan *p)
{
	struct moat_config *cfg = p->cfg;
	struct moat_meta meta;
	int ret;

	if (strlen(cfg->state_dir) >= sizeof(meta.state_dir)) {
		snprintf(p->err, p->errlen, "state_dir %s: longer than %zu bytes", cfg->state_dir,
			 sizeof(meta.state_dir) - 1);
		return -ENAMETOOLONG;
	}
	if ((ret = moatd_prepare_pin_dir(cfg->pin_dir, p->err, p->errlen)))
		return ret;
	if ((ret = open_pinned(cfg->pin_dir, &p->prev))) {
		snprintf(p->err, p->errlen, "couldn't lock %s: %s", cfg->pin_dir, strerror(-ret));
		return ret;
	}
	p->fresh = p->prev.stats < 0;

	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		p->ifindex[i] = if_nametoindex(cfg->interfaces[i]);
		if (!p->ifindex[i]) {
			ret = -errno;
			snprintf(p->err, p->errlen, "interface '%s': %s", cfg->interfaces[i],
				 strerror(errno));
			return ret;
		}
	}
	if ((ret = assign_slots(p)))
		return ret;
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		const struct moat_iface *o = &p->old[p->slots[i]];
		__u32 want = cfg->xdp_mode == MOAT_XDP_MODE_NATIVE  ? MOAT_XDP_NATIVE
			     : cfg->xdp_mode == MOAT_XDP_MODE_GENERIC ? MOAT_XDP_GENERIC : 0;

		/* Native and generic can't both be attached: a mode change would
		 * need a moment with no program at all. */
		if (o->ifindex == (__u32)p->ifindex[i] && want && o->xdp_mode != want) {
			snprintf(p->err, p->errlen,
				 "interface '%s': xdp_mode change needs 'moatctl unload' and a restart",
				 cfg->interfaces[i]);
			return -EBUSY;
		}
		p->held[i] = o->ifindex == (__u32)p->ifindex[i] &&
			     pinned_prog_alive(cfg->pin_dir, cfg->interfaces[i]);
	}
	return 0;
}

static int copy_runtime(const struct moat_cidr *c, const struct moat_entry *e, void *ctx)
{
	struct moat_table *to = ctx;

	if (e->origin == MOAT_ORIGIN_CONFIG)
		return 0;
	return moat_table_put(*to, c, e);
}

/* Step 2: the new generation, loaded and filled next to the running one. */
static int build(struct apply_plan *p)
{
	struct moat_config *cfg = p->cfg;
	int ret;

	ret = moat_gen_load(&p->gen, cfg, p->slots, cfg->n_interfaces, &p->prev, p->err,
			    p->errlen);
	if (ret || (ret = moat_gen_fill(&p->gen, cfg, p->err, p->errlen)))
		return ret;
	moat_gen_maps(&p->gen, &p->m);
	/* Bans kept across an upgrade whose filter is new (its layout changed,
	 * or there was none): every one back in it before the program looks. */
	if (p->gen.ban_filter_new && (ret = moat_table_refilter(moat_pins_ban(&p->m)))) {
		snprintf(p->err, p->errlen, "couldn't rebuild the ban filter: %s", strerror(-ret));
		return ret;
	}
	/* Bans an older moat kept as IPv6 for IPv4 blocks match IPv4 again. */
	if (p->prev.ban >= 0 && (ret = moat_table_refamily(moat_pins_ban(&p->m))) < 0) {
		snprintf(p->err, p->errlen, "couldn't update the bans' families: %s", strerror(-ret));
		return ret;
	}
	if (p->prev.devops >= 0) {
		/* Runtime entries carry over from the generation in force. */
		struct moat_table to = moat_pins_devops(&p->m);

		ret = moat_table_foreach(moat_pins_devops(&p->prev), copy_runtime, &to);
		if (ret) {
			snprintf(p->err, p->errlen, "couldn't carry runtime devops entries: %s",
				 strerror(-ret));
			return ret;
		}
	} else if (p->fresh) {
		/* After a reboot: what moatctl and the inspector added before. A
		 * damaged file is logged and set aside; the config loads anyway. */
		moat_state_restore(cfg->state_dir, moat_pins_devops(&p->m), moat_pins_ban(&p->m));
	}

	/*
	 * Connections the new program would judge for the first time (all of
	 * them when the table is new or an interface joins, else those on
	 * ports that just became validated) predate moat: seeded before it
	 * judges, and again once it does (commit), for what opened meanwhile.
	 */
	p->seed_all = p->gen.conns_new;
	for (size_t i = 0; i < cfg->n_interfaces; i++)
		p->seed_all |= !p->held[i];
	moatd_seed_conns(p->in_force, cfg, p->seed_all, &p->m);
	return 0;
}

/* Step 3: the lockout guard judges the new program against the one in force. */
static int guard(struct apply_plan *p)
{
	const struct moat_config *cfg = p->cfg;
	int old_fd = -1, ret;

	for (size_t i = 0; i < cfg->n_interfaces && old_fd < 0; i++)
		old_fd = moat_pinned_prog(cfg->pin_dir, cfg->interfaces[i]);
	ret = moatd_lockout_guard(p->in_force, cfg, old_fd, moat_gen_prog_fd(&p->gen, 0),
				  p->err, p->errlen);
	if (old_fd >= 0)
		close(old_fd);
	return ret;
}

/* The egress program records host-opened flows and confirms validated
 * connections: either needs it. */
static bool egress_needed(const struct moat_config *cfg)
{
	return cfg->outbound.track || cfg->tls.validate || cfg->ssh.validate;
}

/* Egress first: replies must be recognised before ingress judges them.
 * Records the interface in the new ifaces table; mode or -errno. */
static int attach_one(struct apply_plan *p, size_t i)
{
	const struct moat_config *cfg = p->cfg;
	const struct moat_iface *o = &p->old[p->slots[i]];
	struct moat_iface ifc = { .ifindex = p->ifindex[i] };
	int mode;

	mode = moatd_attach_egress(cfg->pin_dir, cfg->interfaces[i], p->ifindex[i],
				   moat_gen_egress_fd(&p->gen, i), egress_needed(cfg), p->err,
				   p->errlen);
	if (mode < 0)
		return mode;
	mode = moatd_attach_xdp(cfg->pin_dir, cfg->interfaces[i], p->ifindex[i],
				moat_gen_prog_fd(&p->gen, i), cfg->xdp_mode,
				o->xdp_mode ? o->xdp_mode : MOAT_XDP_NATIVE, p->err, p->errlen);
	if (mode < 0)
		return mode;
	ifc.xdp_mode = mode;
	snprintf(ifc.name, sizeof(ifc.name), "%s", cfg->interfaces[i]);
	bpf_map_update_elem(p->m.ifaces, &p->slots[i], &ifc, BPF_ANY);
	return mode;
}

/*
 * Step 4: interfaces moat does not hold yet are attached first: that can
 * fail (a driver without native XDP, a kernel without tcx), and then they
 * are taken down again and nothing has changed. The swaps of links
 * already in place come last: an update of a live link does not fail for
 * reasons a config can cause.
 */
static int attach(struct apply_plan *p)
{
	const struct moat_config *cfg = p->cfg;
	int ret;

	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		if (p->held[i] || (ret = attach_one(p, i)) >= 0)
			continue;
		for (size_t k = 0; k <= i; k++)
			if (!p->held[k])
				moatd_unpin_links(cfg->pin_dir, cfg->interfaces[k]);
		return ret;
	}
	for (size_t i = 0; i < cfg->n_interfaces; i++)
		if (p->held[i] && (ret = attach_one(p, i)) < 0)
			return ret;
	return 0;
}

/* Step 5: interfaces that left the config, out of moat's hands. */
static void release(struct apply_plan *p)
{
	int ncpu = libbpf_num_possible_cpus();

	for (__u32 s = 0; s < MOAT_MAX_IFACES; s++) {
		struct moat_iface none = {};
		struct moat_counter *zero;
		bool kept = false;

		for (size_t i = 0; i < p->cfg->n_interfaces; i++)
			kept |= p->slots[i] == s;
		if (!p->old[s].ifindex || kept)
			continue;
		moatd_unpin_links(p->cfg->pin_dir, p->old[s].name);
		moat_info("interface '%s': removed from the config, XDP detached", p->old[s].name);
		bpf_map_update_elem(p->m.ifaces, &s, &none, BPF_ANY);
		/* Zero its counters so a later interface in this slot starts clean. */
		zero = calloc(ncpu > 0 ? ncpu : 1, sizeof(*zero));
		for (__u32 i = MOAT_STATS_IDX(s, 0, 0); zero && i < MOAT_STATS_IDX(s + 1, 0, 0); i++)
			bpf_map_update_elem(p->m.stats, &i, zero, BPF_ANY);
		free(zero);
	}
}

struct stamp {
	const struct moat_config *cfg;
	bool fresh, pin_failed;
};

/* meta for the generation now in force. */
static bool stamp_meta(struct moat_meta *meta, void *arg)
{
	const struct stamp *st = arg;

	if (!st->fresh && meta->layout != MOAT_LAYOUT)
		moat_info("pins under %s now have layout %#x (they had %#x)", st->cfg->pin_dir,
			  MOAT_LAYOUT, meta->layout);
	meta->layout = MOAT_LAYOUT;
	meta->generation++;
	meta->loaded_at = time(NULL);
	meta->reload_failed_at = st->pin_failed ? (__u64)time(NULL) : 0;
	meta->mode = st->cfg->mode;
	meta->moatd_pid = getpid();
	snprintf(meta->state_dir, sizeof(meta->state_dir), "%s", st->cfg->state_dir);
	return true;
}

/*
 * Step 6: the links run the new generation now: from here on a failure
 * does not undo it, and the message must say so. Pins it, stamps meta,
 * hands the generation to moatd. 0, or 1 when the pins failed.
 */
static int commit(struct apply_plan *p)
{
	const struct moat_config *cfg = p->cfg;
	struct stamp st = { cfg, p->fresh, false };
	struct moatd *d = p->d;
	struct moat_meta meta = {};
	int pinned;

	moatd_seed_conns(p->in_force, cfg, p->seed_all, &p->m);
	pinned = moat_pins_pin(cfg->pin_dir, &p->m);
	if (pinned)
		snprintf(p->err, p->errlen, "the new policy is in force, but its maps couldn't be "
			 "pinned under %s (%s): moatctl may change tables that are no longer in "
			 "force until a reload pins them", cfg->pin_dir, strerror(-pinned));
	st.pin_failed = pinned;
	moat_meta_edit(p->m.meta, stamp_meta, &st, &meta);

	pthread_mutex_lock(&d->lock);
	moat_gen_destroy(&d->gen);
	d->gen = p->gen;
	memset(&p->gen, 0, sizeof(p->gen));
	pthread_mutex_unlock(&d->lock);
	moat_info("policy generation %llu in force on %zu interface(s), mode %s",
		  (unsigned long long)meta.generation, cfg->n_interfaces,
		  cfg->mode == MOAT_MODE_MONITOR ? "monitor" : "enforce");
	return pinned ? 1 : 0;
}

int moatd_apply(struct moatd *d, struct moat_config *cfg, char *err, size_t errlen)
{
	struct apply_plan p = { .d = d, .cfg = cfg, .in_force = d->have_cfg ? &d->cfg : NULL,
				.err = err, .errlen = errlen };
	int ret;

	moat_pins_init(&p.prev, cfg->pin_dir);
	if (!(ret = plan(&p)) && !(ret = build(&p)) && !(ret = guard(&p)) &&
	    !(ret = attach(&p))) {
		release(&p);
		ret = commit(&p);
	}
	moat_gen_destroy(&p.gen);
	moat_pins_close(&p.prev);
	return ret;
}

void moatd_sweep(struct moatd *d)
{
	struct moat_pins lock, p;
	int n_devops, n_ban;

	/* Lock first, open second, as moatctl does. */
	moat_pins_init(&lock, d->cfg.pin_dir);
	if (moat_pins_lock(&lock))
		return;
	if (moat_pins_open(d->cfg.pin_dir, &p) == 0) {
		moatd_sweep_conns(&p);
		n_devops = moat_table_sweep(moat_pins_devops(&p));
		n_ban = moat_table_sweep(moat_pins_ban(&p));
		if (n_devops > 0 || n_ban > 0) {
			moat_info("expired: %d devops entr%s, %d ban(s)", n_devops,
				  n_devops == 1 ? "y" : "ies", n_ban);
			moat_state_save(d->cfg.state_dir, moat_pins_devops(&p), moat_pins_ban(&p));
		}
		moat_pins_close(&p);
	}
	moat_pins_unlock(&lock);
}
