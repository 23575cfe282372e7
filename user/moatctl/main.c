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

const struct ctl_opt ctl_opts[] = {
	{ { "json", no_argument, NULL, 'j' }, NULL,
	  "machine-readable output (errors as {\"error\": ...})" },
	{ { "pin-dir", required_argument, NULL, 'd' }, "DIR",
	  "where moatd pinned its state (default " MOAT_DEFAULT_PIN_DIR ")" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "this text" },
	{ { "version", no_argument, NULL, 'V' }, NULL, "print the version" },
	{}
};
#define N_CTL_OPTS (sizeof(ctl_opts) / sizeof(ctl_opts[0]) - 1)

static const struct cmd top_cmds[] = {
	{ "status", do_status, "what moat enforces where, and its last reload", "",
	  "Interfaces with their attach mode, the policy generation, the table sizes, the last "
	  "reload and a confirmation it waits for.", NULL },
	{ "stats", do_stats, "packets and bytes by verdict and reason", "[--watch]",
	  "Per interface; --watch redraws every second.", NULL },
	{ "top", do_top, "the sources with the most drops", "[-n N]",
	  "The N sources (default 10) with the most drops since moat was loaded, with the "
	  "reason of their last drop. Estimates: one drop in 16 is sampled, and the least "
	  "recent sources are forgotten first.", NULL },
	{ "events", do_events, "live sampled drops (one in 16) and the inspector's detections", "[-n N]",
	  "Drops: time, interface, verdict, reason, addresses and ports of each. Detections: "
	  "time, client, method, path without query, rule ids and category (--json: the line "
	  "moatd logs). -n stops after N.", NULL },
	{ "devops", NULL, "the SSH allowlist: DevOps hosts", NULL,
	  "Who reaches the SSH ports: the entries of the config file and those added here. "
	  "Without a command: list.", devops_cmds },
	{ "ban", NULL, "sources dropped whatever they send", NULL,
	  "Added here or by the inspector. Without a command: list.", ban_cmds },
	{ "check", do_check, "the verdict a packet would get, as a dry run",
	  "--from ADDR --to ADDR [--proto tcp|udp|icmp] [--dport N]\n"
	  "[--payload tls1.2|tls1.0|ssh|http|none] [--interface IF]",
	  "Runs a packet built from these through the loaded program and prints its verdict "
	  "and reason; changes no counter, flow or ban. Defaults: tcp, port 443, a SYN (a "
	  "payload makes it the first data segment), the first interface.", NULL },
	{ "audit", do_audit, "put each promise of the policy to the test",
	  "[--prometheus URL] [--config FILE]",
	  "The promises of the security policy (web only over TLS, TLS >= 1.2, SSH only from "
	  "DevOps, everything else dropped, replies to the host's own traffic; alerts wired "
	  "with --prometheus) go to the loaded program, v4 and v6, on every interface, as dry "
	  "runs like check; each is reported kept or broken with its evidence, then the facts "
	  "(mode, interfaces, DevOps list, certificate from FILE, last reload). Markdown, or "
	  "--json; exit 1 if a promise is broken. Changes nothing.", NULL },
	{ "reload", do_reload, "have moatd re-read its file", "[--confirm-within DUR]",
	  "Waits for the outcome. With a deadline, moatd rolls back to the previous policy "
	  "unless 'moatctl confirm' follows in time (for remote changes).", NULL },
	{ "confirm", do_confirm, "keep the policy a reload put in force", "",
	  "The one the last 'reload --confirm-within' put in force: it does not roll back.", NULL },
	{ "unload", do_unload, "detach moat and remove its pins", "",
	  "The host is unprotected afterwards. Refused while a moatd runs with DIR, or when "
	  "DIR is not a moat pin dir on bpffs.", NULL },
	{}
};

const struct cmd ctl_root = {
	"moatctl", NULL, "show and change what moat enforces", "",
	"Works from the maps pinned under DIR, whether moatd is running or not. "
	"'moatctl COMMAND --help' says more about a command.", top_cmds
};

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

int main(int argc, char **argv)
{
	struct option opts[N_CTL_OPTS + 1] = {};
	char shorts[2 * N_CTL_OPTS + 2] = "+";	/* "+": options stop at the command */
	struct ctl c = { .pin_dir = MOAT_DEFAULT_PIN_DIR };
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
		case 'h': ctl_usage(stdout); return EXIT_OK;
		case 'V': printf("moatctl %s\n", MOAT_VERSION); return EXIT_OK;
		default: ctl_usage(stderr); return EXIT_USAGE;
		}
	}
	libbpf_set_print(NULL);
	ret = cmd_select(&c, &ctl_root, argc - optind, argv + optind);
	if (c.pins_open)
		moat_pins_close(&c.pins);
	return ret;
}
