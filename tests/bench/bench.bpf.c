// SPDX-License-Identifier: GPL-2.0
/*
 * The programs make bench measures moat against, and the shim that feeds
 * it a different source in every run (tests/bench/bench.c).
 *
 * bench_floor: the least any policy program must do. Parse
 * Ethernet (two VLAN tags), IPv4 or IPv6 (no options or extension headers
 * walked: a policy that did not would be wrong, so this is below any real
 * one), TCP, look at the destination port, bump one per-CPU counter, and
 * pass TLS and SSH, drop the rest.
 *
 * bench_gen: the live-frames generator (tests/bench/live.c), a shim that
 * sends each frame, with the next source, out of a veth.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "moat/shared.h"

#define SADDR_OFF	(14 + 12)	/* IPv4 source in an untagged frame */

const volatile __u32 shim_mask;		/* number of sources - 1, a power of two */
__u32 gen_ifindex;			/* where bench_gen sends its frames */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} floor_count SEC(".maps");

/* Frames bench_drop dropped: the live test's ceiling. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drop_count SEC(".maps");

/* The shim's sources (network order), its run counter, the program it feeds. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* set to the number of sources */
	__type(key, __u32);
	__type(value, __u32);
} shim_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} shim_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} shim_next SEC(".maps");

/* For contrast only, not moat: sources in a plain LPM trie. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);		/* set to the number of entries */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct moat_lpm_key);
	__type(value, __u64);
} lpm SEC(".maps");

/* What every ratio is taken against. */
SEC("xdp")
int bench_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/*
 * test_run repeats one packet, and a program cannot be made to see another
 * source without changing it. So the shim does it: each run writes the next
 * source into the frame's IPv4 source, then tail-calls the program under
 * test. Its own cost is measured the same way in front of bench_empty.
 */
SEC("xdp")
int bench_shim(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 zero = 0, i, *src;
	__u64 *n = bpf_map_lookup_elem(&shim_state, &zero);

	if (!n)
		return XDP_ABORTED;
	i = (*n)++ & shim_mask;
	src = bpf_map_lookup_elem(&shim_src, &i);
	if (!src || data + SADDR_OFF + 4 > end)
		return XDP_ABORTED;
	*(__u32 *)(data + SADDR_OFF) = *src;
	bpf_tail_call(ctx, &shim_next, 0);
	return XDP_ABORTED;
}

/* The next source into the frame, as bench_shim; then out of gen_ifindex. */
SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 zero = 0, i, *src;
	__u64 *n = bpf_map_lookup_elem(&shim_state, &zero);

	if (!n)
		return XDP_ABORTED;
	i = (*n)++ & shim_mask;
	src = bpf_map_lookup_elem(&shim_src, &i);
	if (!src || data + SADDR_OFF + 4 > end)
		return XDP_ABORTED;
	*(__u32 *)(data + SADDR_OFF) = *src;
	return bpf_redirect(gen_ifindex, 0);
}

/* Counts and drops everything: what a receiver costs that judges nothing. */
SEC("xdp")
int bench_drop(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drop_count, &zero);

	if (n)
		++*n;
	return XDP_DROP;
}

/* The IPv4 source, as a mapped moat_lpm_key, looked up in the trie. */
SEC("xdp")
int bench_lpm(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct moat_lpm_key key = { .prefixlen = 128 };

	if (data + SADDR_OFF + 4 > end)
		return XDP_PASS;
	key.addr.a[2] = bpf_htonl(0xffff);
	key.addr.a[3] = *(__u32 *)(data + SADDR_OFF);
	return bpf_map_lookup_elem(&lpm, &key) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bench_floor(struct xdp_md *ctx)
{
	void *pos = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = pos;
	struct tcphdr *th;
	__u32 zero = 0;
	__u64 *count;
	__u16 proto, port;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	proto = eth->h_proto;
	pos = eth + 1;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(0x8100) && proto != bpf_htons(0x88a8))
			break;
		if (pos + 4 > end)
			return XDP_DROP;
		proto = *(__be16 *)(pos + 2);
		pos += 4;
	}
	if (proto == bpf_htons(0x0800)) {
		struct iphdr *ip = pos;

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP)
			return XDP_DROP;
		pos += ip->ihl * 4;
	} else if (proto == bpf_htons(0x86dd)) {
		struct ipv6hdr *ip6 = pos;

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return XDP_DROP;
		pos = ip6 + 1;
	} else {
		return XDP_DROP;
	}
	th = pos;
	if ((void *)(th + 1) > end)
		return XDP_DROP;
	count = bpf_map_lookup_elem(&floor_count, &zero);
	if (count)
		++*count;
	port = bpf_ntohs(th->dest);
	return port == 443 || port == 22 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
