// SPDX-License-Identifier: GPL-2.0
/*
 * Metrics exposition, health and certificate expiry (user/lib/metrics.c),
 * from snapshots built by hand: no kernel, no root. The rendered text is
 * also fed to the real `promtool check metrics`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "lib/metrics.h"

/* From the Debian packages prometheus and prometheus-alertmanager (make deps). */
#define PROMTOOL "/usr/bin/promtool"
#define AMTOOL "/usr/bin/amtool"

static const char configured[][MOAT_IFNAMSIZ] = { "gwd0", "gwc0", "eth9" };

/* gwd0 native and attached, gwc0 generic but detached, eth9 configured but never loaded. */
static struct moat_snapshot *known_snapshot(void)
{
	struct moat_snapshot *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->ifaces[0].iface = (struct moat_iface){ .ifindex = 3, .xdp_mode = MOAT_XDP_NATIVE,
						  .name = "gwd0" };
	s->ifaces[0].attached = true;
	s->ifaces[2].iface = (struct moat_iface){ .ifindex = 4, .xdp_mode = MOAT_XDP_GENERIC,
						  .name = "gwc0" };
	s->stats[MOAT_STATS_IDX(0, MOAT_V_PASS, MOAT_R_TLS)] =
		(struct moat_counter){ .packets = 10, .bytes = 1500 };
	s->stats[MOAT_STATS_IDX(0, MOAT_V_DROP, MOAT_R_SSH_SOURCE)] =
		(struct moat_counter){ .packets = 3, .bytes = 180 };
	s->stats[MOAT_STATS_IDX(2, MOAT_V_MONITOR_DROP, MOAT_R_MALFORMED)] =
		(struct moat_counter){ .packets = 18446744073709551615ULL, .bytes = 7 };
	s->devops_entries = 100000;
	s->bans = 2;
	s->deny_entries = 1;
	return s;
}

static struct moat_metrics_info known_info(void)
{
	return (struct moat_metrics_info){
		.reload_success = true,
		.last_reload_ts = 1700000000,
		.version = "1.2.3",
		.interfaces = configured,
		.n_interfaces = 3,
		.cert_path = "/etc/ssl/gw.pem",
		.cert_expiry = 1800000000,
		.flows = 5,
		.flows_max = 262144,
		.reattaches = 3,
	};
}

/* Renders into a malloc'd string. */
static char *render(const struct moat_snapshot *s, const struct moat_metrics_info *info)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(moat_metrics_render(f, s, info), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Whether text holds exactly this line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p += n;
	}
	return false;
}

static int count_prefix(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;
	int count = 0;

	for (; *p; p = strchr(p, '\n') + 1) {
		if (!strncmp(p, prefix, n))
			count++;
		if (!strchr(p, '\n'))
			break;
	}
	return count;
}

#define assert_line(text, line)                                              \
	do {                                                                 \
		if (!has_line(text, line))                                   \
			fail_msg("missing line: %s", line);                  \
	} while (0)

static void test_known_counters(void **state)
{
	struct moat_snapshot *s = known_snapshot();
	struct moat_metrics_info info = known_info();
	char *text = render(s, &info);

	assert_line(text, "moat_packets_total{interface=\"gwd0\",verdict=\"pass\",reason=\"tls\"} 10");
	assert_line(text, "moat_bytes_total{interface=\"gwd0\",verdict=\"pass\",reason=\"tls\"} 1500");
	assert_line(text, "moat_packets_total{interface=\"gwd0\",verdict=\"drop\",reason=\"ssh_source\"} 3");
	assert_line(text, "moat_bytes_total{interface=\"gwd0\",verdict=\"drop\",reason=\"ssh_source\"} 180");
	/* A 64-bit counter prints whole, not as a lossy float. */
	assert_line(text, "moat_packets_total{interface=\"gwc0\",verdict=\"monitor_drop\",reason=\"malformed\"} 18446744073709551615");
	/* Zeros for every combination, even on an interface without a slot. */
	assert_line(text, "moat_packets_total{interface=\"gwd0\",verdict=\"drop\",reason=\"malformed\"} 0");
	assert_line(text, "moat_packets_total{interface=\"eth9\",verdict=\"monitor_drop\",reason=\"fragment\"} 0");
	assert_int_equal(count_prefix(text, "moat_packets_total{"), 3 * MOAT_NR_VERDICTS * MOAT_NR_REASONS);
	assert_int_equal(count_prefix(text, "moat_bytes_total{"), 3 * MOAT_NR_VERDICTS * MOAT_NR_REASONS);
	assert_int_equal(count_prefix(text, "moat_packets_total{interface=\"gwd0\","),
			 MOAT_NR_VERDICTS * MOAT_NR_REASONS);

	assert_line(text, "moat_attached{interface=\"gwd0\",xdp_mode=\"native\"} 1");
	assert_line(text, "moat_attached{interface=\"gwc0\",xdp_mode=\"generic\"} 0");
	assert_line(text, "moat_attached{interface=\"eth9\",xdp_mode=\"none\"} 0");
	assert_line(text, "moat_flows 5");
	assert_line(text, "moat_flows_max 262144");
	assert_line(text, "moat_interface_reattaches_total 3");
	assert_line(text, "moat_devops_entries 100000");
	assert_line(text, "moat_bans 2");
	assert_line(text, "moat_deny_entries 1");
	assert_line(text, "moat_config_reload_success 1");
	assert_line(text, "moat_config_last_reload_timestamp_seconds 1700000000");
	assert_line(text, "moat_build_info{version=\"1.2.3\"} 1");
	assert_line(text, "moat_tls_certificate_expiry_timestamp_seconds{path=\"/etc/ssl/gw.pem\"} 1800000000");
	free(text);
	free(s);
}

