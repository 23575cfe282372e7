// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_TEST_RUN tier: real generations, loaded from YAML by the
 * production loader, judge the packets of a table. For every row we check
 * the XDP action and that the stats map moved by exactly this packet under
 * exactly the expected (verdict, reason), and that no other counter moved.
 * TAP output; exit 1 when a row failed.
 *
 * Adding a row: pick a builder (V4/V6/L2 and TCP/UDP/ICMP4/ICMP6, tests/prog/
 * pkt.h for the knobs), the expected PASS(reason)/DROP(reason), and, for
 * behaviour that needs state, PRE(...) steps that run first through XDP or
 * the egress program without being asserted. Rows are independent: each
 * gets its own source port (and echo identifier) unless it sets one.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "moat/reasons.h"
#include "moat/shared.h"
#include "lib/config.h"
#include "lib/loader.h"
#include "lib/table.h"
#include "../lib/gen.h"
#include "../lib/pkt.h"

/* Row macros set defaults (CL4's ACK of the host's ISN, say) that a row
 * may override with a later designator: meant, not a slip. */
#pragma GCC diagnostic ignored "-Woverride-init"

/* Sources, and what the configuration and the run-time setup make of them. */
#define DEVOPS4		"198.51.100.7"		/* devops /32 */
#define DEVOPS4_NET	"203.0.113.0/24"	/* devops /24 */
#define DEVOPS4_IN_NET	"203.0.113.45"
#define DEVOPS6		"2001:db8:1::7"		/* devops /128 */
#define DEVOPS6_NET	"2001:db8:100::/48"	/* devops /48 */
#define DEVOPS6_IN_NET	"2001:db8:100:5::9"
#define DEVOPS4_LATER	"198.51.100.8"		/* devops, expires in 2099 */
#define EXPIRED4	"198.51.100.9"		/* devops, expired in 2020 */
#define RT_EXPIRED4	"198.51.100.10"		/* devops added at run time, expired */
#define RT_EXPIRED6_NET	"2001:db8:ee::/48"	/* same, a prefix */
#define RT_EXPIRED6_IN	"2001:db8:ee::1"
#define DEVOPS4_BANNED	"198.51.100.20"		/* devops, and banned at run time */
#define DENY4		"192.0.2.66"		/* deny, and banned too: deny comes first */
#define DENY4_IN_DEVOPS	"203.0.113.66"		/* deny, inside the devops /24 */
#define DENY6_NET	"2001:db8:bad::/48"
#define DENY6_IN_NET	"2001:db8:bad::1"
#define BAN4		"192.0.2.77"		/* banned at run time */
#define BAN6_NET	"2001:db8:beef::/64"	/* banned at run time */
#define BAN6_IN_NET	"2001:db8:beef::1234"
#define STRANGER4	PKT_SRC4		/* in no table */
#define STRANGER6	PKT_SRC6

static const char yaml_fmt[] =
	"interfaces: [lo]\n"
	"mode: %s\n"
	"tls: { ports: [443, 8443], quic: %s }\n"
	"ssh:\n"
	"  ports: [22, 2222]\n"
	"  devops:\n"
	"    - { cidr: " DEVOPS4 "/32, name: alice }\n"
	"    - { cidr: " DEVOPS4_NET ", name: lab }\n"
	"    - { cidr: " DEVOPS6 "/128, name: bob }\n"
	"    - { cidr: " DEVOPS6_NET ", name: ops-vpn }\n"
	"    - { cidr: " DEVOPS4_LATER "/32, name: later, expires: 2099-01-01T00:00:00Z }\n"
	"    - { cidr: " EXPIRED4 "/32, name: gone, expires: 2020-01-01T00:00:00Z }\n"
	"    - { cidr: " DEVOPS4_BANNED "/32, name: mallory }\n"
	"deny: [" DENY4 ", " DENY4_IN_DEVOPS ", " DENY6_NET "]\n"
	"icmp: { echo: %s }\n"
	"pass_ethertypes: [0x88cc]\n";

struct expect {
	__u32 action;		/* XDP_PASS / XDP_DROP */
	__u32 verdict;		/* enum moat_verdict */
	__u32 reason;		/* enum moat_reason */
};

/* STEP_SEED puts the packet's connection into conns as moatd's seeding
 * does for connections that predate moat. */
enum step_hook { STEP_END = 0, STEP_XDP, STEP_EGRESS, STEP_SEED };

struct step {
	enum step_hook hook;
	struct pkt_spec pkt;
};

struct row {
	const char *name;
	struct pkt_spec pkt;
	struct expect want;
	const struct step *pre;	/* run before pkt, not asserted; ends with STEP_END */
};

#define V4(...)		{ .ip = 4, __VA_ARGS__ }
#define V6(...)		{ .ip = 6, __VA_ARGS__ }
#define L2(type, ...)	{ .ethertype = (type), __VA_ARGS__ }
#define TCP(port, fl)	.proto = IPPROTO_TCP, .dport = (port), .flags = (fl)
#define UDP(port)	.proto = IPPROTO_UDP, .dport = (port)
#define ICMP4(t, c)	.proto = IPPROTO_ICMP, .type = (t), .code = (c)
#define ICMP6(t, c)	.proto = IPPROTO_ICMPV6, .type = (t), .code = (c)
#define FROM(a)		.src = (a)
#define TAGS(...)	.tags = { __VA_ARGS__ }
#define EXTS(...)	.ext = { __VA_ARGS__ }, .n_ext = sizeof((uint8_t[]){ __VA_ARGS__ })
#define CUT(h, n)	.cut_hdr = (h), .cut_keep = (n)
#define DATA(s)		.data = (s), .payload = sizeof(s) - 1
#define PRE(...)	(const struct step[]){ __VA_ARGS__, { STEP_END } }

#define SYN		TCPF_SYN
#define RST		TCPF_RST
#define URG		TCPF_URG
#define ACK		TCPF_ACK
#define PSH		TCPF_PSH
#define HBH		IPPROTO_HOPOPTS
#define RTG		IPPROTO_ROUTING
#define DST		IPPROTO_DSTOPTS
#define FRG		IPPROTO_FRAGMENT
#define Q		ETHERTYPE_VLAN
#define AD		ETHERTYPE_QINQ

#define ROW(n, p, w, ...)	{ .name = (n), .pkt = p, .want = w, __VA_ARGS__ }
#define PASS(r)		{ XDP_PASS, MOAT_V_PASS, MOAT_R_##r }
#define DROP(r)		{ XDP_DROP, MOAT_V_DROP, MOAT_R_##r }

/* Damage no knob of pkt_spec expresses. */
static void ip_version_swapped(struct pkt_buf *f)
{
	uint8_t *ip = f->buf + f->off[PKT_L3];

	*ip = (*ip & 0x0f) | ((*ip >> 4) == 4 ? 0x60 : 0x40);
}

static void ihl_4(struct pkt_buf *f)
{
	f->buf[f->off[PKT_L3]] = 0x44;
}

static void ihl_0(struct pkt_buf *f)
{
	f->buf[f->off[PKT_L3]] = 0x40;
}

static void doff_4(struct pkt_buf *f)
{
	f->buf[f->off[PKT_L4] + 12] = 4 << 4;
}

/* doff says 40 bytes; tot_len (from the build) covers only the fixed 20. */
static void doff_10(struct pkt_buf *f)
{
	f->buf[f->off[PKT_L4] + 12] = 10 << 4;
}

/* The UDP length field beyond the IP datagram, and below 8. */
static void udp_len_long(struct pkt_buf *f)
{
	pkt_put16(f->buf + f->off[PKT_L4] + 4, 200);
}

static void udp_len_short(struct pkt_buf *f)
{
	pkt_put16(f->buf + f->off[PKT_L4] + 4, 7);
}

/* First client payloads (validation, SPEC §2 steps 7-8). */
#define HELLO(v)	"\x16\x03\x01\x00\x40\x01\x00\x00\x3c" v "0123456789abcdef"
#define HELLO_TLS12	HELLO("\x03\x03")
/* The first segment of a ClientHello with a post-quantum key share:
 * record 1720 bytes, handshake 1716, client_version 1.2, the rest zeros. */
static const unsigned char big_hello[1448] = {
	0x16, 0x03, 0x01, 0x06, 0xb8, 0x01, 0x00, 0x06, 0xb4, 0x03, 0x03,
};
#define HELLO_TLS10	HELLO("\x03\x01")
#define SSLV2_HELLO	"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10"
#define HTTP_GET	"GET / HTTP/1.1\r\nHost: gw\r\n\r\n"
#define MAGIC11		"\x16\x03\x01\x00\x00\x01\x00\x00\x00\x03\x03"

/* Inbound connections: the client's ISN, the host's, and the first byte. */
#define CLI_ISN		1000
#define SRV_ISN		5000
#define FIRST		(CLI_ISN + 1)
#define ROWPORT		1	/* an egress step's dport: the row's own client port */
#define HOST(ipm, host, port, from, fl, ...) \
	{ STEP_EGRESS, ipm(.src = host, .dst = from, TCP(ROWPORT, fl), .sport = port, __VA_ARGS__) }
#define HOST4(port, from, fl, ...)	HOST(V4, PKT_DST4, port, from, fl, __VA_ARGS__)
#define HOST6(port, from, fl, ...)	HOST(V6, PKT_DST6, port, from, fl, __VA_ARGS__)
/* A client segment that acknowledges the host's SYN-ACK. */
#define CL4(port, from, ...)	V4(TCP(port, ACK | PSH), FROM(from), .ack = SRV_ISN + 1, __VA_ARGS__)
#define CL6(port, from, ...)	V6(TCP(port, ACK | PSH), FROM(from), .ack = SRV_ISN + 1, __VA_ARGS__)
/* The handshake: client SYN, the host's SYN-ACK, the client's ACK. */
#define ACCEPTED(ipm, host, port, from) \
	{ STEP_XDP, ipm(TCP(port, SYN), FROM(from), .seq = CLI_ISN) }, \
	HOST(ipm, host, port, from, SYN | ACK, .seq = SRV_ISN, .ack = CLI_ISN + 1), \
	{ STEP_XDP, ipm(TCP(port, ACK), FROM(from), .seq = FIRST, .ack = SRV_ISN + 1) }
#define ACCEPTED4(port, from)	ACCEPTED(V4, PKT_DST4, port, from)
#define ACCEPTED6(port, from)	ACCEPTED(V6, PKT_DST6, port, from)
#define SSH_BANNER	"SSH-2.0-OpenSSH_9.2p1\r\n"

