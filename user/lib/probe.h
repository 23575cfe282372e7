/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Probes: a described packet run through a loaded moat program in dry-run
 * mode (shared.h, struct moat_dryrun), which judges it exactly as a real
 * one and writes nothing. moatctl check and moatd's lockout guard use it.
 */
#ifndef MOAT_PROBE_H
#define MOAT_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

#define MOAT_PROBE_SYN	0x02
#define MOAT_PROBE_ACK	0x10
#define MOAT_PROBE_PSH	0x08

struct moat_probe {
	struct moat_cidr from, to;	/* hosts (prefixlen 128), same family */
	int proto;			/* IPPROTO_TCP, _UDP or _ICMP (v6: ICMPv6) */
	uint16_t sport, dport;		/* ICMP: sport is the echo identifier */
	uint8_t tcp_flags;		/* MOAT_PROBE_* */
	uint32_t seq;
	const void *payload;
	size_t payload_len;		/* at most MOAT_PROBE_MAX_PAYLOAD */
};

#define MOAT_PROBE_MAX_PAYLOAD 128

/* The first bytes of a payload kind: tls1.2, tls1.0 (ClientHello record
 * and handshake headers, client_version), ssh (banner), http (a request),
 * none. -EINVAL for another kind. */
int moat_probe_payload(const char *kind, const void **buf, size_t *len);
/* Frame for the probe into buf (>= 256 bytes); returns its length. */
size_t moat_probe_build(const struct moat_probe *pr, unsigned char *buf);
/* Runs it through prog_fd; fills verdict and reason. 0 or -errno. */
int moat_probe_run(int prog_fd, const struct moat_probe *pr, unsigned int *verdict,
		   unsigned int *reason);

#endif /* MOAT_PROBE_H */