static const char *const families[][2] = {
	{ "moat_packets_total", "counter" },
	{ "moat_bytes_total", "counter" },
	{ "moat_attached", "gauge" },
	{ "moat_flows", "gauge" },
	{ "moat_flows_max", "gauge" },
	{ "moat_devops_entries", "gauge" },
	{ "moat_bans", "gauge" },
	{ "moat_deny_entries", "gauge" },
	{ "moat_interface_reattaches_total", "counter" },
	{ "moat_config_reload_success", "gauge" },
	{ "moat_config_last_reload_timestamp_seconds", "gauge" },
	{ "moat_build_info", "gauge" },
	{ "moat_tls_certificate_expiry_timestamp_seconds", "gauge" },
	{ "moat_inspector_requests_total", "counter" },
	{ "moat_inspector_detections_total", "counter" },
	{ "moat_inspector_events_lost_total", "counter" },
	{ "moat_inspector_attached_processes", "gauge" },
	{ "moat_inspector_worker_restarts_total", "counter" },
	{ "moat_inspector_detection_latency_seconds", "histogram" },
};

static bool histogram_sample(const char *name, const char *family)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
	size_t n = strlen(family);

	if (strncmp(name, family, n) || strcmp(family, "moat_inspector_detection_latency_seconds"))
		return false;
	for (size_t i = 0; i < 3; i++)
		if (!strcmp(name + n, suffixes[i]))
			return true;
	return false;
}

/*
 * HELP and TYPE once per family, before its samples, and each family's
 * samples in one block: the text format requires it.
 */
static void test_help_type_once(void **state)
{
	struct moat_snapshot *s = known_snapshot();
	struct moat_metrics_info info = known_info();
	char *text = render(s, &info), *line, *save = NULL;
	char help[128], type[128], current[128] = "";
	bool done[sizeof(families) / sizeof(families[0])] = {};
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(help, sizeof(help), "# HELP %s ", families[i][0]);
		snprintf(type, sizeof(type), "# TYPE %s %s", families[i][0], families[i][1]);
		assert_int_equal(count_prefix(text, help), 1);
		assert_int_equal(count_prefix(text, type), 1);
		assert_line(text, type);
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(line, "# TYPE ", 7)) {
			sscanf(line + 7, "%127s", current);
			for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
				if (!strcmp(families[i][0], current)) {
					assert_false(done[i]);
					done[i] = true;
				}
			}
			continue;
		}
		if (line[0] == '#')
			continue;
		sscanf(line, "%127[^{ ]", name);
		/* A histogram's samples are its name plus _bucket, _sum or _count. */
		if (strcmp(name, current) && !histogram_sample(name, current))
			fail_msg("sample '%s' outside its family block (in %s)", line, current);
	}
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		assert_true(done[i]);
	free(text);
	free(s);
}

