/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hashes both sides compute alike (include after shared.h):
 *  - moat_conn_hash: keyed 64-bit hash of a connection's tuple, which picks
 *    and tags its conn_ok slot;
 *  - moat_filter_pos: the MOAT_FILTER_HASHES bit positions of an address in
 *    a table's filter. Unkeyed: a crafted false positive only costs the
 *    hash lookup behind the filter, never a wrong answer.
 */
#ifndef MOAT_HASH_H
#define MOAT_HASH_H

_Static_assert(sizeof(struct moat_flow_key) == 40, "moat_conn_hash reads five words");

static inline __u64 moat_mix64(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static inline __u64 moat_conn_hash(__u64 key, const struct moat_flow_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = key ^ 0x736f6d6570736575ULL;

	/* five words, spelled out: no loop for the verifier or a pragma */
	h = (h ^ w[0]) * 0x9e3779b97f4a7c15ULL, h ^= h >> 29;
	h = (h ^ w[1]) * 0x9e3779b97f4a7c15ULL, h ^= h >> 29;
	h = (h ^ w[2]) * 0x9e3779b97f4a7c15ULL, h ^= h >> 29;
	h = (h ^ w[3]) * 0x9e3779b97f4a7c15ULL, h ^= h >> 29;
	h = (h ^ w[4]) * 0x9e3779b97f4a7c15ULL, h ^= h >> 29;
	h ^= key >> 7 | key << 57;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	return h | 1;	/* never 0: 0 is an empty slot */
}

/* An address's two hashes; bit i of it is moat_filter_pos(h1, h2, i). */
static inline void moat_filter_hash(const struct moat_addr *a, __u64 *h1, __u64 *h2)
{
	__u64 lo = (__u64)a->a[0] << 32 | a->a[1], hi = (__u64)a->a[2] << 32 | a->a[3];

	*h1 = moat_mix64(hi ^ moat_mix64(lo));
	*h2 = moat_mix64(*h1) | 1;
}

static inline __u32 moat_filter_pos(__u64 h1, __u64 h2, __u32 i)
{
	return (h1 + i * h2) >> (64 - MOAT_FILTER_BITS_LOG);
}

#endif /* MOAT_HASH_H */
