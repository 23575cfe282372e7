// SPDX-License-Identifier: GPL-2.0
/*
 * moatctl audit: the report the customer's IT contact asks for. Each promise
 * of the security policy is put to the loaded program on every interface,
 * v4 and v6, with representative packets run through the same dry run as
 * moatctl check (lib/probe.c): a promise is kept when every packet gets the
 * verdict it promises. Then facts from the running system. Reads only: no
 * counter, flow, connection or ban changes.
 */
#include <errno.h>
#include <stdarg.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <curl/curl.h>
#include "moatctl.h"
#include "lib/metrics.h"
#include "lib/probe.h"
#include "lib/table.h"

#define AUDIT_SPORT	40000		/* the probing client's port */
#define AUDIT_EPHEMERAL	40001		/* a gateway port a spoofed reply aims at */
#define MAX_PROG_MAPS	64
#define ANY_REASON	-1
#define OPT_PROMETHEUS	0x100
#define OPT_CONFIG	0x101

/* Sources that stand for "anyone": documentation addresses (RFC 5737, 3849). */
#define STRANGER4	"203.0.113.66"
#define STRANGER6	"2001:db8:ffff::66"

/* Ports that must be closed unless the policy makes them TLS or SSH ports. */
static const uint16_t other_tcp[] = { 23, 25, 80, 445, 3389, 8080 };
static const uint16_t other_udp[] = { 53, 123, 443 };
/* Alerts without which nobody hears that moat stopped enforcing. */
static const char *const vital_alerts[] = { "MoatDown", "MoatNotAttached" };

enum promise_id { P_WEB_TLS, P_TLS_MIN, P_SSH_DEVOPS, P_DROP_REST, P_REPLIES, P_ALERTS, P_NR };

static const struct {
	const char *id, *title, *policy;
} promises[P_NR] = {
	[P_WEB_TLS] = { "web_tls", "Web only over TLS",
			"users get web communication only, encrypted with TLS" },
	[P_TLS_MIN] = { "tls_min_1_2", "TLS 1.2 or newer",
			"up-to-date certificate rated A+: no ClientHello below TLS 1.2" },
	[P_SSH_DEVOPS] = { "ssh_devops", "SSH only from DevOps",
			   "only designated DevOps reach the technical infrastructure, over SSH" },
	[P_DROP_REST] = { "drop_rest", "Everything else dropped",
			  "a single mandatory gateway: nothing but its ports is reachable" },
	[P_REPLIES] = { "replies", "Replies to the host's own traffic",
			"the gateway's own connections get their answers, and only those" },
	[P_ALERTS] = { "alerts", "Alerts wired",
		       "automated alerting on technical incidents" },
};

/* What the loaded program enforces, from its .rodata (BTF names the fields). */
struct policy {
	bool have;
	uint32_t monitor, tls_validate, tls_min_version, ssh_validate, outbound_track, icmp_echo;
	uint16_t tls_ports[16], ssh_ports[16];
	int n_tls, n_ssh;
	bool tls_port[65536];	/* indexed by port */
	bool ssh_port[65536];
};

struct audit {
	struct ctl *c;
	struct policy pol;
	bool kept[P_NR], ran[P_NR];
	json_object *evidence[P_NR];	/* arrays of probes */
	json_object *notes[P_NR];	/* arrays of strings */
	json_object *facts;
	struct moat_cidr devops4, devops6;
	bool have_devops4, have_devops6;
};

