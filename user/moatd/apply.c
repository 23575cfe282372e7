// SPDX-License-Identifier: GPL-2.0
/* Loading, attaching and swapping policy generations (SPEC §4, moatd). */
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

static int pin_path(char *buf, size_t len, const char *dir, const char *prefix, const char *name)
{
	return snprintf(buf, len, "%s/%s%s", dir, prefix, name) >= (int)len ? -ENAMETOOLONG : 0;
}

/*
 * Takes the pin-dir lock, then opens the maps already pinned (a previous
 * moatd), fd -1 where not. In that order: maps opened before the lock may
 * be a generation that moatctl no longer writes to.
 */
static int open_pinned(const char *dir, struct moat_pins *p)
{
	char path[PATH_MAX];
	int err;

	moat_pins_init(p, dir);
	if ((err = moat_pins_lock(p)))
		return err;
	for (size_t i = 0; i < moat_nr_pin_maps; i++) {
		pin_path(path, sizeof(path), dir, "", moat_pin_maps[i].name);
		*moat_pin_fd(p, &moat_pin_maps[i]) = bpf_obj_get(path);
	}
	return 0;
}

/* Slot of each configured interface: its old slot by name, else a free one. */
static int assign_slots(const struct moat_config *cfg, int ifaces_fd, __u32 *slots,
			struct moat_iface *old, char *err, size_t errlen)
{
	bool used[MOAT_MAX_IFACES] = {};

	for (__u32 s = 0; s < MOAT_MAX_IFACES; s++) {
		memset(&old[s], 0, sizeof(old[s]));
		if (ifaces_fd >= 0)
			bpf_map_lookup_elem(ifaces_fd, &s, &old[s]);
	}
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		slots[i] = MOAT_MAX_IFACES;
		for (__u32 s = 0; s < MOAT_MAX_IFACES; s++)
			if (old[s].ifindex && !strncmp(old[s].name, cfg->interfaces[i], MOAT_IFNAMSIZ))
				slots[i] = s;
		if (slots[i] < MOAT_MAX_IFACES)
			used[slots[i]] = true;
	}
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		if (slots[i] < MOAT_MAX_IFACES)
			continue;
		for (__u32 s = 0; s < MOAT_MAX_IFACES; s++) {
			if (!used[s] && !old[s].ifindex) {
				slots[i] = s;
				used[s] = true;
				break;
			}
		}
		if (slots[i] == MOAT_MAX_IFACES) {
			snprintf(err, errlen, "interface '%s': no free slot (%d interfaces at most)",
				 cfg->interfaces[i], MOAT_MAX_IFACES);
			return -ENOSPC;
		}
	}
	return 0;
}

/* libbpf 1.1 predates tcx; the kernel has it (6.6+). */
#ifndef BPF_TCX_EGRESS
#define BPF_TCX_EGRESS 47
#endif

/*
 * The pinned link at path, if it still hooks ifindex: then points it at
 * prog_fd (one atomic swap) and returns 1. A stale pin (its interface went
 * away) is removed and 0 returned; errors are -errno.
 */
static int link_swap(const char *path, int ifindex, int prog_fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd, ret;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	/* xdp.ifindex and tcx.ifindex share their place in the union. */
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.xdp.ifindex != (__u32)ifindex) {
		close(fd);
		unlink(path);
		return 0;
	}
	ret = bpf_link_update(fd, prog_fd, NULL);
	close(fd);
	return ret ? ret : 1;
}

/* Pins a new link; unpinned it would die with us, so it is taken down. */
static int link_pin(int fd, const char *path, char *err, size_t errlen)
{
	int ret;

	if (!bpf_obj_pin(fd, path)) {
		close(fd);
		return 0;
	}
	ret = -errno;
	bpf_link_detach(fd);
	close(fd);
	snprintf(err, errlen, "couldn't pin %s: %s", path, strerror(-ret));
	return ret;
}

static int link_create(int prog_fd, int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);

	return bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
}

/*
 * Points the interface's pinned XDP link at the new program, or creates and
 * pins the link. Returns the attach mode, or -errno.
 */
