/* SPDX-License-Identifier: GPL-2.0 */
/*
 * moat_conn_hash: the keyed 64-bit hash of a connection's tuple that picks
 * and tags its conn_ok slot (shared.h). The XDP program, the egress program
 * and moatd's seeding compute it alike. Include after shared.h.
 */
#ifndef MOAT_CONNHASH_H
#define MOAT_CONNHASH_H

_Static_assert(sizeof(struct moat_flow_key) == 40, "moat_conn_hash reads five words");

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

#endif /* MOAT_CONNHASH_H */
