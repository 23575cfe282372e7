// SPDX-License-Identifier: GPL-2.0
/*
 * moatctl audit's probes: what the loaded program enforces, read from its
 * .rodata, then representative packets run through it as dry runs (as
 * moatctl check does, lib/probe.c), each recorded as evidence under the
 * promise it tests.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "audit.h"
#include "lib/probe.h"

#define AUDIT_SPORT	40000		/* the probing client's port */
#define AUDIT_EPHEMERAL	40001		/* a gateway port a spoofed reply aims at */
#define MAX_PROG_MAPS	64
#define ANY_REASON	-1

/* Sources that stand for "anyone": documentation addresses (RFC 5737, 3849). */
#define STRANGER4	"203.0.113.66"
#define STRANGER6	"2001:db8:ffff::66"

/* Ports that must be closed unless the policy makes them TLS or SSH ports. */
static const uint16_t other_tcp[] = { 23, 25, 80, 445, 3389, 8080 };
static const uint16_t other_udp[] = { 53, 123, 443 };

static int rodata_fd(int prog_fd, __u32 *btf_id, __u32 *type_id, __u32 *size)
{
	__u32 ids[MAX_PROG_MAPS], len;
	int n = moat_prog_map_ids(prog_fd, ids, MAX_PROG_MAPS);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct bpf_map_info minfo = {};
		int fd = bpf_map_get_fd_by_id(ids[i]);

		len = sizeof(minfo);
		if (fd < 0)
			return -errno;
		if (!bpf_obj_get_info_by_fd(fd, &minfo, &len) && strstr(minfo.name, ".rodata") &&
		    minfo.btf_id) {
			*btf_id = minfo.btf_id;
			*type_id = minfo.btf_value_type_id;
			*size = minfo.value_size;
			return fd;
		}
		close(fd);
	}
	return -ENOENT;
}

int audit_read_policy(int prog_fd, struct policy *pol, char *err, size_t errlen)
{
	struct { const char *name; uint32_t *dst; } u32s[] = {
		{ "monitor", &pol->monitor }, { "tls_validate", &pol->tls_validate },
		{ "tls_min_version", &pol->tls_min_version }, { "ssh_validate", &pol->ssh_validate },
		{ "outbound_track", &pol->outbound_track }, { "icmp_echo", &pol->icmp_echo },
	};
	__u32 btf_id = 0, type_id = 0, size = 0, zero = 0;
	const struct btf_var_secinfo *vsi;
	const struct btf_type *sec;
	const __u8 *classes = NULL;
	struct btf *btf = NULL;
	__u8 *val = NULL;
	int fd, ret = 0, found = 0;

	fd = rodata_fd(prog_fd, &btf_id, &type_id, &size);
	if (fd < 0) {
		snprintf(err, errlen, "couldn't find the program's .rodata: %s", strerror(-fd));
		return fd;
	}
	val = malloc(size);
	btf = btf__load_from_kernel_by_id(btf_id);
	if (!val || !btf || bpf_map_lookup_elem(fd, &zero, val)) {
		ret = -errno;
		snprintf(err, errlen, "couldn't read the program's .rodata: %s", strerror(-ret));
		goto out;
	}
	sec = btf__type_by_id(btf, type_id);
	if (!sec || !btf_is_datasec(sec)) {
		ret = -EPROTO;
		snprintf(err, errlen, "the program's .rodata has no section type");
		goto out;
	}
	vsi = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vsi++) {
		const struct btf_type *var = btf__type_by_id(btf, vsi->type);
		const char *name = var ? btf__name_by_offset(btf, var->name_off) : NULL;

		if (!name || vsi->offset + vsi->size > size)
			continue;
		for (size_t k = 0; k < sizeof(u32s) / sizeof(u32s[0]); k++) {
			if (!strcmp(name, u32s[k].name) && vsi->size == 4) {
				memcpy(u32s[k].dst, val + vsi->offset, 4);
				found++;
			}
		}
		if (!strcmp(name, "port_class") && vsi->size == 65536)
			classes = val + vsi->offset;
	}
	if (!classes || found != sizeof(u32s) / sizeof(u32s[0])) {
		ret = -EPROTO;
		snprintf(err, errlen, "the program's .rodata lacks port_class or a switch "
			 "(a moat of another version?)");
		goto out;
	}
	for (int port = 1; port < 65536; port++) {
		if (classes[port] == MOAT_PORT_TLS) {
			pol->tls_port[port] = true;
			if (pol->n_tls < 16)
				pol->tls_ports[pol->n_tls++] = port;
		} else if (classes[port] == MOAT_PORT_SSH) {
			pol->ssh_port[port] = true;
			if (pol->n_ssh < 16)
				pol->ssh_ports[pol->n_ssh++] = port;
		}
	}
	pol->have = true;
