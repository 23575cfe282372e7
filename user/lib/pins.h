/* SPDX-License-Identifier: GPL-2.0 */
/*
 * moat's pinned state under pin_dir, as moatd and moatctl both see it:
 * opening the maps, the pin-dir lock, and a summed snapshot of the counters
 * (the one code path behind `moatctl stats` and /metrics).
 */
#ifndef MOAT_PINS_H
#define MOAT_PINS_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>
#include <linux/types.h>
#include "moat/reasons.h"
#include "moat/shared.h"

/* Map fds; -1 where the map is not pinned. */
struct moat_pins {
	char dir[PATH_MAX];
	int stats, ifaces, meta;
	int ban, ban_prefix, ban_count, ban_bloom;
	int flows, conns, conn_pending, conn_syn, conn_events, conn_ok, local_ports, top_sources,
	    events;
	int devops, devops_prefix, devops_count, devops_bloom;
	int deny, deny_prefix, deny_count, deny_bloom;
	int lock_fd;			/* flock on pin_dir, -1 when not held */
};

/*
 * Every pinned map, once: its pin name (= its name in the BPF object) and
 * where its fd lives in struct moat_pins. Generation maps are rebuilt by
 * each (re)load; the others persist.
 */
struct moat_pin_desc {
	const char *name;
	size_t fd_off;
	bool generation;
};
extern const struct moat_pin_desc moat_pin_maps[];
extern const size_t moat_nr_pin_maps;

static inline int *moat_pin_fd(struct moat_pins *p, const struct moat_pin_desc *d)
{
	return (int *)((char *)p + d->fd_off);
}

/* All fds -1, dir set, lock not held. */
void moat_pins_init(struct moat_pins *p, const char *dir);

/* One address table (exact hash + its Bloom filter + prefix LPM + counts). */
struct moat_table {
	int exact, prefix, count, bloom;
};

/* Opens every pinned map; -ENOENT when moat is not loaded under dir. */
int moat_pins_open(const char *dir, struct moat_pins *p);
void moat_pins_close(struct moat_pins *p);
/* Pins every map of m under dir, each replacing its older pin atomically. */
int moat_pins_pin(const char *dir, struct moat_pins *m);
/* Exclusive flock on pin_dir: every writer of a table holds it. */
int moat_pins_lock(struct moat_pins *p);
void moat_pins_unlock(struct moat_pins *p);

static inline struct moat_table moat_pins_devops(const struct moat_pins *p)
{ return (struct moat_table){ p->devops, p->devops_prefix, p->devops_count, p->devops_bloom }; }
static inline struct moat_table moat_pins_deny(const struct moat_pins *p)
{ return (struct moat_table){ p->deny, p->deny_prefix, p->deny_count, p->deny_bloom }; }
static inline struct moat_table moat_pins_ban(const struct moat_pins *p)
{ return (struct moat_table){ p->ban, p->ban_prefix, p->ban_count, p->ban_bloom }; }

/*
 * One moatd per pin_dir: the one in charge holds an flock on the directory
 * pin_dir/moatd (bpffs takes directories and symlinks, not files) for its
 * whole life, and names itself in the symlink pin_dir/moatd/pid. The
 * kernel drops the lock when the process dies, however it dies. It is not
 * moatctl's table lock (that one is on pin_dir itself, held briefly).
 */
#define MOAT_DAEMON_LOCK	"moatd"
/* 0 with *fd held; -EBUSY with *holder (0: not known yet) when another
 * process holds it; else -errno. */
int moat_daemon_lock(const char *dir, int *fd, pid_t *holder);
/* Removes the pid link and the lock directory, then lets go. */
void moat_daemon_unlock(const char *dir, int fd);

/* Names for verdicts/reasons, from the X-macro lists. */
const char *moat_reason_name(unsigned int reason);
const char *moat_verdict_name(unsigned int verdict);

struct moat_iface_state {
	struct moat_iface iface;	/* ifindex 0: slot unused */
	bool attached;			/* our program is the one on the interface now */
};

struct moat_snapshot {
	struct moat_iface_state ifaces[MOAT_MAX_IFACES];
	/* summed over CPUs, indexed by MOAT_STATS_IDX(slot, verdict, reason) */
	struct moat_counter stats[MOAT_STATS_ENTRIES];
	struct moat_meta meta;
	uint64_t devops_entries;	/* live (unexpired) entries */
	uint64_t bans;			/* live bans */
	uint64_t deny_entries;
	uint64_t conn_events[MOAT_CONN_EV_NR];	/* summed over CPUs */
};

int moat_snapshot_read(const struct moat_pins *p, struct moat_snapshot *s);

/* The program ifname's pinned XDP link runs now (a new fd), or -1. */
int moat_pinned_prog(const char *dir, const char *ifname);

/* Ids of the maps prog_fd uses, at most max of them: how many, or -errno. */
int moat_prog_map_ids(int prog_fd, __u32 *ids, __u32 max);

/* The pinned object name under dir (a new fd), or -1 with errno set. */
int moat_pin_get(const char *dir, const char *name);

/* The name a map is pinned under first, to replace its pin atomically. */
#define MOAT_PIN_REPIN_PREFIX	"new_"

/*
 * Where the link moat holds on ifname is pinned: kind is
 * MOAT_PIN_LINK_PREFIX (XDP) or MOAT_PIN_TCX_PREFIX (TC egress).
 * 0, or -ENAMETOOLONG.
 */
int moat_link_path(char *buf, size_t len, const char *dir, const char *kind,
		   const char *ifname);
/*
 * Detaches the link pinned at path (its interface runs nothing of moat's
 * from then on) and removes the pin. 0 also when nothing is pinned there
 * or the link was detached already; -errno when either step failed.
 */
int moat_link_unpin(const char *path);

/* meta holds one value, at key 0: read it (0 or -errno). */
int moat_meta_read(int meta_fd, struct moat_meta *m);
/*
 * Read-modify-write of meta: fn (NULL: none) changes *m and returns
 * whether to write it back. *out (when not NULL) gets meta as it is after.
 * 0 or -errno.
 */
int moat_meta_edit(int meta_fd, bool (*fn)(struct moat_meta *m, void *arg), void *arg,
		   struct moat_meta *out);

/* Entries in a hash/LRU map, by batch lookups (not for the packet path). */
int moat_map_count(int fd, uint64_t *n);

#endif /* MOAT_PINS_H */
