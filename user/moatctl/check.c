// SPDX-License-Identifier: GPL-2.0
/*
 * moatctl check: builds the packet described on the command line and runs
 * it through the program attached to an interface (BPF_PROG_TEST_RUN). A
 * dry-run record in the XDP metadata makes the program write nothing —
 * no counter, flow or connection — and report its verdict and reason.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <bpf/bpf.h>
#include "moatctl.h"

#define CHECK_SPORT 40000	/* an ephemeral client port */

struct check_args {
	struct moat_cidr from, to;
	int proto;		/* IPPROTO_* */
	int dport;
	const char *payload;	/* NULL = none */
	const char *iface;	/* NULL = first attached */
};

/* First bytes of each payload kind: what the program looks at. */
static const unsigned char hello_tls12[] = {
	0x16, 0x03, 0x01, 0x00, 0xc8,	/* handshake record, 200 bytes */
	0x01, 0x00, 0x00, 0xc4,		/* ClientHello, 196 bytes */
	0x03, 0x03,			/* client_version TLS 1.2 */
};
static const unsigned char hello_tls10[] = {
	0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x01,
};
static const char banner_ssh[] = "SSH-2.0-OpenSSH_9.2p1\r\n";
static const char request_http[] = "GET / HTTP/1.1\r\nHost: gateway\r\n\r\n";

static int payload_bytes(const char *kind, const void **buf, size_t *len)
{
	if (!kind || !strcmp(kind, "none")) {
		*buf = NULL;
		*len = 0;
	} else if (!strcmp(kind, "tls1.2")) {
		*buf = hello_tls12;
		*len = sizeof(hello_tls12);
	} else if (!strcmp(kind, "tls1.0")) {
		*buf = hello_tls10;
		*len = sizeof(hello_tls10);
	} else if (!strcmp(kind, "ssh")) {
		*buf = banner_ssh;
		*len = strlen(banner_ssh);
	} else if (!strcmp(kind, "http")) {
		*buf = request_http;
		*len = strlen(request_http);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* eth + IP + L4 (+ payload) into buf; returns the frame length. */
static size_t build_packet(const struct check_args *a, unsigned char *buf)
{
	bool v6 = a->from.family == AF_INET6;
	size_t l3 = sizeof(struct ethhdr), l4 = l3 + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
	struct ethhdr *eth = (void *)buf;
	const void *pl;
	size_t pl_len, l4_len, n;

	payload_bytes(a->payload, &pl, &pl_len);
	memset(eth->h_dest, 0x02, ETH_ALEN);
	memset(eth->h_source, 0x04, ETH_ALEN);
	eth->h_proto = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);

	if (a->proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)(buf + l4);

		memset(th, 0, sizeof(*th));
		th->source = htons(CHECK_SPORT);
		th->dest = htons(a->dport);
		th->seq = htonl(1000);
		th->doff = 5;
		th->window = htons(64240);
		if (pl_len) {	/* the first data segment of a connection */
			th->ack = 1;
			th->psh = 1;
			th->seq = htonl(1001);
		} else {
			th->syn = 1;
		}
		memcpy(th + 1, pl ? pl : "", pl_len);
		l4_len = sizeof(*th) + pl_len;
	} else if (a->proto == IPPROTO_UDP) {
		struct udphdr *uh = (void *)(buf + l4);

		uh->source = htons(CHECK_SPORT);
		uh->dest = htons(a->dport);
		memcpy(uh + 1, pl ? pl : "", pl_len);
		l4_len = sizeof(*uh) + pl_len;
		uh->len = htons(l4_len);
		uh->check = 0;
	} else {	/* echo request */
		struct icmphdr *ih = (void *)(buf + l4);

		memset(ih, 0, sizeof(*ih));
		ih->type = v6 ? 128 : ICMP_ECHO;
		ih->un.echo.id = htons(CHECK_SPORT);
		ih->un.echo.sequence = htons(1);
		l4_len = sizeof(*ih);
	}

	if (v6) {
		struct ipv6hdr *ip6 = (void *)(buf + l3);

		memset(ip6, 0, sizeof(*ip6));
		ip6->version = 6;
		ip6->payload_len = htons(l4_len);
		ip6->nexthdr = a->proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : a->proto;
		ip6->hop_limit = 64;
		memcpy(&ip6->saddr, &a->from.addr, 16);
		memcpy(&ip6->daddr, &a->to.addr, 16);
	} else {
		struct iphdr *ip = (void *)(buf + l3);

		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = a->proto;
		ip->tot_len = htons(sizeof(*ip) + l4_len);
		ip->saddr = a->from.addr.a[3];
		ip->daddr = a->to.addr.a[3];
	}
	n = l4 + l4_len;
	return n < 60 ? 60 : n;	/* Ethernet minimum: the rest is padding */
}

/* The program behind the interface's pinned XDP link. */
static int prog_for(struct ctl *c, const char *iface, char *name_out)
{
	struct moat_snapshot *s = malloc(sizeof(*s));
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd = -1, prog = -1;

	if (!s || moat_snapshot_read(&c->pins, s))
		goto out;
	for (int i = 0; i < MOAT_MAX_IFACES; i++) {
		const struct moat_iface *ifc = &s->ifaces[i].iface;

		if (!ifc->ifindex || (iface && strcmp(iface, ifc->name)))
			continue;
		snprintf(name_out, MOAT_IFNAMSIZ, "%s", ifc->name);
		snprintf(path, sizeof(path), "%s/%s%s", c->pin_dir, MOAT_PIN_LINK_PREFIX, ifc->name);
		fd = bpf_obj_get(path);
		break;
	}
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
		prog = bpf_prog_get_fd_by_id(info.prog_id);
out:
	if (fd >= 0)
		close(fd);
	free(s);
	return prog;
}

