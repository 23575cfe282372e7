// SPDX-License-Identifier: GPL-2.0
/* Pinned-state access shared by moatd and moatctl (see pins.h). */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pins.h"

#define MOAT_X_NAME(e, s) s,
static const char *const reason_names[] = { MOAT_REASONS(MOAT_X_NAME) };
static const char *const verdict_names[] = { MOAT_VERDICTS(MOAT_X_NAME) };
#undef MOAT_X_NAME

const char *moat_reason_name(unsigned int reason)
{
	return reason < MOAT_NR_REASONS ? reason_names[reason] : "unknown";
}

const char *moat_verdict_name(unsigned int verdict)
{
	return verdict < MOAT_NR_VERDICTS ? verdict_names[verdict] : "unknown";
}

int moat_pin_get(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return bpf_obj_get(path);
}

int moat_link_path(char *buf, size_t len, const char *dir, const char *kind,
		   const char *ifname)
{
	return snprintf(buf, len, "%s/%s%s", dir, kind, ifname) >= (int)len ? -ENAMETOOLONG : 0;
}

int moat_link_unpin(const char *path)
{
	int fd = bpf_obj_get(path), err = 0;

	if (fd < 0)
		return 0;
	/* EINVAL: its interface went away, and the link with it. */
	if (bpf_link_detach(fd) && errno != EINVAL)
		err = -errno;
	close(fd);
	if (!err && unlink(path) && errno != ENOENT)
		err = -errno;
	return err;
}

int moat_meta_read(int meta_fd, struct moat_meta *m)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(meta_fd, &zero, m) ? -errno : 0;
}

int moat_meta_edit(int meta_fd, bool (*fn)(struct moat_meta *m, void *arg), void *arg,
		   struct moat_meta *out)
{
	struct moat_meta meta;
	__u32 zero = 0;
	int err;

	if ((err = moat_meta_read(meta_fd, &meta)))
		return err;
	if (fn && fn(&meta, arg) && bpf_map_update_elem(meta_fd, &zero, &meta, BPF_ANY))
		return -errno;
	if (out)
		*out = meta;
	return 0;
}

#define PIN(field, pin, gen) { pin, offsetof(struct moat_pins, field), gen }
const struct moat_pin_desc moat_pin_maps[] = {
	PIN(stats, MOAT_PIN_STATS, false),
	PIN(ifaces, MOAT_PIN_IFACES, false),
	PIN(meta, MOAT_PIN_META, false),
	PIN(ban, MOAT_PIN_BAN, false),
	PIN(ban_prefix, MOAT_PIN_BAN_PFX, false),
	PIN(ban_count, MOAT_PIN_BAN_CNT, false),
	PIN(ban_bloom, MOAT_PIN_BAN_BLOOM, false),
	PIN(flows, MOAT_PIN_FLOWS, false),
	PIN(conns, MOAT_PIN_CONNS, false),
	PIN(conn_pending, MOAT_PIN_CONN_PENDING, false),
	PIN(conn_syn, MOAT_PIN_CONN_SYN, false),
	PIN(conn_events, MOAT_PIN_CONN_EVENTS, false),
	PIN(conn_ok, MOAT_PIN_CONN_OK, false),
	PIN(local_ports, MOAT_PIN_LOCAL_PORTS, false),
	PIN(top_sources, MOAT_PIN_TOP_SOURCES, false),
	PIN(events, MOAT_PIN_EVENTS, false),
	PIN(devops, MOAT_PIN_DEVOPS, true),
	PIN(devops_prefix, MOAT_PIN_DEVOPS_PFX, true),
	PIN(devops_count, MOAT_PIN_DEVOPS_CNT, true),
	PIN(devops_bloom, MOAT_PIN_DEVOPS_BLOOM, true),
	PIN(deny, MOAT_PIN_DENY, true),
	PIN(deny_prefix, MOAT_PIN_DENY_PFX, true),
	PIN(deny_count, MOAT_PIN_DENY_CNT, true),
	PIN(deny_bloom, MOAT_PIN_DENY_BLOOM, true),
};
#undef PIN
const size_t moat_nr_pin_maps = sizeof(moat_pin_maps) / sizeof(moat_pin_maps[0]);

