// SPDX-License-Identifier: GPL-2.0
/*
 * moatd: loads moat's policy from YAML, attaches it to every configured
 * interface, keeps the maps in step, reloads on SIGHUP and leaves
 * enforcement in place when it exits (SPEC §4).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include "moatd.h"
#include "http.h"
#include "lib/log.h"
#include "lib/table.h"

#define SWEEP_INTERVAL_S 5

/* Options: getopt's table and --help from one list; val > 0xff: long only. */
#define OPT_CHECK_CONFIG 0x100
static const struct moatd_opt {
	struct option o;
	const char *arg, *help;
} moatd_opts[] = {
	{ { "config", required_argument, NULL, 'c' }, "FILE",
	  "policy file (default " MOAT_DEFAULT_CONFIG ")" },
	{ { "check-config", required_argument, NULL, OPT_CHECK_CONFIG }, "FILE",
	  "validate FILE and exit; touches nothing" },
	{ { "verbose", no_argument, NULL, 'v' }, NULL, "debug output, including libbpf's" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "this text" },
	{ { "version", no_argument, NULL, 'V' }, NULL, "print the version" },
};
#define N_MOATD_OPTS (sizeof(moatd_opts) / sizeof(moatd_opts[0]))

static void usage(FILE *f)
{
	fputs("Usage: moatd [-v] -c FILE\n"
	      "       moatd --check-config FILE\n"
	      "\n"
	      "Enforce moat's gateway policy: load the XDP program on every interface\n"
	      "listed in FILE, pin it under pin_dir and keep it in step with FILE.\n"
	      "\n", f);
	for (size_t i = 0; i < N_MOATD_OPTS; i++) {
		const struct moatd_opt *o = &moatd_opts[i];
		char flag[48];

		snprintf(flag, sizeof(flag), "%c%c%c --%s%s%s", o->o.val <= 0xff ? '-' : ' ',
			 o->o.val <= 0xff ? o->o.val : ' ', o->o.val <= 0xff ? ',' : ' ',
			 o->o.name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-23s  %s\n", flag, o->help);
	}
	fputs("\n"
	      "Signals:\n"
	      "  SIGHUP    re-read FILE; a file that does not validate is refused whole\n"
	      "            and the policy in force stays\n"
	      "  SIGTERM   exit, leaving the XDP programs attached and pinned (fail\n"
	      "            closed); a new moatd adopts them. 'moatctl unload' removes them.\n"
	      "\n"
	      "'moatctl reload --confirm-within DUR' reloads and rolls back to the\n"
	      "previous policy unless 'moatctl confirm' follows in time.\n"
	      "\n"
	      "Files and endpoints (from FILE):\n"
	      "  pin_dir (/sys/fs/bpf/moat)    links, maps; what moatctl reads. One moatd\n"
	      "                                per pin_dir: a second one exits 1\n"
	      "  state_dir (/var/lib/moat)     runtime.json: runtime devops entries, bans\n"
	      "  metrics.listen (127.0.0.1:9477)  GET /metrics (Prometheus), GET /healthz\n"
	      "\n"
	      "A configured interface deleted and created again gets the policy in\n"
	      "force again as soon as it appears.\n"
	      "\n"
	      "Exit status: 0 ok, 1 the policy could not be put in force (or another\n"
	      "moatd holds pin_dir), 2 usage or configuration error.\n", f);
}

/* systemd Type=notify without linking libsystemd. */
static void sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa,
	       offsetof(struct sockaddr_un, sun_path) + strlen(path));
	close(fd);
}

