// SPDX-License-Identifier: GPL-2.0
/* moatctl audit's facts: what the running system shows beside the probes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include "audit.h"
#include "lib/metrics.h"
#include "lib/table.h"

/* Alerts without which nobody hears that moat stopped enforcing. */
static const char *const vital_alerts[] = { "MoatDown", "MoatNotAttached" };

static int devops_fact(const struct moat_cidr *cidr, const struct moat_entry *e, void *arg)
{
	struct audit *a = arg;
	json_object *o = table_entry_json(cidr, e);

	if (!o)
		return 0;	/* expired: not in force */
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
		audit_note(a, P_ALERTS, true, "couldn't set up an HTTP client");
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
		audit_note(a, P_ALERTS, true, "couldn't query %s: %s", full,
		     errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	if (status != 200) {
		audit_note(a, P_ALERTS, true, "couldn't query %s: HTTP status %ld", full, status);
		goto out;
	}
	root = json_tokener_parse(body ? body : "");
	groups = json_object_object_get(json_object_object_get(root, "data"), "groups");
	if (!json_object_is_type(groups, json_type_array)) {
		audit_note(a, P_ALERTS, true, "%s: not a Prometheus rules answer", full);
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
		audit_note(a, P_ALERTS, !loaded, "%s %s in %s", vital_alerts[v],
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

int audit_facts(struct audit *a, const struct moat_snapshot *s, const char *config,
		const char *prometheus)
{
	char when[32];

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
	if (moat_table_foreach(moat_pins_devops(&a->c->pins), devops_fact, a))
		return -1;
	certificate_fact(a, config);
	if (prometheus)
		alerts_fact(a, prometheus);
	return 0;
}
