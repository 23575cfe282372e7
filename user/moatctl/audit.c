// SPDX-License-Identifier: GPL-2.0
/*
 * moatctl audit: the report the customer's IT contact asks for. Each promise
 * of the security policy is put to the loaded program on every interface,
 * v4 and v6, with representative packets run through the same dry run as
 * moatctl check (lib/probe.c): a promise is kept when every packet gets the
 * verdict it promises. Then facts from the running system. Reads only: no
 * counter, flow, connection or ban changes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "audit.h"
#include "lib/table.h"

#define OPT_PROMETHEUS	0x100
#define OPT_CONFIG	0x101

const struct promise audit_promises[P_NR] = {
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

void audit_note(struct audit *a, enum promise_id p, bool breaks, const char *fmt, ...)
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

static void add_ports(json_object *facts, const char *key, const uint16_t *ports, int n)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_int(ports[i]));
	json_object_object_add(facts, key, arr);
}

/* Each interface in moat's table: a fact, and every promise put to its
 * program. EXIT_OK, or EXIT_FAILED (said). */
static int probe_interfaces(struct audit *a, const struct moat_snapshot *s,
			    const struct flow_pick *fp)
{
	json_object *ifs = json_object_new_array();
	struct ctl *c = a->c;
	int n_ifaces = 0, prog;
	char err[256];

	json_object_object_add(a->facts, "interfaces", ifs);
	for (int i = 0; i < MOAT_MAX_IFACES; i++) {
		const struct moat_iface_state *st = &s->ifaces[i];
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
		prog = moat_pinned_prog(c->pin_dir, st->iface.name);
		if (!st->attached || prog < 0) {
			for (int p = P_WEB_TLS; p <= P_REPLIES; p++)
				audit_note(a, p, true, "%s: moat's program is not attached: nothing is "
					   "enforced there", st->iface.name);
			if (prog >= 0)
				close(prog);
			continue;
		}
		if (!a->pol.have && audit_read_policy(prog, &a->pol, err, sizeof(err))) {
			ctl_error(c, "audit: %s: %s", st->iface.name, err);
			close(prog);
			return EXIT_FAILED;
		}
		audit_probe_iface(a, st->iface.name, prog, fp);
		close(prog);
	}
	if (!n_ifaces) {
		ctl_error(c, "audit: no interface in moat's table under %s", c->pin_dir);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* What the probes cannot show. */
static void unprobed(struct audit *a, const struct flow_pick *fp)
{
	if (!a->pol.have)
		return;
	add_ports(a->facts, "tls_ports", a->pol.tls_ports, a->pol.n_tls);
	add_ports(a->facts, "ssh_ports", a->pol.ssh_ports, a->pol.n_ssh);
	if (!a->pol.n_tls)
		audit_note(a, P_WEB_TLS, true, "no TLS port: the web is not served at all");
	if (!a->pol.n_ssh)
		audit_note(a, P_SSH_DEVOPS, false, "no SSH port: nobody reaches SSH");
	else if (!a->have_devops4 && !a->have_devops6)
		audit_note(a, P_SSH_DEVOPS, false, "the DevOps allowlist is empty: nobody reaches SSH");
	if (!a->pol.outbound_track)
		audit_note(a, P_REPLIES, true, "outbound.track is off: replies to the host's own "
			   "connections are not recognised");
	if (!fp->have[0] && !fp->have[1])
		audit_note(a, P_REPLIES, false, "no flow the host opened is recorded now: only "
			   "spoofed replies were probed");
}

/* The report as JSON into root: each promise that ran, then the facts.
 * Returns how many promises are broken. */
static int report(struct audit *a, json_object *root)
{
	json_object *list = json_object_new_array();
	char host[256] = "", when[32];
	int broken = 0;

	gethostname(host, sizeof(host) - 1);
	moat_format_time(time(NULL), when, sizeof(when));
	json_object_object_add(root, "host", json_object_new_string(host));
	json_object_object_add(root, "generated", json_object_new_string(when));
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
		json_object_object_add(o, "id", json_object_new_string(audit_promises[p].id));
		json_object_object_add(o, "promise", json_object_new_string(audit_promises[p].title));
		json_object_object_add(o, "policy", json_object_new_string(audit_promises[p].policy));
		json_object_object_add(o, "kept", json_object_new_boolean(a->kept[p]));
		json_object_object_add(o, "notes", json_object_get(a->notes[p]));
		json_object_object_add(o, "evidence", json_object_get(a->evidence[p]));
		json_object_array_add(list, o);
	}
	json_object_object_add(root, "kept", json_object_new_boolean(!broken));
	json_object_object_add(root, "promises", list);
	json_object_object_add(root, "facts", json_object_get(a->facts));
	return broken;
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
	json_object *root = json_object_new_object();
	struct flow_pick fp;
	int opt, ret = EXIT_FAILED;

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
	if ((ret = ctl_no_more_args(c, argc, argv, g.next)) || (ret = ctl_open(c)))
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
	if (audit_facts(a, s, config, prometheus)) {
		ctl_error(c, "audit: couldn't read the devops table under %s", c->pin_dir);
		goto out;
	}
	audit_pick_flows(a, &fp);
	if (probe_interfaces(a, s, &fp))
		goto out;
	unprobed(a, &fp);
	ret = report(a, root) ? EXIT_FAILED : EXIT_OK;
	if (c->json)
		ctl_print_json(root);
	else
		audit_print_markdown(a, root);
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
