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

static int meta_read(struct ctl *c, struct moat_meta *m)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(c->pins.meta, &zero, m)) {
		ctl_error(c, "couldn't read %s/meta: %s", c->pin_dir, strerror(errno));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static int meta_write(struct ctl *c, const struct moat_meta *m)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(c->pins.meta, &zero, m, BPF_ANY)) {
		ctl_error(c, "couldn't write %s/meta: %s", c->pin_dir, strerror(errno));
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

int do_reload(struct ctl *c, int argc, char **argv)
{
	struct moat_meta m;
	uint64_t within = 0;
	__u64 gen0;
	__u32 reloads0;
	time_t t0;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--confirm-within") && i + 1 < argc) {
			if (moat_parse_duration(argv[++i], &within)) {
				ctl_error(c, "reload: --confirm-within '%s': not a duration (e.g. 90s, 5m)",
					  argv[i]);
				return EXIT_USAGE;
			}
		} else {
			ctl_error(c, "reload: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if ((ret = ctl_open_locked(c)) || (ret = meta_read(c, &m)))
		return ret;
	if (!m.moatd_pid || !is_moatd(m.moatd_pid)) {
		ctl_error(c, "reload: no moatd is running for %s (start it; it reads its file then)",
			  c->pin_dir);
		return EXIT_FAILED;
	}
	/* The deadline goes in first: moatd reads it once the policy is in. */
	m.confirm_deadline = within ? (__u64)time(NULL) + within : 0;
	m.confirm_within = within;	/* moatd counts it again once in force */
	if ((ret = meta_write(c, &m)))
		return ret;
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
		if ((ret = meta_read(c, &m)))
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

int do_confirm(struct ctl *c, int argc, char **argv)
{
	struct moat_meta m;
	int ret;

	if (argc) {
		ctl_error(c, "confirm: unexpected argument '%s'", argv[0]);
		return EXIT_USAGE;
	}
	if ((ret = ctl_open_locked(c)) || (ret = meta_read(c, &m)))
		return ret;
	if (!m.confirm_deadline) {
		ctl_error(c, "confirm: no reload is waiting for confirmation");
		return EXIT_FAILED;
	}
	if ((__u64)time(NULL) >= m.confirm_deadline) {
		ctl_error(c, "confirm: too late, the deadline has passed (moatd rolls back)");
		return EXIT_FAILED;
	}
	m.confirm_deadline = 0;
	if ((ret = meta_write(c, &m)))
		return ret;
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
