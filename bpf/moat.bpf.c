// SPDX-License-Identifier: GPL-2.0
/*
 * moat's ingress policy (SPEC §2). One instance of this program is loaded
 * per interface and per policy generation: the policy that never changes
 * between reloads lives in .rodata, the address tables that moatctl edits
 * at run time live in maps. A reload builds a whole new generation (program
 * and tables) and swaps it in with one bpf_link update per interface.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "moat/reasons.h"
#include "moat/shared.h"
#include "lib/parse.h"

/* Set by the loader before load (user/lib/loader.c). */
const volatile __u32 if_slot;
const volatile __u32 monitor;
const volatile __u32 icmp_echo;
const volatile __u32 n_pass_ethertypes;
const volatile __u16 pass_ethertypes[MOAT_MAX_ETHERTYPES];	/* host order */
const volatile __u8 port_class[65536];				/* enum moat_port_class */

/* Persistent: survive reloads and restarts. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MOAT_STATS_ENTRIES);
	__type(key, __u32);
	__type(value, struct moat_counter);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MOAT_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct moat_iface);
} ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct moat_meta);
} meta SEC(".maps");

/* An address table: exact hosts in a hash, networks in a small LPM trie. */
#define ADDR_TABLE(name)						\
	struct {							\
		__uint(type, BPF_MAP_TYPE_HASH);			\
		__uint(max_entries, MOAT_MAX_EXACT);			\
		__uint(map_flags, BPF_F_NO_PREALLOC);			\
		__type(key, struct moat_addr);				\
		__type(value, struct moat_entry);			\
	} name SEC(".maps");						\
	struct {							\
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);			\
		__uint(max_entries, MOAT_MAX_PREFIX);			\
		__uint(map_flags, BPF_F_NO_PREALLOC);			\
		__type(key, struct moat_lpm_key);			\
		__type(value, struct moat_entry);			\
	} name##_prefix SEC(".maps");					\
	struct {							\
		__uint(type, BPF_MAP_TYPE_ARRAY);			\
		__uint(max_entries, 1);					\
		__type(key, __u32);					\
		__type(value, struct moat_table_count);			\
	} name##_count SEC(".maps")

ADDR_TABLE(ban);	/* persistent */
ADDR_TABLE(devops);	/* generation */
ADDR_TABLE(deny);	/* generation */

static __always_inline int entry_live(const struct moat_entry *e)
{
	return e->expires_ns == 0 || bpf_ktime_get_boot_ns() < e->expires_ns;
}

/*
 * Whether src matches a live entry of a table. Empty halves are skipped
 * without touching the hash or the trie: the count lookup is an array
 * access the verifier inlines.
 */
static __always_inline int table_match(void *exact, void *prefix, void *count,
				       const struct moat_addr *src)
{
	struct moat_table_count *n;
	struct moat_entry *e;
	__u32 zero = 0;

	n = bpf_map_lookup_elem(count, &zero);
	if (!n)
		return 0;
	if (n->exact) {
		e = bpf_map_lookup_elem(exact, src);
		if (e && entry_live(e))
			return 1;
	}
	if (n->prefix) {
		struct moat_lpm_key key = { .prefixlen = 128, .addr = *src };

		e = bpf_map_lookup_elem(prefix, &key);
		if (e && entry_live(e))
			return 1;
	}
	return 0;
}

#define TABLE_MATCH(t, src) table_match(&t, &t##_prefix, &t##_count, src)

/* Counts the packet under its verdict and reason, returns the XDP action. */
static __always_inline int verdict(struct xdp_md *ctx, __u32 v, __u32 reason)
{
	struct moat_counter *c;
	__u32 idx;

	if (v == MOAT_V_DROP && monitor)
		v = MOAT_V_MONITOR_DROP;
	idx = MOAT_STATS_IDX(if_slot, v, reason);
	c = bpf_map_lookup_elem(&stats, &idx);
	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return v == MOAT_V_DROP ? XDP_DROP : XDP_PASS;
}