/* The host (PKT_DST4/6) opening flows, for the reply rows. */
#define HOST_PORT	47000
#define EGRESS4(...)	{ STEP_EGRESS, V4(.src = PKT_DST4, .dst = STRANGER4, __VA_ARGS__) }
#define EGRESS6(...)	{ STEP_EGRESS, V6(.src = PKT_DST6, .dst = STRANGER6, __VA_ARGS__) }

static const struct row rows[] = {
	/* 7. TLS: anyone, any port of the list */
	ROW("tls: v4 SYN to 443", V4(TCP(443, SYN)), PASS(TLS)),
	ROW("tls: v4 SYN to 8443", V4(TCP(8443, SYN)), PASS(TLS)),
	ROW("tls: v6 SYN to 443", V6(TCP(443, SYN)), PASS(TLS)),
	ROW("tls: v6 SYN to 8443", V6(TCP(8443, SYN)), PASS(TLS)),
	ROW("tls: v4 SYN with 20 bytes of TCP options", V4(TCP(443, SYN), .tcp_opts = 20), PASS(TLS)),
	ROW("tls: v4 SYN from source port 22", V4(TCP(443, SYN), .sport = 22), PASS(TLS)),
	ROW("tls: v4 SYN from a devops host", V4(TCP(443, SYN), FROM(DEVOPS4)), PASS(TLS)),

	/* 1. VLAN tags */
	ROW("vlan: 802.1Q, v4 TLS SYN", V4(TCP(443, SYN), TAGS(Q)), PASS(TLS)),
	ROW("vlan: 802.1ad + 802.1Q, v4 TLS SYN", V4(TCP(443, SYN), TAGS(AD, Q)), PASS(TLS)),
	ROW("vlan: 802.1Q + 802.1Q, v6 TLS SYN", V6(TCP(443, SYN), TAGS(Q, Q)), PASS(TLS)),
	ROW("vlan: 802.1ad + 802.1Q, v6 SSH from devops /128",
	  V6(TCP(22, SYN), TAGS(AD, Q), FROM(DEVOPS6)), PASS(SSH)),
	ROW("vlan: 802.1Q, v4 tcp/80", V4(TCP(80, SYN), TAGS(Q)), DROP(PORT)),

	/* 8. SSH: devops only */
	ROW("ssh: v4 devops host to 22", V4(TCP(22, SYN), FROM(DEVOPS4)), PASS(SSH)),
	ROW("ssh: v4 devops host to 2222", V4(TCP(2222, SYN), FROM(DEVOPS4)), PASS(SSH)),
	ROW("ssh: v4 devops /24 member", V4(TCP(22, SYN), FROM(DEVOPS4_IN_NET)), PASS(SSH)),
	ROW("ssh: v4 devops /24, first address", V4(TCP(22, SYN), FROM("203.0.113.0")), PASS(SSH)),
	ROW("ssh: v4 devops /24, last address", V4(TCP(22, SYN), FROM("203.0.113.255")), PASS(SSH)),
	ROW("ssh: v6 devops /128 host", V6(TCP(22, SYN), FROM(DEVOPS6)), PASS(SSH)),
	ROW("ssh: v6 devops /48 member to 2222", V6(TCP(2222, SYN), FROM(DEVOPS6_IN_NET)), PASS(SSH)),
	ROW("ssh: devops entry expiring in 2099", V4(TCP(22, SYN), FROM(DEVOPS4_LATER)), PASS(SSH)),
	ROW("ssh: v4 devops host, IPv4 options (ihl 8)",
	  V4(TCP(22, SYN), FROM(DEVOPS4), .ip_opts = 12), PASS(SSH)),
	ROW("ssh: v4 devops host, 40 bytes of IPv4 options (ihl 15)",
	  V4(TCP(22, SYN), FROM(DEVOPS4), .ip_opts = 40), PASS(SSH)),
	ROW("ssh: v6 devops host behind hop-by-hop + dstopts",
	  V6(TCP(22, SYN), FROM(DEVOPS6), EXTS(HBH, DST)), PASS(SSH)),

	/* 8. SSH from anyone else */
	ROW("ssh_source: v4 unknown host", V4(TCP(22, SYN)), DROP(SSH_SOURCE)),
	ROW("ssh_source: v4 unknown host to 2222", V4(TCP(2222, SYN)), DROP(SSH_SOURCE)),
	ROW("ssh_source: v6 unknown host", V6(TCP(22, SYN)), DROP(SSH_SOURCE)),
	ROW("ssh_source: v4 next to the devops host",
	  V4(TCP(22, SYN), FROM("198.51.100.6")), DROP(SSH_SOURCE)),
	ROW("ssh_source: v4 just past the devops /24",
	  V4(TCP(22, SYN), FROM("203.0.114.0")), DROP(SSH_SOURCE)),
	ROW("ssh_source: v6 next to the devops /128",
	  V6(TCP(22, SYN), FROM("2001:db8:1::8")), DROP(SSH_SOURCE)),
	ROW("ssh_source: v6 just past the devops /48",
	  V6(TCP(22, SYN), FROM("2001:db8:101::")), DROP(SSH_SOURCE)),
	ROW("ssh_source: devops entry expired in the config",
	  V4(TCP(22, SYN), FROM(EXPIRED4)), DROP(SSH_SOURCE)),
	ROW("ssh_source: run-time devops host entry, expired",
	  V4(TCP(22, SYN), FROM(RT_EXPIRED4)), DROP(SSH_SOURCE)),
	ROW("ssh_source: run-time devops v6 prefix, expired",
	  V6(TCP(22, SYN), FROM(RT_EXPIRED6_IN)), DROP(SSH_SOURCE)),
	ROW("malformed: v6 packet from the v4-mapped address of a devops host",
	  V6(TCP(22, SYN), FROM("::ffff:" DEVOPS4)), DROP(MALFORMED)),

	/* 9. everything else */
	ROW("port: v4 tcp/80", V4(TCP(80, SYN)), DROP(PORT)),
	ROW("port: v6 tcp/80", V6(TCP(80, SYN)), DROP(PORT)),
	ROW("port: v4 tcp/444 (next to a TLS port)", V4(TCP(444, SYN)), DROP(PORT)),
	ROW("port: v4 tcp/65535", V4(TCP(65535, SYN)), DROP(PORT)),
	ROW("port: v4 tcp/0", V4(TCP(0, SYN)), DROP(PORT)),
	ROW("port: v4 udp/53", V4(UDP(53), .payload = 32), DROP(PORT)),
	ROW("port: v6 udp/53", V6(UDP(53), .payload = 32), DROP(PORT)),
	ROW("port: v4 udp/443 without quic", V4(UDP(443), .payload = 1200), DROP(PORT)),
	ROW("port: v6 udp/443 without quic", V6(UDP(443), .payload = 1200), DROP(PORT)),
	ROW("port: v4 udp/22 from a devops host", V4(UDP(22), FROM(DEVOPS4)), DROP(PORT)),
	ROW("port: v4 GRE", V4(.proto = IPPROTO_GRE, .payload = 24), DROP(PORT)),
	ROW("port: v4 SCTP", V4(.proto = IPPROTO_SCTP, .payload = 32), DROP(PORT)),
	ROW("port: v6 SCTP", V6(.proto = IPPROTO_SCTP, .payload = 32), DROP(PORT)),
	ROW("port: v6 no next header (59)", V6(.proto = IPPROTO_NONE), DROP(PORT)),
	ROW("port: ICMPv6 protocol number in IPv4", V4(ICMP6(1, 0)), DROP(PORT)),
	ROW("port: ICMP protocol number in IPv6", V6(ICMP4(3, 4)), DROP(PORT)),

	/* 6. ICMP: errors the network needs pass, the rest drops */
	ROW("icmp: v4 frag needed (3/4) passes", V4(ICMP4(3, 4), .payload = 28), PASS(ICMP)),
	ROW("icmp: v4 port unreachable (3/3) passes", V4(ICMP4(3, 3), .payload = 28), PASS(ICMP)),
	ROW("icmp: v4 time exceeded (11) passes", V4(ICMP4(11, 0), .payload = 28), PASS(ICMP)),
	ROW("icmp: v4 parameter problem (12) passes", V4(ICMP4(12, 0), .payload = 28), PASS(ICMP)),
	ROW("icmp: v4 echo request drops (echo: false)", V4(ICMP4(8, 0), .payload = 56), DROP(ICMP)),
	ROW("icmp: v4 echo reply without a ping drops", V4(ICMP4(0, 0), .payload = 56), DROP(ICMP)),
	ROW("icmp: v4 redirect (5) drops", V4(ICMP4(5, 1), .payload = 28), DROP(ICMP)),
	ROW("icmp: v4 timestamp (13) drops", V4(ICMP4(13, 0), .payload = 12), DROP(ICMP)),
	ROW("icmp: v6 destination unreachable (1) passes", V6(ICMP6(1, 4), .payload = 48), PASS(ICMP)),
	ROW("icmp: v6 packet too big (2) passes", V6(ICMP6(2, 0), .payload = 48), PASS(ICMP)),
	ROW("icmp: v6 time exceeded (3) passes", V6(ICMP6(3, 0), .payload = 48), PASS(ICMP)),
	ROW("icmp: v6 parameter problem (4) passes", V6(ICMP6(4, 0), .payload = 48), PASS(ICMP)),
	ROW("icmp: v6 type 0 drops", V6(ICMP6(0, 0)), DROP(ICMP)),
	ROW("icmp: v6 type 5 drops", V6(ICMP6(5, 0)), DROP(ICMP)),
	ROW("icmp: v6 echo request drops (echo: false)", V6(ICMP6(128, 0), .payload = 56), DROP(ICMP)),
	ROW("icmp: v6 echo reply without a ping drops", V6(ICMP6(129, 0), .payload = 56), DROP(ICMP)),
	ROW("icmp: v6 MLDv2 report (143) drops",
	  V6(ICMP6(143, 0), EXTS(HBH), .hlim = 1, .payload = 20), DROP(ICMP)),
	ROW("icmp: v6 packet too big behind a fragment header passes",
	  V6(ICMP6(2, 0), EXTS(FRG), .payload = 48), PASS(ICMP)),

	/* 6. neighbour discovery: on-link only */
	ROW("ndp: router solicitation (133), hop limit 255", V6(ICMP6(133, 0), .hlim = 255), PASS(NDP)),
	ROW("ndp: router advertisement (134), hop limit 255",
	  V6(ICMP6(134, 0), .hlim = 255, .payload = 8), PASS(NDP)),
	ROW("ndp: neighbour solicitation (135), hop limit 255",
	  V6(ICMP6(135, 0), .hlim = 255, .payload = 16), PASS(NDP)),
	ROW("ndp: neighbour advertisement (136), hop limit 255",
	  V6(ICMP6(136, 0), .hlim = 255, .payload = 16), PASS(NDP)),
	ROW("ndp: redirect (137), hop limit 255",
	  V6(ICMP6(137, 0), .hlim = 255, .payload = 32), PASS(NDP)),
	ROW("ndp: neighbour solicitation behind hop-by-hop, hop limit 255",
	  V6(ICMP6(135, 0), EXTS(HBH), .hlim = 255, .payload = 16), PASS(NDP)),
	ROW("icmp: neighbour solicitation with hop limit 64 drops",
	  V6(ICMP6(135, 0), .hlim = 64, .payload = 16), DROP(ICMP)),
	ROW("icmp: router advertisement with hop limit 254 drops",
	  V6(ICMP6(134, 0), .hlim = 254, .payload = 8), DROP(ICMP)),
	ROW("icmp: redirect with hop limit 64 drops",
	  V6(ICMP6(137, 0), .hlim = 64, .payload = 32), DROP(ICMP)),
	ROW("icmp: type 132, hop limit 255, drops", V6(ICMP6(132, 0), .hlim = 255), DROP(ICMP)),
	ROW("icmp: type 138, hop limit 255, drops", V6(ICMP6(138, 0), .hlim = 255), DROP(ICMP)),

	/* 1. frames that are not IP */
	ROW("arp: plain", L2(ETHERTYPE_ARP, .payload = 28), PASS(ARP)),
	ROW("arp: in an 802.1Q tag", L2(ETHERTYPE_ARP, TAGS(Q), .payload = 28), PASS(ARP)),
	ROW("arp: in 802.1ad + 802.1Q", L2(ETHERTYPE_ARP, TAGS(AD, Q), .payload = 28), PASS(ARP)),
	ROW("ethertype: LLDP 0x88cc listed, passes", L2(0x88cc, .payload = 46), PASS(ETHERTYPE)),
	ROW("ethertype: LLDP in an 802.1Q tag passes", L2(0x88cc, TAGS(Q), .payload = 46),
	  PASS(ETHERTYPE)),
	ROW("ethertype: 0x88b5 not listed, drops", L2(0x88b5, .payload = 46), DROP(ETHERTYPE)),
	ROW("ethertype: MPLS 0x8847 drops", L2(0x8847, .payload = 46), DROP(ETHERTYPE)),
	ROW("ethertype: 802.3 length field drops", L2(0x002e, .payload = 46), DROP(ETHERTYPE)),
	ROW("ethertype: a third VLAN tag is not parsed, drops",
	  V4(TCP(443, SYN), TAGS(AD, Q, Q)), DROP(ETHERTYPE)),

	/* 3. deny and bans, before anything can pass */
	ROW("denied: v4 host to 443", V4(TCP(443, SYN), FROM(DENY4)), DROP(DENIED)),
	ROW("denied: v4 host to 22", V4(TCP(22, SYN), FROM(DENY4)), DROP(DENIED)),
	ROW("denied: v4 host inside the devops /24, to 22",
	  V4(TCP(22, SYN), FROM(DENY4_IN_DEVOPS)), DROP(DENIED)),
	ROW("denied: v4 host, frag needed", V4(ICMP4(3, 4), FROM(DENY4), .payload = 28),
	  DROP(DENIED)),
	ROW("denied: v4 host, non-first fragment",
	  V4(TCP(443, ACK), FROM(DENY4), .frag = 100, .payload = 64), DROP(DENIED)),
	ROW("denied: v4 host in an 802.1Q tag", V4(TCP(443, SYN), FROM(DENY4), TAGS(Q)),
	  DROP(DENIED)),
	ROW("denied: v6 prefix member to 443", V6(TCP(443, SYN), FROM(DENY6_IN_NET)), DROP(DENIED)),
	ROW("denied: v6 prefix member to udp/53", V6(UDP(53), FROM(DENY6_IN_NET)), DROP(DENIED)),
	ROW("denied: v6 prefix member, neighbour solicitation",
	  V6(ICMP6(135, 0), FROM(DENY6_IN_NET), .hlim = 255, .payload = 16), DROP(DENIED)),
	ROW("banned: v4 host to 443", V4(TCP(443, SYN), FROM(BAN4)), DROP(BANNED)),
	ROW("banned: v4 host, echo request", V4(ICMP4(8, 0), FROM(BAN4)), DROP(BANNED)),
	ROW("banned: v4 devops host to 22", V4(TCP(22, SYN), FROM(DEVOPS4_BANNED)), DROP(BANNED)),
	ROW("banned: v6 prefix member to 443", V6(TCP(443, SYN), FROM(BAN6_IN_NET)), DROP(BANNED)),
	ROW("banned: v6 prefix member to 22", V6(TCP(22, SYN), FROM(BAN6_IN_NET)), DROP(BANNED)),

	/* 4. fragments: only the first carries an L4 header */
	ROW("fragment: v4 non-first fragment to 443",
	  V4(TCP(443, ACK), .frag = 185, .payload = 64), DROP(FRAGMENT)),
	ROW("fragment: v4 last fragment (MF clear, offset 8)",
	  V4(.proto = IPPROTO_TCP, .frag = 1, .payload = 8), DROP(FRAGMENT)),
	ROW("fragment: v4 non-first, shorter than a TCP header",
	  V4(.proto = IPPROTO_TCP, .frag = IPV4_MF | 3, CUT(PKT_L4, 8)), DROP(FRAGMENT)),
	ROW("fragment: v4 non-first ICMP", V4(ICMP4(3, 4), .frag = 2), DROP(FRAGMENT)),
	ROW("fragment: v4 non-first from a devops host",
	  V4(TCP(22, ACK), FROM(DEVOPS4), .frag = 10), DROP(FRAGMENT)),
	ROW("fragment: v4 first fragment (MF, offset 0) judged: tls",
	  V4(TCP(443, SYN), .frag = IPV4_MF), PASS(TLS)),
	ROW("fragment: v4 first fragment judged: ssh from devops",
	  V4(TCP(22, SYN), FROM(DEVOPS4), .frag = IPV4_MF), PASS(SSH)),
	ROW("fragment: v4 first fragment judged: port",
	  V4(UDP(53), .frag = IPV4_MF, .payload = 64), DROP(PORT)),
	ROW("fragment: v4 DF set is not a fragment", V4(TCP(443, SYN), .frag = IPV4_DF), PASS(TLS)),
	ROW("fragment: v6 non-first fragment",
	  V6(TCP(443, ACK), EXTS(FRG), .frag = 185 << 3 | IPV6_FRAG_M, .payload = 64),
	  DROP(FRAGMENT)),
	ROW("fragment: v6 last fragment behind hop-by-hop",
	  V6(.proto = IPPROTO_TCP, EXTS(HBH, FRG), .frag = 1 << 3, .payload = 8), DROP(FRAGMENT)),
	ROW("fragment: v6 non-first ICMPv6",
	  V6(.proto = IPPROTO_ICMPV6, EXTS(FRG), .frag = 2 << 3, .payload = 8), DROP(FRAGMENT)),
	ROW("fragment: v6 first fragment (M, offset 0) judged: tls",
	  V6(TCP(443, SYN), EXTS(FRG), .frag = IPV6_FRAG_M), PASS(TLS)),
	ROW("fragment: v6 atomic fragment judged: ssh from devops",
	  V6(TCP(22, SYN), FROM(DEVOPS6), EXTS(FRG)), PASS(SSH)),
	ROW("fragment: v6 first fragment judged: port",
	  V6(UDP(53), EXTS(FRG), .frag = IPV6_FRAG_M, .payload = 64), DROP(PORT)),

	/* 2. IPv6 extension headers: up to six */
	ROW("ext: hop-by-hop, tls", V6(TCP(443, SYN), EXTS(HBH)), PASS(TLS)),
	ROW("ext: routing, tls", V6(TCP(443, SYN), EXTS(RTG)), PASS(TLS)),
	ROW("ext: destination options, tls", V6(TCP(443, SYN), EXTS(DST)), PASS(TLS)),
	ROW("ext: six headers, tls", V6(TCP(443, SYN), EXTS(HBH, DST, RTG, FRG, DST, DST)),
	  PASS(TLS)),
	ROW("ext: six headers, ssh from devops",
	  V6(TCP(22, SYN), FROM(DEVOPS6), EXTS(HBH, DST, RTG, DST, DST, DST)), PASS(SSH)),
	ROW("malformed: seven extension headers",
	  V6(TCP(443, SYN), EXTS(HBH, DST, RTG, FRG, DST, DST, DST)), DROP(MALFORMED)),

	/* 2. L2 padding after a short datagram is not part of it */
	ROW("padding: 60-byte frame, v4 TLS SYN", V4(TCP(443, SYN), .pad_to = 60), PASS(TLS)),
	ROW("padding: 60-byte frame, v4 SSH from devops",
	  V4(TCP(22, SYN), FROM(DEVOPS4), .pad_to = 60), PASS(SSH)),
	ROW("padding: 60-byte frame, v4 udp/53", V4(UDP(53), .pad_to = 60), DROP(PORT)),
	ROW("padding: 60-byte frame, v4 frag needed", V4(ICMP4(3, 4), .pad_to = 60), PASS(ICMP)),
	ROW("padding: v6 TLS SYN with 32 bytes of padding", V6(TCP(443, SYN), .pad_to = 106),
	  PASS(TLS)),

	/* 1.-2. truncated or inconsistent at every header */
	/* Frames shorter than an Ethernet header cannot be tested: test_run
	 * (and bpf_xdp_adjust_head/tail) refuse them on this kernel. */
	ROW("malformed: IPv4 ethertype and nothing after it",
	  V4(TCP(443, SYN), CUT(PKT_L3, 0)), DROP(MALFORMED)),
	ROW("malformed: 802.1Q TPID and nothing after it",
	  V4(TCP(443, SYN), TAGS(Q), CUT(PKT_TAG(0), 0)), DROP(MALFORMED)),
	ROW("malformed: 802.1Q tag cut (2 of 4 bytes)", V4(TCP(443, SYN), TAGS(Q), CUT(PKT_TAG(0), 2)),
	  DROP(MALFORMED)),
	ROW("malformed: inner tag cut (802.1ad + 802.1Q)",
	  V4(TCP(443, SYN), TAGS(AD, Q), CUT(PKT_TAG(1), 3)), DROP(MALFORMED)),
	ROW("malformed: ARP ethertype in a cut inner tag",
	  L2(ETHERTYPE_ARP, TAGS(AD, Q), .payload = 28, CUT(PKT_TAG(1), 2)), DROP(MALFORMED)),
	ROW("malformed: IPv4 header cut (19 of 20 bytes)", V4(TCP(443, SYN), CUT(PKT_L3, 19)),
	  DROP(MALFORMED)),
	ROW("malformed: IPv4 header cut after a VLAN tag",
	  V4(TCP(443, SYN), TAGS(Q), CUT(PKT_L3, 10)), DROP(MALFORMED)),
	ROW("malformed: IPv4 options beyond tot_len (ihl 8, tot_len 24)",
	  V4(TCP(22, SYN), FROM(DEVOPS4), .ip_opts = 12, CUT(PKT_L3, 24)), DROP(MALFORMED)),
	ROW("malformed: IPv4 options beyond the frame (ihl 8, 24 bytes, tot_len 32)",
	  V4(TCP(22, SYN), FROM(DEVOPS4), .ip_opts = 12, CUT(PKT_L3, 24), .len_adj = 8),
	  DROP(MALFORMED)),
	ROW("malformed: IPv4 tot_len one past the frame", V4(TCP(443, SYN), .len_adj = 1),
	  DROP(MALFORMED)),
	ROW("malformed: IPv4 tot_len 19, shorter than its header",
	  V4(TCP(443, SYN), .len_adj = -21), DROP(MALFORMED)),
	ROW("malformed: IPv4 tot_len 0", V4(TCP(443, SYN), .len_adj = -40), DROP(MALFORMED)),
	/* Protocols moat does not parse further, and non-first fragments:
	 * nothing after the IP checks would notice the damage. */
	ROW("malformed: IPv4 tot_len 16 < ihl 5, GRE", V4(.proto = IPPROTO_GRE, .payload = 24,
	  .len_adj = -28), DROP(MALFORMED)),
	ROW("malformed: IPv4 tot_len 16 < ihl 5, non-first fragment",
	  V4(.proto = IPPROTO_TCP, .frag = 100, CUT(PKT_L4, 8), .len_adj = -12), DROP(MALFORMED)),
	ROW("malformed: IPv4 ethertype, version 6", V4(TCP(443, SYN), .mangle = ip_version_swapped),
	  DROP(MALFORMED)),
	ROW("malformed: IPv4 ihl 4", V4(UDP(53), .mangle = ihl_4), DROP(MALFORMED)),
	ROW("malformed: IPv4 ihl 0", V4(UDP(53), .mangle = ihl_0), DROP(MALFORMED)),
	ROW("malformed: IPv6 header cut (39 of 40 bytes)", V6(TCP(443, SYN), CUT(PKT_L3, 39)),
	  DROP(MALFORMED)),
	ROW("malformed: IPv6 payload_len one past the frame", V6(TCP(443, SYN), .len_adj = 1),
	  DROP(MALFORMED)),
	ROW("malformed: IPv6 ethertype, version 4", V6(TCP(443, SYN), .mangle = ip_version_swapped),
	  DROP(MALFORMED)),
	ROW("malformed: hop-by-hop cut (1 of 8 bytes)",
	  V6(TCP(443, SYN), EXTS(HBH), CUT(PKT_EXT(0), 1)), DROP(MALFORMED)),
	ROW("malformed: hop-by-hop cut (5 of 8 bytes)",
	  V6(TCP(443, SYN), EXTS(HBH), CUT(PKT_EXT(0), 5)), DROP(MALFORMED)),
	ROW("malformed: routing header cut (12 of 24 bytes)",
	  V6(TCP(443, SYN), EXTS(RTG), CUT(PKT_EXT(0), 12)), DROP(MALFORMED)),
	ROW("malformed: destination options cut (8 of 16 bytes)",
	  V6(TCP(443, SYN), EXTS(DST), CUT(PKT_EXT(0), 8)), DROP(MALFORMED)),
	ROW("malformed: destination options cut (8 of 16 bytes), SCTP behind",
	  V6(.proto = IPPROTO_SCTP, EXTS(DST), CUT(PKT_EXT(0), 8)), DROP(MALFORMED)),
	ROW("malformed: fragment header cut (7 of 8 bytes)",
	  V6(TCP(443, SYN), EXTS(FRG), CUT(PKT_EXT(0), 7)), DROP(MALFORMED)),
	ROW("malformed: hop-by-hop cut (5 of 8) before dstopts",
	  V6(TCP(443, SYN), EXTS(HBH, DST), CUT(PKT_EXT(0), 5)), DROP(MALFORMED)),
	ROW("malformed: second header (dstopts) cut (1 of 16)",
	  V6(TCP(443, SYN), EXTS(HBH, DST), CUT(PKT_EXT(1), 1)), DROP(MALFORMED)),
	ROW("malformed: sixth header (fragment) cut (4 of 8)",
	  V6(TCP(443, SYN), EXTS(HBH, DST, RTG, DST, DST, FRG), CUT(PKT_EXT(5), 4)),
	  DROP(MALFORMED)),
	ROW("malformed: v4 TCP header cut (19 of 20 bytes)", V4(TCP(443, SYN), CUT(PKT_L4, 19)),
	  DROP(MALFORMED)),
	ROW("malformed: v6 TCP header cut (19 of 20 bytes)", V6(TCP(443, SYN), CUT(PKT_L4, 19)),
	  DROP(MALFORMED)),
	ROW("malformed: v6 TCP header cut behind extension headers",
	  V6(TCP(22, SYN), FROM(DEVOPS6), EXTS(HBH, RTG), CUT(PKT_L4, 12)), DROP(MALFORMED)),
	ROW("malformed: v4 TCP options cut (doff 10, 32 of 40 bytes)",
	  V4(TCP(443, SYN), .tcp_opts = 20, CUT(PKT_L4, 32)), DROP(MALFORMED)),
	ROW("malformed: v6 TCP options cut (doff 10, 20 of 40 bytes)",
	  V6(TCP(443, SYN), .tcp_opts = 20, CUT(PKT_L4, 20)), DROP(MALFORMED)),
	ROW("malformed: v4 TCP doff 10 in a 20-byte segment",
	  V4(TCP(443, SYN), .mangle = doff_10), DROP(MALFORMED)),
	ROW("malformed: v4 TCP doff 10 past tot_len, frame padded",
	  V4(TCP(443, SYN), .mangle = doff_10, .pad_to = 80), DROP(MALFORMED)),
	ROW("malformed: v4 TCP doff 4", V4(TCP(443, SYN), .mangle = doff_4), DROP(MALFORMED)),
	ROW("malformed: v4 TCP header running into L2 padding",
	  V4(TCP(443, SYN), .len_adj = -4), DROP(MALFORMED)),
	ROW("malformed: v6 TCP header running into L2 padding",
	  V6(TCP(443, SYN), .len_adj = -4), DROP(MALFORMED)),
	ROW("malformed: v4 UDP header cut (7 of 8 bytes)", V4(UDP(53), CUT(PKT_L4, 7)),
	  DROP(MALFORMED)),
	ROW("malformed: v6 UDP header cut (7 of 8 bytes)", V6(UDP(443), CUT(PKT_L4, 7)),
	  DROP(MALFORMED)),
	ROW("malformed: v4 UDP header running into L2 padding",
	  V4(UDP(53), .len_adj = -2, .pad_to = 60), DROP(MALFORMED)),
	ROW("malformed: v4 ICMP header cut (7 of 8 bytes)", V4(ICMP4(3, 4), CUT(PKT_L4, 7)),
	  DROP(MALFORMED)),
	ROW("malformed: v6 ICMPv6 header cut (4 of 8 bytes)", V6(ICMP6(2, 0), CUT(PKT_L4, 4)),
	  DROP(MALFORMED)),
	ROW("malformed: v4 ICMP header running into L2 padding",
	  V4(ICMP4(3, 4), .len_adj = -1, .pad_to = 60), DROP(MALFORMED)),
	ROW("malformed: v6 NDP header running into L2 padding",
	  V6(ICMP6(135, 0), .hlim = 255, .len_adj = -4), DROP(MALFORMED)),
	ROW("denied: judged before its truncated TCP header is looked at",
	  V4(TCP(443, SYN), FROM(DENY4), CUT(PKT_L4, 10)), DROP(DENIED)),

	/* 7. TLS validation (tls.validate, default on). A connection is the
	 * host's SYN-ACK away from having state: ACCEPTED4/6 is the
	 * handshake, CL4/6 a client segment acknowledging the host's ISN,
	 * HOST4/6 the host's own packets (egress). */
	ROW("not_tls: TCP Fast Open SYN carrying HTTP",
	  V4(TCP(443, SYN), DATA(HTTP_GET)), DROP(NOT_TLS)),
	ROW("tls: TCP Fast Open SYN carrying a TLS 1.2 ClientHello",
	  V6(TCP(443, SYN), DATA(HELLO_TLS12)), PASS(TLS)),
	ROW("tls: first payload a TLS 1.2 ClientHello",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HELLO_TLS12)), PASS(TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("not_tls: first payload HTTP",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("not_tls: the rest of a rejected connection drops",
	  V4(TCP(443, ACK), .seq = FIRST, .ack = SRV_ISN + 1), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)) })),
	ROW("tls: a pure ACK before the first payload passes",
	  V6(TCP(8443, ACK), .seq = FIRST, .ack = SRV_ISN + 1), PASS(TLS),
	  .pre = PRE(ACCEPTED6(8443, STRANGER6))),
	ROW("not_tls: first payload a TLS application-data record",
	  CL6(443, STRANGER6, .seq = FIRST, DATA("\x17\x03\x03\x00\x20" HTTP_GET)),
	  DROP(NOT_TLS), .pre = PRE(ACCEPTED6(443, STRANGER6))),
	ROW("tls_version: first payload a TLS 1.0 ClientHello",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HELLO_TLS10)), DROP(TLS_VERSION),
	  .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("tls_version: first payload an SSLv2-format hello",
	  CL6(443, STRANGER6, .seq = FIRST, DATA(SSLV2_HELLO)), DROP(TLS_VERSION),
	  .pre = PRE(ACCEPTED6(443, STRANGER6))),
	ROW("tls_version: client_version 2.0 (SSL 2 in a TLS record)",
	  CL4(443, STRANGER4, .seq = FIRST, DATA("\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x02\x00")),
	  DROP(TLS_VERSION), .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("not_tls: a Fast Open SYN with an urgent pointer",
	  V4(TCP(443, SYN | URG), DATA(HELLO_TLS12)), DROP(NOT_TLS)),
	ROW("not_tls: 11 magic bytes (record and handshake lengths 0) then HTTP",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(MAGIC11 HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("not_tls: a record longer than the ClientHello it holds",
	  CL4(443, STRANGER4, .seq = FIRST, DATA("\x16\x03\x01\x01\x00\x01\x00\x00\x30\x03\x03")),
	  DROP(NOT_TLS), .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("tls: a first segment of 5 bytes (the record header) passes",
	  CL4(443, STRANGER4, .seq = FIRST, DATA("\x16\x03\x01\x06\xb8")), PASS(TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("tls: ... and the rest of that ClientHello after it",
	  CL4(443, STRANGER4, .seq = FIRST + 5, DATA("\x01\x00\x06\xb4\x03\x03" "0123456789")),
	  PASS(TLS), .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA("\x16\x03\x01\x06\xb8")) })),
	ROW("not_tls: 5 bytes of record header, then HTTP",
	  CL4(443, STRANGER4, .seq = FIRST + 5, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA("\x16\x03\x01\x06\xb8")) })),
	ROW("not_tls: a first segment disagreeing with the bytes sent before",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HELLO_TLS12)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA("\x16\x03\x01\x06\xb8")) })),
	ROW("not_tls: a segment starting inside the head, with a hole before it",
	  CL4(443, STRANGER4, .seq = FIRST + 3, DATA("\x00\x40\x01\x00\x00\x3c\x03\x03")),
	  DROP(NOT_TLS), .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("not_tls: a segment starting before the first byte is judged from it",
	  CL4(443, STRANGER4, .seq = CLI_ISN, DATA(HELLO_TLS12)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("tls: one byte before the first, then a ClientHello",
	  CL4(443, STRANGER4, .seq = CLI_ISN, DATA("x" HELLO_TLS12)), PASS(TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("tls: a later segment arriving before the first passes (the host holds it)",
	  CL4(443, STRANGER4, .seq = FIRST + 500, DATA(HTTP_GET)), PASS(TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("not_tls: the first segment still judged after a later one",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST + 500, DATA(HTTP_GET)) })),
	ROW("tls: first 1448-byte segment of a 1.7 KB ClientHello",
	  CL6(443, STRANGER6, .seq = FIRST, .data = big_hello, .payload = sizeof(big_hello)),
	  PASS(TLS), .pre = PRE(ACCEPTED6(443, STRANGER6))),
	ROW("tls: the rest of a confirmed connection passes, whatever its bytes",
	  CL6(443, STRANGER6, .seq = FIRST + sizeof(big_hello), DATA(HTTP_GET)), PASS(TLS),
	  .pre = PRE(ACCEPTED6(443, STRANGER6),
	      { STEP_XDP, CL6(443, STRANGER6, .seq = FIRST, .data = big_hello,
			      .payload = sizeof(big_hello)) },
	      HOST6(443, STRANGER6, ACK, .seq = SRV_ISN + 1, .ack = FIRST + sizeof(big_hello)))),
	ROW("tls: a confirmed connection's retransmission passes, whatever its bytes",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)), PASS(TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA(HELLO_TLS12)) },
	      HOST4(443, STRANGER4, ACK, .seq = SRV_ISN + 1, .ack = FIRST + 11))),

	ROW("tls: a host RST ends nothing (moatd's sweep does, once the socket is gone)",
	  CL4(443, STRANGER4, .seq = FIRST + 11, DATA(HTTP_GET)), PASS(TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA(HELLO_TLS12)) },
	      HOST4(443, STRANGER4, ACK, .seq = SRV_ISN + 1, .ack = FIRST + 11),
	      HOST4(443, STRANGER4, RST | ACK, .seq = SRV_ISN + 1, .ack = FIRST + 11))),

	/* Attacks on the connection state (issue: one spoofed packet must
	 * change nothing). The attacker owns the connection, or is blind. */
	ROW("attack: SYN data the host discards, then HTTP at ISN+1",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE({ STEP_XDP, V4(TCP(443, SYN), .seq = CLI_ISN, DATA(HELLO_TLS12)) },
	      HOST4(443, STRANGER4, SYN | ACK, .seq = SRV_ISN, .ack = CLI_ISN + 1),
	      { STEP_XDP, V4(TCP(443, ACK), .seq = FIRST, .ack = SRV_ISN + 1) })),
	ROW("tls: SYN data the host took (Fast Open): the connection is confirmed",
	  CL4(443, STRANGER4, .seq = FIRST + sizeof(HELLO_TLS12) - 1, DATA(HTTP_GET)), PASS(TLS),
	  .pre = PRE({ STEP_XDP, V4(TCP(443, SYN), .seq = CLI_ISN, DATA(HELLO_TLS12)) },
	      HOST4(443, STRANGER4, SYN | ACK, .seq = SRV_ISN,
		    .ack = FIRST + sizeof(HELLO_TLS12) - 1))),
	ROW("attack: a ClientHello as urgent data (the kernel would take a byte out)",
	  CL4(443, STRANGER4, .seq = FIRST, .flags = ACK | PSH | URG, DATA(HELLO_TLS12)),
	  DROP(NOT_TLS), .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("attack: an urgent pointer into the head from a pure ACK",
	  V4(TCP(443, ACK | URG), .seq = CLI_ISN, .ack = SRV_ISN + 1), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4))),
	ROW("attack: an urgent pointer before the client proved it saw the SYN-ACK",
	  V4(TCP(443, ACK | URG), .seq = FIRST, .ack = 7), DROP(NOT_TLS),
	  .pre = PRE({ STEP_XDP, V4(TCP(443, SYN), .seq = CLI_ISN) },
	      HOST4(443, STRANGER4, SYN | ACK, .seq = SRV_ISN, .ack = CLI_ISN + 1))),
	ROW("attack: a bad ACK in SYN_RECV (the host RSTs it) deletes nothing",
	  CL4(443, STRANGER4, .seq = FIRST - 11, DATA(HELLO_TLS12 HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE({ STEP_XDP, V4(TCP(443, SYN), .seq = CLI_ISN) },
	      HOST4(443, STRANGER4, SYN | ACK, .seq = SRV_ISN, .ack = CLI_ISN + 1),
	      { STEP_XDP, V4(TCP(443, ACK), .seq = FIRST, .ack = SRV_ISN + 2) },
	      HOST4(443, STRANGER4, RST, .seq = SRV_ISN + 2),
	      { STEP_XDP, V4(TCP(443, ACK), .seq = FIRST, .ack = SRV_ISN + 1) })),
	ROW("attack: RST far out of window after the handshake, then HTTP",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, V4(TCP(443, RST), .seq = 0x7fff0000) })),
	ROW("attack: RST far out of window after not_tls, then the rest",
	  V4(TCP(443, ACK), .seq = FIRST, .ack = SRV_ISN + 1), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)) },
	      { STEP_XDP, V4(TCP(443, RST | ACK), .seq = 0x7fff0000, .ack = SRV_ISN + 1) })),
	ROW("attack: a decoy ClientHello the host throws away (bad checksum), then HTTP",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA(HELLO_TLS12)) })),
	ROW("attack: a decoy ClientHello without ACK flag, then HTTP",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, V4(TCP(443, PSH), .seq = FIRST, DATA(HELLO_TLS12)) })),
	ROW("attack: a decoy ClientHello in a first fragment, then HTTP",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, .frag = IPV4_MF,
			      DATA(HELLO_TLS12)) })),
	ROW("attack: re-SYN with a ClientHello on a not_tls connection",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)) },
	      { STEP_XDP, V4(TCP(443, SYN), .seq = CLI_ISN, DATA(HELLO_TLS12)) })),
	ROW("attack: the host answering a new SYN on the tuple judges it afresh",
	  CL4(443, STRANGER4, .seq = 3001, .ack = 9001, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA(HELLO_TLS12)) },
	      HOST4(443, STRANGER4, ACK, .seq = SRV_ISN + 1, .ack = FIRST + 11),
	      { STEP_XDP, V4(TCP(443, SYN), .seq = 3000) },
	      HOST4(443, STRANGER4, SYN | ACK, .seq = 9000, .ack = 3001),
	      { STEP_XDP, V4(TCP(443, ACK), .seq = 3001, .ack = 9001) })),
	ROW("attack (blind): a spoofed SYN with a byte of data leaves a live connection alone",
	  CL4(443, STRANGER4, .seq = FIRST + 11, DATA(HTTP_GET)), PASS(TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA(HELLO_TLS12)) },
	      HOST4(443, STRANGER4, ACK, .seq = SRV_ISN + 1, .ack = FIRST + 11),
	      { STEP_XDP, V4(TCP(443, SYN), .seq = 77, DATA("x")) })),
	ROW("attack (blind): a spoofed bad first payload cannot mark the connection bad",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HELLO_TLS12)), PASS(TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, .ack = 0x12345678,
			      DATA(HTTP_GET)) })),
	ROW("attack (blind): a spoofed ClientHello cannot fix the head either",
	  CL4(443, STRANGER4, .seq = FIRST, DATA("\x16\x03\x01\x06\xb8" "\x01\x00\x06\xb4\x03\x03")),
	  PASS(TLS),
	  .pre = PRE(ACCEPTED4(443, STRANGER4),
	      { STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, .ack = 0x12345678,
			      DATA(HELLO_TLS12)) })),
	ROW("attack (blind): no SYN-ACK, no state: the handshake of a spoofed SYN",
	  CL4(443, STRANGER4, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_TLS),
	  .pre = PRE({ STEP_XDP, V4(TCP(443, SYN), .seq = CLI_ISN) },
	      { STEP_XDP, V4(TCP(443, ACK), .seq = FIRST, .ack = SRV_ISN + 1) })),
	ROW("not_tls: data with no state is judged as a new connection (fail closed)",
	  V4(TCP(443, ACK | PSH), .payload = 100), DROP(NOT_TLS)),
	ROW("tls: a connection that predates moat (seeded from the socket table) passes",
	  V4(TCP(443, ACK | PSH), .payload = 100), PASS(TLS),
	  .pre = PRE({ STEP_SEED, V4(TCP(443, ACK)) })),
	ROW("not_tls: a ClientHello with no state drops too (no first byte to judge it at)",
	  V4(TCP(443, ACK | PSH), .seq = 9, DATA(HELLO_TLS12)), DROP(NOT_TLS)),
	ROW("not_tls: an urgent pointer with no state drops, even with no data",
	  V4(TCP(443, ACK | URG), .seq = 9), DROP(NOT_TLS)),

	/* 8. SSH validation (ssh.validate, default on) */
	ROW("ssh: first payload an SSH-2.0 banner",
	  CL4(22, DEVOPS4, .seq = FIRST, DATA(SSH_BANNER)), PASS(SSH),
	  .pre = PRE(ACCEPTED4(22, DEVOPS4))),
	ROW("not_ssh: first payload HTTP",
	  CL6(2222, DEVOPS6, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_SSH),
	  .pre = PRE(ACCEPTED6(2222, DEVOPS6))),
	ROW("not_ssh: SSH-2.0 without the dash",
	  CL4(22, DEVOPS4, .seq = FIRST, DATA("SSH-2.0_x\r\n")), DROP(NOT_SSH),
	  .pre = PRE(ACCEPTED4(22, DEVOPS4))),
	ROW("not_ssh: SSH-1.99 banner",
	  CL4(22, DEVOPS4_IN_NET, .seq = FIRST, DATA("SSH-1.99-x\r\n")), DROP(NOT_SSH),
	  .pre = PRE(ACCEPTED4(22, DEVOPS4_IN_NET))),
	ROW("ssh: a banner in two segments, 'SSH-' then '2.0-...'",
	  CL4(22, DEVOPS4, .seq = FIRST + 4, DATA("2.0-OpenSSH_9.2\r\n")), PASS(SSH),
	  .pre = PRE(ACCEPTED4(22, DEVOPS4),
	      { STEP_XDP, CL4(22, DEVOPS4, .seq = FIRST, DATA("SSH-")) })),
	ROW("ssh: the client ACKs the host's banner with its own",
	  CL4(22, DEVOPS4, .seq = FIRST, .ack = SRV_ISN + 1 + 22, DATA(SSH_BANNER)), PASS(SSH),
	  .pre = PRE(ACCEPTED4(22, DEVOPS4))),
	ROW("attack: SSH SYN data the host discards, then HTTP at ISN+1",
	  CL4(22, DEVOPS4, .seq = FIRST, DATA(HTTP_GET)), DROP(NOT_SSH),
	  .pre = PRE({ STEP_XDP, V4(TCP(22, SYN), FROM(DEVOPS4), .seq = CLI_ISN,
			   DATA(SSH_BANNER)) },
	      HOST4(22, DEVOPS4, SYN | ACK, .seq = SRV_ISN, .ack = CLI_ISN + 1),
	      { STEP_XDP, V4(TCP(22, ACK), FROM(DEVOPS4), .seq = FIRST, .ack = SRV_ISN + 1) })),
	ROW("attack (blind): a spoofed SYN from a devops source leaves the SSH session alone",
	  CL4(22, DEVOPS4, .seq = FIRST + 200, DATA("\x00\x00\x01\x0c" "encrypted")), PASS(SSH),
	  .pre = PRE(ACCEPTED4(22, DEVOPS4),
	      { STEP_XDP, CL4(22, DEVOPS4, .seq = FIRST, DATA(SSH_BANNER)) },
	      HOST4(22, DEVOPS4, ACK, .seq = SRV_ISN + 1, .ack = FIRST + 8),
	      { STEP_XDP, V4(TCP(22, SYN), FROM(DEVOPS4), .seq = 4242, DATA("x")) })),

	/* 5. replies to flows the host opened (recorded by the egress program) */
	ROW("reply: v4 SYN-ACK to the host's SYN",
	  V4(TCP(HOST_PORT, SYN | ACK), .sport = 443), PASS(REPLY),
	  .pre = PRE(EGRESS4(TCP(443, SYN), .sport = HOST_PORT))),
	ROW("reply: v6 data from the host's connection to tcp/80",
	  V6(TCP(HOST_PORT + 1, ACK | PSH), .sport = 80, .payload = 200), PASS(REPLY),
	  .pre = PRE(EGRESS6(TCP(80, SYN), .sport = HOST_PORT + 1))),
	ROW("reply: v4 DNS answer",
	  V4(UDP(HOST_PORT + 2), .sport = 53, .payload = 64), PASS(REPLY),
	  .pre = PRE(EGRESS4(UDP(53), .sport = HOST_PORT + 2, .payload = 32))),
	ROW("reply: v6 DNS answer",
	  V6(UDP(HOST_PORT + 6), .sport = 53, .payload = 64), PASS(REPLY),
	  .pre = PRE(EGRESS6(UDP(53), .sport = HOST_PORT + 6, .payload = 32))),
	ROW("reply: v4 echo reply to the host's ping",
	  V4(ICMP4(0, 0), .icmp_id = 777, .payload = 56), PASS(REPLY),
	  .pre = PRE(EGRESS4(ICMP4(8, 0), .icmp_id = 777, .payload = 56))),
	ROW("reply: v6 echo reply to the host's ping",
	  V6(ICMP6(129, 0), .icmp_id = 778, .payload = 56), PASS(REPLY),
	  .pre = PRE(EGRESS6(ICMP6(128, 0), .icmp_id = 778, .payload = 56))),
	ROW("malformed: a UDP length beyond the datagram",
	  V4(UDP(HOST_PORT + 10), .sport = 53, .payload = 64, .mangle = udp_len_long),
	  DROP(MALFORMED)),
	ROW("malformed: a UDP length below its header",
	  V6(UDP(HOST_PORT + 11), .sport = 53, .payload = 64, .mangle = udp_len_short),
	  DROP(MALFORMED)),
	ROW("port: DNS answer from another source port opens nothing",
	  V4(UDP(HOST_PORT + 3), .sport = 5353, .payload = 64), DROP(PORT),
	  .pre = PRE(EGRESS4(UDP(53), .sport = HOST_PORT + 3, .payload = 32))),
	ROW("port: spoofed source port 443 to a port the host never used",
	  V4(TCP(HOST_PORT + 4, SYN | ACK), .sport = 443), DROP(PORT)),
	ROW("port: the host answering a SYN opens no flow",
	  V4(TCP(HOST_PORT + 5, ACK), .sport = 80), DROP(PORT),
	  .pre = PRE(EGRESS4(TCP(80, SYN | ACK), .sport = HOST_PORT + 5))),
	ROW("attack (blind): a RST out of window leaves the host's flow alone",
	  V4(TCP(HOST_PORT + 7, ACK | PSH), .sport = 443, .seq = 7001, .payload = 100), PASS(REPLY),
	  .pre = PRE(EGRESS4(TCP(443, SYN), .sport = HOST_PORT + 7, .seq = 100),
	      { STEP_XDP, V4(TCP(HOST_PORT + 7, SYN | ACK), .sport = 443, .seq = 7000, .ack = 101) },
	      EGRESS4(TCP(443, ACK), .sport = HOST_PORT + 7, .seq = 101, .ack = 7001),
	      { STEP_XDP, V4(TCP(HOST_PORT + 7, RST), .sport = 443, .seq = 0x40000000) })),
	ROW("reply: a RST exactly at the host's last ACK ends the flow",
	  V4(TCP(HOST_PORT + 8, ACK | PSH), .sport = 443, .seq = 7001, .payload = 100), DROP(PORT),
	  .pre = PRE(EGRESS4(TCP(443, SYN), .sport = HOST_PORT + 8, .seq = 100),
	      { STEP_XDP, V4(TCP(HOST_PORT + 8, SYN | ACK), .sport = 443, .seq = 7000, .ack = 101) },
	      EGRESS4(TCP(443, ACK), .sport = HOST_PORT + 8, .seq = 101, .ack = 7001),
	      { STEP_XDP, V4(TCP(HOST_PORT + 8, RST), .sport = 443, .seq = 7001) })),
	ROW("attack (blind): a RST before the host ever ACKed leaves the flow alone",
	  V6(TCP(HOST_PORT + 9, SYN | ACK), .sport = 443, .seq = 7000, .ack = 101), PASS(REPLY),
	  .pre = PRE(EGRESS6(TCP(443, SYN), .sport = HOST_PORT + 9, .seq = 100),
	      { STEP_XDP, V6(TCP(HOST_PORT + 9, RST), .sport = 443, .seq = 0) })),
	ROW("icmp: echo reply with another identifier drops",
	  V4(ICMP4(0, 0), .icmp_id = 780), DROP(ICMP),
	  .pre = PRE(EGRESS4(ICMP4(8, 0), .icmp_id = 779))),
};