static int attach_xdp(const char *dir, const char *name, int ifindex, int prog_fd,
		      enum moat_xdp_mode want, __u32 old_mode, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd, mode, ret;

	if ((ret = pin_path(path, sizeof(path), dir, MOAT_PIN_LINK_PREFIX, name)))
		return ret;
	ret = link_swap(path, ifindex, prog_fd);
	if (ret < 0) {
		snprintf(err, errlen, "couldn't update XDP link on '%s': %s", name, strerror(-ret));
		return ret;
	}
	if (ret)
		return old_mode;

	mode = want == MOAT_XDP_MODE_GENERIC ? MOAT_XDP_GENERIC : MOAT_XDP_NATIVE;
	fd = link_create(prog_fd, ifindex, mode == MOAT_XDP_NATIVE ? XDP_FLAGS_DRV_MODE
								  : XDP_FLAGS_SKB_MODE);
	if (fd < 0 && want == MOAT_XDP_MODE_AUTO) {
		moat_warn("interface '%s': native XDP unavailable (%s), using generic mode",
			  name, strerror(errno));
		mode = MOAT_XDP_GENERIC;
		fd = link_create(prog_fd, ifindex, XDP_FLAGS_SKB_MODE);
	}
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "couldn't attach XDP to '%s': %s", name, strerror(-ret));
		return ret;
	}
	ret = link_pin(fd, path, err, errlen);
	return ret ? ret : mode;
}

/* The egress flow recorder: attached with outbound.track, removed without. */
static int attach_egress(const char *dir, const char *name, int ifindex, int prog_fd,
			 bool track, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd, ret;

	if ((ret = pin_path(path, sizeof(path), dir, MOAT_PIN_TCX_PREFIX, name)))
		return ret;
	if (!track) {
		if ((fd = bpf_obj_get(path)) >= 0) {
			bpf_link_detach(fd);
			close(fd);
			unlink(path);
		}
		return 0;
	}
	ret = link_swap(path, ifindex, prog_fd);
	if (ret < 0) {
		snprintf(err, errlen, "couldn't update TC egress link on '%s': %s", name,
			 strerror(-ret));
		return ret;
	}
	if (ret)
		return 0;
	fd = bpf_link_create(prog_fd, ifindex, BPF_TCX_EGRESS, NULL);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "couldn't attach TC egress (tcx) to '%s': %s", name,
			 strerror(-ret));
		return ret;
	}
	return link_pin(fd, path, err, errlen);
}

/* The egress program records host-opened flows and confirms validated
 * connections: either needs it. */
static bool egress_needed(const struct moat_config *cfg)
{
	return cfg->outbound.track || cfg->tls.validate || cfg->ssh.validate;
}