/* Reads meta, lets fn change it, writes it back (fn returns false: no write). */
static int meta_edit(const struct moat_config *cfg, bool (*fn)(struct moat_meta *, void *),
		     void *arg, struct moat_meta *out)
{
	struct moat_meta meta;
	struct moat_pins p;
	__u32 zero = 0;
	int err;

	if ((err = moat_pins_open(cfg->pin_dir, &p)))
		return err;
	err = bpf_map_lookup_elem(p.meta, &zero, &meta) ? -errno : 0;
	if (!err && fn && fn(&meta, arg) && bpf_map_update_elem(p.meta, &zero, &meta, BPF_ANY))
		err = -errno;
	if (!err && out)
		*out = meta;
	moat_pins_close(&p);
	return err;
}

static bool set_failed(struct moat_meta *m, void *arg)
{
	m->reload_failed_at = time(NULL);
	return true;
}

static bool count_reload(struct moat_meta *m, void *arg)
{
	m->reloads++;
	return true;
}

static bool clear_deadline(struct moat_meta *m, void *arg)
{
	m->confirm_deadline = 0;
	m->confirm_within = 0;
	return true;
}

static bool clear_within(struct moat_meta *m, void *arg)
{
	m->confirm_within = 0;
	return true;
}

/* The operator can try a policy only once it is in force: the time to
 * confirm it counts from then, however long the reload took. */
static bool start_deadline(struct moat_meta *m, void *arg)
{
	if (m->confirm_within && m->confirm_deadline)
		m->confirm_deadline = time(NULL) + m->confirm_within;
	m->confirm_within = 0;
	return true;
}

/* A deadline with no rollback target in this process: it cannot be kept. */
static bool clear_orphan_deadline(struct moat_meta *m, void *arg)
{
	if (!m->confirm_deadline)
		return false;
	*(__u64 *)arg = m->confirm_deadline;
	m->confirm_deadline = 0;
	m->confirm_within = 0;
	return true;
}

/*
 * The policy just replaced stays in memory while moatctl reload
 * --confirm-within waits for 'moatctl confirm' (meta.confirm_deadline);
 * a later reload keeps the oldest one: the last confirmed policy.
 */
static void keep_for_rollback(struct moatd *d, struct moat_config *old)
{
	struct moat_meta meta;

	if (meta_edit(&d->cfg, start_deadline, NULL, &meta) || !meta.confirm_deadline) {
		moat_config_free(old);
		if (d->have_rollback) {	/* reloaded without waiting: confirmed */
			moat_config_free(&d->rollback);
			d->have_rollback = false;
		}
		return;
	}
	if (d->have_rollback) {
		moat_config_free(old);
	} else {
		d->rollback = *old;
		d->have_rollback = true;
	}
	moat_info("this policy rolls back in %lld s unless 'moatctl confirm' runs",
		  (long long)meta.confirm_deadline - (long long)time(NULL));
}

/* Called every second: confirmed, still waiting, or time to roll back. */
static void check_rollback(struct moatd *d)
{
	char err[MOAT_ERR_LEN];
	struct moat_meta meta;
	int ret;

	if (!d->have_rollback || meta_edit(&d->cfg, NULL, NULL, &meta))
		return;
	if (!meta.confirm_deadline) {
		moat_info("policy generation %llu confirmed", (unsigned long long)meta.generation);
		moat_config_free(&d->rollback);
		d->have_rollback = false;
		return;
	}
	if ((__u64)time(NULL) < meta.confirm_deadline)
		return;
	moat_warn("not confirmed in time: rolling back to the previous policy "
		  "(%s still holds the unconfirmed one: fix it before the next reload)",
		  d->config_path);
	d->have_rollback = false;
	meta_edit(&d->cfg, clear_deadline, NULL, NULL);
	ret = moatd_apply(d, &d->rollback, err, sizeof(err));
	if (ret > 0)
		moat_err("rollback: %s", err);
	if (ret < 0) {
		moat_err("rollback refused: %s", err);
		moat_config_free(&d->rollback);
		d->reload_ok = false;
		meta_edit(&d->cfg, set_failed, NULL, NULL);
		moatd_publish(d);
		return;
	}
	moat_config_free(&d->cfg);
	d->cfg = d->rollback;
	moatd_inspector_reload(d);
	d->reload_ok = ret == 0;
	d->last_reload = time(NULL);
	moatd_publish(d);
}

