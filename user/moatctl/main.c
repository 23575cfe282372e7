// SPDX-License-Identifier: GPL-2.0
/* moatctl: shows and changes what moat enforces, from the pinned maps. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "moatctl.h"
#include "lib/log.h"

/* Global options: getopt's table, the short options and --help from one list. */
static const struct ctl_opt {
	struct option o;
	const char *arg, *help;
} ctl_opts[] = {
	{ { "json", no_argument, NULL, 'j' }, NULL,
	  "machine-readable output (errors as {\"error\": ...})" },
	{ { "pin-dir", required_argument, NULL, 'd' }, "DIR",
	  "where moatd pinned its state (default " MOAT_DEFAULT_PIN_DIR ")" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "this text" },
	{ { "version", no_argument, NULL, 'V' }, NULL, "print the version" },
};
#define N_CTL_OPTS (sizeof(ctl_opts) / sizeof(ctl_opts[0]))

static const struct cmd top_cmds[] = {
	{ "status", do_status, "",
	  "interfaces, attach mode, policy generation, table sizes, last reload", NULL },
	{ "stats", do_stats, "[--watch]",
	  "packets and bytes per interface, verdict and reason; --watch redraws every second", NULL },
	{ "top", do_top, "[-n N]",
	  "the N sources (default 10) with the most drops since moat was loaded, with the "
	  "reason of their last drop; estimates (one drop in 16 is sampled; the least recent "
	  "sources are forgotten first)", NULL },
	{ "events", do_events, "[-n N]",
	  "live sampled drops (one in 16): time, interface, verdict, reason, addresses and "
	  "ports; -n stops after N", NULL },
	{ "devops", do_devops, NULL, NULL, devops_cmds },
	{ "ban", do_ban, NULL, NULL, ban_cmds },
	{ "check", do_check, "--from ADDR --to ADDR [--proto tcp|udp|icmp] [--dport N]\n"
	  "[--payload tls1.2|tls1.0|ssh|http|none] [--interface IF]",
	  "run a packet built from these through the loaded program and print verdict and "
	  "reason; changes no counter, flow or ban. Defaults: tcp, port 443, a SYN (a payload "
	  "makes it the first data segment), the first interface", NULL },
	{ "audit", do_audit, "[--prometheus URL] [--config FILE]",
	  "put each promise of the security policy (web only over TLS, TLS >= 1.2, SSH only "
	  "from DevOps, everything else dropped, replies to the host's own traffic; alerts "
	  "wired with --prometheus) to the loaded program, v4 and v6, on every interface, as "
	  "dry runs like check; report each as kept or broken with its evidence, and the "
	  "facts (mode, interfaces, DevOps list, certificate from FILE, last reload). "
	  "Markdown, or --json; exit 1 if a promise is broken. Changes nothing", NULL },
	{ "reload", do_reload, "[--confirm-within DUR]",
	  "have moatd re-read its file and wait for the outcome; with a deadline, moatd rolls "
	  "back to the previous policy unless 'moatctl confirm' follows in time (for remote "
	  "changes)", NULL },
	{ "confirm", do_confirm, "",
	  "keep the policy the last 'reload --confirm-within' put in force", NULL },
	{ "unload", do_unload, "",
	  "detach moat from every interface and remove its pins: the host is unprotected "
	  "afterwards. Refused while a moatd runs with DIR, or when DIR is not a moat pin "
	  "dir on bpffs", NULL },
	{}
};

#define HELP_COL	32	/* where the help text of a command starts */
#define HELP_WIDTH	78

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

/* "  NAME ARGS" (ARGS continued on indented lines), then the wrapped help. */
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
	wrap(f, cmd->help ? cmd->help : "", at + 2 > HELP_COL ? HELP_COL + 1 : at, HELP_COL);
}

void cmd_usage(FILE *f, const char *prefix, const struct cmd *cmds)
{
	char sub_prefix[64];

	for (const struct cmd *cmd = cmds; cmd->name; cmd++) {
		if (!cmd->sub) {
			cmd_line(f, prefix, cmd);
			continue;
		}
		snprintf(sub_prefix, sizeof(sub_prefix), "%s%s ", prefix, cmd->name);
		cmd_usage(f, sub_prefix, cmd->sub);
	}
}

