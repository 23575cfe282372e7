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

static void usage(FILE *f)
{
	fputs(
"Usage: moatctl [--json] [--pin-dir DIR] COMMAND [ARGS]\n"
"\n"
"Show and change what moat enforces. Works from the maps pinned under\n"
"DIR, whether moatd is running or not.\n"
"\n"
"Commands:\n"
"  status                        interfaces, attach mode, policy generation,\n"
"                                table sizes, last reload\n"
"  stats [--watch]               packets and bytes per interface, verdict and\n"
"                                reason; --watch redraws every second\n"
"  top [-n N]                    the N sources (default 10) with the most\n"
"                                drops since moat was loaded, with the reason\n"
"                                of their last drop; estimates (one drop in 16\n"
"                                is sampled; the least recent sources are\n"
"                                forgotten first)\n"
"  events [-n N]                 live sampled drops (one in 16): time,\n"
"                                interface, verdict, reason, addresses and\n"
"                                ports; -n stops after N\n"
"  devops list                   SSH allowlist with origin and expiry\n"
"  devops add CIDR [--name N] [--ttl DUR]\n"
"                                allow SSH from CIDR now (kept across restarts\n"
"                                and reloads until deleted or expired)\n"
"  devops del CIDR               remove an allowlist entry\n"
"  ban list                      banned sources\n"
"  ban add CIDR [--ttl DUR]      drop everything from CIDR\n"
"  ban del CIDR                  lift a ban\n"
"  check --from ADDR --to ADDR [--proto tcp|udp|icmp] [--dport N]\n"
"        [--payload tls1.2|tls1.0|ssh|http|none] [--interface IF]\n"
"                                run a packet built from these through the\n"
"                                loaded program and print verdict and reason;\n"
"                                changes no counter, flow or ban. Defaults:\n"
"                                tcp, port 443, a SYN (a payload makes it the\n"
"                                first data segment), the first interface\n"
"  reload [--confirm-within DUR]  have moatd re-read its file and wait for\n"
"                                the outcome; with a deadline, moatd rolls\n"
"                                back to the previous policy unless\n"
"  confirm                       follows in time (for remote changes)\n"
"  unload                        detach moat from every interface and remove\n"
"                                its pins: the host is unprotected afterwards.\n"
"                                Refused while a moatd runs with DIR, or when\n"
"                                DIR is not a moat pin dir on bpffs\n"
"\n"
"Options:\n"
"  -j, --json         machine-readable output (errors as {\"error\": ...})\n"
"  -d, --pin-dir DIR  where moatd pinned its state (default " MOAT_DEFAULT_PIN_DIR ")\n"
"  -h, --help         this text\n"
"  -V, --version      print the version\n"
"\n"
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

static const struct cmd top_cmds[] = {
	{ "status", do_status },
	{ "stats", do_stats },
	{ "devops", do_devops },
	{ "ban", do_ban },
	{ "top", do_top },
	{ "events", do_events },
	{ "check", do_check },
	{ "reload", do_reload },
	{ "confirm", do_confirm },
	{ "unload", do_unload },
	{}
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct ctl c = { .pin_dir = MOAT_DEFAULT_PIN_DIR, .prog = "moatctl" };
	int opt, ret;

	moat_prog = "moatctl";
	/* "+": options stop at the command, which parses its own. */
	while ((opt = getopt_long(argc, argv, "+jd:hV", opts, NULL)) != -1) {
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