/* IPv6 prefixes that cover all of IPv4-mapped space hold no IPv4 source. */
static const char yaml_families[] =
	"interfaces: [lo]\n"
	"ssh:\n"
	"  ports: [22]\n"
	"  devops:\n"
	"    - { cidr: \"::/0\", name: all6 }\n"
	"    - { cidr: " DEVOPS4 "/32, name: alice }\n"
	"deny: [\"::/1\"]\n";

static const struct row family_rows[] = {
	ROW("families: devops ::/0 lets a v6 stranger in", V6(TCP(22, SYN), FROM("fd00::77")),
	  PASS(SSH)),
	ROW("families: devops ::/0 is no IPv4 entry", V4(TCP(22, SYN)), DROP(SSH_SOURCE)),
	ROW("families: the IPv4 devops host still passes", V4(TCP(22, SYN), FROM(DEVOPS4)),
	  PASS(SSH)),
	ROW("families: deny ::/1 drops a v6 source in it", V6(TCP(443, SYN), FROM("2001:db8::9")),
	  DROP(DENIED)),
	ROW("families: deny ::/1 leaves IPv4 alone", V4(TCP(443, SYN)), PASS(TLS)),
	ROW("families: deny ::/1 leaves a v6 source outside it alone",
	  V6(TCP(443, SYN), FROM("fd00::1")), PASS(TLS)),
};