static void usage(FILE *f)
{
	fputs("Usage: moatctl [--json] [--pin-dir DIR] COMMAND [ARGS]\n"
	      "\n"
	      "Show and change what moat enforces. Works from the maps pinned under\n"
	      "DIR, whether moatd is running or not.\n"
	      "\n"
	      "Commands:\n", f);
	cmd_usage(f, "", top_cmds);
	fputs("\nOptions:\n", f);
	for (size_t i = 0; i < N_CTL_OPTS; i++) {
		const struct ctl_opt *o = &ctl_opts[i];
		int at = fprintf(f, "  -%c, --%s%s%s", o->o.val, o->o.name, o->arg ? " " : "",
				 o->arg ? o->arg : "");

		wrap(f, o->help, at, 21);
	}
	fputs("\n"
	      "DUR is a duration such as 90s, 10m, 1h30m, 2d. CIDR is an IPv4 or IPv6\n"
	      "address or network; a bare address means that one host.\n"
	      "\n"
	      "Exit status: 0 ok, 1 the operation failed, 2 usage error.\n", f);
}

void ctl_print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					       JSON_C_TO_STRING_NOSLASHESCAPE));
}

void ctl_error(struct ctl *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		fprintf(stderr, "Error: %s\n", msg);
	}
}

int ctl_open(struct ctl *c)
{
	int err;

	if (c->pins_open)
		return EXIT_OK;
	err = moat_pins_open(c->pin_dir, &c->pins);
	if (err == -ENOENT) {
		ctl_error(c, "moat is not loaded under %s (no pinned maps)", c->pin_dir);
		return EXIT_FAILED;
	}
	if (err) {
		ctl_error(c, "couldn't open moat's maps under %s: %s", c->pin_dir, strerror(-err));
		return EXIT_FAILED;
	}
	c->pins_open = true;
	return EXIT_OK;
}

int ctl_open_locked(struct ctl *c)
{
	struct moat_pins lock;
	int err, ret;

	/* Lock first, open second: moatd swaps the generation maps under
	 * this lock, and maps opened before it might be the old ones. */
	moat_pins_init(&lock, c->pin_dir);
	err = moat_pins_lock(&lock);
	if (err == -ENOENT) {
		ctl_error(c, "moat is not loaded under %s", c->pin_dir);
		return EXIT_FAILED;
	}
	if (err) {
		ctl_error(c, "couldn't lock %s: %s", c->pin_dir, strerror(-err));
		return EXIT_FAILED;
	}
	if (c->pins_open) {
		moat_pins_close(&c->pins);
		c->pins_open = false;
	}
	ret = ctl_open(c);
	if (ret) {
		moat_pins_unlock(&lock);
		return ret;
	}
	c->pins.lock_fd = lock.lock_fd;	/* released by moat_pins_close */
	return EXIT_OK;
}

int cmd_select(struct ctl *c, const struct cmd *cmds, int argc, char **argv,
	       void (*usage_fn)(FILE *))
{
	if (argc < 1) {
		ctl_error(c, "%s: missing command", c->prog);
		usage_fn(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		usage_fn(stdout);
		return EXIT_OK;
	}
	for (const struct cmd *cmd = cmds; cmd->name; cmd++)
		if (!strcmp(argv[0], cmd->name))
			return cmd->fn(c, argc - 1, argv + 1);
	ctl_error(c, "%s: unknown command '%s'", c->prog, argv[0]);
	usage_fn(stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct option opts[N_CTL_OPTS + 1] = {};
	char shorts[2 * N_CTL_OPTS + 2] = "+";	/* "+": options stop at the command */
	struct ctl c = { .pin_dir = MOAT_DEFAULT_PIN_DIR, .prog = "moatctl" };
	int opt, ret;

	moat_prog = "moatctl";
	for (size_t i = 0; i < N_CTL_OPTS; i++) {
		opts[i] = ctl_opts[i].o;
		snprintf(shorts + strlen(shorts), 3, "%c%s", opts[i].val,
			 opts[i].has_arg ? ":" : "");
	}
	/* The command parses its own options. */
	while ((opt = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		switch (opt) {
		case 'j': c.json = true; break;
		case 'd': c.pin_dir = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("moatctl %s\n", MOAT_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	libbpf_set_print(NULL);
	ret = cmd_select(&c, top_cmds, argc - optind, argv + optind, usage);
	if (c.pins_open)
		moat_pins_close(&c.pins);
	return ret;
}
