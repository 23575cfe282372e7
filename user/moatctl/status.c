// SPDX-License-Identifier: GPL-2.0
/* moatctl status / stats: views of a snapshot (lib/pins.c). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "moatctl.h"
#include "lib/table.h"

static const char *mode_name(__u32 xdp_mode)
{
	return xdp_mode == MOAT_XDP_GENERIC ? "generic" : "native";
}

static int read_snapshot(struct ctl *c, struct moat_snapshot *s)
{
	int err;

	if ((err = ctl_open(c)))
		return err;
	err = moat_snapshot_read(&c->pins, s);
	if (err) {
		ctl_error(c, "couldn't read moat's maps under %s: %s", c->pin_dir, strerror(-err));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

int do_status(struct ctl *c, int argc, char **argv)
{
	struct moat_snapshot *s;
	char when[32];
	int ret;

	if ((ret = ctl_no_more_args(c, argc, argv, 1)))
		return ret;
	s = malloc(sizeof(*s));
	if (!s || (ret = read_snapshot(c, s))) {
		free(s);
		return s ? ret : EXIT_FAILED;
	}
	moat_format_time(s->meta.loaded_at, when, sizeof(when));

	if (c->json) {
		json_object *o = json_object_new_object(), *ifs = json_object_new_array();

		json_object_object_add(o, "loaded", json_object_new_boolean(1));
		json_object_object_add(o, "mode", json_object_new_string(s->meta.mode ? "monitor" : "enforce"));
		json_object_object_add(o, "generation", json_object_new_uint64(s->meta.generation));
		json_object_object_add(o, "loaded_at", json_object_new_string(when));
		json_object_object_add(o, "last_reload_ok", json_object_new_boolean(!s->meta.reload_failed_at));
		if (s->meta.confirm_deadline) {
			char until[32];

			moat_format_time(s->meta.confirm_deadline, until, sizeof(until));
			json_object_object_add(o, "confirm_before", json_object_new_string(until));
		}
		for (int i = 0; i < MOAT_MAX_IFACES; i++) {
			const struct moat_iface_state *st = &s->ifaces[i];
			json_object *e;

			if (!st->iface.ifindex)
				continue;
			e = json_object_new_object();
			json_object_object_add(e, "name", json_object_new_string(st->iface.name));
			json_object_object_add(e, "ifindex", json_object_new_int(st->iface.ifindex));
			json_object_object_add(e, "slot", json_object_new_int(i));
			json_object_object_add(e, "xdp_mode", json_object_new_string(mode_name(st->iface.xdp_mode)));
			json_object_object_add(e, "attached", json_object_new_boolean(st->attached));
			json_object_array_add(ifs, e);
		}
		json_object_object_add(o, "interfaces", ifs);
		json_object_object_add(o, "devops_entries", json_object_new_uint64(s->devops_entries));
		json_object_object_add(o, "deny_entries", json_object_new_uint64(s->deny_entries));
		json_object_object_add(o, "bans", json_object_new_uint64(s->bans));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("moat: loaded under %s, policy generation %llu, mode %s\n", c->pin_dir,
		       (unsigned long long)s->meta.generation, s->meta.mode ? "monitor" : "enforce");
		printf("last load: %s", when);
		if (s->meta.reload_failed_at) {
			moat_format_time(s->meta.reload_failed_at, when, sizeof(when));
			printf(" (a later reload FAILED at %s; see moatd's log)", when);
		}
		if (s->meta.confirm_deadline) {
			moat_format_time(s->meta.confirm_deadline, when, sizeof(when));
			printf("\nAWAITING CONFIRMATION: 'moatctl confirm' before %s, or the "
			       "previous policy returns", when);
		}
		printf("\n\n%-16s %-8s %-8s %s\n", "INTERFACE", "IFINDEX", "XDP", "STATE");
		for (int i = 0; i < MOAT_MAX_IFACES; i++) {
			const struct moat_iface_state *st = &s->ifaces[i];

			if (st->iface.ifindex)
				printf("%-16s %-8u %-8s %s\n", st->iface.name, st->iface.ifindex,
				       mode_name(st->iface.xdp_mode),
				       st->attached ? "attached" : "NOT ATTACHED");
		}
		printf("\ndevops entries: %llu   deny entries: %llu   bans: %llu\n",
		       (unsigned long long)s->devops_entries,
		       (unsigned long long)s->deny_entries, (unsigned long long)s->bans);
	}
	free(s);
	return EXIT_OK;
}

static void print_stats(struct ctl *c, const struct moat_snapshot *s)
{
	json_object *root = NULL, *ifs = NULL;

	if (c->json) {
		root = json_object_new_object();
		ifs = json_object_new_array();
		json_object_object_add(root, "interfaces", ifs);
	}
	for (int slot = 0; slot < MOAT_MAX_IFACES; slot++) {
		const struct moat_iface *ifc = &s->ifaces[slot].iface;
		json_object *counters = NULL;

		if (!ifc->ifindex)
			continue;
		if (c->json) {
			json_object *e = json_object_new_object();

			counters = json_object_new_array();
			json_object_object_add(e, "name", json_object_new_string(ifc->name));
			json_object_object_add(e, "counters", counters);
			json_object_array_add(ifs, e);
		} else {
			printf("%s%s:\n  %-14s %-12s %14s %16s\n", slot ? "\n" : "", ifc->name,
			       "VERDICT", "REASON", "PACKETS", "BYTES");
		}
		for (int v = 0; v < MOAT_NR_VERDICTS; v++) {
			for (int r = 0; r < MOAT_NR_REASONS; r++) {
				const struct moat_counter *k = &s->stats[MOAT_STATS_IDX(slot, v, r)];

				if (!k->packets)
					continue;
				if (!c->json) {
					printf("  %-14s %-12s %14llu %16llu\n", moat_verdict_name(v),
					       moat_reason_name(r), (unsigned long long)k->packets,
					       (unsigned long long)k->bytes);
					continue;
				}
				json_object *e = json_object_new_object();

				json_object_object_add(e, "verdict", json_object_new_string(moat_verdict_name(v)));
				json_object_object_add(e, "reason", json_object_new_string(moat_reason_name(r)));
				json_object_object_add(e, "packets", json_object_new_uint64(k->packets));
				json_object_object_add(e, "bytes", json_object_new_uint64(k->bytes));
				json_object_array_add(counters, e);
			}
		}
	}
	if (root) {
		ctl_print_json(root);
		json_object_put(root);
	}
}

int do_stats(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = { { "watch", no_argument, NULL, 'w' }, {} };
	struct ctl_getopt g = { .argc = argc, .argv = argv, .opts = opts };
	struct moat_snapshot *s;
	bool watch = false;
	int opt, ret = EXIT_OK;

	while ((opt = ctl_getopt(c, &g)) != -1) {
		if (opt != 'w')
			return EXIT_USAGE;
		watch = true;
	}
	if ((ret = ctl_no_more_args(c, argc, argv, g.next)))
		return ret;
	s = malloc(sizeof(*s));
	if (!s)
		return EXIT_FAILED;
	do {
		ret = read_snapshot(c, s);
		if (ret)
			break;
		if (watch && !c->json)
			fputs("\033[H\033[2J", stdout);
		print_stats(c, s);
		fflush(stdout);
	} while (watch && sleep(1) == 0);
	free(s);
	return ret;
}
