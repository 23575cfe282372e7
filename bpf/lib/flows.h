/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flows the host opened (SPEC §2 step 5): recorded by the egress program,
 * matched on the exact reversed 5-tuple by the XDP program.
 *
 * Part of bpf/moat.bpf.c, included after its .rodata (reads none of it). One
 * object, because ingress and egress share these maps: every program of
 * a generation must see one copy of them (bpf/moat.bpf.c says more).
 */
#ifndef MOAT_BPF_FLOWS_H
#define MOAT_BPF_FLOWS_H

#define NSEC_PER_SEC	1000000000ULL

/* Flows the host opened; max_entries set from outbound.max_flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);	/* per-CPU lists: no shared lock */
	__type(key, struct moat_flow_key);
	__type(value, struct moat_flow);
} flows SEC(".maps");

/*
 * Local ports that have (or had) a host-opened flow: a reply lookup in the
 * hash is only worth it for those. Bits are never cleared, so this only
 * ever errs towards one lookup too many.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MOAT_LOCAL_PORT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} local_ports SEC(".maps");


static __always_inline __u32 port_word(__u8 proto, __u16 port)
{
	return (proto == IPPROTO_UDP ? 65536 / 64 : 0) + port / 64;
}

static __always_inline int local_port_used(__u8 proto, __u16 port)
{
	__u32 w = port_word(proto, port);
	__u64 *bits = bpf_map_lookup_elem(&local_ports, &w);

	return bits && (*bits & (1ULL << (port % 64)));
}

/*
 * A flow's clock: monotonic ns at tick resolution, from jiffies (an inlined
 * load; bpf_ktime_get_ns costs a reply packet about 30 ns in these VMs, and
 * bpf_ktime_get_coarse_ns half of that). Its timeouts are seconds; both
 * programs stamp and read it alike. Without the kernel's config (CONFIG_HZ
 * unknown) or with an unusual HZ, the coarse clock.
 */
extern unsigned int CONFIG_HZ __kconfig __weak;

static __always_inline __u64 flow_now(void)
{
	/* the verifier knows CONFIG_HZ: the other branches are gone */
	__u64 tick = CONFIG_HZ == 250 ? 4000000 : CONFIG_HZ == 1000 ? 1000000 :
		     CONFIG_HZ == 100 ? 10000000 : 0;

	if (!tick)
		return bpf_ktime_get_coarse_ns();
	/* jiffies start 300 s before wrapping 32 bits (INITIAL_JIFFIES) */
	return (bpf_jiffies64() - (__u32)(-300 * (int)CONFIG_HZ)) * tick;
}

static __always_inline __u64 flow_timeout(__u8 proto, const struct moat_flow *f)
{
	if (proto == IPPROTO_TCP)
		return (f->closing & MOAT_FLOW_F_CLOSING ? MOAT_FLOW_TCP_CLOSING_TIMEOUT : MOAT_FLOW_TCP_TIMEOUT) *
		       NSEC_PER_SEC;
	if (proto == IPPROTO_UDP)
		return MOAT_FLOW_UDP_TIMEOUT * NSEC_PER_SEC;
	return MOAT_FLOW_ICMP_TIMEOUT * NSEC_PER_SEC;
}

/*
 * 5. Whether the packet answers a flow the host opened: the exact reversed
 * 5-tuple was recorded on egress. A RST or FIN ends the flow only when it
 * sits exactly at the host's last ACK (RFC 5961: what the kernel itself
 * takes); a blind attacker cannot guess it. Not in a dry run.
 */
static __always_inline int is_reply(const struct pkt *p, __be16 sport, __be16 dport,
				    const struct tcphdr *th)
{
	struct moat_flow_key key = {
		.remote = p->src, .local = p->dst,
		.remote_port = sport, .local_port = dport, .proto = p->l4proto,
	};
	struct moat_flow *f = bpf_map_lookup_elem(&flows, &key);
	__u64 now;

	if (!f)
		return 0;
	now = flow_now();
	/* signed: another CPU may have stamped it after our read */
	if ((__s64)(now - f->last_seen_ns) > (__s64)flow_timeout(p->l4proto, f))
		return 0;
	if (p->dry || !th || !(th->rst || th->fin))
		return 1;
	if ((f->closing & MOAT_FLOW_F_RCV_NXT) && bpf_ntohl(th->seq) == f->rcv_nxt) {
		if (th->rst)
			bpf_map_delete_elem(&flows, &key);
		else
			f->closing |= MOAT_FLOW_F_CLOSING;
	}
	return 1;
}

#endif /* MOAT_BPF_FLOWS_H */