static void reload(struct moatd *d)
{
	struct moat_http *next = NULL;
	char err[MOAT_ERR_LEN];
	struct moat_config cfg, old;
	int ret;

	moat_info("SIGHUP: reloading %s", d->config_path);
	sd_notify_msg("RELOADING=1");
	if (moat_config_load(d->config_path, &cfg, err, sizeof(err))) {
		moat_err("%s", err);
		moat_err("reload refused; the policy in force is unchanged");
		goto failed;
	}
	if (strcmp(cfg.pin_dir, d->cfg.pin_dir)) {
		moat_err("%s: pin_dir cannot change on reload (%s -> %s); restart moatd",
			 d->config_path, d->cfg.pin_dir, cfg.pin_dir);
		moat_config_free(&cfg);
		goto failed;
	}
	/* The new address is bound before anything changes, the old one
	 * still serving: a busy port refuses the reload, never the metrics. */
	if (moatd_serve_prepare(d, &cfg, &next, err, sizeof(err))) {
		moat_err("metrics.listen: %s", err);
		moat_err("reload refused; the policy in force is unchanged, metrics stay on %s",
			 d->http_listen[0] ? d->http_listen : "(none)");
		moat_config_free(&cfg);
		goto failed;
	}
	ret = moatd_apply(d, &cfg, err, sizeof(err));
	if (ret < 0) {
		moat_err("%s", err);
		moat_err("reload refused; the policy in force is unchanged");
		moat_http_stop(next);
		moat_config_free(&cfg);
		goto failed;
	}
	if (ret > 0)
		moat_err("reload: %s", err);
	old = d->cfg;
	d->cfg = cfg;
	moatd_inspector_reload(d);
	keep_for_rollback(d, &old);
	d->reload_ok = ret == 0;
	d->last_reload = time(NULL);
	moatd_publish(d);
	if (moatd_serve(d, next, err, sizeof(err)))
		moat_err("metrics: couldn't move to %s: %s; still serving on %s", d->cfg.metrics.listen,
			 err, d->http_listen[0] ? d->http_listen : "(none)");
	meta_edit(&d->cfg, count_reload, NULL, NULL);	/* moatctl reload waits for it */
	sd_notify_msg("READY=1");
	return;
failed:
	d->reload_ok = false;
	/* A refused reload confirms nothing and rolls nothing back; a
	 * deadline moatctl set for it has nothing to wait for. */
	meta_edit(&d->cfg, set_failed, NULL, NULL);
	if (!d->have_rollback)
		meta_edit(&d->cfg, clear_deadline, NULL, NULL);
	else	/* the rollback in wait keeps its own deadline */
		meta_edit(&d->cfg, clear_within, NULL, NULL);
	meta_edit(&d->cfg, count_reload, NULL, NULL);
	moatd_publish(d);
	sd_notify_msg("READY=1");
}

/*
 * Link changes, from rtnetlink: an interface deleted and created again
 * under the same name is a new device, and nothing of moat's is on it.
 * The socket is only a wake-up; what to do comes from the pins.
 */
static int links_watch(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		moat_warn("couldn't watch links (%s): a re-created interface needs a reload",
			  strerror(errno));
	return fd;
}

/* Drains the socket; whether a link appeared or changed (or events were lost). */
static bool links_changed(int fd)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool changed = false;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) != 0) {
		if (n < 0) {
			if (errno == ENOBUFS)
				changed = true;	/* overrun: look at everything */
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
			changed |= h->nlmsg_type == RTM_NEWLINK;
	}
	return changed;
}

/* The device moat's pinned XDP link for name hooks now; 0 when none. */
static unsigned int pinned_link_ifindex(const char *dir, const char *name)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s%s", dir, MOAT_PIN_LINK_PREFIX, name) >= (int)sizeof(path))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.xdp.ifindex = 0;
	close(fd);
	return info.xdp.ifindex;
}

