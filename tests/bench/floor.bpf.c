// SPDX-License-Identifier: GPL-2.0
/*
 * The floor for make bench: the least any policy program must do. Parse
 * Ethernet (two VLAN tags), IPv4 or IPv6 (no options or extension headers
 * walked: a policy that did not would be wrong, so this is below any real
 * one), TCP, look at the destination port, bump one per-CPU counter, and
 * pass TLS and SSH, drop the rest.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} floor_count SEC(".maps");

SEC("xdp")
int floor_xdp(struct xdp_md *ctx)
{
	void *pos = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = pos;
	struct tcphdr *th;
	__u32 zero = 0;
	__u64 *n;
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
	n = bpf_map_lookup_elem(&floor_count, &zero);
	if (n)
		++*n;
	port = bpf_ntohs(th->dest);
	return port == 443 || port == 22 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
