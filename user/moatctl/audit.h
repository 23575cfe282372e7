/* SPDX-License-Identifier: GPL-2.0 */
/*
 * moatctl audit, shared by its parts: audit.c (the command and the report
 * as JSON), audit_probe.c (the policy in .rodata, the probes),
 * audit_facts.c (facts from the system), audit_report.c (Markdown).
 */
#ifndef MOATCTL_AUDIT_H
#define MOATCTL_AUDIT_H

#include "moatctl.h"

enum promise_id { P_WEB_TLS, P_TLS_MIN, P_SSH_DEVOPS, P_DROP_REST, P_REPLIES, P_ALERTS, P_NR };

struct promise {
	const char *id, *title, *policy;
};
extern const struct promise audit_promises[P_NR];

/* What the loaded program enforces, from its .rodata (BTF names the fields). */
struct policy {
	bool have;
	uint32_t monitor, tls_validate, tls_min_version, ssh_validate, outbound_track, icmp_echo;
	uint16_t tls_ports[16], ssh_ports[16];
	int n_tls, n_ssh;
	bool tls_port[65536];	/* indexed by port */
	bool ssh_port[65536];
};

/* One audit: per promise whether it ran and was kept, its evidence and notes. */
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

/* Records a note under promise p; breaks: the promise is not kept. */
void audit_note(struct audit *a, enum promise_id p, bool breaks, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* audit_probe.c: the policy the program enforces, from its .rodata. */
int audit_read_policy(int prog_fd, struct policy *pol, char *err, size_t errlen);

/* A flow the host opened, to probe its reply (one per family). */
struct flow_pick {
	struct moat_flow_key key[2];
	bool have[2];
};
void audit_pick_flows(struct audit *a, struct flow_pick *fp);
/* Every promise put to the program prog of interface name, v4 and v6. */
void audit_probe_iface(struct audit *a, const char *name, int prog, const struct flow_pick *fp);

/*
 * audit_facts.c: mode, generation, tables, the DevOps list (its first
 * entry of each family becomes the DevOps host of the probes), the
 * certificate of config and, with prometheus, the alert rules loaded.
 */
int audit_facts(struct audit *a, const struct moat_snapshot *s, const char *config,
		const char *prometheus);

/* audit_report.c: the report as Markdown. */
void audit_print_markdown(const struct audit *a, json_object *root);

#endif /* MOATCTL_AUDIT_H */
