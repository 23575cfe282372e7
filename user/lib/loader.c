// SPDX-License-Identifier: GPL-2.0
/* Opens, configures and loads policy generations (see loader.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "table.h"
#include "moat.skel.h"

static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !libbpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void moat_libbpf_logging(bool verbose)
{
	libbpf_verbose = verbose;
	libbpf_set_print(libbpf_print);
}

static void set_rodata(struct moat_bpf *skel, const struct moat_config *cfg, __u32 slot,
		       __u64 conn_key)
{
	struct moat_bpf__rodata *ro = skel->rodata;

	ro->if_slot = slot;
	ro->monitor = cfg->mode == MOAT_MODE_MONITOR;
	ro->icmp_echo = cfg->icmp.echo;
	ro->tls_validate = cfg->tls.validate;
	/* TLS 1.3 hellos carry legacy_version 1.2 (the real one hides in an
	 * extension), so "1.3" can only be enforced by the server: at the
	 * NIC it means 1.2. */
	ro->tls_min_version = cfg->tls.min_version > 0x0303 ? 0x0303 : cfg->tls.min_version;
	ro->tls_quic = cfg->tls.quic;
	ro->ssh_validate = cfg->ssh.validate;
	ro->outbound_track = cfg->outbound.track;
	ro->conn_key = conn_key;
	ro->n_pass_ethertypes = cfg->n_pass_ethertypes;
	for (size_t i = 0; i < cfg->n_pass_ethertypes; i++)
		ro->pass_ethertypes[i] = cfg->pass_ethertypes[i];
	for (size_t i = 0; i < cfg->tls.ports.n; i++)
		ro->port_class[cfg->tls.ports.port[i]] = MOAT_PORT_TLS;
	for (size_t i = 0; i < cfg->ssh.ports.n; i++)
		ro->port_class[cfg->ssh.ports.port[i]] = MOAT_PORT_SSH;
}

/* Map of the first instance with the same name, for sharing. */
static int reuse_from(struct bpf_map *map, struct moat_bpf *first)
{
	struct bpf_map *src = bpf_object__find_map_by_name(first->obj, bpf_map__name(map));

	if (!src)
		return -ENOENT;
	return bpf_map__reuse_fd(map, bpf_map__fd(src));
}

/* Whether a pinned map has the layout this build defines for it. */
static bool same_layout(int fd, const struct bpf_map *map)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return false;
	return info.type == bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
	       info.value_size == bpf_map__value_size(map) &&
	       info.map_flags == bpf_map__map_flags(map) &&
	       info.max_entries == bpf_map__max_entries(map);
}

/*
 * Persistent maps come from the pins. One an older moat pinned with another
 * layout cannot be shared: a new one replaces it (pinned over it once the
 * generation is in force), and the log says so. A new ban filter beside
 * adopted bans, whatever the reason, is refilled (ban_filter_new).
 */
