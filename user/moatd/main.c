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
#include <bpf/bpf.h>
#include "moatd.h"
#include "http.h"
#include "lib/log.h"

#define SWEEP_INTERVAL_S 5

static const char usage_text[] =
"Usage: moatd [-v] -c FILE\n"
"       moatd --check-config FILE\n"
"\n"
"Enforce moat's gateway policy: load the XDP program on every interface\n"
"listed in FILE, pin it under pin_dir and keep it in step with FILE.\n"
"\n"
"  -c, --config FILE        policy file (default " MOAT_DEFAULT_CONFIG ")\n"
"      --check-config FILE  validate FILE and exit; touches nothing\n"
"  -v, --verbose            debug output, including libbpf's\n"
"  -h, --help               this text\n"
"  -V, --version            print the version\n"
"\n"
"Signals:\n"
"  SIGHUP    re-read FILE; a file that does not validate is refused whole\n"
"            and the policy in force stays\n"
"  SIGTERM   exit, leaving the XDP programs attached and pinned (fail\n"
"            closed); a new moatd adopts them. 'moatctl unload' removes them.\n"
"\n"
"Exit status: 0 ok, 1 the policy could not be put in force, 2 usage or\n"
"configuration error.\n";

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

static void mark_reload_failed(const struct moat_config *cfg)
{
	struct moat_meta meta;
	struct moat_pins p;
	__u32 zero = 0;

	if (moat_pins_open(cfg->pin_dir, &p))
		return;
	if (!bpf_map_lookup_elem(p.meta, &zero, &meta)) {
		meta.reload_failed_at = time(NULL);
		bpf_map_update_elem(p.meta, &zero, &meta, BPF_ANY);
	}
	moat_pins_close(&p);
}

static void reload(struct moatd *d)
{
	char err[MOAT_ERR_LEN];
	struct moat_config cfg;

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
	if (moatd_apply(d, &cfg, err, sizeof(err))) {
		moat_err("%s", err);
		moat_err("reload refused; the policy in force is unchanged");
		moat_config_free(&cfg);
		goto failed;
	}
	moat_config_free(&d->cfg);
	d->cfg = cfg;
	d->reload_ok = true;
	d->last_reload = time(NULL);
	moatd_publish(d);
	if (moatd_serve(d, err, sizeof(err)))
		moat_err("metrics: couldn't serve on %s: %s", d->cfg.metrics.listen, err);
	sd_notify_msg("READY=1");
	return;
failed:
	d->reload_ok = false;
	mark_reload_failed(&d->cfg);
	moatd_publish(d);
	sd_notify_msg("READY=1");
}

static int run(struct moatd *d)
{
	struct itimerspec every = { .it_interval = { SWEEP_INTERVAL_S, 0 },
				    .it_value = { SWEEP_INTERVAL_S, 0 } };
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	uint64_t ticks;
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
	pfd[0].events = pfd[1].events = POLLIN;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			moat_err("poll: %s", strerror(errno));
			return 1;
		}
		if ((pfd[1].revents & POLLIN) && read(pfd[1].fd, &ticks, sizeof(ticks)) > 0) {
			moatd_sweep(d);
			moatd_publish(d);	/* flow count */
		}
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
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct moatd d = { .config_path = MOAT_DEFAULT_CONFIG,
			   .lock = PTHREAD_MUTEX_INITIALIZER };
	const char *check = NULL;
	char err[MOAT_ERR_LEN];
	struct moat_config cfg;
	sigset_t set;
	int c, ret;

	moat_prog = "moatd";
	while ((c = getopt_long(argc, argv, "c:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': d.config_path = optarg; break;
		case 'C': check = optarg; break;
		case 'v': moat_verbose = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("moatd %s\n", MOAT_VERSION); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (optind != argc) {
		moat_err("unexpected argument '%s'", argv[optind]);
		fputs(usage_text, stderr);
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
	ret = moatd_apply(&d, &d.cfg, err, sizeof(err));
	if (ret) {
		moat_err("%s", err);
		moat_config_free(&d.cfg);
		return 1;
	}
	d.have_cfg = true;
	d.reload_ok = true;
	d.last_reload = time(NULL);
	moatd_publish(&d);
	/* Enforcement is in place either way; without metrics it still runs,
	 * and /healthz being unreachable is itself the alert. */
	if (moatd_serve(&d, err, sizeof(err)))
		moat_err("metrics: couldn't serve on %s: %s", d.cfg.metrics.listen, err);
	sd_notify_msg("READY=1");

	ret = run(&d);
	moat_http_stop(d.http);
	pthread_mutex_lock(&d.lock);
	moat_gen_destroy(&d.gen);
	pthread_mutex_unlock(&d.lock);
	moat_config_free(&d.cfg);
	return ret;
}