out:
	btf__free(btf);
	free(val);
	close(fd);
	return ret;
}

struct iface_ctx {
	const char *name;
	int prog;
	struct moat_cidr local4, local6;	/* the interface's own addresses */
};

static void describe(const struct moat_probe *pr, const char *payload, char *buf, size_t len)
{
	char from[64], to[64];
	bool v6 = pr->from.family == AF_INET6;
	const char *proto = pr->proto == IPPROTO_TCP ? "tcp" : pr->proto == IPPROTO_UDP ? "udp"
											: "icmp";

	moat_format_cidr(&pr->from, from, sizeof(from));
	moat_format_cidr(&pr->to, to, sizeof(to));
	if (pr->proto == IPPROTO_ICMP) {
		snprintf(buf, len, "%s echo request %s > %s", v6 ? "icmp6" : "icmp", from, to);
		return;
	}
	snprintf(buf, len, "%s %s%s%s:%u > %s%s%s:%u%s%s%s", proto, v6 ? "[" : "", from,
		 v6 ? "]" : "", pr->sport, v6 ? "[" : "", to, v6 ? "]" : "", pr->dport,
		 pr->proto != IPPROTO_TCP ? "" :
		 pr->tcp_flags == MOAT_PROBE_SYN ? " SYN" : " ACK",
		 payload ? " + " : "", payload ? payload : "");
}

/*
 * Runs one probe on an interface's program and records it under promise p.
 * want_pass: the promise needs it to pass (with want_reason, ANY_REASON = any);
 * else it must really drop (monitor_drop lets it through: broken).
 */
static void probe(struct audit *a, enum promise_id p, const struct iface_ctx *ifc,
		  const char *from, const struct moat_cidr *to, int proto, uint16_t sport,
		  uint16_t dport, uint8_t flags, const char *payload, bool want_pass,
		  int want_reason)
{
	struct moat_probe pr = { .proto = proto, .sport = sport, .dport = dport,
				 .tcp_flags = flags, .seq = 1000, .to = *to };
	const char *label = NULL;
	unsigned int verdict, reason;
	char what[200], expect[64];
	json_object *o;
	bool ok;
	int err;

	if (moat_parse_cidr(from, &pr.from))
		return;
	if (payload) {
		moat_probe_payload(payload, &pr.payload, &pr.payload_len);
		label = !strcmp(payload, "tls1.2") ? "ClientHello TLS 1.2" :
			!strcmp(payload, "tls1.0") ? "ClientHello TLS 1.0" :
			!strcmp(payload, "ssh") ? "SSH-2.0 banner" : "HTTP request";
	}
	describe(&pr, label, what, sizeof(what));
	snprintf(expect, sizeof(expect), "%s%s%s", want_pass ? "pass" : "drop",
		 want_reason != ANY_REASON ? " " : "",
		 want_reason != ANY_REASON ? moat_reason_name(want_reason) : "");
	o = json_object_new_object();
	json_object_object_add(o, "interface", json_object_new_string(ifc->name));
	json_object_object_add(o, "family", json_object_new_int(pr.from.family == AF_INET6 ? 6 : 4));
	json_object_object_add(o, "packet", json_object_new_string(what));
	json_object_object_add(o, "expect", json_object_new_string(expect));
	err = moat_probe_run(ifc->prog, &pr, &verdict, &reason);
	if (err) {
		ok = false;
		json_object_object_add(o, "error", json_object_new_string(
			err == -EPROTO ? "the program reported no verdict (older moat?)" : strerror(-err)));
	} else {
		ok = want_pass ? verdict == MOAT_V_PASS : verdict == MOAT_V_DROP;
		if (want_reason != ANY_REASON)
			ok = ok && reason == (unsigned int)want_reason;
		json_object_object_add(o, "verdict", json_object_new_string(moat_verdict_name(verdict)));
		json_object_object_add(o, "reason", json_object_new_string(moat_reason_name(reason)));
	}
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_array_add(a->evidence[p], o);
	a->ran[p] = true;
	if (!ok)
		a->kept[p] = false;
}

