// SPDX-License-Identifier: GPL-2.0
/* moatctl devops|ban list|add|del: the runtime address tables. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "moatctl.h"
#include "lib/state.h"
#include "lib/table.h"

struct table_desc {
	const char *name;				/* "devops", "ban" */
	struct moat_table (*get)(const struct moat_pins *p);
	bool named;					/* takes --name */
	const char *added;				/* verb for the confirmation */
	bool generation;				/* rebuilt by each reload */
};

static const struct table_desc devops_desc = { "devops", moat_pins_devops, true, "allowed SSH from", true };
static const struct table_desc ban_desc = { "ban", moat_pins_ban, false, "banned", false };

/* The table of the command running: "devops add", "ban del"... */
static const struct table_desc *table_of(const struct ctl *c)
{
	return strncmp(c->cmd, "ban ", 4) ? &devops_desc : &ban_desc;
}

/* Whether map id is one of the maps prog_fd uses. */
static bool prog_uses(int prog_fd, __u32 id)
{
	__u32 ids[64];
	int n = moat_prog_map_ids(prog_fd, ids, sizeof(ids) / sizeof(ids[0]));

	if (n < 0)
		return true;	/* can't tell: don't block the operator on it */
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/*
 * A generation table is changed only when the pinned one is the one the
 * programs on the interfaces read: after a reload cut short between the
 * link swap and the re-pin (moatd killed, a pin refused), the pins are
 * the previous generation and a change there would be a lie.
 */
static int check_in_force(struct ctl *c, const struct table_desc *d)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct moat_iface ifc;
	int prog_fd;

	if (!d->generation)
		return EXIT_OK;
	if (bpf_obj_get_info_by_fd(d->get(&c->pins).exact, &info, &len))
		return EXIT_OK;
	for (__u32 slot = 0; slot < MOAT_MAX_IFACES; slot++) {
		if (bpf_map_lookup_elem(c->pins.ifaces, &slot, &ifc) || !ifc.ifindex)
			continue;
		prog_fd = moat_pinned_prog(c->pin_dir, ifc.name);
		if (prog_fd < 0)
			continue;	/* nothing of moat's runs there */
		if (!prog_uses(prog_fd, info.id)) {
			close(prog_fd);
			ctl_error(c, "the %s table pinned in %s is not the one in force on '%.*s' (a "
				  "reload was cut short): nothing changed; 'moatctl reload' or a moatd "
				  "restart repairs it", d->name, c->pin_dir, MOAT_IFNAMSIZ, ifc.name);
			return EXIT_FAILED;
		}
		close(prog_fd);
	}
	return EXIT_OK;
}

struct list_ctx {
	struct ctl *c;
	json_object *arr;
};

json_object *table_entry_json(const struct moat_cidr *cidr, const struct moat_entry *e)
{
	time_t expires = moat_unix_from_boot_ns(e->expires_ns);
	char buf[64], when[32];
	json_object *o;

	if (e->expires_ns && expires <= time(NULL))
		return NULL;	/* expired, awaiting moatd's sweep: not in force */
	moat_format_cidr(cidr, buf, sizeof(buf));
	o = json_object_new_object();
	json_object_object_add(o, "cidr", json_object_new_string(buf));
	json_object_object_add(o, "name", json_object_new_string_len(e->name,
					strnlen(e->name, sizeof(e->name))));
	json_object_object_add(o, "origin", json_object_new_string(moat_origin_name(e->origin)));
	if (e->expires_ns)
		moat_format_time(expires, when, sizeof(when));
	json_object_object_add(o, "expires", e->expires_ns ? json_object_new_string(when) : NULL);
	return o;
}

static const char *field(json_object *o, const char *key)
{
	return json_object_get_string(json_object_object_get(o, key));
}

static int list_one(const struct moat_cidr *cidr, const struct moat_entry *e, void *arg)
{
	struct list_ctx *l = arg;
	json_object *o = table_entry_json(cidr, e);

	if (!o)
		return 0;
	if (l->c->json) {
		json_object_array_add(l->arr, o);
		return 0;
	}
	printf("%-40s %-20s %-10s %s\n", field(o, "cidr"), field(o, "name"), field(o, "origin"),
	       e->expires_ns ? field(o, "expires") : "never");
	json_object_put(o);
	return 0;
}

static int table_list(struct ctl *c, int argc, char **argv)
{
	const struct table_desc *d = table_of(c);
	struct list_ctx l = { .c = c };
	int err;

	if ((err = ctl_no_more_args(c, argc, argv, 1)) || (err = ctl_open(c)))
		return err;
	if (c->json)
		l.arr = json_object_new_array();
	else
		printf("%-40s %-20s %-10s %s\n", "CIDR", "NAME", "ORIGIN", "EXPIRES");
	err = moat_table_foreach(d->get(&c->pins), list_one, &l);
	if (err) {
		json_object_put(l.arr);
		ctl_error(c, "couldn't read the %s table: %s", d->name, strerror(-err));
		return EXIT_FAILED;
	}
	if (c->json) {
		ctl_print_json(l.arr);
		json_object_put(l.arr);
	}
	return EXIT_OK;
}