/*
 * A configured interface that exists but runs no program of moat's (it was
 * deleted and created again) gets the policy in force again, at once. A
 * device moat failed to attach to is not tried again (each try makes link
 * events of its own): a new device of that name, or a reload, is.
 */
static void reattach(struct moatd *d)
{
	static unsigned int failed[MOAT_MAX_IFACES];	/* ifindex of the last failure */
	unsigned int ifindex[MOAT_MAX_IFACES] = {};
	char err[MOAT_ERR_LEN], names[256] = "";
	size_t n = 0;
	int ret;

	for (size_t i = 0; i < d->cfg.n_interfaces; i++) {
		const char *name = d->cfg.interfaces[i];

		ifindex[i] = if_nametoindex(name);
		if (!ifindex[i] || ifindex[i] == failed[i])
			continue;	/* gone (nothing to attach to), or tried */
		/* The old device's link may not be cut loose yet: compare
		 * devices, not "is a program there". */
		if (pinned_link_ifindex(d->cfg.pin_dir, name) == ifindex[i])
			continue;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s'%s'",
			 n++ ? ", " : "", name);
	}
	if (!n)
		return;
	moat_warn("interface %s came back without moat: attaching the policy in force", names);
	ret = moatd_apply(d, &d->cfg, err, sizeof(err));
	if (ret < 0) {
		moat_err("interface %s is not guarded: %s", names, err);
		memcpy(failed, ifindex, sizeof(failed));
		return;
	}
	memset(failed, 0, sizeof(failed));
	if (ret > 0)
		moat_err("%s", err);
	d->reattaches += n;
	moatd_publish(d);
}

static int run(struct moatd *d)
{
	struct itimerspec every = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct signalfd_siginfo si;
	struct pollfd pfd[3];
	uint64_t ticks, tick = 0;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pfd[0].fd = signalfd(-1, &set, SFD_CLOEXEC);
	pfd[1].fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (pfd[0].fd < 0 || pfd[1].fd < 0 || timerfd_settime(pfd[1].fd, 0, &every, NULL)) {
		moat_err("couldn't set up signal and timer fds: %s", strerror(errno));
		return 1;
	}
	pfd[2].fd = links_watch();	/* -1: poll skips it */
	pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;

	for (;;) {
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			moat_err("poll: %s", strerror(errno));
			return 1;
		}
		if ((pfd[1].revents & POLLIN) && read(pfd[1].fd, &ticks, sizeof(ticks)) > 0) {
			check_rollback(d);
			if (++tick % SWEEP_INTERVAL_S == 0) {
				moatd_sweep(d);
				moatd_publish(d);	/* flow count */
			}
		}
		if ((pfd[2].revents & POLLIN) && links_changed(pfd[2].fd))
			reattach(d);
		if (!(pfd[0].revents & POLLIN) || read(pfd[0].fd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			reload(d);
			continue;
		}
		moat_info("%s: exiting; XDP stays attached (moatctl unload removes it)",
			  strsignal(si.ssi_signo));
		sd_notify_msg("STOPPING=1");
		return 0;
	}
}