/* The interface's first global address of a family, else a documentation one. */
static void local_addrs(struct iface_ctx *ifc)
{
	struct ifaddrs *ifa, *i;
	bool have4 = false, have6 = false;
	char buf[INET6_ADDRSTRLEN];

	moat_parse_cidr("192.0.2.1", &ifc->local4);
	moat_parse_cidr("2001:db8::1", &ifc->local6);
	if (getifaddrs(&ifa))
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, ifc->name))
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !have4) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, sizeof(buf));
			have4 = !moat_parse_cidr(buf, &ifc->local4);
		} else if (i->ifa_addr->sa_family == AF_INET6 && !have6) {
			struct in6_addr *a6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a6))
				continue;
			inet_ntop(AF_INET6, a6, buf, sizeof(buf));
			have6 = !moat_parse_cidr(buf, &ifc->local6);
		}
	}
	freeifaddrs(ifa);
}

void audit_pick_flows(struct audit *a, struct flow_pick *fp)
{
	struct moat_flow_key key, next;
	void *prev = NULL;

	memset(fp, 0, sizeof(*fp));
	if (a->c->pins.flows < 0)
		return;
	while ((!fp->have[0] || !fp->have[1]) &&
	       !bpf_map_get_next_key(a->c->pins.flows, prev, &next)) {
		bool v4 = next.remote.a[0] == 0 && next.remote.a[1] == 0 &&
			  next.remote.a[2] == htonl(0xffff);
		int f = v4 ? 0 : 1;

		if (!fp->have[f] && (next.proto == IPPROTO_TCP || next.proto == IPPROTO_UDP)) {
			fp->key[f] = next;
			fp->have[f] = true;
		}
		key = next;
		prev = &key;
	}
}

static void cidr_of(const struct moat_addr *addr, int family, struct moat_cidr *c)
{
	c->family = family;
	c->addr = *addr;
	c->prefixlen = 128;
}

/* A SYN to a port of the policy, from anyone or from a DevOps host. */
struct syn_probe {
	enum promise_id p;
	bool from_devops;
	const char *payload;	/* carried by the SYN (Fast Open); NULL: none */
	bool pass;
	int reason;
};

static const struct syn_probe tls_port_probes[] = {
	{ P_WEB_TLS, false, NULL, true, MOAT_R_TLS },
	{ P_WEB_TLS, false, "tls1.2", true, MOAT_R_TLS },
	{ P_WEB_TLS, false, "http", false, MOAT_R_NOT_TLS },
};

static const struct syn_probe ssh_port_probes[] = {
	{ P_SSH_DEVOPS, false, NULL, false, MOAT_R_SSH_SOURCE },
	{ P_SSH_DEVOPS, true, NULL, true, MOAT_R_SSH },
	{ P_SSH_DEVOPS, true, "ssh", true, MOAT_R_SSH },
	{ P_SSH_DEVOPS, true, "http", false, MOAT_R_NOT_SSH },
};
#define N_ROWS(t) (sizeof(t) / sizeof((t)[0]))

/* The n rows of t on port; those from DevOps only with a DevOps host. */
static void syn_probes(struct audit *a, const struct iface_ctx *ifc, const struct moat_cidr *to,
		       uint16_t port, const struct syn_probe *t, size_t n, const char *stranger,
		       const char *devops)
{
	for (; n--; t++) {
		if (t->from_devops && !devops)
			continue;
		probe(a, t->p, ifc, t->from_devops ? devops : stranger, to, IPPROTO_TCP,
		      AUDIT_SPORT, port, MOAT_PROBE_SYN, t->payload, t->pass, t->reason);
	}
}

