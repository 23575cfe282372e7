// SPDX-License-Identifier: GPL-2.0
/*
 * The differential fuzzer's generations under test: each a configuration
 * loaded as moatd would load it, with run-time entries added, and the
 * model's view of the same; and the state of both sides kept in step.
 */
#include "difffuzz.h"

static const char yaml_fmt[] =
	"interfaces: [lo]\n"
	"mode: %s\n"
	"tls: { ports: [443, 8443], quic: %s, validate: %s }\n"
	"ssh:\n"
	"  ports: [22, 2222]\n"
	"  validate: %s\n"
	"  devops:\n"
	"    - { cidr: " DEVOPS4 "/32, name: alice }\n"
	"    - { cidr: 203.0.113.0/24, name: lab }\n"
	"    - { cidr: " DEVOPS6 "/128, name: bob }\n"
	"    - { cidr: 2001:db8:100::/48, name: ops-vpn }\n"
	"    - { cidr: 198.51.100.8/32, name: later, expires: 2099-01-01T00:00:00Z }\n"
	"    - { cidr: 198.51.100.9/32, name: gone, expires: 2020-01-01T00:00:00Z }\n"
	"    - { cidr: 198.51.100.20/32, name: mallory }\n"
	"deny: [192.0.2.66, 203.0.113.66, \"2001:db8:bad::/48\"]\n"
	"icmp: { echo: %s }\n"
	"pass_ethertypes: [0x88cc]\n"
	"outbound: { track: true, max_flows: 65536 }\n";

/* Added at run time, as moatctl and the inspector would. */
struct rt_entry {
	bool ban;		/* else devops */
	const char *cidr;
	bool expired;
};
static const struct rt_entry rt_entries[] = {
	{ true, "192.0.2.77", false },
	{ true, "2001:db8:beef::/64", false },
	{ true, "198.51.100.20", false },	/* a devops host, banned */
	{ true, "192.0.2.66", false },		/* denied and banned: deny first */
	{ true, "192.0.2.88", true },		/* a ban that expired */
	{ false, "198.51.100.10", true },
	{ false, "2001:db8:ee::/48", true },
	/* IPv6 entries covering ::ffff:0:0/96, where IPv4 is kept: they must
	 * match no IPv4 source (and none of the generator's IPv6 ones) */
	{ false, "::/8", false },
	{ true, "::/8", false },
};

static void model_cidr_from(const struct moat_cidr *c, bool live, struct model_cidr *out)
{
	memcpy(out->addr, &c->addr, 16);
	out->plen = c->prefixlen;
	/* IPv4-mapped space is IPv4 however written (user/lib/table.c) */
	out->v6 = !(IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)&c->addr) && c->prefixlen >= 96);
	out->live = live;
}

static int add_rt(struct fgen *f, const struct rt_entry *r)
{
	struct model_config *mc = &f->mc;
	struct moat_cidr c;

	if (moat_parse_cidr(r->cidr, &c))
		return -EINVAL;
	if (r->ban)
		model_cidr_from(&c, !r->expired, &mc->bans[mc->n_bans++]);
	else
		model_cidr_from(&c, !r->expired, &mc->devops[mc->n_devops++]);
	return test_table_add(r->ban ? moat_pins_ban(&f->maps) : moat_pins_devops(&f->maps),
			      r->cidr, r->expired ? 1 : 0, MOAT_ORIGIN_RUNTIME, "difffuzz");
}

/* The model's view of the same configuration. */
static void model_config_from(const struct moat_config *cfg, struct model_config *mc)
{
	time_t now = time(NULL);
	size_t i;

	memset(mc, 0, sizeof(*mc));
	mc->monitor = cfg->mode == MOAT_MODE_MONITOR;
	for (i = 0; i < cfg->tls.ports.n; i++)
		mc->tls_ports[mc->n_tls_ports++] = cfg->tls.ports.port[i];
	mc->tls_validate = cfg->tls.validate;
	mc->tls_min_version = cfg->tls.min_version;
	mc->quic = cfg->tls.quic;
	for (i = 0; i < cfg->ssh.ports.n; i++)
		mc->ssh_ports[mc->n_ssh_ports++] = cfg->ssh.ports.port[i];
	mc->ssh_validate = cfg->ssh.validate;
	for (i = 0; i < cfg->ssh.n_devops; i++) {
		const struct moat_devops *d = &cfg->ssh.devops[i];

		model_cidr_from(&d->cidr, !d->expires || d->expires > now,
				&mc->devops[mc->n_devops++]);
	}
	for (i = 0; i < cfg->n_deny; i++)
		model_cidr_from(&cfg->deny[i], true, &mc->deny[mc->n_deny++]);
	mc->icmp_echo = cfg->icmp.echo;
	for (i = 0; i < cfg->n_pass_ethertypes; i++)
		mc->pass_ethertypes[mc->n_pass_ethertypes++] = cfg->pass_ethertypes[i];
}

