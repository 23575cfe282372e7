// SPDX-License-Identifier: GPL-2.0
/*
 * moatctl's command tables at work (bpftool's cmd_select, two levels): the
 * dispatch, the usage text generated from the tables, and the one getopt
 * loop every command's options go through.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "moatctl.h"

#define HELP_COL	32	/* where the description of a command starts */
#define HELP_WIDTH	78
#define OPT_COL		21	/* where the description of an option starts */

/* Prints text word-wrapped between column `col` and HELP_WIDTH; the first
 * line continues a line already `at` columns long. */
static void wrap(FILE *f, const char *text, int at, int col)
{
	const char *p = text;

	while (*p) {
		int room = HELP_WIDTH - col, len = strlen(p);

		if (at < col)
			fprintf(f, "%*s", col - at, "");
		else if (at > col)
			fprintf(f, "\n%*s", col, "");
		if (len > room) {
			len = room;
			while (len > 0 && p[len] != ' ')
				len--;
			if (!len)	/* one word longer than the line */
				len = strcspn(p, " ");
		}
		fprintf(f, "%.*s\n", len, p);
		p += len;
		p += strspn(p, " ");
		at = 0;
	}
}

/* "  NAME ARGS" (ARGS continued on indented lines), then the description. */
static void cmd_line(FILE *f, const char *prefix, const struct cmd *cmd)
{
	const char *args = cmd->args ? cmd->args : "";
	const char *nl = strchr(args, '\n');
	int at;

	at = fprintf(f, "  %s%s%s", prefix, cmd->name, *args ? " " : "");
	if (nl) {
		fprintf(f, "%.*s\n", (int)(nl - args), args);
		at = fprintf(f, "%8s%s", "", nl + 1);
	} else {
		at += fprintf(f, "%s", args);
	}
	wrap(f, cmd->desc, at + 2 > HELP_COL ? HELP_COL + 1 : at, HELP_COL);
}

/* One line per command, the sub-commands of a group each on its own. */
static void cmd_list(FILE *f, const char *prefix, const struct cmd *cmds)
{
	char sub_prefix[64];

	for (const struct cmd *cmd = cmds; cmd->name; cmd++) {
		if (!cmd->sub) {
			cmd_line(f, prefix, cmd);
			continue;
		}
		snprintf(sub_prefix, sizeof(sub_prefix), "%s%s ", prefix, cmd->name);
		cmd_list(f, sub_prefix, cmd->sub);
	}
}

/* "Usage: SYNOPSIS", broken between words (a [...] group is one) under
 * the first argument. */
static void synopsis(FILE *f, const char *text)
{
	int at = fprintf(f, "Usage:");

	while (*text) {
		int len = 0, depth = 0;

		text += strspn(text, " \n");
		for (; text[len] && (depth || !strchr(" \n", text[len])); len++)
			depth += text[len] == '[' ? 1 : text[len] == ']' ? -1 : 0;
		if (!len)
			break;
		if (at + 1 + len > HELP_WIDTH && at > 15)
			at = fprintf(f, "\n%14s", "") - 1;
		at += fprintf(f, " %.*s", len, text);
		text += len;
	}
	fputs("\n", f);
}

/*
 * The usage of the command at path ("" for moatctl itself): its synopsis,
 * what it does (the description made a sentence, then the help), its
 * commands, moatctl's options at the top level.
 */
