/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hashes both sides compute alike (include after shared.h):
 *  - moat_conn_hash: keyed 64-bit hash of a connection's tuple, which picks
 *    and tags its conn_ok slot;
 *  - moat_filter_hash/moat_filter_word: where an address sets its
 *    MOAT_FILTER_HASHES bits in a table's filter (one word per region), and
 *    those bits. Unkeyed: a crafted false positive only costs the hash
 *    lookup behind the filter, never a wrong answer.
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

/*
 * An address's filter hash and the mask of its bits in its word. Three
 * multiplies (one of them beside the others), computed once per packet: the
 * program pays them on every packet that meets a non-empty table.
 */
static inline void moat_filter_hash(const struct moat_addr *a, __u64 *hash, __u64 *mask)
{
	__u64 lo = (__u64)a->a[0] << 32 | a->a[1], hi = (__u64)a->a[2] << 32 | a->a[3];
	__u64 h = (hi ^ lo * 0x9e3779b97f4a7c15ULL) * 0xff51afd7ed558ccdULL;

	h ^= h >> 32;
	h *= 0xc4ceb9fe1a85ec53ULL;
	*hash = h;
	*mask = 1ULL << (h & 63) | 1ULL << (h >> 6 & 63) | 1ULL << (h >> 12 & 63);
}

/* The address's word in region k (shared.h): the hash's top k bits. */
static inline __u32 moat_filter_word(__u64 hash, __u32 k)
{
	return (1U << k) + (__u32)(hash >> (64 - k));
}

/* The region the program reads for a table of n hosts. */
static inline __u32 moat_filter_region(__u32 n)
{
	return n <= 1U << 10 ? 10 : n <= 1U << 12 ? 12 : n <= 1U << 14 ? 14 :
	       n <= 1U << 16 ? 16 : MOAT_FILTER_REGION_MAX;
}

_Static_assert(MOAT_FILTER_REGION_MAX == 18 && MOAT_FILTER_REGION_MIN == 10,
	       "moat_filter_region knows regions 10, 12 ... 18");
_Static_assert(MOAT_FILTER_HASHES == 3, "moat_filter_hash sets three bits");
_Static_assert(MOAT_FILTER_PFX_WORDS <= 1U << MOAT_FILTER_REGION_MIN,
	       "the prefix bitmap sits below the first region");

#endif /* MOAT_HASH_H */