static int reuse_persistent(struct moat_gen *g, struct moat_bpf *skel, const struct moat_pins *p)
{
	int err;

	g->conns_new = p->conns < 0;
	/* Bans adopted without their filter (a moat from before the filters,
	 * or a lost pin): the new, empty one would miss every ban. */
	g->ban_filter_new = p->ban >= 0 && p->ban_bloom < 0;
	for (size_t i = 0; i < moat_nr_pin_maps; i++) {
		const struct moat_pin_desc *d = &moat_pin_maps[i];
		struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, d->name);
		int fd = *moat_pin_fd((struct moat_pins *)p, d);

		if (d->generation || fd < 0)
			continue;
		if (!same_layout(fd, map)) {
			fprintf(stderr, "moat: the pinned map '%s' has an older layout: "
				"a new one replaces it, its entries are lost\n", d->name);
			if (!strcmp(d->name, MOAT_PIN_CONNS))
				g->conns_new = true;
			if (!strcmp(d->name, MOAT_PIN_BAN_BLOOM))
				g->ban_filter_new = true;
			continue;
		}
		err = bpf_map__reuse_fd(map, fd);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The conn_ok key must outlive generations and restarts (the slots would
 * stop matching and every confirmed connection would take the slow path):
 * kept in meta, made once, and again when the connection table is new.
 */
static int conn_key(const struct moat_pins *persist, bool fresh, __u64 *key)
{
	struct moat_meta meta;

	if (!fresh && persist && persist->meta >= 0 &&
	    !moat_meta_read(persist->meta, &meta) && meta.conn_key) {
		*key = meta.conn_key;
		return 0;
	}
	do {
		if (getrandom(key, sizeof(*key), 0) != sizeof(*key))
			return -errno;
	} while (!*key);
	return 0;
}

static bool set_conn_key(struct moat_meta *meta, void *key)
{
	if (meta->conn_key == *(__u64 *)key)
		return false;
	meta->conn_key = *(__u64 *)key;
	return true;
}

/* Records the key in meta (new or kept) once the maps exist. */
static void keep_conn_key(struct moat_bpf *skel, __u64 key)
{
	moat_meta_edit(bpf_map__fd(skel->maps.meta), set_conn_key, &key, NULL);
}

int moat_gen_load(struct moat_gen *g, const struct moat_config *cfg, const __u32 *slots,
		  size_t n, const struct moat_pins *persist, char *err, size_t errlen)
{
	struct bpf_map *map;
	__u64 key = 0;
	int ret;

	memset(g, 0, sizeof(*g));
	g->conns_new = true;
	if (persist && persist->flows >= 0) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		/* A pinned table can't be resized, and a new one would forget
		 * every flow in progress. */
		if (!bpf_obj_get_info_by_fd(persist->flows, &info, &len) &&
		    info.max_entries != cfg->outbound.max_flows) {
			snprintf(err, errlen, "outbound.max_flows: the flow table holds %u entries; "
				 "changing it to %u needs 'moatctl unload' and a restart",
				 info.max_entries, cfg->outbound.max_flows);
			return -EBUSY;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct moat_bpf *skel = moat_bpf__open();

		if (!skel) {
			ret = -errno;
			snprintf(err, errlen, "couldn't open the XDP program: %s", strerror(-ret));
			goto fail;
		}
		g->skel[i] = skel;
		g->slot[i] = slots[i];
		g->n = i + 1;
		bpf_map__set_max_entries(skel->maps.flows, cfg->outbound.max_flows);
		if (i == 0) {
			ret = persist ? reuse_persistent(g, skel, persist) : 0;
			if (!ret && (ret = conn_key(persist, g->conns_new, &key))) {
				snprintf(err, errlen, "couldn't make the connection-table key: %s",
					 strerror(-ret));
				goto fail;
			}
		} else {
			ret = 0;
			bpf_object__for_each_map(map, skel->obj) {
				if (bpf_map__is_internal(map))
					continue;	/* .rodata: each instance its own */
				ret = reuse_from(map, g->skel[0]);
				if (ret)
					break;
			}
		}
		if (ret) {
			snprintf(err, errlen, "couldn't reuse moat's maps: %s", strerror(-ret));
			goto fail;
		}
		set_rodata(skel, cfg, slots[i], key);
		ret = moat_bpf__load(skel);
		if (ret) {
			snprintf(err, errlen, "couldn't load the XDP program: %s", strerror(-ret));
			goto fail;
		}
		if (i == 0)
			keep_conn_key(skel, key);
	}
	return 0;
fail:
	moat_gen_destroy(g);
	return ret;
}

void moat_gen_destroy(struct moat_gen *g)
{
	for (size_t i = 0; i < g->n; i++)
		moat_bpf__destroy(g->skel[i]);
	memset(g, 0, sizeof(*g));
}

void moat_gen_maps(const struct moat_gen *g, struct moat_pins *out)
{
	moat_pins_init(out, NULL);
	for (size_t i = 0; i < moat_nr_pin_maps; i++)
		*moat_pin_fd(out, &moat_pin_maps[i]) =
			bpf_map__fd(bpf_object__find_map_by_name(g->skel[0]->obj,
								 moat_pin_maps[i].name));
}

int moat_gen_prog_fd(const struct moat_gen *g, size_t i)
{
	return bpf_program__fd(g->skel[i]->progs.moat_xdp);
}

int moat_gen_egress_fd(const struct moat_gen *g, size_t i)
{
	return bpf_program__fd(g->skel[i]->progs.moat_egress);
}

int moat_gen_fill(struct moat_gen *g, const struct moat_config *cfg, char *err, size_t errlen)
{
	size_t n = cfg->ssh.n_devops > cfg->n_deny ? cfg->ssh.n_devops : cfg->n_deny, k = 0;
	struct moat_cidr *c = calloc(n ? n : 1, sizeof(*c));
	struct moat_entry *e = calloc(n ? n : 1, sizeof(*e));
	struct moat_pins m;
	time_t now = time(NULL);
	int ret = -ENOMEM;

	if (!c || !e) {
		snprintf(err, errlen, "out of memory for %zu table entries", n);
		goto out;
	}
	moat_gen_maps(g, &m);
	/* Both tables are the new generation's, empty: filled in a few calls. */
	for (size_t i = 0; i < cfg->ssh.n_devops; i++) {
		const struct moat_devops *d = &cfg->ssh.devops[i];

		if (d->expires && d->expires <= now)
			continue;	/* expired: nothing to enforce */
		c[k] = d->cidr;
		e[k] = (struct moat_entry){ .origin = MOAT_ORIGIN_CONFIG,
					    .expires_ns = moat_boot_ns_from_unix(d->expires) };
		snprintf(e[k].name, sizeof(e[k].name), "%s", d->name);
		k++;
	}
	if ((ret = moat_table_fill(moat_pins_devops(&m), c, e, k))) {
		snprintf(err, errlen, "couldn't fill the devops table: %s", strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < cfg->n_deny; i++)
		e[i] = (struct moat_entry){ .origin = MOAT_ORIGIN_CONFIG };
	if ((ret = moat_table_fill(moat_pins_deny(&m), cfg->deny, e, cfg->n_deny)))
		snprintf(err, errlen, "couldn't fill the deny table: %s", strerror(-ret));
out:
	free(c);
	free(e);
	return ret;
}
