/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the reference model (model.h is its face): the state tables
 * (model_state.c), the frame parser (model_parse.c) and the port classes
 * the policy (model.c) and the egress side share.
 */
#ifndef MOAT_MODEL_INT_H
#define MOAT_MODEL_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "model.h"

#define ETH_ARP		0x0806
#define ETH_IPV4	0x0800
#define ETH_IPV6	0x86dd
#define ETH_8021Q	0x8100
#define ETH_8021AD	0x88a8

#define P_HOPOPTS	0
#define P_ICMP		1
#define P_TCP		6
#define P_UDP		17
#define P_ROUTING	43
#define P_FRAGMENT	44
#define P_ICMPV6	58
#define P_DSTOPTS	60

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_ACK	0x10
#define F_URG	0x20

#define MAX_VLAN	2
#define MAX_EXT		6
#define HEAD_MAX	12	/* bytes of a connection's head the model keeps */
#define TLS_HEAD	11	/* record header, handshake header, client_version */
#define SSH_HEAD	8	/* "SSH-2.0-" */
#define ACK_WINDOW	65536	/* client ACKs that acknowledge the host's data */

/* ---- state: three small chained hash tables keyed by tuple ---- */

struct flow {
	bool rcv_nxt_known;	/* the host has ACKed something */
	uint32_t rcv_nxt;	/* its last ACK */
	bool closing;
};

struct conn {
	enum model_conn_state state;
	uint8_t reason;
	uint8_t have;
	bool proven;		/* a client ACKed exactly the host's ISN + 1 */
	uint32_t first_seq;	/* the client's first payload byte */
	uint32_t srv_isn;
	uint8_t head[HEAD_MAX];
};

struct syn_data {
	uint32_t isn;
	uint32_t datalen;
	uint8_t len;
	uint8_t head[HEAD_MAX];
};

enum { T_FLOW, T_CONN, T_SYN, T_NR };

struct entry {
	struct entry *next;
	struct model_tuple key;
	union {
		struct flow flow;
		struct conn conn;
		struct syn_data syn;
	} v;
};

#define BUCKETS 4096

struct model_state {
	struct entry *tab[T_NR][BUCKETS];
	unsigned int notes;	/* enum model_note, of the last model_xdp() */
	bool has_last;		/* last: the tuple of the last model_xdp() */
	struct model_tuple last;
};

/* The model is one state per configuration; the judge and the L4 parser
 * note into the state being judged (model_xdp sets it). */
extern struct model_state *model_noting;
void model_note(unsigned int n);

struct entry *model_find(const struct model_state *st, int t, const struct model_tuple *k);
/* The entry for k, created zeroed when absent (NULL only when out of memory). */
struct entry *model_get(struct model_state *st, int t, const struct model_tuple *k);
void model_del(struct model_state *st, int t, const struct model_tuple *k);

/* ---- parsing: one frame into what the policy looks at ---- */

static inline uint16_t be16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

enum parse_result {
	PARSE_IP,		/* an IP packet: see struct pkt */
	PARSE_ARP,
	PARSE_ETHERTYPE,	/* another ethertype (in ethertype) */
	PARSE_MALFORMED,
};

struct pkt {
	uint16_t ethertype;
	bool v6;
	uint8_t src[16], dst[16];
	uint8_t hlim;
	uint8_t proto;
	bool frag_later;	/* not the first fragment: no L4 header */
	bool frag_first;	/* first fragment of several */
	const uint8_t *l4;	/* the rest of the datagram */
	uint32_t l4_len;
};


/* The L4 header of a TCP, UDP or ICMP packet, checked against the datagram. */
struct l4 {
	uint16_t sport, dport;	/* ICMP echo: the identifier in both */
	uint8_t flags;
	uint32_t seq, ack;
	uint8_t type, code;	/* ICMP */
	const uint8_t *data;
	uint32_t data_len;
};

/* SPEC §2 steps 1-2: frames, VLAN tags, IPv4 options, IPv6 extension headers. */
enum parse_result model_parse(const uint8_t *b, size_t len, struct pkt *p);
/* false: truncated or inconsistent (malformed). */
bool model_parse_l4(const struct pkt *p, struct l4 *l);
bool model_is_icmp(const struct pkt *p);

/* ---- ports ---- */

enum port_class { PC_NONE, PC_TLS, PC_SSH };

enum port_class model_port_class(const struct model_config *cfg, uint16_t port);
/* A validated port: its connections carry state. */
bool model_validated(const struct model_config *cfg, enum port_class pc);
/* Bytes of a connection's head that decide it. */
unsigned int model_head_need(enum port_class pc);

#endif /* MOAT_MODEL_INT_H */
