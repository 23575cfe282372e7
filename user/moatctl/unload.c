// SPDX-License-Identifier: GPL-2.0
/*
 * moatctl unload: detach every link and remove moat's pins under pin_dir.
 * Only a folder on bpffs that holds moat's meta map is taken for a pin
 * dir, and only names moat pins are removed: a wrong --pin-dir costs
 * nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "moatctl.h"

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool is_link_pin(const char *name)
{
	return has_prefix(name, MOAT_PIN_LINK_PREFIX) || has_prefix(name, MOAT_PIN_TCX_PREFIX);
}

/* Whether name is one moat pins (maps, links, a map's re-pin name). */
static bool is_moat_pin(const char *name)
{
	if (is_link_pin(name))
		return true;
	if (has_prefix(name, MOAT_PIN_REPIN_PREFIX))
		name += strlen(MOAT_PIN_REPIN_PREFIX);
	for (size_t i = 0; i < moat_nr_pin_maps; i++)
		if (!strcmp(name, moat_pin_maps[i].name))
			return true;
	return false;
}

/* 0 when dir is on bpffs and its meta pin is moat's meta map; else says why. */
static int check_pin_dir(struct ctl *c)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	struct statfs st;
	int fd, ok;

	if (statfs(c->pin_dir, &st)) {
		ctl_error(c, "moat is not loaded under %s: %s", c->pin_dir, strerror(errno));
		return EXIT_FAILED;
	}
	if (st.f_type != BPF_FS_MAGIC) {
		ctl_error(c, "%s is not on a bpf filesystem, so not a moat pin dir: nothing removed",
			  c->pin_dir);
		return EXIT_FAILED;
	}
	snprintf(path, sizeof(path), "%s/%s", c->pin_dir, MOAT_PIN_META);
	fd = bpf_obj_get(path);
	ok = fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	     info.type == BPF_MAP_TYPE_ARRAY && info.key_size == sizeof(__u32) &&
	     info.value_size == sizeof(struct moat_meta);
	if (fd >= 0)
		close(fd);
	if (!ok) {
		ctl_error(c, "%s holds no moat meta map, so moat is not loaded there: nothing removed",
			  c->pin_dir);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

int do_unload(struct ctl *c, int argc, char **argv)
{
	int dfd, daemon_fd = -1, detached = 0, failed = 0, foreign = 0;
	struct dirent *de;
	struct moat_pins p;
	pid_t holder;
	DIR *dir;
	int ret;

	if ((ret = ctl_no_more_args(c, argc, argv, 1)) || (ret = check_pin_dir(c)))
		return ret;
	/* A moatd running on it would put it all back at its next reload. */
	ret = moat_daemon_lock(c->pin_dir, &daemon_fd, &holder);
	if (ret == -EBUSY) {
		if (holder)
			ctl_error(c, "moatd pid %d runs with pin_dir %s: stop it first, then unload",
				  (int)holder, c->pin_dir);
		else
			ctl_error(c, "a moatd is starting with pin_dir %s: stop it first, then unload",
				  c->pin_dir);
		return EXIT_FAILED;
	}
	if (ret) {
		ctl_error(c, "couldn't lock %s/%s: %s", c->pin_dir, MOAT_DAEMON_LOCK, strerror(-ret));
		return EXIT_FAILED;
	}
	moat_pins_init(&p, c->pin_dir);
	dir = opendir(c->pin_dir);
	if (!dir || moat_pins_lock(&p)) {
		ctl_error(c, "couldn't open and lock %s: %s", c->pin_dir, strerror(errno));
		if (dir)
			closedir(dir);
		moat_daemon_unlock(c->pin_dir, daemon_fd);
		return EXIT_FAILED;
	}
	dfd = dirfd(dir);
	/* Links first: the moment they go, the interfaces are open. */
	while ((de = readdir(dir))) {
		char path[PATH_MAX];

		if (!is_link_pin(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->pin_dir, de->d_name);
		if ((ret = moat_link_unpin(path))) {
			ctl_error(c, "couldn't detach %s: %s", path, strerror(-ret));
			failed++;
		} else if (has_prefix(de->d_name, MOAT_PIN_LINK_PREFIX)) {
			detached++;
		}
	}
	rewinddir(dir);
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, MOAT_DAEMON_LOCK))
			continue;
		if (!is_moat_pin(de->d_name)) {
			fprintf(stderr, "Warning: %s/%s is not moat's: left in place\n", c->pin_dir,
				de->d_name);
			foreign++;
			continue;
		}
		if (unlinkat(dfd, de->d_name, 0)) {
			ctl_error(c, "couldn't remove %s/%s: %s", c->pin_dir, de->d_name, strerror(errno));
			failed++;
		}
	}
	closedir(dir);
	moat_daemon_unlock(c->pin_dir, daemon_fd);
	moat_pins_unlock(&p);
	if (!failed && !foreign && rmdir(c->pin_dir)) {
		ctl_error(c, "couldn't remove %s: %s", c->pin_dir, strerror(errno));
		failed++;
	}
	if (failed)
		return EXIT_FAILED;
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "unloaded", json_object_new_boolean(1));
		json_object_object_add(o, "interfaces_detached", json_object_new_int(detached));
		json_object_object_add(o, "foreign_entries_kept", json_object_new_int(foreign));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("moat unloaded: %d interface(s) detached, moat's pins under %s removed%s\n",
		       detached, c->pin_dir, foreign ? " (the folder stays: it holds other things)" : "");
	}
	return EXIT_OK;
}