static int parse_args(struct ctl *c, int argc, char **argv, struct check_args *a)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "proto", required_argument, NULL, 'p' },
		{ "dport", required_argument, NULL, 'd' },
		{ "payload", required_argument, NULL, 'P' },
		{ "interface", required_argument, NULL, 'i' },
		{}
	};
	const char *from = NULL, *to = NULL;
	const void *pl;
	size_t pl_len;
	uint16_t port;
	int opt;

	memset(a, 0, sizeof(*a));
	a->proto = IPPROTO_TCP;
	a->dport = 443;
	optind = 0;	/* argv[-1] ("check") plays the program name */
	while ((opt = getopt_long(argc + 1, argv - 1, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'i': a->iface = optarg; break;
		case 'P':
			if (payload_bytes(optarg, &pl, &pl_len)) {
				ctl_error(c, "check: --payload '%s': expected tls1.2, tls1.0, ssh, http or none", optarg);
				return EXIT_USAGE;
			}
			a->payload = optarg;
			break;
		case 'p':
			if (!strcmp(optarg, "tcp")) a->proto = IPPROTO_TCP;
			else if (!strcmp(optarg, "udp")) a->proto = IPPROTO_UDP;
			else if (!strcmp(optarg, "icmp")) a->proto = IPPROTO_ICMP;
			else {
				ctl_error(c, "check: --proto '%s': expected tcp, udp or icmp", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			if (moat_parse_port(optarg, &port)) {
				ctl_error(c, "check: --dport '%s': not a port (1-65535)", optarg);
				return EXIT_USAGE;
			}
			a->dport = port;
			break;
		default:
			ctl_error(c, "check: unknown option; see moatctl --help");
			return EXIT_USAGE;
		}
	}
	if (optind != argc + 1) {
		ctl_error(c, "check: unexpected argument '%s'", argv[optind - 1]);
		return EXIT_USAGE;
	}
	if (!from || !to) {
		ctl_error(c, "check: --from ADDR and --to ADDR are required");
		return EXIT_USAGE;
	}
	if (moat_parse_cidr(from, &a->from) || a->from.prefixlen != 128 ||
	    moat_parse_cidr(to, &a->to) || a->to.prefixlen != 128) {
		ctl_error(c, "check: --from/--to must be single IPv4 or IPv6 addresses");
		return EXIT_USAGE;
	}
	if (a->from.family != a->to.family) {
		ctl_error(c, "check: --from and --to must be the same address family");
		return EXIT_USAGE;
	}
	if (a->proto == IPPROTO_ICMP && a->payload && strcmp(a->payload, "none")) {
		ctl_error(c, "check: --payload applies to tcp and udp only");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int do_check(struct ctl *c, int argc, char **argv)
{
	unsigned char in[256 + sizeof(struct moat_dryrun)], out[sizeof(in)];
	struct moat_dryrun dry = { .magic = MOAT_DRYRUN_MAGIC };
	char iface[MOAT_IFNAMSIZ] = "";
	struct check_args a;
	struct xdp_md ctx = {};
	size_t len;
	int prog, ret;

	if ((ret = parse_args(c, argc, argv, &a)) || (ret = ctl_open(c)))
		return ret;
	prog = prog_for(c, a.iface, iface);
	if (prog < 0) {
		ctl_error(c, "check: no moat program attached%s%s under %s", a.iface ? " to " : "",
			  a.iface ? a.iface : "", c->pin_dir);
		return EXIT_FAILED;
	}

	memset(in, 0, sizeof(in));
	memcpy(in, &dry, sizeof(dry));
	len = build_packet(&a, in + sizeof(dry));
	ctx.data = sizeof(dry);		/* metadata before the frame */
	ctx.data_end = sizeof(dry) + len;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in, .data_size_in = sizeof(dry) + len,
		.data_out = out, .data_size_out = sizeof(out),
		.ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		.repeat = 1);
	ret = bpf_prog_test_run_opts(prog, &opts);
	close(prog);
	if (ret) {
		ctl_error(c, "check: running the packet through %s's program: %s", iface,
			  strerror(errno));
		return EXIT_FAILED;
	}
	memcpy(&dry, out, sizeof(dry));	/* output starts at the metadata */
	if (dry.magic != MOAT_DRYRUN_MAGIC || dry.verdict >= MOAT_NR_VERDICTS ||
	    dry.reason >= MOAT_NR_REASONS) {
		ctl_error(c, "check: the program attached to %s did not report a verdict "
			  "(older moat?)", iface);
		return EXIT_FAILED;
	}
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "interface", json_object_new_string(iface));
		json_object_object_add(o, "verdict", json_object_new_string(moat_verdict_name(dry.verdict)));
		json_object_object_add(o, "reason", json_object_new_string(moat_reason_name(dry.reason)));
		json_object_object_add(o, "xdp_action", json_object_new_string(opts.retval == 1 ? "XDP_DROP" : "XDP_PASS"));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("%s %s (interface %s)\n", moat_verdict_name(dry.verdict),
		       moat_reason_name(dry.reason), iface);
	}
	return EXIT_OK;
}