/* QUIC v1 long header (Initial): header form and fixed bits, version 1. */
#define QUIC_INITIAL	"\xc3\x00\x00\x00\x01\x08"
#define QUIC_SHORT	"\x43\x11\x22\x33\x44\x55"

/* With icmp.echo: echo requests pass, the rest of the ICMP policy holds.
 * With tls.quic: UDP to a TLS port passes as a QUIC long-header packet. */
static const struct row echo_rows[] = {
	ROW("tls: v4 QUIC Initial (long header) to udp/443", V4(UDP(443), DATA(QUIC_INITIAL)),
	  PASS(TLS)),
	ROW("tls: v6 QUIC Initial (long header) to udp/8443", V6(UDP(8443), DATA(QUIC_INITIAL)),
	  PASS(TLS)),
	ROW("not_tls: a QUIC first byte with no room for its version", V4(UDP(443), DATA("\xc3\x00\x00")),
	  DROP(NOT_TLS)),
	ROW("not_tls: QUIC short header without a flow", V4(UDP(443), DATA(QUIC_SHORT)),
	  DROP(NOT_TLS)),
	ROW("not_tls: empty UDP datagram to udp/443", V6(UDP(443)), DROP(NOT_TLS)),
	ROW("port: QUIC long header to a port that is not TLS", V4(UDP(4433), DATA(QUIC_INITIAL)),
	  DROP(PORT)),
	ROW("icmp: v4 echo request passes", V4(ICMP4(8, 0), .payload = 56), PASS(ICMP)),
	ROW("icmp: v6 echo request passes", V6(ICMP6(128, 0), .payload = 56), PASS(ICMP)),
	ROW("icmp: v4 timestamp still drops", V4(ICMP4(13, 0), .payload = 12), DROP(ICMP)),
	ROW("icmp: v6 echo reply without a ping still drops", V6(ICMP6(129, 0)), DROP(ICMP)),
	ROW("denied: v4 echo request", V4(ICMP4(8, 0), FROM(DENY4)), DROP(DENIED)),
	ROW("banned: v6 echo request", V6(ICMP6(128, 0), FROM(BAN6_IN_NET)), DROP(BANNED)),
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* One generation under test and the rows it judges. */
struct gen {
	const char *label;
	const char *yaml;	/* NULL: yaml_fmt with mode, quic and echo */
	const char *mode;
	const char *echo;
	const char *quic;
	__u32 slot;
	const struct row *rows;
	size_t n_rows;
	struct moat_gen g;
	struct moat_pins maps;
	int xdp_fd, egress_fd;
};

static int test_no;
static int failures;

static int add_entry(struct moat_table t, const char *cidr, __u64 expires_ns, __u32 origin)
{
	int err = test_table_add(t, cidr, expires_ns, origin, "prog_test");

	if (err)
		fprintf(stderr, "# couldn't add %s: %s\n", cidr, strerror(-err));
	return err;
}

/* Loads and fills a generation, then what moatctl and the inspector would add. */
static int gen_setup(struct gen *gen, char *err, size_t errlen)
{
	char yaml[4096];
	int ret;

	if (gen->yaml)
		snprintf(yaml, sizeof(yaml), "%s", gen->yaml);
	else
		snprintf(yaml, sizeof(yaml), yaml_fmt, gen->mode, gen->quic, gen->echo);
	ret = test_gen_load(&gen->g, "prog_test.yaml", yaml, &gen->slot, 1, NULL, err, errlen);
	if (ret)
		return ret;
	moat_gen_maps(&gen->g, &gen->maps);
	gen->xdp_fd = moat_gen_prog_fd(&gen->g, 0);
	gen->egress_fd = moat_gen_egress_fd(&gen->g, 0);

	ret = add_entry(moat_pins_ban(&gen->maps), BAN4, 0, MOAT_ORIGIN_INSPECTOR) ?:
	      add_entry(moat_pins_ban(&gen->maps), BAN6_NET, 0, MOAT_ORIGIN_RUNTIME) ?:
	      add_entry(moat_pins_ban(&gen->maps), DEVOPS4_BANNED, 0, MOAT_ORIGIN_RUNTIME) ?:
	      add_entry(moat_pins_ban(&gen->maps), DENY4, 0, MOAT_ORIGIN_RUNTIME) ?:
	      /* expires_ns 1: the earliest instant, long past */
	      add_entry(moat_pins_devops(&gen->maps), RT_EXPIRED4, 1, MOAT_ORIGIN_RUNTIME) ?:
	      add_entry(moat_pins_devops(&gen->maps), RT_EXPIRED6_NET, 1, MOAT_ORIGIN_RUNTIME);
	if (ret)
		snprintf(err, errlen, "couldn't add run-time table entries: %s", strerror(-ret));
	return ret;
}

/* A row's packet with the row's own ports, so rows share no state. */
static void row_spec(const struct pkt_spec *in, size_t row_idx, struct pkt_spec *out)
{
	*out = *in;
	if (!out->sport)
		out->sport = 20000 + row_idx;
	if (!out->icmp_id)
		out->icmp_id = 20000 + row_idx;
	if (out->dport == ROWPORT)
		out->dport = 20000 + row_idx;
}

/* STEP_SEED: the frame's connection into conns, as one that predates moat. */
static int seed_conn(const struct gen *gen, const struct pkt_buf *f, bool v6)
{
	struct moat_conn_locked v = { .c = { .state = MOAT_CONN_OK, .flags = MOAT_CONN_F_SEEDED } };
	const uint8_t *l3 = f->buf + f->off[PKT_L3], *l4 = f->buf + f->off[PKT_L4];
	struct moat_flow_key k = { .proto = IPPROTO_TCP };

	if (v6) {
		memcpy(&k.remote, l3 + 8, 16);
		memcpy(&k.local, l3 + 24, 16);
	} else {
		k.remote.a[2] = k.local.a[2] = htonl(0xffff);
		memcpy(&k.remote.a[3], l3 + 12, 4);
		memcpy(&k.local.a[3], l3 + 16, 4);
	}
	memcpy(&k.remote_port, l4, 2);
	memcpy(&k.local_port, l4 + 2, 2);
	return bpf_map_update_elem(gen->maps.conns, &k, &v, BPF_ANY) ? -errno : 0;
}

static const char *action_name(__u32 a)
{
	return a == XDP_PASS ? "XDP_PASS" : a == XDP_DROP ? "XDP_DROP" : "XDP_?";
}

/* "drop/malformed +1 pkt +54 B" for every counter that moved, into buf. */
static void describe_moves(const struct moat_counter *before, const struct moat_counter *after,
			   char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (__u32 k = 0; k < MOAT_STATS_ENTRIES && n < len; k++) {
		__u64 dp = after[k].packets - before[k].packets;
		__u64 db = after[k].bytes - before[k].bytes;
		__u32 reason = k % MOAT_NR_REASONS;
		__u32 verdict = k / MOAT_NR_REASONS % MOAT_NR_VERDICTS;
		__u32 slot = k / MOAT_NR_REASONS / MOAT_NR_VERDICTS;

		if (!dp && !db)
			continue;
		n += snprintf(buf + n, len - n, " [slot %u] %s/%s +%llu pkt +%llu B", slot,
			      moat_verdict_name(verdict), moat_reason_name(reason),
			      (unsigned long long)dp, (unsigned long long)db);
	}
	if (!buf[0])
		snprintf(buf, len, " no counter");
}

static void report(bool ok, const struct gen *gen, const char *name, const char *diag)
{
	test_no++;
	printf("%s %d - %s: %s\n", ok ? "ok" : "not ok", test_no, gen->label, name);
	if (!ok) {
		printf("# %s\n", diag);
		failures++;
	}
}

static void run_row(struct gen *gen, size_t idx, const char *load_err)
{
	static struct moat_counter before[MOAT_STATS_ENTRIES], after[MOAT_STATS_ENTRIES];
	const struct row *r = &gen->rows[idx];
	struct expect want = r->want;
	struct pkt_spec spec;
	struct pkt_buf f;
	char diag[1024], moved[768];
	__u32 retval = 0, want_idx;
	bool ok;
	int err;

	if (load_err) {
		report(false, gen, r->name, load_err);
		return;
	}
	/* Monitor mode computes every verdict and passes every packet. */
	if (!strcmp(gen->mode, "monitor") && want.verdict == MOAT_V_DROP) {
		want.verdict = MOAT_V_MONITOR_DROP;
		want.action = XDP_PASS;
	}

	for (const struct step *s = r->pre; s && s->hook != STEP_END; s++) {
		bool xdp = s->hook == STEP_XDP;
		int fd = xdp ? gen->xdp_fd : gen->egress_fd;

		row_spec(&s->pkt, idx, &spec);
		if (s->hook == STEP_SEED) {
			if (pkt_build(&spec, &f) || seed_conn(gen, &f, spec.ip == 6)) {
				report(false, gen, r->name, "couldn't seed the row's connection");
				return;
			}
			continue;
		}
		if (fd < 0 || pkt_build(&spec, &f) || (err = test_run_frame(fd, f.buf, f.len, &retval))) {
			snprintf(diag, sizeof(diag), "couldn't run a %s step before the row: %s",
				 xdp ? "XDP" : "egress", fd < 0 ? "no egress program" :
				 "bad packet spec or test_run failed");
			report(false, gen, r->name, diag);
			return;
		}
	}

	row_spec(&r->pkt, idx, &spec);
	if (pkt_build(&spec, &f)) {
		report(false, gen, r->name, "row's packet spec cannot be built");
		return;
	}
	err = test_stats_read(gen->maps.stats, before, MOAT_STATS_ENTRIES);
	if (!err)
		err = test_run_frame(gen->xdp_fd, f.buf, f.len, &retval);
	if (!err)
		err = test_stats_read(gen->maps.stats, after, MOAT_STATS_ENTRIES);
	if (err) {
		snprintf(diag, sizeof(diag), "test_run or stats read failed: %s", strerror(-err));
		report(false, gen, r->name, diag);
		return;
	}

	want_idx = MOAT_STATS_IDX(gen->slot, want.verdict, want.reason);
	ok = retval == want.action;
	for (__u32 k = 0; k < MOAT_STATS_ENTRIES; k++) {
		__u64 dp = after[k].packets - before[k].packets;
		__u64 db = after[k].bytes - before[k].bytes;

		if (k == want_idx)
			ok &= dp == 1 && db == f.len;
		else
			ok &= dp == 0 && db == 0;
	}
	describe_moves(before, after, moved, sizeof(moved));
	snprintf(diag, sizeof(diag), "expected %s, [slot %u] %s/%s +1 pkt +%u B; got %s,%s",
		 action_name(want.action), gen->slot, moat_verdict_name(want.verdict),
		 moat_reason_name(want.reason), f.len, action_name(retval), moved);
	report(ok, gen, r->name, diag);
}

/* Runs a step list for the flood test's connections (ports of their own). */
static int run_steps(struct gen *gen, const struct step *st, __u32 *retval)
{
	struct pkt_buf f;

	for (; st->hook != STEP_END; st++) {
		int fd = st->hook == STEP_XDP ? gen->xdp_fd : gen->egress_fd;

		if (pkt_build(&st->pkt, &f) || test_run_frame(fd, f.buf, f.len, retval))
			return -1;
	}
	return 0;
}

#define FLOOD_N		300000	/* handshakes: more than conn_pending holds */
#define FLOOD_PORT	61000	/* the two connections the flood must not touch */

/*
 * Unvalidated state never evicts validated state: FLOOD_N spoofed SYNs
 * the host answers (SYN-ACKs on egress) fill conn_pending over and over,
 * and two connections that acknowledged the host's SYN-ACK keep theirs:
 * one confirmed, one holding 5 bytes of a ClientHello (its continuation
 * passes only if those 5 bytes are still known).
 */
static void flood_test(struct gen *gen)
{
	const struct step conns[] = {
		ACCEPTED(V4, PKT_DST4, 443, STRANGER4),
		{ STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA(HELLO_TLS12)) },
		HOST4(443, STRANGER4, ACK, .seq = SRV_ISN + 1, .ack = FIRST + 11),
		{ STEP_END },
	};
	const struct step partial[] = {
		ACCEPTED(V4, PKT_DST4, 443, STRANGER4),
		{ STEP_XDP, CL4(443, STRANGER4, .seq = FIRST, DATA("\x16\x03\x01\x06\xb8")) },
		{ STEP_END },
	};
	struct step a[ARRAY_SIZE(conns)], b[ARRAY_SIZE(partial)];
	struct pkt_spec syn = V4(TCP(443, SYN), .seq = 77), synack = V4(.src = PKT_DST4,
		TCP(1, SYN | ACK), .sport = 443, .seq = 99, .ack = 78);
	struct pkt_spec data = CL4(443, STRANGER4, .seq = FIRST + 11, .sport = FLOOD_PORT,
				   DATA(HTTP_GET));
	struct pkt_spec rest = CL4(443, STRANGER4, .seq = FIRST + 5, .sport = FLOOD_PORT + 1,
				   DATA("\x01\x00\x06\xb4\x03\x03" "0123456789"));
	struct pkt_buf fs, fa, f;
	__u32 ret = 0, ret2 = 0;
	bool ok;

	memcpy(a, conns, sizeof(a));
	memcpy(b, partial, sizeof(b));
	for (size_t i = 0; i < ARRAY_SIZE(a) - 1; i++) {
		struct pkt_spec *s = &a[i].pkt;

		*(a[i].hook == STEP_EGRESS ? &s->dport : &s->sport) = FLOOD_PORT;
	}
	for (size_t i = 0; i < ARRAY_SIZE(b) - 1; i++) {
		struct pkt_spec *s = &b[i].pkt;

		*(b[i].hook == STEP_EGRESS ? &s->dport : &s->sport) = FLOOD_PORT + 1;
	}
	syn.src = synack.dst = "198.19.0.1";
	ok = !run_steps(gen, a, &ret) && !run_steps(gen, b, &ret) &&
	     !pkt_build(&syn, &fs) && !pkt_build(&synack, &fa);
	/* Each handshake from its own source, 198.19.x.y: patched in place. */
	for (__u32 i = 0; ok && i < FLOOD_N; i++) {
		__u8 *s = fs.buf + fs.off[PKT_L3] + 12, *d = fa.buf + fa.off[PKT_L3] + 16;
		__u16 port = htons(1024 + i % 60000);

		s[2] = d[2] = i >> 8;
		s[3] = d[3] = i;
		memcpy(fs.buf + fs.off[PKT_L4], &port, 2);
		memcpy(fa.buf + fa.off[PKT_L4] + 2, &port, 2);
		ok = !test_run_frame(gen->xdp_fd, fs.buf, fs.len, &ret) &&
		     !test_run_frame(gen->egress_fd, fa.buf, fa.len, &ret);
	}
	ok = ok && !pkt_build(&data, &f) && !test_run_frame(gen->xdp_fd, f.buf, f.len, &ret) &&
	     !pkt_build(&rest, &f) && !test_run_frame(gen->xdp_fd, f.buf, f.len, &ret2);
	test_no++;
	printf("%s %d - %s: after %d spoofed handshakes, a confirmed connection passes (%s) and "
	       "one holding 5 head bytes continues (%s)\n", ok && ret == XDP_PASS &&
	       ret2 == XDP_PASS ? "ok" : "not ok", test_no, gen->label, FLOOD_N,
	       action_name(ret), action_name(ret2));
	if (!(ok && ret == XDP_PASS && ret2 == XDP_PASS))
		failures++;
}

