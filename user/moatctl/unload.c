// SPDX-License-Identifier: GPL-2.0
/* moatctl unload: detach every link and remove every pin under pin_dir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "moatctl.h"

int do_unload(struct ctl *c, int argc, char **argv)
{
	int dfd, fd, detached = 0, failed = 0;
	struct dirent *de;
	struct moat_pins p;
	DIR *dir;

	if (argc) {
		ctl_error(c, "unload: unexpected argument '%s'", argv[0]);
		return EXIT_USAGE;
	}
	moat_pins_init(&p, c->pin_dir);
	dir = opendir(c->pin_dir);
	if (!dir) {
		ctl_error(c, "moat is not loaded under %s: %s", c->pin_dir, strerror(errno));
		return EXIT_FAILED;
	}
	if (moat_pins_lock(&p)) {
		closedir(dir);
		ctl_error(c, "couldn't lock %s: %s", c->pin_dir, strerror(errno));
		return EXIT_FAILED;
	}
	dfd = dirfd(dir);
	/* Links first: the moment they go, the interfaces are open. A running
	 * moatd holds link fds too, so detach explicitly rather than unpin. */
	while ((de = readdir(dir))) {
		char path[PATH_MAX];

		if (strncmp(de->d_name, MOAT_PIN_LINK_PREFIX, strlen(MOAT_PIN_LINK_PREFIX)) &&
		    strncmp(de->d_name, MOAT_PIN_TCX_PREFIX, strlen(MOAT_PIN_TCX_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->pin_dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd >= 0 && bpf_link_detach(fd) && errno != EINVAL) {
			ctl_error(c, "couldn't detach %s: %s", path, strerror(errno));
			failed++;
		} else if (!strncmp(de->d_name, MOAT_PIN_LINK_PREFIX, strlen(MOAT_PIN_LINK_PREFIX))) {
			detached++;
		}
		if (fd >= 0)
			close(fd);
	}
	rewinddir(dir);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (unlinkat(dfd, de->d_name, 0)) {
			ctl_error(c, "couldn't remove %s/%s: %s", c->pin_dir, de->d_name, strerror(errno));
			failed++;
		}
	}
	closedir(dir);
	moat_pins_unlock(&p);
	if (!failed && rmdir(c->pin_dir)) {
		ctl_error(c, "couldn't remove %s: %s", c->pin_dir, strerror(errno));
		failed++;
	}
	if (failed)
		return EXIT_FAILED;
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "unloaded", json_object_new_boolean(1));
		json_object_object_add(o, "interfaces_detached", json_object_new_int(detached));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("moat unloaded: %d interface(s) detached, pins under %s removed\n",
		       detached, c->pin_dir);
	}
	return EXIT_OK;
}