static void probe_family(struct audit *a, const struct iface_ctx *ifc, bool v6,
			 const struct flow_pick *fp)
{
	const struct policy *pol = &a->pol;
	const struct moat_cidr *to = v6 ? &ifc->local6 : &ifc->local4;
	const char *stranger = v6 ? STRANGER6 : STRANGER4;
	char devops[64] = "";
	bool have_devops = v6 ? a->have_devops6 : a->have_devops4;
	const uint8_t SYN = MOAT_PROBE_SYN, ACK = MOAT_PROBE_ACK;

	if (have_devops)
		moat_format_cidr(v6 ? &a->devops6 : &a->devops4, devops, sizeof(devops));

	/* Web only over TLS: the TLS ports take TLS and nothing else... */
	for (int i = 0; i < pol->n_tls; i++)
		syn_probes(a, ifc, to, pol->tls_ports[i], tls_port_probes, N_ROWS(tls_port_probes),
			   stranger, NULL);
	/* ...and plaintext web ports are closed, as is every other port. */
	for (size_t i = 0; i < sizeof(other_tcp) / sizeof(other_tcp[0]); i++) {
		uint16_t port = other_tcp[i];

		if (pol->tls_port[port] || pol->ssh_port[port])
			continue;
		if (port == 80 || port == 8080)
			probe(a, P_WEB_TLS, ifc, stranger, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN,
			      NULL, false, MOAT_R_PORT);
		probe(a, P_DROP_REST, ifc, stranger, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN, NULL,
		      false, MOAT_R_PORT);
	}

	/* TLS 1.2 or newer, judged on the ClientHello a SYN carries (Fast Open). */
	if (pol->n_tls) {
		uint16_t port = pol->tls_ports[0];

		probe(a, P_TLS_MIN, ifc, stranger, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN, "tls1.0",
		      false, MOAT_R_TLS_VERSION);
		probe(a, P_TLS_MIN, ifc, stranger, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN, "tls1.2",
		      true, MOAT_R_TLS);
	}

	/* SSH only from DevOps, and only SSH. */
	for (int i = 0; i < pol->n_ssh; i++)
		syn_probes(a, ifc, to, pol->ssh_ports[i], ssh_port_probes, N_ROWS(ssh_port_probes),
			   stranger, have_devops ? devops : NULL);

	/* Everything else dropped (the TCP ports above). */
	for (size_t i = 0; i < sizeof(other_udp) / sizeof(other_udp[0]); i++) {
		uint16_t port = other_udp[i];

		/* With tls.quic, QUIC on a TLS port passes by design and other
		 * UDP there drops as not_tls; else as port. */
		probe(a, P_DROP_REST, ifc, stranger, to, IPPROTO_UDP, AUDIT_SPORT, port, 0, NULL,
		      false, pol->tls_port[port] ? ANY_REASON : MOAT_R_PORT);
	}
	probe(a, P_DROP_REST, ifc, stranger, to, IPPROTO_ICMP, AUDIT_SPORT, 0, 0, NULL, false,
	      MOAT_R_ICMP);

	/* Replies: a spoofed one opens nothing, a real one passes. */
	probe(a, P_REPLIES, ifc, stranger, to, IPPROTO_UDP, 53, AUDIT_EPHEMERAL, 0, NULL, false,
	      MOAT_R_PORT);
	probe(a, P_REPLIES, ifc, stranger, to, IPPROTO_TCP, 443, AUDIT_EPHEMERAL, ACK, NULL,
	      false, MOAT_R_PORT);
	if (fp->have[v6]) {
		const struct moat_flow_key *k = &fp->key[v6];
		struct moat_cidr remote, local;
		char from[64];

		cidr_of(&k->remote, v6 ? AF_INET6 : AF_INET, &remote);
		cidr_of(&k->local, v6 ? AF_INET6 : AF_INET, &local);
		moat_format_cidr(&remote, from, sizeof(from));
		probe(a, P_REPLIES, ifc, from, &local, k->proto, ntohs(k->remote_port),
		      ntohs(k->local_port), k->proto == IPPROTO_TCP ? ACK : 0, NULL, true,
		      MOAT_R_REPLY);
	}
}

void audit_probe_iface(struct audit *a, const char *name, int prog, const struct flow_pick *fp)
{
	struct iface_ctx ifc = { .name = name, .prog = prog };

	local_addrs(&ifc);
	probe_family(a, &ifc, false, fp);
	probe_family(a, &ifc, true, fp);
}