/* Interface names and paths are bytes: escape \ " newline, keep UTF-8 valid. */
static void test_label_escaping(void **state)
{
	static const char weird[][MOAT_IFNAMSIZ] = { "a\"b\\c\nd\xff" };
	struct moat_snapshot *s = calloc(1, sizeof(*s));
	struct moat_metrics_info info = known_info();
	char *text;

	assert_non_null(s);
	s->ifaces[5].iface = (struct moat_iface){ .ifindex = 9, .xdp_mode = MOAT_XDP_NATIVE };
	memcpy(s->ifaces[5].iface.name, weird[0], MOAT_IFNAMSIZ);
	s->ifaces[5].attached = true;
	/* Every byte used, no NUL: all 16 are printed and nothing beyond. */
	memcpy(s->ifaces[6].iface.name, "abcdefghijklmnop", MOAT_IFNAMSIZ);
	s->ifaces[6].iface.ifindex = 10;
	s->stats[MOAT_STATS_IDX(5, MOAT_V_PASS, MOAT_R_SSH)].packets = 4;
	info.interfaces = weird;
	info.n_interfaces = 1;
	info.cert_path = "/tmp/q\"uo\\te.pem";
	info.version = "v\n1";
	text = render(s, &info);

	assert_line(text, "moat_packets_total{interface=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\",verdict=\"pass\",reason=\"ssh\"} 4");
	assert_line(text, "moat_attached{interface=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\",xdp_mode=\"native\"} 1");
	assert_line(text, "moat_packets_total{interface=\"abcdefghijklmnop\",verdict=\"pass\",reason=\"ssh\"} 0");
	assert_line(text, "moat_tls_certificate_expiry_timestamp_seconds{path=\"/tmp/q\\\"uo\\\\te.pem\"} 1800000000");
	assert_line(text, "moat_build_info{version=\"v\\n1\"} 1");
	free(text);
	free(s);
}

/* One interface in two slots (removed, added back) is one summed series. */
static void test_same_name_summed(void **state)
{
	struct moat_snapshot *s = known_snapshot();
	struct moat_metrics_info info = known_info();
	char *text;

	s->ifaces[7].iface = (struct moat_iface){ .ifindex = 12, .xdp_mode = MOAT_XDP_NATIVE,
						  .name = "gwd0" };
	s->stats[MOAT_STATS_IDX(7, MOAT_V_PASS, MOAT_R_TLS)] =
		(struct moat_counter){ .packets = 5, .bytes = 500 };
	text = render(s, &info);
	assert_line(text, "moat_packets_total{interface=\"gwd0\",verdict=\"pass\",reason=\"tls\"} 15");
	assert_line(text, "moat_bytes_total{interface=\"gwd0\",verdict=\"pass\",reason=\"tls\"} 2000");
	assert_int_equal(count_prefix(text, "moat_packets_total{interface=\"gwd0\",verdict=\"pass\",reason=\"tls\"}"), 1);
	/* The attached slot wins over the stale one. */
	assert_line(text, "moat_attached{interface=\"gwd0\",xdp_mode=\"native\"} 1");
	assert_int_equal(count_prefix(text, "moat_attached{interface=\"gwd0\""), 1);
	free(text);
	free(s);
}

static void test_failed_reload_and_no_cert(void **state)
{
	struct moat_snapshot *s = known_snapshot();
	struct moat_metrics_info info = known_info();
	char *text;

	info.reload_success = false;
	info.cert_expiry = 0;	/* configured but unreadable: no made-up 1970 expiry */
	info.version = NULL;
	text = render(s, &info);
	assert_line(text, "moat_config_reload_success 0");
	assert_null(strstr(text, "moat_tls_certificate_expiry_timestamp_seconds"));
	/* The build's version, whatever git describe said when metrics.o was built. */
	assert_int_equal(count_prefix(text, "moat_build_info{version=\""), 1);
	assert_null(strstr(text, "moat_build_info{version=\"\"}"));
	free(text);
	free(s);
}