#define FULL_PORT	62000	/* the connections of full_test */

/* The table_full events so far, summed over CPUs. */
static __u64 table_full_events(const struct gen *gen)
{
	int ncpus = libbpf_num_possible_cpus();
	__u32 key = MOAT_CONN_EV_TABLE_FULL;
	__u64 vals[ncpus > 0 ? ncpus : 1], sum = 0;

	if (ncpus < 1 || bpf_map_lookup_elem(gen->maps.conn_events, &key, vals))
		return 0;
	for (int i = 0; i < ncpus; i++)
		sum += vals[i];
	return sum;
}

/* Fills conns to the brim with entries no packet of these tests has. */
static int fill_conns(const struct gen *gen)
{
	enum { CHUNK = 65536 };
	struct moat_flow_key *k = calloc(CHUNK, sizeof(*k));
	struct moat_conn_locked *v = calloc(CHUNK, sizeof(*v));
	__u32 n = 0, count;
	int err = 0;

	if (!k || !v) {
		err = -ENOMEM;
		goto out;
	}
	for (__u32 i = 0; i < CHUNK; i++) {
		k[i].proto = IPPROTO_TCP;
		k[i].local_port = htons(9);	/* discard: no row's port */
		v[i].c.state = MOAT_CONN_OK;
	}
	while (!err && n <= MOAT_MAX_CONNS) {
		for (__u32 i = 0; i < CHUNK; i++, n++) {
			k[i].remote.a[3] = htonl(n);
			k[i].remote_port = htons(n >> 16);
		}
		count = CHUNK;
		if (bpf_map_update_batch(gen->maps.conns, k, v, &count, NULL))
			err = errno == E2BIG ? 0 : -errno;
		if (count < CHUNK)
			break;	/* full */
	}
out:
	free(k);
	free(v);
	return err;
}