int stats_read(struct fgen *f, struct moat_counter *out)
{
	return test_stats_read(f->maps.stats, out, MOAT_NR_VERDICTS * MOAT_NR_REASONS);
}

int gen_setup(struct fgen *f, char *err, size_t errlen)
{
	struct moat_config cfg;
	struct moat_meta meta = {};
	char yaml[4096];
	__u32 slot = 0, zero = 0;
	int ret;

	snprintf(yaml, sizeof(yaml), yaml_fmt, f->mode, f->quic, f->validate, f->validate,
		 f->echo);
	ret = test_gen_load(&f->g, "difffuzz.yaml", yaml, &slot, 1, &cfg, err, errlen);
	if (ret)
		return ret;
	model_config_from(&cfg, &f->mc);
	moat_config_free(&cfg);
	moat_gen_maps(&f->g, &f->maps);
	f->xdp_fd = moat_gen_prog_fd(&f->g, 0);
	f->egress_fd = moat_gen_egress_fd(&f->g, 0);
	if (f->egress_fd < 0) {
		snprintf(err, errlen, "no egress program");
		return -ENOENT;
	}
	for (size_t i = 0; i < ARRAY_SIZE(rt_entries); i++) {
		ret = add_rt(f, &rt_entries[i]);
		if (ret) {
			snprintf(err, errlen, "couldn't add %s: %s", rt_entries[i].cidr,
				 strerror(-ret));
			return ret;
		}
	}
	bpf_map_lookup_elem(f->maps.meta, &zero, &meta);
	f->conn_key = meta.conn_key;
	f->ms = model_new();
	if (!f->ms)
		return -ENOMEM;
	ret = stats_read(f, f->stats);
	if (ret)
		snprintf(err, errlen, "couldn't read the stats map: %s", strerror(-ret));
	return ret;
}

/* The tuple's conn_ok slot, cleared if it holds the tuple (as moatd's
 * sweep does before it deletes a connection). */
static void clear_slot(struct fgen *f, const struct moat_flow_key *k)
{
	__u64 h = moat_conn_hash(f->conn_key, k), v = 0;
	__u32 idx = h % MOAT_CONN_SLOTS;

	if (!bpf_map_lookup_elem(f->maps.conn_ok, &idx, &v) && v == h) {
		v = 0;
		bpf_map_update_elem(f->maps.conn_ok, &idx, &v, BPF_ANY);
	}
}

/* Empties the state tables on both sides, so that nothing times out or is
 * evicted: connections (in conns or conn_pending) lose their slot first. */
void state_reset(struct fgen *f)
{
	int fds[] = { f->maps.conns, f->maps.conn_pending, f->maps.conn_syn, f->maps.flows };
	struct moat_flow_key k;

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		while (!bpf_map_get_next_key(fds[i], NULL, &k)) {
			if (i < 2)
				clear_slot(f, &k);
			if (bpf_map_delete_elem(fds[i], &k))
				break;
		}
	}
	model_reset(f->ms);
}

/* Forgets one tuple on both sides, so that a sequence starts from nothing
 * and its seed alone reproduces it. */
void forget(struct fgen *f, const struct moat_flow_key *k)
{
	struct model_tuple t;

	clear_slot(f, k);
	bpf_map_delete_elem(f->maps.conns, k);
	bpf_map_delete_elem(f->maps.conn_pending, k);
	bpf_map_delete_elem(f->maps.conn_syn, k);
	bpf_map_delete_elem(f->maps.flows, k);
	memset(&t, 0, sizeof(t));
	memcpy(t.remote, &k->remote, 16);
	memcpy(t.local, &k->local, 16);
	t.remote_port = ntohs(k->remote_port);
	t.local_port = ntohs(k->local_port);
	t.proto = k->proto;
	model_forget(f->ms, &t);
}

