/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Address tables (devops, deny, bans): a hash of hosts, an LPM trie of
 * networks and their entry counts, kept consistent with each other. Writers
 * hold the pin-dir lock (pins.h); the BPF side only reads.
 */
#ifndef MOAT_TABLE_H
#define MOAT_TABLE_H

#include <stdint.h>
#include <time.h>
#include "config.h"
#include "pins.h"

typedef int (*moat_table_cb)(const struct moat_cidr *c, const struct moat_entry *e, void *ctx);

/* Sets a host's bits in a table's filter (the map behind t.bloom). */
int moat_filter_add(int bits_fd, const struct moat_addr *a);
/* The same for n hosts at once: a few syscalls whatever n. */
int moat_filter_add_many(int bits_fd, const struct moat_addr *a, size_t n);
/* Puts every host of the hash into the filter (a filter that was made anew). */
int moat_table_refilter(struct moat_table t);
/* Marks IPv4 the prefixes inside ::ffff:0:0/96 an older moat kept as IPv6
 * (adopted bans); how many, or -errno. */
int moat_table_refamily(struct moat_table t);

/* Inserts or replaces the entry for c. */
int moat_table_put(struct moat_table t, const struct moat_cidr *c, const struct moat_entry *e);
/*
 * Puts n entries none of which is in the table yet (a new generation's
 * table, say) in a few syscalls: entries[i] for cidrs[i]; of equal CIDRs the
 * first is kept. Filter first, entries second, counts last, as
 * moat_table_put.
 */
int moat_table_fill(struct moat_table t, const struct moat_cidr *cidrs,
		    const struct moat_entry *entries, size_t n);
/* The same when the caller has put c's host in the filter already. */
int moat_table_put_filtered(struct moat_table t, const struct moat_cidr *c,
			    const struct moat_entry *e);
/* -ENOENT when c is not in the table (exactly, not by containment). */
int moat_table_get(struct moat_table t, const struct moat_cidr *c, struct moat_entry *e);
int moat_table_del(struct moat_table t, const struct moat_cidr *c);
/* Calls cb for every entry, hosts first; stops at the first non-zero return. */
int moat_table_foreach(struct moat_table t, moat_table_cb cb, void *ctx);
/* Deletes entries that expired; returns how many, or -errno. */
int moat_table_sweep(struct moat_table t);

const char *moat_origin_name(uint32_t origin);

/* CLOCK_BOOTTIME ns (what the program compares) <-> unix seconds; 0 stays 0. */
uint64_t moat_boot_ns_from_unix(time_t t);
time_t moat_unix_from_boot_ns(uint64_t ns);
/* RFC 3339 UTC. */
void moat_format_time(time_t t, char *buf, size_t len);

#endif /* MOAT_TABLE_H */
