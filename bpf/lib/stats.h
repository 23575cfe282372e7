/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counting verdicts (SPEC §5): one per-CPU counter per interface slot,
 * verdict and reason; one drop in MOAT_TOP_SAMPLE sampled into top_sources
 * (moatctl top) and the events ring (moatctl events).
 *
 * Part of bpf/moat.bpf.c, included after its .rodata (reads if_slot, monitor). One
 * object, because ingress and egress share these maps: every program of
 * a generation must see one copy of them (bpf/moat.bpf.c says more).
 */
#ifndef MOAT_BPF_STATS_H
#define MOAT_BPF_STATS_H

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MOAT_STATS_ENTRIES);
	__type(key, __u32);
	__type(value, struct moat_counter);
} stats SEC(".maps");

/* Drops per source for moatctl top; only the drop path writes it, and only
 * one drop in MOAT_TOP_SAMPLE, so a flood costs a counter increment. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, MOAT_MAX_TOP_SOURCES);
	__type(key, struct moat_addr);
	__type(value, struct moat_src_stat);
} top_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} top_sample SEC(".maps");

/* Sampled drops for moatctl events; full when nobody reads: nothing waits. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MOAT_EVENTS_BYTES);
} events SEC(".maps");

/*
 * One drop in MOAT_TOP_SAMPLE: its source into top_sources (weighted) and
 * the drop itself into the events ring. Out of line: it sits behind every
 * drop site, and only sampled drops pay for the call.
 */
static __noinline void sample_drop(const struct pkt *p, __u32 v, __u32 reason)
{
	struct moat_src_stat fresh = {
		.packets = MOAT_TOP_SAMPLE, .bytes = p->len * MOAT_TOP_SAMPLE, .last_reason = reason,
	};
	struct moat_event ev = {
		.src = p->src, .dst = p->dst, .sport = p->sport, .dport = p->dport,
		.proto = p->l4proto, .verdict = v, .reason = reason, .slot = if_slot, .len = p->len,
	};
	struct moat_src_stat *st;

	st = bpf_map_lookup_elem(&top_sources, &p->src);
	if (!st) {
		bpf_map_update_elem(&top_sources, &p->src, &fresh, BPF_ANY);
	} else {
		st->packets += MOAT_TOP_SAMPLE;
		st->bytes += p->len * MOAT_TOP_SAMPLE;
		st->last_reason = reason;
	}
	ev.ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
}

/* Counts the packet under its verdict and reason, returns the XDP action. */
static __always_inline int verdict(const struct pkt *p, __u32 v, __u32 reason)
{
	struct moat_counter *c;
	__u32 idx;

	if (v == MOAT_V_DROP && monitor)
		v = MOAT_V_MONITOR_DROP;
	if (p->dry) {
		p->dry->verdict = v;
		p->dry->reason = reason;
	} else {
		idx = MOAT_STATS_IDX(if_slot, v, reason);
		c = bpf_map_lookup_elem(&stats, &idx);
		if (c) {
			c->packets++;
			c->bytes += p->len;
		}
		/* a drop with a source address, one in MOAT_TOP_SAMPLE */
		if (v != MOAT_V_PASS && p->l3_end) {
			__u32 zero = 0, *n = bpf_map_lookup_elem(&top_sample, &zero);

			if (n && !(++*n % MOAT_TOP_SAMPLE))
				sample_drop(p, v, reason);
		}
	}
	return v == MOAT_V_DROP ? XDP_DROP : XDP_PASS;
}

/*
 * The judges return a verdict and a reason packed in one int, and the
 * program counts it in one place: verdict() inlined once, not at every
 * return (the program verifies several times faster that way).
 */
#define VR(v, r)	((v) << 8 | (r))
#define VR_VERDICT(vr)	((__u32)(vr) >> 8)
#define VR_REASON(vr)	((__u32)(vr) & 0xff)
#define PASS(r)		VR(MOAT_V_PASS, MOAT_R_##r)
#define DROP(r)		VR(MOAT_V_DROP, MOAT_R_##r)

#endif /* MOAT_BPF_STATS_H */