/*
 * conns full: a connection the client accepted stays in conn_pending
 * (counted table_full), its first payload is still judged there, and the
 * host's ACK of the head confirms it there: a ClientHello and the request
 * after it pass, a first payload that is no TLS drops.
 */
static void full_test(struct gen *gen)
{
	const struct step tls[] = {
		ACCEPTED(V4, PKT_DST4, 443, STRANGER4),
		{ STEP_END },
	};
	struct step a[ARRAY_SIZE(tls)], b[ARRAY_SIZE(tls)];
	struct pkt_spec hello = CL4(443, STRANGER4, .seq = FIRST, .sport = FULL_PORT,
				    DATA(HELLO_TLS12));
	struct pkt_spec get = CL4(443, STRANGER4, .seq = FIRST + sizeof(HELLO_TLS12) - 1,
				  .sport = FULL_PORT, DATA(HTTP_GET));
	struct pkt_spec junk = CL4(443, STRANGER4, .seq = FIRST, .sport = FULL_PORT + 1,
				   DATA(HTTP_GET));
	struct step confirm[] = {
		HOST4(443, STRANGER4, ACK, .seq = SRV_ISN + 1,
		      .ack = FIRST + sizeof(HELLO_TLS12) - 1, .dport = FULL_PORT),
		{ STEP_END },
	};
	__u32 r_hello = 0, r_get = 0, r_junk = 0, ret;
	__u64 before;
	struct pkt_buf f;
	bool ok;

	memcpy(a, tls, sizeof(a));
	memcpy(b, tls, sizeof(b));
	for (size_t i = 0; i < ARRAY_SIZE(a) - 1; i++) {
		*(a[i].hook == STEP_EGRESS ? &a[i].pkt.dport : &a[i].pkt.sport) = FULL_PORT;
		*(b[i].hook == STEP_EGRESS ? &b[i].pkt.dport : &b[i].pkt.sport) = FULL_PORT + 1;
	}
	ok = !fill_conns(gen);
	before = table_full_events(gen);
	ok = ok && !run_steps(gen, a, &ret) && !pkt_build(&hello, &f) &&
	     !test_run_frame(gen->xdp_fd, f.buf, f.len, &r_hello) &&
	     !run_steps(gen, confirm, &ret) && !pkt_build(&get, &f) &&
	     !test_run_frame(gen->xdp_fd, f.buf, f.len, &r_get) &&
	     !run_steps(gen, b, &ret) && !pkt_build(&junk, &f) &&
	     !test_run_frame(gen->xdp_fd, f.buf, f.len, &r_junk);
	ok = ok && r_hello == XDP_PASS && r_get == XDP_PASS && r_junk == XDP_DROP &&
	     table_full_events(gen) >= before + 2;
	test_no++;
	printf("%s %d - %s: conns full: a ClientHello passes (%s), the request after the host's "
	       "ACK too (%s), a first payload that is no TLS drops (%s); table_full %llu -> %llu\n",
	       ok ? "ok" : "not ok", test_no, gen->label, action_name(r_hello),
	       action_name(r_get), action_name(r_junk), (unsigned long long)before,
	       (unsigned long long)table_full_events(gen));
	if (!ok)
		failures++;
}