void moat_pins_init(struct moat_pins *p, const char *dir)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "%s", dir ? dir : "");
	p->lock_fd = -1;
	for (size_t i = 0; i < moat_nr_pin_maps; i++)
		*moat_pin_fd(p, &moat_pin_maps[i]) = -1;
}

int moat_pins_open(const char *dir, struct moat_pins *p)
{
	int err;

	moat_pins_init(p, dir);
	for (size_t i = 0; i < moat_nr_pin_maps; i++) {
		int *fd = moat_pin_fd(p, &moat_pin_maps[i]);

		*fd = moat_pin_get(dir, moat_pin_maps[i].name);
		if (*fd < 0) {
			err = -errno;
			moat_pins_close(p);
			return err;
		}
	}
	return 0;
}

void moat_pins_close(struct moat_pins *p)
{
	for (size_t i = 0; i < moat_nr_pin_maps; i++) {
		int *fd = moat_pin_fd(p, &moat_pin_maps[i]);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	moat_pins_unlock(p);
}

/* Pins a map, replacing an older pin of the same name atomically. */
static int pin_replace(const char *dir, const char *name, int fd)
{
	char path[PATH_MAX], tmp[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/" MOAT_PIN_REPIN_PREFIX "%s", dir, name) >=
		    (int)sizeof(tmp))
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

int moat_pins_pin(const char *dir, struct moat_pins *m)
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

int moat_pins_lock(struct moat_pins *p)
{
	int fd;

	if (p->lock_fd >= 0)
		return 0;
	fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	p->lock_fd = fd;
	return 0;
}

void moat_pins_unlock(struct moat_pins *p)
{
	if (p->lock_fd >= 0) {
		flock(p->lock_fd, LOCK_UN);
		close(p->lock_fd);
	}
	p->lock_fd = -1;
}

static pid_t daemon_holder(const char *lockdir)
{
	char path[PATH_MAX], text[32];
	ssize_t n;
	long pid;

	snprintf(path, sizeof(path), "%s/pid", lockdir);
	n = readlink(path, text, sizeof(text) - 1);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	pid = strtol(text, NULL, 10);
	return pid > 0 ? (pid_t)pid : 0;
}

int moat_daemon_lock(const char *dir, int *fd_out, pid_t *holder)
{
	char lockdir[PATH_MAX], link[PATH_MAX + 8], tmp[PATH_MAX + 8], pid[32];
	struct stat a, b;
	int fd, err;

	*holder = 0;
	if (snprintf(lockdir, sizeof(lockdir), "%s/%s", dir, MOAT_DAEMON_LOCK) >= (int)sizeof(lockdir))
		return -ENAMETOOLONG;
	for (;;) {
		if (mkdir(lockdir, 0700) && errno != EEXIST)
			return -errno;
		fd = open(lockdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			err = errno == EWOULDBLOCK ? -EBUSY : -errno;
			close(fd);
			if (err == -EBUSY)
				*holder = daemon_holder(lockdir);
			return err;
		}
		/* A holder that was leaving may have removed the directory we
		 * locked: then the lock guards nothing, take the new one. */
		if (!fstat(fd, &a) && !stat(lockdir, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			break;
		close(fd);
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(link, sizeof(link), "%s/pid", lockdir);
	snprintf(tmp, sizeof(tmp), "%s/pid_new", lockdir);	/* bpffs refuses dots */
	unlink(tmp);
	if (symlink(pid, tmp) || rename(tmp, link)) {
		err = -errno;
		unlink(tmp);
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

void moat_daemon_unlock(const char *dir, int fd)
{
	char path[PATH_MAX + 8];

	if (fd < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s/pid", dir, MOAT_DAEMON_LOCK);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, MOAT_DAEMON_LOCK);
	rmdir(path);
	close(fd);
}

/* Whether the program behind our pinned link is what the interface runs. */
static bool iface_attached(const char *dir, const struct moat_iface *ifc)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info), prog_id = 0;
	char path[PATH_MAX];
	int fd, err;

	if (moat_link_path(path, sizeof(path), dir, MOAT_PIN_LINK_PREFIX, ifc->name))
		return false;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err || info.xdp.ifindex == 0)
		return false;
	if (bpf_xdp_query_id(info.xdp.ifindex,
			     ifc->xdp_mode == MOAT_XDP_GENERIC ? XDP_FLAGS_SKB_MODE
							       : XDP_FLAGS_DRV_MODE,
			     &prog_id))
		return false;
	return prog_id == info.prog_id;
}

static uint64_t table_entries(int count_fd)
{
	struct moat_table_count n = {};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(count_fd, &zero, &n))
		return 0;
	return (uint64_t)n.exact + n.prefix;
}

int moat_snapshot_read(const struct moat_pins *p, struct moat_snapshot *s)
{
	int ncpu = libbpf_num_possible_cpus();
	struct moat_counter *percpu;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	memset(s, 0, sizeof(*s));
	for (__u32 slot = 0; slot < MOAT_MAX_IFACES; slot++) {
		struct moat_iface_state *st = &s->ifaces[slot];

		if (bpf_map_lookup_elem(p->ifaces, &slot, &st->iface))
			return -errno;
		if (st->iface.ifindex)
			st->attached = iface_attached(p->dir, &st->iface);
	}
	if ((err = moat_meta_read(p->meta, &s->meta)))
		return err;

	/* Per-CPU values are read whole: one syscall per counter, all CPUs. */
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 slot = 0; slot < MOAT_MAX_IFACES; slot++) {
		if (!s->ifaces[slot].iface.ifindex)
			continue;
		for (__u32 i = MOAT_STATS_IDX(slot, 0, 0);
		     i < MOAT_STATS_IDX(slot + 1, 0, 0); i++) {
			if (bpf_map_lookup_elem(p->stats, &i, percpu)) {
				err = -errno;
				goto out;
			}
			for (int c = 0; c < ncpu; c++) {
				s->stats[i].packets += percpu[c].packets;
				s->stats[i].bytes += percpu[c].bytes;
			}
		}
	}
	for (__u32 ev = 0; ev < MOAT_CONN_EV_NR && p->conn_events >= 0; ev++) {
		__u64 *n = (__u64 *)percpu;	/* room for ncpu counters of 16 bytes */

		if (bpf_map_lookup_elem(p->conn_events, &ev, n))
			continue;
		for (int c = 0; c < ncpu; c++)
			s->conn_events[ev] += n[c];
	}
	s->devops_entries = table_entries(p->devops_count);
	s->deny_entries = table_entries(p->deny_count);
	s->bans = table_entries(p->ban_count);
out:
	free(percpu);
	return err;
}

int moat_map_count(int fd, uint64_t *n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), batch, count;
	void *keys = NULL, *vals = NULL;
	bool first = true;
	int err = 0;

	*n = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	/* Batches of 4096: a few syscalls for a full 262144-entry table. */
	keys = malloc(4096 * (size_t)info.key_size);
	vals = malloc(4096 * (size_t)info.value_size);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		count = 4096;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals,
					   &count, NULL);
		first = false;
		if (err && errno != ENOENT) {
			err = -errno;
			break;
		}
		*n += count;
		if (err) {	/* ENOENT: that was the last batch */
			err = 0;
			break;
		}
	}
out:
	free(keys);
	free(vals);
	return err;
}

int moat_prog_map_ids(int prog_fd, __u32 *ids, __u32 max)
{
	struct bpf_prog_info info = { .nr_map_ids = max, .map_ids = (__u64)(unsigned long)ids };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	return info.nr_map_ids < max ? info.nr_map_ids : max;
}

int moat_pinned_prog(const char *dir, const char *ifname)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, prog = -1;

	if (moat_link_path(path, sizeof(path), dir, MOAT_PIN_LINK_PREFIX, ifname))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.xdp.ifindex)
		prog = bpf_prog_get_fd_by_id(info.prog_id);
	close(fd);
	return prog;
}