static void note(struct audit *a, enum promise_id p, bool breaks, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void note(struct audit *a, enum promise_id p, bool breaks, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_array_add(a->notes[p], json_object_new_string(msg));
	a->ran[p] = true;
	if (breaks)
		a->kept[p] = false;
}

/* --- the program's policy, from its .rodata --------------------------------- */

static int rodata_fd(int prog_fd, __u32 *btf_id, __u32 *type_id, __u32 *size)
{
	__u32 ids[MAX_PROG_MAPS], len;
	struct bpf_prog_info pinfo = { .nr_map_ids = MAX_PROG_MAPS,
				       .map_ids = (__u64)(unsigned long)ids };

	len = sizeof(pinfo);
	if (bpf_obj_get_info_by_fd(prog_fd, &pinfo, &len))
		return -errno;
	for (__u32 i = 0; i < pinfo.nr_map_ids && i < MAX_PROG_MAPS; i++) {
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

static int read_policy(int prog_fd, struct policy *pol, char *err, size_t errlen)
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

/* --- probes ------------------------------------------------------------------ */

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

/* A flow the host opened, to probe its reply (one per family). */
struct flow_pick {
	struct moat_flow_key key[2];
	bool have[2];
};

static void pick_flows(struct audit *a, struct flow_pick *fp)
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
	for (int i = 0; i < pol->n_tls; i++) {
		uint16_t port = pol->tls_ports[i];

		probe(a, P_WEB_TLS, ifc, stranger, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN, NULL,
		      true, MOAT_R_TLS);
		probe(a, P_WEB_TLS, ifc, stranger, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN, "tls1.2",
		      true, MOAT_R_TLS);
		probe(a, P_WEB_TLS, ifc, stranger, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN, "http",
		      false, MOAT_R_NOT_TLS);
	}
	/* ...and plaintext web ports are closed. */
	for (size_t i = 0; i < sizeof(other_tcp) / sizeof(other_tcp[0]); i++) {
		uint16_t port = other_tcp[i];

		if ((port == 80 || port == 8080) && !pol->tls_port[port] && !pol->ssh_port[port])
			probe(a, P_WEB_TLS, ifc, stranger, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN,
			      NULL, false, MOAT_R_PORT);
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
	for (int i = 0; i < pol->n_ssh; i++) {
		uint16_t port = pol->ssh_ports[i];

		probe(a, P_SSH_DEVOPS, ifc, stranger, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN, NULL,
		      false, MOAT_R_SSH_SOURCE);
		if (!have_devops)
			continue;
		probe(a, P_SSH_DEVOPS, ifc, devops, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN, NULL,
		      true, MOAT_R_SSH);
		probe(a, P_SSH_DEVOPS, ifc, devops, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN, "ssh",
		      true, MOAT_R_SSH);
		probe(a, P_SSH_DEVOPS, ifc, devops, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN, "http",
		      false, MOAT_R_NOT_SSH);
	}

	/* Everything else dropped. */
	for (size_t i = 0; i < sizeof(other_tcp) / sizeof(other_tcp[0]); i++) {
		uint16_t port = other_tcp[i];

		if (!pol->tls_port[port] && !pol->ssh_port[port])
			probe(a, P_DROP_REST, ifc, stranger, to, IPPROTO_TCP, AUDIT_SPORT, port, SYN,
			      NULL, false, MOAT_R_PORT);
	}
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

/* --- facts ------------------------------------------------------------------- */

static int devops_fact(const struct moat_cidr *cidr, const struct moat_entry *e, void *arg)
{
	struct audit *a = arg;
	time_t expires = moat_unix_from_boot_ns(e->expires_ns);
	char buf[64], when[32];
	json_object *o;

	if (e->expires_ns && expires <= time(NULL))
		return 0;	/* expired: not in force */
	moat_format_cidr(cidr, buf, sizeof(buf));
	o = json_object_new_object();
	json_object_object_add(o, "cidr", json_object_new_string(buf));
	json_object_object_add(o, "name", json_object_new_string_len(e->name,
					strnlen(e->name, sizeof(e->name))));
	json_object_object_add(o, "origin", json_object_new_string(moat_origin_name(e->origin)));
	if (e->expires_ns) {
		moat_format_time(expires, when, sizeof(when));
		json_object_object_add(o, "expires", json_object_new_string(when));
	} else {
		json_object_object_add(o, "expires", NULL);
	}
	json_object_array_add(json_object_object_get(a->facts, "devops"), o);
	/* The first entry of each family stands for "a DevOps host". */
	if (cidr->family == AF_INET && !a->have_devops4) {
		a->devops4 = *cidr;
		a->devops4.prefixlen = 128;
		a->have_devops4 = true;
	} else if (cidr->family == AF_INET6 && !a->have_devops6) {
		a->devops6 = *cidr;
		a->devops6.prefixlen = 128;
		a->have_devops6 = true;
	}
	return 0;
}

static size_t body_cb(char *data, size_t size, size_t n, void *arg)
{
	FILE *f = arg;

	return fwrite(data, size, n, f);
}

/* Prometheus' /api/v1/rules: every alert rule labelled service="moat". */
static void alerts_fact(struct audit *a, const char *url)
{
	char full[1024], errbuf[CURL_ERROR_SIZE] = "", *body = NULL;
	json_object *root = NULL, *groups, *names = json_object_new_array();
	size_t body_len = 0;
	FILE *f = open_memstream(&body, &body_len);
	long status = 0;
	CURL *curl = curl_easy_init();
	CURLcode rc;

	json_object_object_add(a->facts, "alert_rules", names);
	snprintf(full, sizeof(full), "%s%s/api/v1/rules?type=alert", url,
		 url[strlen(url) - 1] == '/' ? "." : "");
	if (!curl || !f) {
		note(a, P_ALERTS, true, "couldn't set up an HTTP client");
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, full);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(curl);
	fclose(f);
	f = NULL;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK) {
		note(a, P_ALERTS, true, "couldn't query %s: %s", full,
		     errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	if (status != 200) {
		note(a, P_ALERTS, true, "couldn't query %s: HTTP status %ld", full, status);
		goto out;
	}
	root = json_tokener_parse(body ? body : "");
	groups = json_object_object_get(json_object_object_get(root, "data"), "groups");
	if (!json_object_is_type(groups, json_type_array)) {
		note(a, P_ALERTS, true, "%s: not a Prometheus rules answer", full);
		goto out;
	}
	for (size_t g = 0; g < json_object_array_length(groups); g++) {
		json_object *rules = json_object_object_get(json_object_array_get_idx(groups, g),
							    "rules");

		for (size_t r = 0; r < json_object_array_length(rules); r++) {
			json_object *rule = json_object_array_get_idx(rules, r);
			json_object *labels = json_object_object_get(rule, "labels");
			const char *svc = json_object_get_string(json_object_object_get(labels, "service"));

			if (svc && !strcmp(svc, "moat"))
				json_object_array_add(names, json_object_get(json_object_object_get(rule, "name")));
		}
	}
	a->ran[P_ALERTS] = true;
	for (size_t v = 0; v < sizeof(vital_alerts) / sizeof(vital_alerts[0]); v++) {
		bool loaded = false;

		for (size_t i = 0; i < json_object_array_length(names); i++)
			loaded |= !strcmp(json_object_get_string(json_object_array_get_idx(names, i)),
					  vital_alerts[v]);
		note(a, P_ALERTS, !loaded, "%s %s in %s", vital_alerts[v],
		     loaded ? "loaded" : "NOT loaded", url);
	}
out:
	if (f)
		fclose(f);
	json_object_put(root);
	free(body);
	if (curl)
		curl_easy_cleanup(curl);
}

static void certificate_fact(struct audit *a, const char *config)
{
	char err[MOAT_ERR_LEN], when[32];
	struct moat_config cfg;
	json_object *o = json_object_new_object();
	int64_t expiry;

	json_object_object_add(a->facts, "certificate", o);
	json_object_object_add(o, "config", json_object_new_string(config));
	if (moat_config_load(config, &cfg, err, sizeof(err))) {
		json_object_object_add(o, "error", json_object_new_string(err));
		return;
	}
	if (!cfg.inspector.certificate[0]) {
		json_object_object_add(o, "path", NULL);
	} else {
		json_object_object_add(o, "path", json_object_new_string(cfg.inspector.certificate));
		if (moat_cert_expiry(cfg.inspector.certificate, &expiry, err, sizeof(err))) {
			json_object_object_add(o, "error", json_object_new_string(err));
		} else {
			moat_format_time(expiry, when, sizeof(when));
			json_object_object_add(o, "expires", json_object_new_string(when));
			json_object_object_add(o, "days_left",
					       json_object_new_int64((expiry - time(NULL)) / 86400));
		}
	}
	moat_config_free(&cfg);
}

/* --- output ------------------------------------------------------------------- */

static const char *str(json_object *o, const char *key)
{
	const char *s = json_object_get_string(json_object_object_get(o, key));

	return s ? s : "";
}

/* "443, 8443", or "none". */
static const char *ports(json_object *facts, const char *key, char *buf, size_t len)
{
	json_object *arr = json_object_object_get(facts, key);
	size_t at = 0;

	snprintf(buf, len, "none");
	for (size_t i = 0; i < json_object_array_length(arr) && at < len; i++)
		at += snprintf(buf + at, len - at, "%s%d", i ? ", " : "",
			       json_object_get_int(json_object_array_get_idx(arr, i)));
	return buf;
}

static void print_markdown(struct audit *a, json_object *root)
{
	json_object *facts = a->facts, *arr;
	char tls[128], ssh[128];
	int broken = 0;

	for (int p = 0; p < P_NR; p++)
		broken += a->ran[p] && !a->kept[p];
	printf("# moat audit: %s\n\n", str(root, "host"));
	printf("Generated %s from the programs loaded under `%s`.\n"
	       "Every packet below was run through them as a dry run (as `moatctl check`\n"
	       "does): nothing was sent, counted or changed.\n\n", str(root, "generated"),
	       a->c->pin_dir);
	printf("**%s**\n\n", broken ? "Some promises are BROKEN." : "Every promise is kept.");
	printf("| promise | | policy |\n|---|---|---|\n");
	for (int p = 0; p < P_NR; p++) {
		if (!a->ran[p])
			continue;
		printf("| %s | %s | %s |\n", promises[p].title,
		       a->kept[p] ? "kept" : "**BROKEN**", promises[p].policy);
	}

	printf("\n## Facts\n\n");
	printf("- mode: **%s**, policy generation %s, last (re)load %s%s\n", str(facts, "mode"),
	       str(facts, "generation"), str(facts, "last_reload"),
	       json_object_get_boolean(json_object_object_get(facts, "last_reload_ok")) ? ""
	       : " (**a later reload was refused**)");
	arr = json_object_object_get(facts, "interfaces");
	printf("- interfaces:");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		printf("%s %s (%s, %s)", i ? "," : "", str(o, "name"), str(o, "xdp_mode"),
		       json_object_get_boolean(json_object_object_get(o, "attached")) ? "attached"
									       : "**NOT attached**");
	}
	printf("\n- TLS ports: %s; SSH ports: %s\n", ports(facts, "tls_ports", tls, sizeof(tls)),
	       ports(facts, "ssh_ports", ssh, sizeof(ssh)));
	printf("- deny entries: %s; bans: %s\n", str(facts, "deny_entries"), str(facts, "bans"));
	arr = json_object_object_get(facts, "certificate");
	if (arr) {
		if (json_object_object_get(arr, "error"))
			printf("- certificate: %s: %s\n", str(arr, "path")[0] ? str(arr, "path")
			       : str(arr, "config"), str(arr, "error"));
		else if (!str(arr, "path")[0])
			printf("- certificate: none configured in %s\n", str(arr, "config"));
		else
			printf("- certificate: %s expires %s (%s days left)\n", str(arr, "path"),
			       str(arr, "expires"), str(arr, "days_left"));
	}
	arr = json_object_object_get(facts, "alert_rules");
	if (arr) {
		printf("- moat alert rules loaded in Prometheus (%zu):", json_object_array_length(arr));
		for (size_t i = 0; i < json_object_array_length(arr); i++)
			printf("%s %s", i ? "," : "",
			       json_object_get_string(json_object_array_get_idx(arr, i)));
		printf("\n");
	}
	arr = json_object_object_get(facts, "devops");
	printf("\nDevOps allowlist (%zu):\n\n", json_object_array_length(arr));
	if (json_object_array_length(arr)) {
		printf("| cidr | name | origin | expires |\n|---|---|---|---|\n");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *o = json_object_array_get_idx(arr, i);

			printf("| %s | %s | %s | %s |\n", str(o, "cidr"), str(o, "name"),
			       str(o, "origin"), str(o, "expires")[0] ? str(o, "expires") : "never");
		}
	}

	printf("\n## Evidence\n");
	for (int p = 0; p < P_NR; p++) {
		json_object *ev = a->evidence[p], *notes = a->notes[p];

		if (!a->ran[p])
			continue;
		printf("\n### %s: %s\n\n", promises[p].title, a->kept[p] ? "kept" : "BROKEN");
		for (size_t i = 0; i < json_object_array_length(notes); i++)
			printf("- %s\n", json_object_get_string(json_object_array_get_idx(notes, i)));
		if (json_object_array_length(notes))
			printf("\n");
		if (!json_object_array_length(ev))
			continue;
		printf("| interface | packet | expected | got | |\n|---|---|---|---|---|\n");
		for (size_t i = 0; i < json_object_array_length(ev); i++) {
			json_object *o = json_object_array_get_idx(ev, i);
			bool ok = json_object_get_boolean(json_object_object_get(o, "ok"));

			printf("| %s | `%s` | %s | ", str(o, "interface"), str(o, "packet"),
			       str(o, "expect"));
			if (json_object_object_get(o, "error"))
				printf("error: %s", str(o, "error"));
			else
				printf("%s %s", str(o, "verdict"), str(o, "reason"));
			printf(" | %s |\n", ok ? "ok" : "**BROKEN**");
		}
	}
}

/* --- the command ---------------------------------------------------------------- */

static void add_ports(json_object *facts, const char *key, const uint16_t *ports, int n)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_int(ports[i]));
	json_object_object_add(facts, key, arr);
}

int do_audit(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {	/* long options only */
		{ "prometheus", required_argument, NULL, OPT_PROMETHEUS },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{}
	};
	struct ctl_getopt g = { .argc = argc, .argv = argv, .opts = opts };
	const char *prometheus = NULL, *config = MOAT_DEFAULT_CONFIG;
	struct audit *a = calloc(1, sizeof(*a));
	struct moat_snapshot *s = malloc(sizeof(*s));
	json_object *root = json_object_new_object(), *ifs, *list;
	struct flow_pick fp;
	char host[256] = "", when[32], err[256];
	int opt, ret = EXIT_FAILED, n_ifaces = 0, broken = 0;

	if (!a || !s) {
		ctl_error(c, "audit: out of memory");
		goto out;
	}
	a->c = c;
	while ((opt = ctl_getopt(c, &g)) != -1) {
		switch (opt) {
		case OPT_PROMETHEUS: prometheus = g.arg; break;
		case OPT_CONFIG: config = g.arg; break;
		default: ret = EXIT_USAGE; goto out;
		}
	}
	if ((ret = ctl_no_more_args(c, argc, argv, g.next)))
		goto out;
	if ((ret = ctl_open(c)))
		goto out;
	ret = EXIT_FAILED;
	if (moat_snapshot_read(&c->pins, s)) {
		ctl_error(c, "audit: couldn't read moat's state under %s", c->pin_dir);
		goto out;
	}
	for (int p = 0; p < P_NR; p++) {
		a->kept[p] = true;
		a->evidence[p] = json_object_new_array();
		a->notes[p] = json_object_new_array();
	}

	/* Facts first: the devops list names the hosts the SSH probes use. */
	a->facts = json_object_new_object();
	json_object_object_add(a->facts, "mode", json_object_new_string(s->meta.mode ? "monitor"
										     : "enforce"));
	json_object_object_add(a->facts, "generation", json_object_new_uint64(s->meta.generation));
	moat_format_time(s->meta.loaded_at, when, sizeof(when));
	json_object_object_add(a->facts, "last_reload", json_object_new_string(when));
	json_object_object_add(a->facts, "last_reload_ok",
			       json_object_new_boolean(!s->meta.reload_failed_at));
	json_object_object_add(a->facts, "devops", json_object_new_array());
	json_object_object_add(a->facts, "deny_entries", json_object_new_uint64(s->deny_entries));
	json_object_object_add(a->facts, "bans", json_object_new_uint64(s->bans));
	if (moat_table_foreach(moat_pins_devops(&c->pins), devops_fact, a)) {
		ctl_error(c, "audit: couldn't read the devops table under %s", c->pin_dir);
		goto out;
	}
	certificate_fact(a, config);
	if (prometheus)
		alerts_fact(a, prometheus);
	pick_flows(a, &fp);

	ifs = json_object_new_array();
	json_object_object_add(a->facts, "interfaces", ifs);
	for (int i = 0; i < MOAT_MAX_IFACES; i++) {
		const struct moat_iface_state *st = &s->ifaces[i];
		struct iface_ctx ifc = { .name = st->iface.name };
		json_object *o;

		if (!st->iface.ifindex)
			continue;
		n_ifaces++;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(st->iface.name));
		json_object_object_add(o, "xdp_mode", json_object_new_string(
			st->iface.xdp_mode == MOAT_XDP_GENERIC ? "generic" : "native"));
		json_object_object_add(o, "attached", json_object_new_boolean(st->attached));
		json_object_array_add(ifs, o);
		ifc.prog = moat_pinned_prog(c->pin_dir, st->iface.name);
		if (!st->attached || ifc.prog < 0) {
			for (int p = P_WEB_TLS; p <= P_REPLIES; p++)
				note(a, p, true, "%s: moat's program is not attached: nothing is "
				     "enforced there", st->iface.name);
			if (ifc.prog >= 0)
				close(ifc.prog);
			continue;
		}
		if (!a->pol.have && read_policy(ifc.prog, &a->pol, err, sizeof(err))) {
			ctl_error(c, "audit: %s: %s", st->iface.name, err);
			close(ifc.prog);
			goto out;
		}
		local_addrs(&ifc);
		probe_family(a, &ifc, false, &fp);
		probe_family(a, &ifc, true, &fp);
		close(ifc.prog);
	}
	if (!n_ifaces) {
		ctl_error(c, "audit: no interface in moat's table under %s", c->pin_dir);
		goto out;
	}

	/* What the probes cannot show. */
	if (a->pol.have) {
		add_ports(a->facts, "tls_ports", a->pol.tls_ports, a->pol.n_tls);
		add_ports(a->facts, "ssh_ports", a->pol.ssh_ports, a->pol.n_ssh);
		if (!a->pol.n_tls)
			note(a, P_WEB_TLS, true, "no TLS port: the web is not served at all");
		if (!a->pol.n_ssh)
			note(a, P_SSH_DEVOPS, false, "no SSH port: nobody reaches SSH");
		else if (!a->have_devops4 && !a->have_devops6)
			note(a, P_SSH_DEVOPS, false, "the DevOps allowlist is empty: nobody reaches SSH");
		if (!a->pol.outbound_track)
			note(a, P_REPLIES, true, "outbound.track is off: replies to the host's own "
			     "connections are not recognised");
		if (!fp.have[0] && !fp.have[1])
			note(a, P_REPLIES, false, "no flow the host opened is recorded now: only "
			     "spoofed replies were probed");
	}

	gethostname(host, sizeof(host) - 1);
	moat_format_time(time(NULL), when, sizeof(when));
	json_object_object_add(root, "host", json_object_new_string(host));
	json_object_object_add(root, "generated", json_object_new_string(when));
	list = json_object_new_array();
	for (int p = 0; p < P_NR; p++) {
		json_object *o;

		if (!a->ran[p]) {
			json_object_put(a->evidence[p]);
			json_object_put(a->notes[p]);
			a->evidence[p] = a->notes[p] = NULL;
			continue;
		}
		broken += !a->kept[p];
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(promises[p].id));
		json_object_object_add(o, "promise", json_object_new_string(promises[p].title));
		json_object_object_add(o, "policy", json_object_new_string(promises[p].policy));
		json_object_object_add(o, "kept", json_object_new_boolean(a->kept[p]));
		json_object_object_add(o, "notes", json_object_get(a->notes[p]));
		json_object_object_add(o, "evidence", json_object_get(a->evidence[p]));
		json_object_array_add(list, o);
	}
	json_object_object_add(root, "kept", json_object_new_boolean(!broken));
	json_object_object_add(root, "promises", list);
	json_object_object_add(root, "facts", json_object_get(a->facts));
	if (c->json)
		ctl_print_json(root);
	else
		print_markdown(a, root);
	ret = broken ? EXIT_FAILED : EXIT_OK;
out:
	if (a) {
		for (int p = 0; p < P_NR; p++) {
			json_object_put(a->evidence[p]);
			json_object_put(a->notes[p]);
		}
		json_object_put(a->facts);
	}
	json_object_put(root);
	free(a);
	free(s);
	return ret;
}
