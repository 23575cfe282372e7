// SPDX-License-Identifier: GPL-2.0
/*
 * moatctl check: builds the packet described on the command line and runs
 * it through the program attached to an interface (BPF_PROG_TEST_RUN). A
 * dry-run record in the XDP metadata makes the program write nothing —
 * no counter, flow or connection — and report its verdict and reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "moatctl.h"
#include "lib/probe.h"

#define CHECK_SPORT 40000	/* an ephemeral client port */

struct check_args {
	struct moat_probe probe;
	const char *payload;	/* NULL = none */
	const char *iface;	/* NULL = first attached */
};

/* The program behind the interface's pinned XDP link (the first one
 * moat holds when iface is NULL). */
static int prog_for(struct ctl *c, const char *iface, char *name_out)
{
	struct moat_snapshot *s = malloc(sizeof(*s));
	int prog = -1;

	if (!s || moat_snapshot_read(&c->pins, s))
		goto out;
	for (int i = 0; i < MOAT_MAX_IFACES; i++) {
		const struct moat_iface *ifc = &s->ifaces[i].iface;

		if (!ifc->ifindex || (iface && strcmp(iface, ifc->name)))
			continue;
		snprintf(name_out, MOAT_IFNAMSIZ, "%s", ifc->name);
		prog = moat_pinned_prog(c->pin_dir, ifc->name);
		break;
	}
out:
	free(s);
	return prog;
}

/* Long options only. */
enum { OPT_FROM = 0x100, OPT_TO, OPT_PROTO, OPT_DPORT, OPT_PAYLOAD, OPT_IFACE };

static int parse_args(struct ctl *c, int argc, char **argv, struct check_args *a)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "proto", required_argument, NULL, OPT_PROTO },
		{ "dport", required_argument, NULL, OPT_DPORT },
		{ "payload", required_argument, NULL, OPT_PAYLOAD },
		{ "interface", required_argument, NULL, OPT_IFACE },
		{}
	};
	struct ctl_getopt g = { .argc = argc, .argv = argv, .opts = opts };
	const char *from = NULL, *to = NULL;
	struct moat_probe *pr = &a->probe;
	uint16_t port;
	int opt;

	memset(a, 0, sizeof(*a));
	pr->proto = IPPROTO_TCP;
	pr->dport = 443;
	pr->sport = CHECK_SPORT;
	while ((opt = ctl_getopt(c, &g)) != -1) {
		switch (opt) {
		case OPT_FROM: from = g.arg; break;
		case OPT_TO: to = g.arg; break;
		case OPT_IFACE: a->iface = g.arg; break;
		case OPT_PAYLOAD:
			if (moat_probe_payload(g.arg, &pr->payload, &pr->payload_len)) {
				ctl_error(c, "check: --payload '%s': expected tls1.2, tls1.0, ssh, http or none", g.arg);
				return EXIT_USAGE;
			}
			a->payload = g.arg;
			break;
		case OPT_PROTO:
			if (!strcmp(g.arg, "tcp")) pr->proto = IPPROTO_TCP;
			else if (!strcmp(g.arg, "udp")) pr->proto = IPPROTO_UDP;
			else if (!strcmp(g.arg, "icmp")) pr->proto = IPPROTO_ICMP;
			else {
				ctl_error(c, "check: --proto '%s': expected tcp, udp or icmp", g.arg);
				return EXIT_USAGE;
			}
			break;
		case OPT_DPORT:
			if (moat_parse_port(g.arg, &port)) {
				ctl_error(c, "check: --dport '%s': not a port (1-65535)", g.arg);
				return EXIT_USAGE;
			}
			pr->dport = port;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if ((opt = ctl_no_more_args(c, argc, argv, g.next)))
		return opt;
	if (!from || !to) {
		ctl_error(c, "check: --from ADDR and --to ADDR are required");
		return EXIT_USAGE;
	}
	if (moat_parse_cidr(from, &pr->from) || pr->from.prefixlen != 128 ||
	    moat_parse_cidr(to, &pr->to) || pr->to.prefixlen != 128) {
		ctl_error(c, "check: --from/--to must be single IPv4 or IPv6 addresses");
		return EXIT_USAGE;
	}
	if (pr->from.family != pr->to.family) {
		ctl_error(c, "check: --from and --to must be the same address family");
		return EXIT_USAGE;
	}
	if (pr->proto == IPPROTO_ICMP && pr->payload_len) {
		ctl_error(c, "check: --payload applies to tcp and udp only");
		return EXIT_USAGE;
	}
	/* No payload: a SYN. A payload: the first data segment after it. */
	pr->seq = 1000;
	pr->tcp_flags = MOAT_PROBE_SYN;
	if (pr->payload_len) {
		pr->seq = 1001;
		pr->tcp_flags = MOAT_PROBE_ACK | MOAT_PROBE_PSH;
	}
	return EXIT_OK;
}

int do_check(struct ctl *c, int argc, char **argv)
{
	char iface[MOAT_IFNAMSIZ] = "";
	unsigned int verdict, reason;
	struct check_args a;
	int prog, ret;

	if ((ret = parse_args(c, argc, argv, &a)) || (ret = ctl_open(c)))
		return ret;
	prog = prog_for(c, a.iface, iface);
	if (prog < 0) {
		ctl_error(c, "check: no moat program attached%s%s under %s", a.iface ? " to " : "",
			  a.iface ? a.iface : "", c->pin_dir);
		return EXIT_FAILED;
	}
	ret = moat_probe_run(prog, &a.probe, &verdict, &reason);
	close(prog);
	if (ret == -EPROTO) {
		ctl_error(c, "check: the program attached to %s did not report a verdict "
			  "(older moat?)", iface);
		return EXIT_FAILED;
	}
	if (ret) {
		ctl_error(c, "check: running the packet through %s's program: %s", iface,
			  strerror(-ret));
		return EXIT_FAILED;
	}
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "interface", json_object_new_string(iface));
		json_object_object_add(o, "verdict", json_object_new_string(moat_verdict_name(verdict)));
		json_object_object_add(o, "reason", json_object_new_string(moat_reason_name(reason)));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("%s %s (interface %s)\n", moat_verdict_name(verdict),
		       moat_reason_name(reason), iface);
	}
	return EXIT_OK;
}
