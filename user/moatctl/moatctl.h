/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MOATCTL_H
#define MOATCTL_H

#include <stdbool.h>
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
	const char *prog;	/* "moatctl devops" etc., for usage lines */
	struct moat_pins pins;
	bool pins_open;
};

/*
 * A command: what runs it and what --help, the man page and the bash
 * completion say about it. A command with sub-commands (devops, ban) has
 * them in sub[], and usage shows one line per sub-command.
 */
struct cmd {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
	const char *args;	/* synopsis after the name; '\n' continues it */
	const char *help;	/* one paragraph, wrapped when printed */
	const struct cmd *sub;
};

/* Runs the command argv[0] names from cmds[], or prints usage. */
int cmd_select(struct ctl *c, const struct cmd *cmds, int argc, char **argv,
	       void (*usage)(FILE *));
/* The "Commands:" lines of the usage, from a table. */
void cmd_usage(FILE *f, const char *prefix, const struct cmd *cmds);

extern const struct cmd devops_cmds[], ban_cmds[];

/* "Error: ..." on stderr, or {"error": "..."} on stdout with --json. */
void ctl_error(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Opens the pinned maps; on failure reports why and returns EXIT_FAILED. */
int ctl_open(struct ctl *c);
/* The same, holding the pin-dir lock: for every command that writes. */
int ctl_open_locked(struct ctl *c);
void ctl_print_json(json_object *o);

int do_status(struct ctl *c, int argc, char **argv);
int do_stats(struct ctl *c, int argc, char **argv);
int do_devops(struct ctl *c, int argc, char **argv);
int do_ban(struct ctl *c, int argc, char **argv);
int do_unload(struct ctl *c, int argc, char **argv);
int do_check(struct ctl *c, int argc, char **argv);
int do_top(struct ctl *c, int argc, char **argv);
int do_reload(struct ctl *c, int argc, char **argv);
int do_events(struct ctl *c, int argc, char **argv);
int do_confirm(struct ctl *c, int argc, char **argv);
int do_audit(struct ctl *c, int argc, char **argv);

#endif /* MOATCTL_H */