/* Pins a map, replacing an older pin of the same name atomically. */
static int pin_replace(const char *dir, const char *name, int fd)
{
	char path[PATH_MAX], tmp[PATH_MAX];

	if (pin_path(path, sizeof(path), dir, "", name) ||
	    pin_path(tmp, sizeof(tmp), dir, "new_", name))
		return -ENAMETOOLONG;
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

static int pin_all(const char *dir, struct moat_pins *m)
{
	int err;

	for (size_t i = 0; i < moat_nr_pin_maps; i++) {
		/* Re-pinning a persistent map over itself is harmless. */
		err = pin_replace(dir, moat_pin_maps[i].name, *moat_pin_fd(m, &moat_pin_maps[i]));
		if (err)
			return err;
	}
	return 0;
}

/* Whether moat's pinned XDP link on this interface is live. */
static bool moat_pinned_prog_alive(const char *dir, const char *name)
{
	int fd = moat_pinned_prog(dir, name);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Detaches what this apply attached to interfaces 0..upto not held before. */
static void take_down_new(const struct moat_config *cfg, const bool *held, size_t upto)
{
	const char *prefixes[] = { MOAT_PIN_LINK_PREFIX, MOAT_PIN_TCX_PREFIX };
	char path[PATH_MAX];
	int fd;

	for (size_t i = 0; i <= upto; i++) {
		if (held[i])
			continue;
		for (size_t k = 0; k < 2; k++) {
			if (pin_path(path, sizeof(path), cfg->pin_dir, prefixes[k],
				     cfg->interfaces[i]) || (fd = bpf_obj_get(path)) < 0)
				continue;
			bpf_link_detach(fd);
			close(fd);
			unlink(path);
		}
	}
}

static int copy_runtime(const struct moat_cidr *c, const struct moat_entry *e, void *ctx)
{
	struct moat_table *to = ctx;

	if (e->origin == MOAT_ORIGIN_CONFIG)
		return 0;
	return moat_table_put(*to, c, e);
}

/* Takes an interface that left the config out of moat's hands. */
static void release_slot(const char *dir, int ifaces_fd, int stats_fd, __u32 slot,
			 const struct moat_iface *old)
{
	struct moat_iface none = {};
	char path[PATH_MAX];
	int fd;

	const char *prefixes[] = { MOAT_PIN_LINK_PREFIX, MOAT_PIN_TCX_PREFIX };

	for (size_t i = 0; i < 2; i++) {
		if (!pin_path(path, sizeof(path), dir, prefixes[i], old->name) &&
		    (fd = bpf_obj_get(path)) >= 0) {
			bpf_link_detach(fd);
			close(fd);
			unlink(path);
		}
	}
	moat_info("interface '%s': removed from the config, XDP detached", old->name);
	bpf_map_update_elem(ifaces_fd, &slot, &none, BPF_ANY);
	/* Zero its counters so a later interface in this slot starts clean. */
	int ncpu = libbpf_num_possible_cpus();
	struct moat_counter *zero = calloc(ncpu > 0 ? ncpu : 1, sizeof(*zero));

	for (__u32 i = MOAT_STATS_IDX(slot, 0, 0); zero && i < MOAT_STATS_IDX(slot + 1, 0, 0); i++)
		bpf_map_update_elem(stats_fd, &i, zero, BPF_ANY);
	free(zero);
}

int moatd_apply(struct moatd *d, struct moat_config *cfg, char *err, size_t errlen)
{
	struct moat_iface old[MOAT_MAX_IFACES];
	__u32 slots[MOAT_MAX_IFACES];
	int ifindex[MOAT_MAX_IFACES];
	bool held[MOAT_MAX_IFACES];
	struct moat_pins prev, m;
	struct moat_gen gen = {};
	struct moat_meta meta = {};
	bool fresh, seed_all;
	__u32 zero = 0;
	int ret, old_fd, pinned;

	if (strlen(cfg->state_dir) >= sizeof(meta.state_dir)) {
		snprintf(err, errlen, "state_dir %s: longer than %zu bytes", cfg->state_dir,
			 sizeof(meta.state_dir) - 1);
		return -ENAMETOOLONG;
	}
	if ((ret = moatd_prepare_pin_dir(cfg->pin_dir, err, errlen)))
		return ret;
	if ((ret = open_pinned(cfg->pin_dir, &prev))) {
		snprintf(err, errlen, "couldn't lock %s: %s", cfg->pin_dir, strerror(-ret));
		goto out;
	}
	fresh = prev.stats < 0;

	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		ifindex[i] = if_nametoindex(cfg->interfaces[i]);
		if (!ifindex[i]) {
			ret = -errno;
			snprintf(err, errlen, "interface '%s': %s", cfg->interfaces[i], strerror(errno));
			goto out;
		}
	}
	if ((ret = assign_slots(cfg, prev.ifaces, slots, old, err, errlen)))
		goto out;
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		const struct moat_iface *o = &old[slots[i]];
		__u32 want = cfg->xdp_mode == MOAT_XDP_MODE_NATIVE  ? MOAT_XDP_NATIVE
			     : cfg->xdp_mode == MOAT_XDP_MODE_GENERIC ? MOAT_XDP_GENERIC : 0;

		/* Native and generic can't both be attached: a mode change would
		 * need a moment with no program at all. */
		if (o->ifindex == (__u32)ifindex[i] && want && o->xdp_mode != want) {
			ret = -EBUSY;
			snprintf(err, errlen,
				 "interface '%s': xdp_mode change needs 'moatctl unload' and a restart",
				 cfg->interfaces[i]);
			goto out;
		}
	}

	ret = moat_gen_load(&gen, cfg, slots, cfg->n_interfaces, &prev, err, errlen);
	if (ret)
		goto out;
	if ((ret = moat_gen_fill(&gen, cfg, err, errlen)))
		goto out;
	moat_gen_maps(&gen, &m);
	seed_all = gen.conns_new;
	/* Bans kept across an upgrade whose filter layout changed: every one
	 * back in the new filter before the program can look. */
	if (gen.ban_filter_new && (ret = moat_table_refilter(moat_pins_ban(&m)))) {
		snprintf(err, errlen, "couldn't rebuild the ban filter: %s", strerror(-ret));
		goto out;
	}
	if (prev.devops >= 0) {
		/* Runtime entries carry over from the generation in force. */
		struct moat_table to = moat_pins_devops(&m);

		ret = moat_table_foreach(moat_pins_devops(&prev), copy_runtime, &to);
		if (ret) {
			snprintf(err, errlen, "couldn't carry runtime devops entries: %s",
				 strerror(-ret));
			goto out;
		}
	} else if (fresh) {
		/* After a reboot: what moatctl and the inspector added before. A
		 * damaged file is logged and set aside; the config loads anyway. */
		moat_state_restore(cfg->state_dir, moat_pins_devops(&m), moat_pins_ban(&m));
	}

	/*
	 * Connections the new program would judge for the first time (all of
	 * them when the table is new or an interface joins, else those on
	 * ports that just became validated) predate moat: seeded before it
	 * judges, and again once it does, for what opened meanwhile.
	 */
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		held[i] = old[slots[i]].ifindex == (__u32)ifindex[i] &&
			  moat_pinned_prog_alive(cfg->pin_dir, cfg->interfaces[i]);
		seed_all |= !held[i];
	}
	moatd_seed_conns(d->have_cfg ? &d->cfg : NULL, cfg, seed_all, &m);

	old_fd = -1;
	for (size_t i = 0; i < cfg->n_interfaces && old_fd < 0; i++)
		old_fd = moat_pinned_prog(cfg->pin_dir, cfg->interfaces[i]);
	ret = moatd_lockout_guard(d->have_cfg ? &d->cfg : NULL, cfg, old_fd,
				  moat_gen_prog_fd(&gen, 0), err, errlen);
	if (old_fd >= 0)
		close(old_fd);
	if (ret)
		goto out;

	/*
	 * Interfaces moat does not hold yet are attached first: that can fail
	 * (a driver without native XDP, a kernel without tcx), and then they
	 * are taken down again and nothing has changed. The swaps of links
	 * already in place come last: an update of a live link does not fail
	 * for reasons a config can cause.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < cfg->n_interfaces; i++) {
			const struct moat_iface *o = &old[slots[i]];
			struct moat_iface ifc = { .ifindex = ifindex[i] };
			int mode;

			if (held[i] != (pass == 1))
				continue;
			/* Egress first: replies must be recognised before
			 * ingress starts judging them. */
			ret = attach_egress(cfg->pin_dir, cfg->interfaces[i], ifindex[i],
					    moat_gen_egress_fd(&gen, i), egress_needed(cfg),
					    err, errlen);
			mode = ret ? ret : attach_xdp(cfg->pin_dir, cfg->interfaces[i], ifindex[i],
						      moat_gen_prog_fd(&gen, i), cfg->xdp_mode,
						      o->xdp_mode ? o->xdp_mode : MOAT_XDP_NATIVE,
						      err, errlen);
			if (mode < 0) {
				ret = mode;
				if (pass == 0)
					take_down_new(cfg, held, i);
				goto out;
			}
			ifc.xdp_mode = mode;
			snprintf(ifc.name, sizeof(ifc.name), "%s", cfg->interfaces[i]);
			bpf_map_update_elem(m.ifaces, &slots[i], &ifc, BPF_ANY);
		}
	}
	for (__u32 s = 0; s < MOAT_MAX_IFACES; s++) {
		bool kept = false;

		for (size_t i = 0; i < cfg->n_interfaces; i++)
			kept |= slots[i] == s;
		if (old[s].ifindex && !kept)
			release_slot(cfg->pin_dir, m.ifaces, m.stats, s, &old[s]);
	}
	moatd_seed_conns(d->have_cfg ? &d->cfg : NULL, cfg, seed_all, &m);
	/* The links run the new generation now: from here on a failure does
	 * not undo it, and the message must say so. */
	pinned = pin_all(cfg->pin_dir, &m);
	if (pinned)
		snprintf(err, errlen, "the new policy is in force, but its maps couldn't be pinned "
			 "under %s (%s): moatctl may change tables that are no longer in force "
			 "until a reload pins them", cfg->pin_dir, strerror(-pinned));

	bpf_map_lookup_elem(m.meta, &zero, &meta);
	if (!fresh && meta.layout != MOAT_LAYOUT)
		moat_info("pins under %s now have layout %#x (they had %#x)", cfg->pin_dir,
			  MOAT_LAYOUT, meta.layout);
	meta.layout = MOAT_LAYOUT;
	meta.generation++;
	meta.loaded_at = time(NULL);
	meta.reload_failed_at = pinned ? (__u64)time(NULL) : 0;
	meta.mode = cfg->mode;
	meta.moatd_pid = getpid();
	snprintf(meta.state_dir, sizeof(meta.state_dir), "%s", cfg->state_dir);
	bpf_map_update_elem(m.meta, &zero, &meta, BPF_ANY);

	pthread_mutex_lock(&d->lock);
	moat_gen_destroy(&d->gen);
	d->gen = gen;
	memset(&gen, 0, sizeof(gen));
	pthread_mutex_unlock(&d->lock);
	moat_info("policy generation %llu in force on %zu interface(s), mode %s",
		  (unsigned long long)meta.generation, cfg->n_interfaces,
		  cfg->mode == MOAT_MODE_MONITOR ? "monitor" : "enforce");
	ret = pinned ? 1 : 0;
out:
	moat_gen_destroy(&gen);
	moat_pins_close(&prev);
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
