// SPDX-License-Identifier: GPL-2.0
/*
 * moatctl reload [--confirm-within DUR] and moatctl confirm: ask the moatd
 * in charge (its pid is in meta) to re-read its file, and wait for the
 * outcome; with a deadline, moatd rolls back unless confirm follows.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "moatctl.h"
#include "lib/table.h"

#define RELOAD_WAIT_S 60
#define OPT_CONFIRM_WITHIN 0x100

/* meta through fn (NULL: read only), *m as it is after; says what failed. */
static int meta_edit(struct ctl *c, bool (*fn)(struct moat_meta *, void *), void *arg,
		     struct moat_meta *m)
{
	int err = moat_meta_edit(c->pins.meta, fn, arg, m);

	if (err) {
		ctl_error(c, "couldn't %s %s/meta: %s", fn ? "update" : "read", c->pin_dir,
			  strerror(-err));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* Whether pid is a running moatd (not a recycled pid). */
static bool is_moatd(__u32 pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strcmp(comm, "moatd\n");
}

struct reload_ask {
	uint64_t within;
	bool running;		/* a moatd to ask */
};

/* The deadline goes in first: moatd reads it once the policy is in. */
static bool ask_reload(struct moat_meta *m, void *arg)
{
	struct reload_ask *ask = arg;

	ask->running = m->moatd_pid && is_moatd(m->moatd_pid);
	if (!ask->running)
		return false;
	m->confirm_deadline = ask->within ? (__u64)time(NULL) + ask->within : 0;
	m->confirm_within = ask->within;	/* moatd counts it again once in force */
	return true;
}

int do_reload(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "confirm-within", required_argument, NULL, OPT_CONFIRM_WITHIN }, {}
	};
	struct ctl_getopt g = { .argc = argc, .argv = argv, .opts = opts };
	struct reload_ask ask = {};
	struct moat_meta m;
	uint64_t within = 0;
	__u64 gen0;
	__u32 reloads0;
	time_t t0;
	int ret;

	while ((ret = ctl_getopt(c, &g)) != -1) {
		if (ret != OPT_CONFIRM_WITHIN)
			return EXIT_USAGE;
		if (moat_parse_duration(g.arg, &within)) {
			ctl_error(c, "reload: --confirm-within '%s': not a duration (e.g. 90s, 5m)",
				  g.arg);
			return EXIT_USAGE;
		}
	}
	if ((ret = ctl_no_more_args(c, argc, argv, g.next)))
		return ret;
	ask.within = within;
	if ((ret = ctl_open_locked(c)) || (ret = meta_edit(c, ask_reload, &ask, &m)))
		return ret;
	if (!ask.running) {
		ctl_error(c, "reload: no moatd is running for %s (start it; it reads its file then)",
			  c->pin_dir);
		return EXIT_FAILED;
	}
	gen0 = m.generation;
	reloads0 = m.reloads;
	t0 = time(NULL);
	moat_pins_unlock(&c->pins);	/* moatd takes it to swap */
	if (kill(m.moatd_pid, SIGHUP)) {
		ctl_error(c, "reload: couldn't signal moatd (pid %u): %s", m.moatd_pid,
			  strerror(errno));
		return EXIT_FAILED;
	}
	for (;;) {
		if ((ret = meta_edit(c, NULL, NULL, &m)))
			return ret;
		if (m.reloads != reloads0 && m.generation != gen0 && m.reload_failed_at >= (__u64)t0) {
			ctl_error(c, "policy generation %llu is in force, but moatd reported a problem "
				  "applying it (its log says what)", (unsigned long long)m.generation);
			return EXIT_FAILED;
		}
		if (m.reloads != reloads0 && m.generation != gen0)
			break;
		if (m.reloads != reloads0) {
			ctl_error(c, "reload refused by moatd; the policy in force is unchanged "
				  "(its log says why)");
			return EXIT_FAILED;
		}
		if (time(NULL) - t0 > RELOAD_WAIT_S) {
			ctl_error(c, "reload: moatd did not answer within %d s", RELOAD_WAIT_S);
			return EXIT_FAILED;
		}
		usleep(50 * 1000);
	}
	if (within && !m.confirm_deadline) {
		/* Not "confirm before 1970": the deadline is gone already. */
		ctl_error(c, "reload: policy generation %llu went in force, but nothing waits for "
			  "'moatctl confirm' any more: the deadline passed before moatd was done "
			  "(it rolls back; see 'moatctl status'), or a confirm came first",
			  (unsigned long long)m.generation);
		return EXIT_FAILED;
	}
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "generation", json_object_new_uint64(m.generation));
		if (within) {
			char when[32];

			moat_format_time(m.confirm_deadline, when, sizeof(when));
			json_object_object_add(o, "confirm_before", json_object_new_string(when));
		}
		ctl_print_json(o);
		json_object_put(o);
	} else if (within) {
		char when[32];

		moat_format_time(m.confirm_deadline, when, sizeof(when));
		printf("policy generation %llu in force; run 'moatctl confirm' before %s or it "
		       "rolls back\n", (unsigned long long)m.generation, when);
	} else {
		printf("policy generation %llu in force\n", (unsigned long long)m.generation);
	}
	return EXIT_OK;
}

/* Clears a deadline not passed yet; *arg says whether it did. */
static bool confirm(struct moat_meta *m, void *arg)
{
	bool *confirmed = arg;

	*confirmed = m->confirm_deadline && (__u64)time(NULL) < m->confirm_deadline;
	if (*confirmed)
		m->confirm_deadline = 0;
	return *confirmed;
}

int do_confirm(struct ctl *c, int argc, char **argv)
{
	bool confirmed = false;
	struct moat_meta m;
	int ret;

	if ((ret = ctl_no_more_args(c, argc, argv, 1)) || (ret = ctl_open_locked(c)) || (ret = meta_edit(c, confirm, &confirmed, &m)))
		return ret;
	if (!confirmed && !m.confirm_deadline) {
		ctl_error(c, "confirm: no reload is waiting for confirmation");
		return EXIT_FAILED;
	}
	if (!confirmed) {
		ctl_error(c, "confirm: too late, the deadline has passed (moatd rolls back)");
		return EXIT_FAILED;
	}
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "confirmed", json_object_new_uint64(m.generation));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("policy generation %llu confirmed\n", (unsigned long long)m.generation);
	}
	return EXIT_OK;
}
