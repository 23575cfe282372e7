/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MOATCTL_H
#define MOATCTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include "lib/config.h"
#include "lib/pins.h"

/* Exit codes (SPEC §4). */
#define EXIT_OK		0
#define EXIT_FAILED	1
#define EXIT_USAGE	2

struct ctl {
	bool json;
	const char *pin_dir;
	char cmd[64];		/* the command running: "devops add", for messages */
	struct moat_pins pins;
	bool pins_open;
};

/*
 * A command, in a table per level (bpftool's do_prog pattern): what runs
 * it and what its usage says. A group (devops, ban) has no fn but its own
 * table in sub[]; named alone, it runs the first of them. fn gets argv[0]
 * the command's name, as main() does.
 */
struct cmd {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
	const char *desc;	/* one line: what it is for */
	const char *args;	/* synopsis after the name; '\n' continues it */
	const char *help;	/* the rest of 'moatctl CMD --help'; NULL: nothing more */
	const struct cmd *sub;
};

/* moatctl's own options: getopt's table and --help from one list. */
struct ctl_opt {
	struct option o;
	const char *arg, *help;
};
extern const struct ctl_opt ctl_opts[];	/* closed by { {NULL} } */
extern const struct cmd ctl_root;		/* moatctl itself: sub[] its commands */
extern const struct cmd devops_cmds[], ban_cmds[];

/*
 * Runs the command of group's table that argv[0] names (c->cmd: the path
 * so far), or prints the usage for help/--help/-h after it. Returns the
 * exit code.
 */
int cmd_select(struct ctl *c, const struct cmd *group, int argc, char **argv);
/* moatctl --help. */
void ctl_usage(FILE *f);

/*
 * A command's options, one at a time (getopt_long underneath): argv[0] is
 * the command's name. Each option's val is its short letter, or above 0xff
 * for a long one only. Returns val with its value in arg; '?' once an
 * unknown option or a missing value is reported; -1 at the end, with next
 * the index of the first argument that is not an option.
 */
struct ctl_getopt {
	int argc;
	char **argv;
	const struct option *opts;	/* closed by {} */
	const char *arg;
	int next;
	bool started;
};
int ctl_getopt(struct ctl *c, struct ctl_getopt *g);
/* EXIT_USAGE (said) when argv[from..] holds more arguments, else EXIT_OK. */
int ctl_no_more_args(struct ctl *c, int argc, char **argv, int from);

/* "Error: ..." on stderr, or {"error": "..."} on stdout with --json. */
void ctl_error(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Opens the pinned maps; on failure reports why and returns EXIT_FAILED. */
int ctl_open(struct ctl *c);
/* The same, holding the pin-dir lock: for every command that writes. */
int ctl_open_locked(struct ctl *c);
void ctl_print_json(json_object *o);

/* A devops/ban entry as listed (cidr, name, origin, expires), or NULL when
 * it has expired (awaiting moatd's sweep: not in force). tables.c. */
json_object *table_entry_json(const struct moat_cidr *cidr, const struct moat_entry *e);

int do_status(struct ctl *c, int argc, char **argv);
int do_stats(struct ctl *c, int argc, char **argv);
int do_unload(struct ctl *c, int argc, char **argv);
int do_check(struct ctl *c, int argc, char **argv);
int do_top(struct ctl *c, int argc, char **argv);
int do_reload(struct ctl *c, int argc, char **argv);
int do_events(struct ctl *c, int argc, char **argv);
int do_confirm(struct ctl *c, int argc, char **argv);
int do_audit(struct ctl *c, int argc, char **argv);

#endif /* MOATCTL_H */
