/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Address tables (devops, deny, bans: SPEC §2 steps 3 and 8).
 *
 * Part of bpf/moat.bpf.c, included after its .rodata (reads none of it). One
 * object, because ingress and egress share these maps: every program of
 * a generation must see one copy of them (bpf/moat.bpf.c says more).
 */
#ifndef MOAT_BPF_TABLE_H
#define MOAT_BPF_TABLE_H

/*
 * An address table: exact hosts in a hash, networks in a small LPM trie, and
 * a Bloom filter of the hosts in front of the hash. With a million random
 * sources the hash costs two cache misses per packet; the filter (4 MiB of
 * bits, an ARRAY the verifier inlines: no helper call, one word a packet,
 * from a region sized to the table: shared.h) answers "not there" for most
 * of them without touching it. Deleted hosts stay in the filter
 * until the table is rebuilt: a stale "maybe" only costs the hash lookup it
 * would have cost anyway.
 */
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
	} name##_count SEC(".maps");					\
	struct {							\
		__uint(type, BPF_MAP_TYPE_ARRAY);			\
		__uint(max_entries, MOAT_FILTER_WORDS);			\
		__type(key, __u32);					\
		__type(value, __u64);					\
	} name##_bloom SEC(".maps")

ADDR_TABLE(ban);	/* persistent */
ADDR_TABLE(devops);	/* generation */
ADDR_TABLE(deny);	/* generation */

static __always_inline int entry_live(const struct moat_entry *e)
{
	return e->expires_ns == 0 || bpf_ktime_get_boot_ns() < e->expires_ns;
}

/* Whether the filter of a table of n hosts may hold the source (0: it
 * surely does not): one word read. The hash is computed once per packet,
 * for every table. */
static __always_inline int filter_maybe(void *bits, __u32 n, struct pkt *p)
{
	__u32 idx;
	__u64 *w;

	if (!p->fmask)	/* never 0 once computed: bits are set in it */
		moat_filter_hash(&p->src, &p->fhash, &p->fmask);
	idx = moat_filter_word(p->fhash, moat_filter_region(n));
	w = bpf_map_lookup_elem(bits, &idx);
	return w && (*w & p->fmask) == p->fmask;
}

/* Whether a prefix of the table may hold the source (shared.h): one bit of
 * the filter's prefix bitmap, an inlined load in front of the trie's helper
 * call. */
static __always_inline int prefix_maybe(void *bits, const struct pkt *p)
{
	__u32 top = bpf_ntohl(p->v6 ? p->src.a[0] : p->src.a[3]) >> 16, idx = top >> 6;
	__u64 *w = bpf_map_lookup_elem(bits, &idx);

	return w && (*w >> (top & 63) & 1);
}

/*
 * Whether src matches a live entry of a table. Empty halves are skipped
 * without touching the hash or the trie: the count lookup is an array
 * access the verifier inlines.
 */
static __always_inline int table_match(void *exact, void *bloom, void *prefix, void *count,
				       struct pkt *p)
{
	const struct moat_addr *src = &p->src;
	struct moat_table_count *n;
	struct moat_entry *e;
	__u32 zero = 0;

	n = bpf_map_lookup_elem(count, &zero);
	if (!n)
		return 0;
	if (n->exact && filter_maybe(bloom, n->exact, p)) {
		e = bpf_map_lookup_elem(exact, src);
		if (e && entry_live(e))
			return 1;
	}
	if (n->prefix && prefix_maybe(bloom, p)) {
		struct moat_lpm_key key = { .prefixlen = 128, .addr = *src };

		/* The longest match is the only one the trie gives: an IPv6
		 * prefix there means no IPv4 prefix holds the source. */
		e = bpf_map_lookup_elem(prefix, &key);
		if (e && entry_live(e) && !(!p->v6 && e->family == MOAT_FAMILY_V6))
			return 1;
	}
	return 0;
}

#define TABLE_MATCH(t) table_match(&t, &t##_bloom, &t##_prefix, &t##_count, p)

#endif /* MOAT_BPF_TABLE_H */
