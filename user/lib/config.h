/* SPDX-License-Identifier: GPL-2.0 */
/* moat.yaml (SPEC §3) as a validated struct; the value parsers are in lib/parse.h. */
#ifndef MOAT_CONFIG_H
#define MOAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <limits.h>
#include <linux/types.h>
#include "moat/shared.h"
#include "lib/parse.h"

#define MOAT_DEFAULT_CONFIG	"/etc/moat/moat.yaml"
#define MOAT_DEFAULT_PIN_DIR	"/sys/fs/bpf/moat"
#define MOAT_DEFAULT_STATE_DIR	"/var/lib/moat"
#define MOAT_ERR_LEN		512

struct moat_devops {
	struct moat_cidr cidr;
	char name[MOAT_NAME_LEN];
	time_t expires;			/* unix seconds; 0 = never */
};

enum moat_mode { MOAT_MODE_ENFORCE = 0, MOAT_MODE_MONITOR = 1 };
enum moat_xdp_mode { MOAT_XDP_MODE_AUTO = 0, MOAT_XDP_MODE_NATIVE, MOAT_XDP_MODE_GENERIC };

struct moat_ports {
	uint16_t port[MOAT_MAX_PORTS];
	size_t n;
};

struct moat_config {
	char interfaces[MOAT_MAX_IFACES][MOAT_IFNAMSIZ];
	size_t n_interfaces;
	enum moat_mode mode;
	enum moat_xdp_mode xdp_mode;
	char pin_dir[PATH_MAX];
	char state_dir[PATH_MAX];
	struct {
		struct moat_ports ports;	/* default [443] */
		bool validate;			/* default true */
		uint16_t min_version;		/* wire value: 0x0303 = "1.2" (default) */
		bool quic;			/* default false */
	} tls;
	struct {
		struct moat_ports ports;	/* default [22] */
		bool validate;			/* default true */
		struct moat_devops *devops;
		size_t n_devops;
	} ssh;
	struct moat_cidr *deny;
	size_t n_deny;
	struct {
		bool echo;			/* default false */
	} icmp;
	uint16_t pass_ethertypes[MOAT_MAX_ETHERTYPES];
	size_t n_pass_ethertypes;
	struct {
		bool track;			/* default true */
		uint32_t max_flows;		/* default 262144 */
	} outbound;
	bool lockout_guard;			/* default true */
	struct {
		bool enabled;			/* default false when the key is absent */
		char library[PATH_MAX];		/* default /usr/lib/x86_64-linux-gnu/libssl.so.3 */
		char (*processes)[PATH_MAX];
		size_t n_processes;
		uint64_t max_body;		/* bytes, default 64 KiB */
		char crs_rules[PATH_MAX];	/* default /usr/share/modsecurity-crs/rules */
		int paranoia;			/* 1..4, default 1 */
		bool ban_enabled;		/* default true */
		uint64_t ban_ttl;		/* seconds, default 600 */
		struct moat_cidr *ban_exempt;
		size_t n_ban_exempt;
		char certificate[PATH_MAX];	/* "" = none */
	} inspector;
	struct {
		char listen[128];		/* "host:port" or "[v6]:port"; default 127.0.0.1:9477 */
	} metrics;
};

/* Fills every default (SPEC §3); interfaces stay empty. */
void moat_config_defaults(struct moat_config *cfg);

/*
 * Parses and validates a whole file. On error returns -EINVAL (or -errno
 * when the file cannot be read), leaves *cfg freed and writes
 * "FILE:LINE:COL: message" (1-based) to err.
 */
int moat_config_load(const char *path, struct moat_config *cfg, char *err, size_t errlen);
/* Same, from memory; name is used as FILE in messages. */
int moat_config_parse(const char *name, const char *buf, size_t len,
		      struct moat_config *cfg, char *err, size_t errlen);
void moat_config_free(struct moat_config *cfg);

#endif /* MOAT_CONFIG_H */
