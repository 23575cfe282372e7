/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A reference model of the packet policy (SPEC §2, README "How it works"
 * and "Connection state"), in plain C and written from those texts, not
 * from bpf/: the differential fuzzer (difffuzz.c) runs every packet through
 * it and through the loaded programs and fails on any difference.
 *
 * The model keeps the state the contract talks about (flows the host
 * opened, inbound connections on validated ports, Fast Open SYN payloads)
 * in small tables of its own. It has no clock: nothing expires while it
 * runs, and the caller says which devops entries and bans are live.
 */
#ifndef MOAT_MODEL_H
#define MOAT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_MAX_PORTS		8
#define MODEL_MAX_CIDRS		32
#define MODEL_MAX_ETHERTYPES	8

/* An address block over 128 bits; IPv4 as ::ffff:a.b.c.d/96+n. */
struct model_cidr {
	uint8_t addr[16];
	unsigned int plen;
	bool v6;		/* written as IPv6: never matches an IPv4 source */
	bool live;		/* devops and bans: unexpired */
};

struct model_config {
	bool monitor;
	uint16_t tls_ports[MODEL_MAX_PORTS];
	unsigned int n_tls_ports;
	bool tls_validate;
	uint16_t tls_min_version;	/* wire value, 0x0303 = 1.2 */
	bool quic;
	uint16_t ssh_ports[MODEL_MAX_PORTS];
	unsigned int n_ssh_ports;
	bool ssh_validate;
	struct model_cidr devops[MODEL_MAX_CIDRS];
	unsigned int n_devops;
	struct model_cidr deny[MODEL_MAX_CIDRS];
	unsigned int n_deny;
	struct model_cidr bans[MODEL_MAX_CIDRS];
	unsigned int n_bans;
	bool icmp_echo;
	uint16_t pass_ethertypes[MODEL_MAX_ETHERTYPES];
	unsigned int n_pass_ethertypes;
};

/* Verdicts and reasons are those of include/moat/reasons.h. */
struct model_result {
	uint8_t verdict;	/* enum moat_verdict */
	uint8_t reason;		/* enum moat_reason */
};

/* A flow or connection as the XDP program sees it: remote = the source. */
struct model_tuple {
	uint8_t remote[16];
	uint8_t local[16];
	uint16_t remote_port;	/* host order; ICMP echo: the identifier */
	uint16_t local_port;
	uint8_t proto;
};

/* Connection states, as shared.h names them. */
enum model_conn_state { MODEL_CONN_NONE = 0, MODEL_CONN_AWAIT, MODEL_CONN_OK, MODEL_CONN_BAD };

struct model_conn_view {
	enum model_conn_state state;
	uint8_t reason;		/* BAD: why */
	uint8_t have;		/* AWAIT: head bytes kept */
	uint32_t first_seq;	/* the client's first payload byte */
	uint8_t head[12];	/* the bytes kept */
};

struct model_flow_view {
	bool exists;
	bool rcv_nxt_known;	/* the host has ACKed: a RST or FIN must sit at rcv_nxt */
	uint32_t rcv_nxt;
	bool closing;		/* a FIN seen */
};

struct model_state;

struct model_state *model_new(void);
void model_free(struct model_state *st);
/* Forgets every flow and connection. */
void model_reset(struct model_state *st);

/* Ingress: the verdict and reason of one frame; updates the state. */
struct model_result model_xdp(struct model_state *st, const struct model_config *cfg,
			      const uint8_t *frame, size_t len);
/* Egress: a frame the host sends; records flows and connection evidence. */
void model_egress(struct model_state *st, const struct model_config *cfg,
		  const uint8_t *frame, size_t len);
/* Forgets the tuple's flow, connection and SYN payload. */
void model_forget(struct model_state *st, const struct model_tuple *t);
/* A TCP connection that predates moat (seeded from the socket table). */
void model_seed(struct model_state *st, const struct model_tuple *t);

/*
 * SPEC points that decided the last model_xdp() verdict where the loaded
 * program is known to read the SPEC otherwise (the fuzzer's allowlist
 * names each): a bit each.
 */
enum model_note {
	MODEL_NOTE_UDP_LEN = 1,		/* malformed: UDP length beyond the datagram or < 8 */
	MODEL_NOTE_VERSION_MAJOR = 2,	/* tls_version: client_version major byte below 3 */
	MODEL_NOTE_SYN_URG = 4,		/* not_tls/not_ssh: Fast Open SYN with an urgent pointer */
	MODEL_NOTE_QUIC_SHORT = 8,	/* not_tls: form and fixed bits, but no version field */
	MODEL_NOTE_EXT_PAST_PLEN = 16,	/* malformed: an extension header past payload_len */
	MODEL_NOTE_AFTER_FRAG = 32,	/* fragment: header types in a later fragment's data */
	MODEL_NOTE_ACK_ZERO = 64,	/* a flow's end: the host's last ACK was 0 */
	MODEL_NOTE_QUIC_BEYOND = 128,	/* QUIC judged on the UDP length, bytes after it */
};
unsigned int model_last_notes(const struct model_state *st);
/* The TCP/UDP/ICMP tuple of the last model_xdp() frame; false if none. */
bool model_last_tuple(const struct model_state *st, struct model_tuple *t);

struct model_flow_view model_flow(const struct model_state *st, const struct model_tuple *t);
struct model_conn_view model_conn(const struct model_state *st, const struct model_tuple *t);

#endif /* MOAT_MODEL_H */