/* Reasons no enforce row expects: a hint for whoever extends the program. */
static void note_uncovered(const struct row *t, size_t n)
{
	bool seen[MOAT_NR_REASONS] = {};
	bool any = false;

	for (size_t i = 0; i < n; i++)
		seen[t[i].want.reason] = true;
	for (__u32 r = 0; r < MOAT_NR_REASONS; r++) {
		if (seen[r])
			continue;
		printf("%s%s", any ? " " : "# reasons no row expects:", moat_reason_name(r));
		any = true;
	}
	if (any)
		printf("\n");
}

int main(void)
{
	struct gen gens[] = {
		{ .label = "enforce", .mode = "enforce", .echo = "false", .quic = "false", .slot = 0,
		  .rows = rows, .n_rows = ARRAY_SIZE(rows) },
		/* another slot, so that the slot index is exercised too */
		{ .label = "monitor", .mode = "monitor", .echo = "false", .quic = "false", .slot = 2,
		  .rows = rows, .n_rows = ARRAY_SIZE(rows) },
		{ .label = "echo+quic", .mode = "enforce", .echo = "true", .quic = "true", .slot = 0,
		  .rows = echo_rows, .n_rows = ARRAY_SIZE(echo_rows) },
		{ .label = "families", .yaml = yaml_families, .mode = "enforce", .slot = 1,
		  .rows = family_rows, .n_rows = ARRAY_SIZE(family_rows) },
	};
	size_t total = 0;
	int ncpus;

	setvbuf(stdout, NULL, _IOLBF, 0);
	moat_libbpf_logging(false);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 1) {
		fprintf(stderr, "Error: couldn't count CPUs: %s\n", strerror(-ncpus));
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(gens); i++)
		total += gens[i].n_rows;
	printf("1..%zu\n", total + 2);	/* + flood_test, full_test */

	for (size_t i = 0; i < ARRAY_SIZE(gens); i++) {
		struct gen *gen = &gens[i];
		char err[MOAT_ERR_LEN] = "";
		int ret = gen_setup(gen, err, sizeof(err));

		if (ret)
			fprintf(stderr, "Error: %s generation: %s\n", gen->label, err);
		for (size_t r = 0; r < gen->n_rows; r++)
			run_row(gen, r, ret ? err : NULL);
		if (i == 0 && !ret) {
			flood_test(gen);
			full_test(gen);	/* last: it leaves conns full */
		}
		moat_gen_destroy(&gen->g);
	}
	note_uncovered(rows, ARRAY_SIZE(rows));
	return failures ? 1 : 0;
}