#define PASS(r) verdict(ctx, MOAT_V_PASS, MOAT_R_##r)
#define DROP(r) verdict(ctx, MOAT_V_DROP, MOAT_R_##r)

static __always_inline int ethertype_listed(__u16 proto)
{
#pragma unroll
	for (int i = 0; i < MOAT_MAX_ETHERTYPES; i++)
		if (i < n_pass_ethertypes && pass_ethertypes[i] == proto)
			return 1;
	return 0;
}

static __always_inline int judge_icmp(struct xdp_md *ctx, struct cursor *c, struct pkt *p)
{
	struct icmphdr *ih = parse_icmp(c);

	if (!ih || c->pos > p->l3_end)
		return DROP(MALFORMED);
	if (!p->v6) {
		switch (ih->type) {
		case 3:		/* destination unreachable, incl. frag needed (PMTUD) */
		case 11:	/* time exceeded */
		case 12:	/* parameter problem */
			return PASS(ICMP);
		case 8:		/* echo request */
			return icmp_echo ? PASS(ICMP) : DROP(ICMP);
		}
		return DROP(ICMP);
	}
	switch (ih->type) {
	case 1 ... 4:		/* unreachable, packet too big (PMTUD), time, param */
		return PASS(ICMP);
	case 128:		/* echo request */
		return icmp_echo ? PASS(ICMP) : DROP(ICMP);
	case 133 ... 137:	/* RS, RA, NS, NA, redirect: on-link only */
		if (p->hop_limit == 255)
			return PASS(NDP);
		return DROP(ICMP);
	}
	return DROP(ICMP);
}

SEC("xdp")
int moat_xdp(struct xdp_md *ctx)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct pkt p = {};
	struct tcphdr *th;
	struct udphdr *uh;
	int proto;
	__u8 class;

	/* 1. frames */
	proto = parse_eth(&c);
	if (proto < 0)
		return DROP(MALFORMED);
	if (proto == ETH_P_ARP)
		return PASS(ARP);

	/* 2. IP */
	if (proto == ETH_P_IP)
		proto = parse_ipv4(&c, &p);
	else if (proto == ETH_P_IPV6)
		proto = parse_ipv6(&c, &p);
	else
		return ethertype_listed(proto) ? PASS(ETHERTYPE) : DROP(ETHERTYPE);
	if (proto < 0)
		return DROP(MALFORMED);

	/* 3. deny and bans, before anything can pass */
	if (TABLE_MATCH(deny, &p.src))
		return DROP(DENIED);
	if (TABLE_MATCH(ban, &p.src))
		return DROP(BANNED);

	/* 4. fragments: only the first carries the L4 header we judge */
	if (p.nonfirst_frag)
		return DROP(FRAGMENT);

	/* 6. ICMP */
	if ((!p.v6 && proto == IPPROTO_ICMP) || (p.v6 && proto == IPPROTO_ICMPV6_))
		return judge_icmp(ctx, &c, &p);

	/* 7.-9. services */
	if (proto == IPPROTO_TCP) {
		th = parse_tcp(&c);
		/* Bounds come from the frame (the verifier tracks those); a
		 * header running into L2 padding is still malformed. */
		if (!th || c.pos > p.l3_end)
			return DROP(MALFORMED);
		class = port_class[bpf_ntohs(th->dest)];
		if (class == MOAT_PORT_TLS)
			return PASS(TLS);
		if (class == MOAT_PORT_SSH)
			return TABLE_MATCH(devops, &p.src) ? PASS(SSH) : DROP(SSH_SOURCE);
		return DROP(PORT);
	}
	if (proto == IPPROTO_UDP) {
		uh = parse_udp(&c);
		if (!uh || c.pos > p.l3_end)
			return DROP(MALFORMED);
	}
	return DROP(PORT);
}

char LICENSE[] SEC("license") = "GPL";