/* Rewrites state_dir/runtime.json so the change survives a reboot. */
static int persist(struct ctl *c)
{
	struct moat_meta meta;
	int err;

	if (moat_meta_read(c->pins.meta, &meta) || !meta.state_dir[0]) {
		ctl_error(c, "couldn't find moat's state_dir in %s/meta", c->pin_dir);
		return EXIT_FAILED;
	}
	err = moat_state_save(meta.state_dir, moat_pins_devops(&c->pins), moat_pins_ban(&c->pins));
	if (err) {
		ctl_error(c, "applied, but couldn't save %s/%s: %s (lost at reboot)",
			  meta.state_dir, MOAT_STATE_FILE, strerror(-err));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static int table_add(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "ttl", required_argument, NULL, 't' },
		{}
	};
	const struct table_desc *d = table_of(c);
	struct ctl_getopt g = { .argc = argc, .argv = argv, .opts = opts };
	struct moat_entry e = { .origin = MOAT_ORIGIN_RUNTIME };
	const char *cidr_arg, *name = NULL, *why;
	time_t until = 0;
	uint64_t ttl = 0;
	struct moat_cidr cidr;
	char buf[64];
	int opt, err;

	/* GNU getopt moves the CIDR behind the options. */
	while ((opt = ctl_getopt(c, &g)) != -1) {
		switch (opt) {
		case 'n':
			if (!d->named) {
				ctl_error(c, "%s add: --name is not an option here", d->name);
				return EXIT_USAGE;
			}
			name = g.arg;
			break;
		case 't':
			if (moat_parse_duration(g.arg, &ttl)) {
				ctl_error(c, "%s add: --ttl '%s': not a duration (e.g. 90s, 10m, 1h30m, 2d)",
					  d->name, g.arg);
				return EXIT_USAGE;
			}
			if (moat_expiry_after(time(NULL), ttl, &until)) {
				ctl_error(c, "%s add: --ttl '%s' ends after " MOAT_TIME_MAX_TEXT
					  ", the latest time moat can represent; omit --ttl for never",
					  d->name, g.arg);
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - g.next != 1) {
		ctl_error(c, "%s add: expected one CIDR", d->name);
		return EXIT_USAGE;
	}
	cidr_arg = argv[g.next];
	if (moat_parse_cidr_err(cidr_arg, &cidr, &why)) {
		ctl_error(c, "%s add: '%s': %s", d->name, cidr_arg, why);
		return EXIT_USAGE;
	}
	/* The rules of the config's name: key, so a listing is always one line. */
	if (name && (why = moat_name_problem(name))) {
		ctl_error(c, "%s add: --name %s", d->name, why);
		return EXIT_USAGE;
	}
	moat_format_cidr(&cidr, buf, sizeof(buf));
	snprintf(e.name, sizeof(e.name), "%s", name ? name : buf);
	if (ttl)
		e.expires_ns = moat_boot_ns_from_unix(until);

	if ((err = ctl_open_locked(c)) || (err = check_in_force(c, d)))
		return err;
	err = moat_table_put(d->get(&c->pins), &cidr, &e);
	if (err) {
		ctl_error(c, "couldn't add %s to %s: %s", buf, d->name, strerror(-err));
		return EXIT_FAILED;
	}
	if ((err = persist(c)))
		return err;
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "added", json_object_new_string(buf));
		ctl_print_json(o);
		json_object_put(o);
	} else if (ttl) {
		char when[32];

		moat_format_time(until, when, sizeof(when));
		printf("%s %s until %s\n", d->added, buf, when);
	} else {
		printf("%s %s\n", d->added, buf);
	}
	return EXIT_OK;
}

static int table_del(struct ctl *c, int argc, char **argv)
{
	const struct table_desc *d = table_of(c);
	const char *why;
	struct moat_entry e;
	struct moat_cidr cidr;
	char buf[64];
	int err;

	if (argc != 2) {
		ctl_error(c, "%s del: expected one CIDR", d->name);
		return EXIT_USAGE;
	}
	if (moat_parse_cidr_err(argv[1], &cidr, &why)) {
		ctl_error(c, "%s del: '%s': %s", d->name, argv[1], why);
		return EXIT_USAGE;
	}
	moat_format_cidr(&cidr, buf, sizeof(buf));
	if ((err = ctl_open_locked(c)) || (err = check_in_force(c, d)))
		return err;
	if (moat_table_get(d->get(&c->pins), &cidr, &e)) {
		ctl_error(c, "%s is not in the %s table", buf, d->name);
		return EXIT_FAILED;
	}
	err = moat_table_del(d->get(&c->pins), &cidr);
	if (err) {
		ctl_error(c, "couldn't delete %s from %s: %s", buf, d->name, strerror(-err));
		return EXIT_FAILED;
	}
	if ((err = persist(c)))
		return err;
	if (e.origin == MOAT_ORIGIN_CONFIG)
		fprintf(stderr, "Warning: %s comes from the config file: it returns at the next "
				"reload unless removed there\n", buf);
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "deleted", json_object_new_string(buf));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("deleted %s from %s\n", buf, d->name);
	}
	return EXIT_OK;
}

const struct cmd devops_cmds[] = {
	{ "list", table_list, "the allowlist, with origin and expiry", "",
	  "Origin: config (the file) or runtime (added here).", NULL },
	{ "add", table_add, "allow SSH from CIDR now", "CIDR [--name N] [--ttl DUR]",
	  "Kept across restarts and reloads until deleted or expired. N names the entry in "
	  "listings (default: the CIDR).", NULL },
	{ "del", table_del, "remove an allowlist entry", "CIDR",
	  "An entry from the config file returns at the next reload unless removed there.", NULL },
	{}
};

const struct cmd ban_cmds[] = {
	{ "list", table_list, "banned sources, with origin and expiry", "",
	  "Origin: runtime (added here) or inspector.", NULL },
	{ "add", table_add, "drop everything from CIDR", "CIDR [--ttl DUR]",
	  "Even on the TLS ports. Kept across restarts until deleted or expired.", NULL },
	{ "del", table_del, "lift a ban", "CIDR", NULL, NULL },
	{}
};