static void cmd_usage(FILE *f, const char *path, const struct cmd *cmd)
{
	const char *args = cmd->sub ? (*path ? "[COMMAND [ARGS]]" : "COMMAND [ARGS]")
				    : cmd->args ? cmd->args : "";
	char text[1024];

	snprintf(text, sizeof(text), "moatctl [--json] [--pin-dir DIR] %s%s%s", path,
		 *path && *args ? " " : "", args);
	synopsis(f, text);
	snprintf(text, sizeof(text), "%c%s.%s%s", toupper((unsigned char)cmd->desc[0]),
		 cmd->desc + 1, cmd->help ? " " : "", cmd->help ? cmd->help : "");
	fputs("\n", f);
	wrap(f, text, 0, 0);
	if (cmd->sub) {
		fputs("\nCommands:\n", f);
		cmd_list(f, "", cmd->sub);
	}
	if (!*path) {
		fputs("\nOptions:\n", f);
		for (const struct ctl_opt *o = ctl_opts; o->o.name; o++)
			wrap(f, o->help, fprintf(f, "  -%c, --%s%s%s", o->o.val, o->o.name,
						 o->arg ? " " : "", o->arg ? o->arg : ""), OPT_COL);
	}
	fputs("\n"
	      "DUR is a duration such as 90s, 10m, 1h30m, 2d. CIDR is an IPv4 or IPv6\n"
	      "address or network; a bare address means that one host.\n"
	      "\n"
	      "Exit status: 0 ok, 1 the operation failed, 2 usage error.\n", f);
}

void ctl_usage(FILE *f)
{
	cmd_usage(f, "", &ctl_root);
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

int cmd_select(struct ctl *c, const struct cmd *group, int argc, char **argv)
{
	char path[sizeof(c->cmd)];
	const struct cmd *cmd;

	snprintf(path, sizeof(path), "%s", c->cmd);
	if (argc < 1 && !*path) {
		ctl_error(c, "moatctl: missing command");
		cmd_usage(stderr, path, group);
		return EXIT_USAGE;
	}
	if (argc >= 1 && is_help(argv[0])) {
		cmd_usage(stdout, path, group);
		return EXIT_OK;
	}
	/* A group named alone runs its first command (list). */
	for (cmd = group->sub; argc >= 1 && cmd->name; cmd++)
		if (!strcmp(argv[0], cmd->name))
			break;
	if (argc >= 1 && !cmd->name) {
		ctl_error(c, "moatctl%s%s: unknown command '%s'", *path ? " " : "", path, argv[0]);
		cmd_usage(stderr, path, group);
		return EXIT_USAGE;
	}
	snprintf(c->cmd, sizeof(c->cmd), "%s%s%s", path, *path ? " " : "", cmd->name);
	if (argc < 1)	/* argv[0] is the command's name, as for main() */
		return cmd->fn(c, 1, (char *[]){ (char *)cmd->name, NULL });
	if (cmd->sub)
		return cmd_select(c, cmd, argc - 1, argv + 1);
	if (argc >= 2 && is_help(argv[1]) && strcmp(argv[1], "help")) {
		cmd_usage(stdout, c->cmd, cmd);
		return EXIT_OK;
	}
	return cmd->fn(c, argc, argv);
}

int ctl_getopt(struct ctl *c, struct ctl_getopt *g)
{
	char shorts[64] = ":";	/* ':' first: a missing value returns ':' */
	int opt;

	for (const struct option *o = g->opts; o->name; o++)
		if (o->val <= 0xff)
			snprintf(shorts + strlen(shorts), sizeof(shorts) - strlen(shorts), "%c%s",
				 o->val, o->has_arg ? ":" : "");
	if (!g->started) {
		optind = 0;	/* GNU getopt starts over (and permutes again) */
		opterr = 0;	/* the messages are ours */
		g->started = true;
	}
	opt = getopt_long(g->argc, g->argv, shorts, g->opts, NULL);
	g->arg = optarg;
	g->next = optind;
	if (opt == ':') {
		ctl_error(c, "%s: %s needs a value", c->cmd, g->argv[optind - 1]);
		return '?';
	}
	if (opt == '?') {
		if (optopt && optopt <= 0xff)
			ctl_error(c, "%s: unknown option '-%c' (see 'moatctl %s --help')", c->cmd,
				  optopt, c->cmd);
		else
			ctl_error(c, "%s: unknown option '%s' (see 'moatctl %s --help')", c->cmd,
				  g->argv[optind - 1], c->cmd);
	}
	return opt;
}

int ctl_no_more_args(struct ctl *c, int argc, char **argv, int from)
{
	if (from >= argc)
		return EXIT_OK;
	ctl_error(c, "%s: unexpected argument '%s'", c->cmd, argv[from]);
	return EXIT_USAGE;
}