int main(int argc, char **argv)
{
	struct option opts[N_MOATD_OPTS + 1] = {};
	char shorts[2 * N_MOATD_OPTS + 1] = "";
	struct moatd d = { .config_path = MOAT_DEFAULT_CONFIG,
			   .lock = PTHREAD_MUTEX_INITIALIZER };
	const char *check = NULL;
	char err[MOAT_ERR_LEN];
	struct moat_config cfg;
	int c, ret, daemon_fd = -1;
	__u64 orphan = 0;
	pid_t holder;
	sigset_t set;

	moat_prog = "moatd";
	for (size_t i = 0; i < N_MOATD_OPTS; i++) {
		opts[i] = moatd_opts[i].o;
		if (opts[i].val <= 0xff)
			snprintf(shorts + strlen(shorts), 3, "%c%s", opts[i].val,
				 opts[i].has_arg ? ":" : "");
	}
	while ((c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		switch (c) {
		case 'c': d.config_path = optarg; break;
		case OPT_CHECK_CONFIG: check = optarg; break;
		case 'v': moat_verbose = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("moatd %s\n", MOAT_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		moat_err("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check) {
		if (moat_config_load(check, &cfg, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
		moat_config_free(&cfg);
		printf("%s: ok\n", check);
		return 0;
	}

	/* Signals arrive through the signalfd, never asynchronously. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	moat_libbpf_logging(moat_verbose);

	if (moat_config_load(d.config_path, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	/* One moatd per pin_dir: a second would swap links under the first. */
	if (moatd_prepare_pin_dir(d.cfg.pin_dir, err, sizeof(err))) {
		moat_err("%s", err);
		moat_config_free(&d.cfg);
		return 1;
	}
	ret = moat_daemon_lock(d.cfg.pin_dir, &daemon_fd, &holder);
	if (ret) {
		if (ret != -EBUSY)
			moat_err("couldn't lock %s/%s: %s", d.cfg.pin_dir, MOAT_DAEMON_LOCK,
				 strerror(-ret));
		else if (holder)
			moat_err("pin_dir %s is in use by moatd pid %d: one moatd per pin_dir",
				 d.cfg.pin_dir, (int)holder);
		else
			moat_err("pin_dir %s is in use by another moatd, still starting: "
				 "one moatd per pin_dir", d.cfg.pin_dir);
		moat_config_free(&d.cfg);
		return 1;
	}
	ret = moatd_apply(&d, &d.cfg, err, sizeof(err));
	if (ret > 0)
		moat_err("%s", err);	/* in force all the same */
	if (ret < 0) {
		moat_err("%s", err);
		moat_daemon_unlock(d.cfg.pin_dir, daemon_fd);
		rmdir(d.cfg.pin_dir);	/* only if we left it empty */
		moat_config_free(&d.cfg);
		return 1;
	}
	d.have_cfg = true;
	d.reload_ok = ret == 0;
	d.last_reload = time(NULL);
	/* A moatd that died while a reload waited for 'moatctl confirm' took
	 * the rollback target with it: the deadline goes too, or the next
	 * good reload would be rolled back to what is in force now. */
	if (!meta_edit(&d.cfg, clear_orphan_deadline, &orphan, NULL) && orphan) {
		char when[32];

		moat_format_time((time_t)orphan, when, sizeof(when));
		moat_warn("a reload waiting for 'moatctl confirm' until %s was left by a previous "
			  "moatd; what it would roll back to is gone: %s is in force and nothing "
			  "will roll back", when, d.config_path);
	}
	moatd_publish(&d);
	/* The inspector's failures leave enforcement as it is. */
	if (d.cfg.inspector.enabled && moatd_inspector_start(&d, &d.insp))
		moat_err("inspector: not running; enforcement is unaffected");
	/* Enforcement is in place either way; without metrics it still runs,
	 * and /healthz being unreachable is itself the alert. */
	if (moatd_serve(&d, NULL, err, sizeof(err)))
		moat_err("metrics: couldn't serve on %s: %s", d.cfg.metrics.listen, err);
	sd_notify_msg("READY=1");

	ret = run(&d);
	moat_http_stop(d.http);
	moatd_inspector_stop(d.insp);
	pthread_mutex_lock(&d.lock);
	moat_gen_destroy(&d.gen);
	pthread_mutex_unlock(&d.lock);
	if (d.have_rollback)
		moat_config_free(&d.rollback);
	moat_daemon_unlock(d.cfg.pin_dir, daemon_fd);
	moat_config_free(&d.cfg);
	return ret;
}
