// SPDX-License-Identifier: GPL-2.0
/* moatctl audit's report as Markdown, from the JSON one (audit.c). */
#include <stdio.h>
#include "audit.h"

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

void audit_print_markdown(const struct audit *a, json_object *root)
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
		printf("| %s | %s | %s |\n", audit_promises[p].title,
		       a->kept[p] ? "kept" : "**BROKEN**", audit_promises[p].policy);
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
		printf("\n### %s: %s\n\n", audit_promises[p].title, a->kept[p] ? "kept" : "BROKEN");
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

