// SPDX-License-Identifier: GPL-2.0
/*
 * moat's links on an interface (XDP ingress, tcx egress), pinned under
 * pin_dir as link_IF and tcx_IF: a pinned link outlives moatd, and a new
 * generation takes it over by one atomic swap (bpf_link_update).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "moatd.h"
#include "lib/log.h"

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

int moatd_attach_xdp(const char *dir, const char *name, int ifindex, int prog_fd,
		     enum moat_xdp_mode want, __u32 old_mode, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd, mode, ret;

	if ((ret = moat_link_path(path, sizeof(path), dir, MOAT_PIN_LINK_PREFIX, name)))
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

int moatd_attach_egress(const char *dir, const char *name, int ifindex, int prog_fd,
			bool track, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd, ret;

	if ((ret = moat_link_path(path, sizeof(path), dir, MOAT_PIN_TCX_PREFIX, name)))
		return ret;
	if (!track) {
		moat_link_unpin(path);
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

void moatd_unpin_links(const char *dir, const char *name)
{
	const char *kinds[] = { MOAT_PIN_LINK_PREFIX, MOAT_PIN_TCX_PREFIX };
	char path[PATH_MAX];

	for (size_t k = 0; k < 2; k++)
		if (!moat_link_path(path, sizeof(path), dir, kinds[k], name))
			moat_link_unpin(path);
}