static void test_health(void **state)
{
	struct moat_snapshot *s = known_snapshot();
	struct moat_metrics_info info = known_info();
	char reason[256], tiny[12];

	info.n_interfaces = 1;	/* gwd0 only: attached */
	assert_int_equal(moat_health(s, &info, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "");

	s->ifaces[0].attached = false;
	assert_int_equal(moat_health(s, &info, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "interface gwd0: moat not attached");

	info.n_interfaces = 3;
	info.reload_success = false;
	assert_int_equal(moat_health(s, &info, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "interface gwd0: moat not attached; interface gwc0: moat not "
				    "attached; interface eth9: moat not attached; last reload failed");

	/* A refused reload leaves the previous policy enforced: healthy, warned. */
	s->ifaces[0].attached = true;
	info.n_interfaces = 1;
	assert_int_equal(moat_health(s, &info, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "ok; warning: the last reload was refused, the previous "
				    "policy is enforced");

	info.reload_success = true;
	assert_int_equal(moat_health(NULL, &info, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "moat pinned state unreadable");

	/* Truncates, stays terminated, still unhealthy. */
	info.n_interfaces = 3;
	assert_int_equal(moat_health(s, &info, tiny, sizeof(tiny)), 1);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

static void test_health_one_line(void **state)
{
	static const char nl[][MOAT_IFNAMSIZ] = { "ev\nil" };
	struct moat_snapshot *s = calloc(1, sizeof(*s));
	struct moat_metrics_info info = known_info();
	char reason[128];

	assert_non_null(s);
	info.interfaces = nl;
	info.n_interfaces = 1;
	assert_int_equal(moat_health(s, &info, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "interface ev?il: moat not attached");
	free(s);
}

/* A self-signed certificate expiring at not_after, written as PEM to a temp file. */
static void write_cert(const char *path, time_t not_after)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *f;

	assert_non_null(key);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), not_after));
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"gw", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	f = fopen(path, "w");
	assert_non_null(f);
	/* A key first: the certificate need not be the first PEM block. */
	assert_true(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	assert_true(PEM_write_X509(f, x));
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void test_cert_expiry(void **state)
{
	char path[] = "/tmp/moat-test-cert.XXXXXX", err[256] = "";
	int64_t t = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	/* 2030-01-01T00:00:00Z: UTCTime. */
	write_cert(path, 1893456000);
	assert_int_equal(moat_cert_expiry(path, &t, err, sizeof(err)), 0);
	assert_int_equal(t, 1893456000);
	/* 2052-05-24T...: GeneralizedTime (after 2049). */
	write_cert(path, 2600000000LL);
	assert_int_equal(moat_cert_expiry(path, &t, err, sizeof(err)), 0);
	assert_int_equal(t, 2600000000LL);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a certificate\n", 18), 18);
	close(fd);
	assert_int_equal(moat_cert_expiry(path, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	unlink(path);
	assert_int_equal(moat_cert_expiry(path, &t, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));
}

/* Runs a shell command; fails the test with its output unless it exits 0. */
static void run_ok(const char *cmd)
{
	char out[4096] = "";
	int status;
	size_t n;
	FILE *p;

	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("'%s' failed (status %d): %s", cmd, status, out);
}

/* The real linter on the real output: what Prometheus will parse. */
static void promtool_check(const char *text)
{
	char path[] = "/tmp/moat-test-metrics.XXXXXX", cmd[512];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < %s 2>&1", path);
	run_ok(cmd);
	unlink(path);
}

static void test_promtool(void **state)
{
	static const char weird[][MOAT_IFNAMSIZ] = { "a\"b\\c\nd\xff" };
	struct moat_snapshot *s = known_snapshot();
	struct moat_metrics_info info = known_info();
	char *text;

	text = render(s, &info);
	promtool_check(text);
	free(text);

	memcpy(s->ifaces[1].iface.name, weird[0], MOAT_IFNAMSIZ);
	s->ifaces[1].iface.ifindex = 7;
	info.cert_path = "/tmp/q\"uo\\te.pem";
	text = render(s, &info);
	promtool_check(text);
	free(text);
	free(s);
}

/*
 * The shipped alerting files (tests/run.sh runs from the repo root): every
 * alert fires and stays quiet in moat-alerts.test.yml, the Prometheus and
 * Alertmanager examples load.
 */
#define PROM_DIR "scripts/prometheus/"
static void test_shipped_rules(void **state)
{
	if (access(PROM_DIR "moat-alerts.test.yml", R_OK))
		fail_msg("%s: run from the repository root", PROM_DIR "moat-alerts.test.yml");
	run_ok(PROMTOOL " test rules " PROM_DIR "moat-alerts.test.yml 2>&1");
	run_ok(PROMTOOL " check config " PROM_DIR "prometheus.yml 2>&1");
	run_ok(AMTOOL " check-config " PROM_DIR "alertmanager.yml 2>&1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_counters),
		cmocka_unit_test(test_help_type_once),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_same_name_summed),
		cmocka_unit_test(test_failed_reload_and_no_cert),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_health_one_line),
		cmocka_unit_test(test_cert_expiry),
		cmocka_unit_test(test_promtool),
		cmocka_unit_test(test_shipped_rules),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
