// SPDX-License-Identifier: GPL-2.0
/*
 * What one verdict from the worker does (SPEC §6): the counters, the
 * detection latency, and for a detection one JSON line and a ban at XDP
 * unless the client is exempt or a DevOps source, and the same line in
 * moatctl events.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <json-c/json.h>
#include <bpf/libbpf.h>
#include "insp.h"
#include "inspect.skel.h"
#include "lib/insp_event.h"
#include "lib/log.h"
#include "lib/state.h"
#include "lib/table.h"

static bool cidr_has(const struct moat_cidr *c, const struct moat_addr *a, bool v4)
{
	unsigned int bits = c->prefixlen;

	if ((c->family == AF_INET) != v4)
		return false;
	for (int i = 0; i < 4 && bits; i++) {
		uint32_t mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);

		if ((ntohl(a->a[i]) & mask) != (ntohl(c->addr.a[i]) & mask))
			return false;
		bits = bits >= 32 ? bits - 32 : 0;
	}
	return true;
}

/* Whether a is in the devops table in force (config and runtime entries), unexpired. */
static bool is_devops(const struct moat_pins *p, const struct moat_addr *a, bool v4)
{
	struct moat_table t = moat_pins_devops(p);
	struct moat_lpm_key k = { .prefixlen = 128, .addr = *a };
	struct moat_entry e;
	struct timespec now;
	uint64_t ns;

	clock_gettime(CLOCK_BOOTTIME, &now);
	ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
	if (!bpf_map_lookup_elem(t.exact, a, &e) && (!e.expires_ns || e.expires_ns > ns))
		return true;
	if (!bpf_map_lookup_elem(t.prefix, &k, &e) && (!e.expires_ns || e.expires_ns > ns) &&
	    (!e.family || (e.family == MOAT_FAMILY_V4) == v4))
		return true;
	return false;
}

/* "banned", or why not; *save: the ban table changed and state_dir must follow. */
static const char *ban(struct moatd_inspector *in, const struct moat_addr *a, bool v4,
		       const char *client, bool *save)
{
	struct moat_cidr c = { .family = v4 ? AF_INET : AF_INET6, .addr = *a, .prefixlen = 128 };
	struct moat_entry e = { .origin = MOAT_ORIGIN_INSPECTOR };
	struct moat_pins p;
	const char *what = "banned";
	int err;

	if (!in->ban_enabled)
		return "ban disabled";
	for (size_t i = 0; i < in->n_exempt; i++)
		if (cidr_has(&in->exempt[i], a, v4))
			return "exempt";
	if (moat_pins_open(in->pin_dir, &p))
		return "pins unavailable";
	if (is_devops(&p, a, v4)) {
		what = "devops";
		goto out;
	}
	snprintf(e.name, sizeof(e.name), "%s", client);
	e.expires_ns = moat_boot_ns_from_unix(time(NULL) + in->ban_ttl);
	if ((err = moat_pins_lock(&p))) {
		what = "pins locked";
		goto out;
	}
	err = moat_table_put(moat_pins_ban(&p), &c, &e);
	moat_pins_unlock(&p);
	if (err) {
		moat_err("inspector: couldn't ban %s: %s", client, strerror(-err));
		what = "ban failed";
	}
	*save = !err;
out:
	moat_pins_close(&p);
	return what;
}

/* The ban table into state_dir, as moatctl ban add does: bans survive a reboot. */
static void save_bans(struct moatd_inspector *in)
{
	struct moat_pins p;
	int err;

	if (moat_pins_open(in->pin_dir, &p))
		return;
	err = moat_pins_lock(&p);
	if (!err) {
		err = moat_state_save(in->state_dir, moat_pins_devops(&p), moat_pins_ban(&p));
		moat_pins_unlock(&p);
	}
	if (err)
		moat_err("inspector: couldn't save the bans in %s: %s", in->state_dir,
			 strerror(-err));
	moat_pins_close(&p);
}

/*
 * One JSON line on moatd's log, and the same record into the pinned
 * drop-events ring for moatctl events (the ring is full while nobody
 * reads it: then the log line is all there is).
 */
static void report(struct moatd_inspector *in, const struct moat_insp_event *e)
{
	json_object *o = moat_insp_event_json(e);
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = e, .ctx_size_in = sizeof(*e));

	fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	bpf_prog_test_run_opts(bpf_program__fd(in->skel->progs.detection_out), &run);
}

/* read_ns is the probe's bpf_ktime_get_ns(): CLOCK_MONOTONIC. */
static void observe_latency(struct moatd_inspector *in, uint64_t read_ns)
{
	static const double le[] = MOAT_INSP_LATENCY_BOUNDS;
	struct timespec ts;
	uint64_t now, d;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	d = now > read_ns ? now - read_ns : 0;
	for (i = 0; i < MOAT_INSP_N_LATENCY && (double)d / 1e9 > le[i]; i++)
		;
	in->latency[i]++;
	in->latency_sum_ns += d;
}

void insp_on_verdict(struct moatd_inspector *in, struct moat_insp_verdict *v)
{
	struct moat_insp_event e = { .time = time(NULL), .client = v->client };
	struct timespec now;
	char client[INET6_ADDRSTRLEN];
	struct in6_addr a;
	bool save = false;

	if (v->result >= MOAT_INSP_N_RESULTS)
		return;
	in->requests[v->result]++;
	if (v->read_ns && v->result != MOAT_INSP_UNPARSED)
		observe_latency(in, v->read_ns);
	if (v->result != MOAT_INSP_DETECTED)
		return;
	if (v->category >= MOAT_INSP_N_CATEGORIES)
		v->category = MOAT_INSP_OTHER;
	in->detections[v->category]++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	e.ts_ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
	e.category = v->category;
	e.n_rules = v->n_rules < MOAT_INSP_MAX_RULES ? v->n_rules : MOAT_INSP_MAX_RULES;
	memcpy(e.rules, v->rules, sizeof(e.rules));
	/* Whatever the worker wrote, these are strings from here on. */
	snprintf(e.method, sizeof(e.method), "%.*s", (int)sizeof(v->method) - 1, v->method);
	snprintf(e.path, sizeof(e.path), "%.*s", (int)sizeof(v->path) - 1, v->path);
	memcpy(&a, &v->client, sizeof(a));
	moat_insp_client_text(&v->client, client, sizeof(client));
	snprintf(e.action, sizeof(e.action), "%s",
		 ban(in, &v->client, IN6_IS_ADDR_V4MAPPED(&a), client, &save));
	/* The ban is in force: say so first, then write it down (an fsync). */
	report(in, &e);
	if (save)
		save_bans(in);
}
