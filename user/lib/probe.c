// SPDX-License-Identifier: GPL-2.0
/* Dry-run probes through a loaded moat program (see probe.h). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probe.h"
#include "moat/reasons.h"

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

int moat_probe_payload(const char *kind, const void **buf, size_t *len)
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

size_t moat_probe_build(const struct moat_probe *pr, unsigned char *buf)
{
	bool v6 = pr->from.family == AF_INET6;
	size_t l3 = sizeof(struct ethhdr);
	size_t l4 = l3 + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
	size_t pl_len = pr->payload_len > MOAT_PROBE_MAX_PAYLOAD ? MOAT_PROBE_MAX_PAYLOAD
								 : pr->payload_len;
	struct ethhdr *eth = (void *)buf;
	size_t l4_len, n;

	memset(buf, 0, 256);
	memset(eth->h_dest, 0x02, ETH_ALEN);
	memset(eth->h_source, 0x04, ETH_ALEN);
	eth->h_proto = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);

	if (pr->proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)(buf + l4);

		th->source = htons(pr->sport);
		th->dest = htons(pr->dport);
		th->seq = htonl(pr->seq);
		th->doff = 5;
		th->window = htons(64240);
		th->syn = !!(pr->tcp_flags & MOAT_PROBE_SYN);
		th->ack = !!(pr->tcp_flags & MOAT_PROBE_ACK);
		th->psh = !!(pr->tcp_flags & MOAT_PROBE_PSH);
		if (pl_len)
			memcpy(th + 1, pr->payload, pl_len);
		l4_len = sizeof(*th) + pl_len;
	} else if (pr->proto == IPPROTO_UDP) {
		struct udphdr *uh = (void *)(buf + l4);

		uh->source = htons(pr->sport);
		uh->dest = htons(pr->dport);
		if (pl_len)
			memcpy(uh + 1, pr->payload, pl_len);
		l4_len = sizeof(*uh) + pl_len;
		uh->len = htons(l4_len);
	} else {	/* echo request */
		struct icmphdr *ih = (void *)(buf + l4);

		ih->type = v6 ? 128 : ICMP_ECHO;
		ih->un.echo.id = htons(pr->sport);
		ih->un.echo.sequence = htons(1);
		l4_len = sizeof(*ih);
	}

	if (v6) {
		struct ipv6hdr *ip6 = (void *)(buf + l3);

		ip6->version = 6;
		ip6->payload_len = htons(l4_len);
		ip6->nexthdr = pr->proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : pr->proto;
		ip6->hop_limit = 64;
		memcpy(&ip6->saddr, &pr->from.addr, 16);
		memcpy(&ip6->daddr, &pr->to.addr, 16);
	} else {
		struct iphdr *ip = (void *)(buf + l3);

		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = pr->proto;
		ip->tot_len = htons(sizeof(*ip) + l4_len);
		ip->saddr = pr->from.addr.a[3];
		ip->daddr = pr->to.addr.a[3];
	}
	n = l4 + l4_len;
	return n < 60 ? 60 : n;	/* Ethernet minimum: the rest is padding */
}

int moat_probe_run(int prog_fd, const struct moat_probe *pr, unsigned int *verdict,
		   unsigned int *reason)
{
	struct moat_dryrun dry = { .magic = MOAT_DRYRUN_MAGIC };
	unsigned char in[256 + sizeof(dry)], out[sizeof(in)];
	struct xdp_md ctx = {};
	size_t len;

	memcpy(in, &dry, sizeof(dry));
	len = moat_probe_build(pr, in + sizeof(dry));
	ctx.data = sizeof(dry);		/* the record sits in the metadata */
	ctx.data_end = sizeof(dry) + len;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in, .data_size_in = sizeof(dry) + len,
		.data_out = out, .data_size_out = sizeof(out),
		.ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		.repeat = 1);
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	memcpy(&dry, out, sizeof(dry));	/* output starts at the metadata */
	if (dry.magic != MOAT_DRYRUN_MAGIC || dry.verdict >= MOAT_NR_VERDICTS ||
	    dry.reason >= MOAT_NR_REASONS)
		return -EPROTO;	/* a program without the dry-run hook */
	*verdict = dry.verdict;
	*reason = dry.reason;
	return 0;
}
