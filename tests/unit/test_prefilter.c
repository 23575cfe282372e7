// SPDX-License-Identifier: GPL-2.0
/*
 * The worker's pre-filter (user/inspect/prefilter.c) against the CRS it
 * stands in for: what it passes, what it sends on, and its claim checked on
 * thousands of generated requests (a fixed seed): every request it passes
 * matches no CRS rule at all, while enough pass and enough don't for the
 * check to mean something. Generated paths and User-Agents mix plain words
 * with the very words the scoped rules look for (933150's PHP functions,
 * 941130's xhtml/xmlns/formaction, Unix paths) and a few bytes they need.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "inspect/crs.h"
#include "inspect/prefilter.h"

#define RULES	"/usr/share/modsecurity-crs/rules"

static struct crs *crs;
static struct prefilter *pf;

struct req {
	struct h1_request r;
	char headers[2048];
	size_t len;
};

static void req_init(struct req *q, const char *method, const char *url)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->r.method, sizeof(q->r.method), "%s", method);
	q->r.url = url;
	q->r.headers = q->headers;
}

static void req_header(struct req *q, const char *name, const char *value)
{
	int n = snprintf(q->headers + q->len, sizeof(q->headers) - q->len, "%s%c%s%c", name, 0,
			 value, 0);

	assert_true(n > 0 && (size_t)n < sizeof(q->headers) - q->len);
	q->len += n;
	q->r.n_headers++;
}

static bool plain(const char *method, const char *url, const char *const *hdrs)
{
	struct req q;

	req_init(&q, method, url);
	for (; hdrs && hdrs[0]; hdrs += 2)
		req_header(&q, hdrs[0], hdrs[1]);
	return prefilter_plain(pf, &q.r);
}

static int setup(void **state)
{
	char err[512];

	crs = crs_load(RULES, 1, err, sizeof(err));
	pf = crs ? prefilter_load(RULES, 1, err, sizeof(err)) : NULL;
	if (!pf)
		fprintf(stderr, "load: %s\n", err);
	return pf ? 0 : -1;
}

static int teardown(void **state)
{
	prefilter_free(pf);
	crs_free(crs);
	return 0;
}

static void test_passes(void **state)
{
	static const char *const curl[] = { "Host", "gw", "User-Agent", "curl/7.88.1", "Accept",
					    "*/*", NULL };
	static const char *const asset[] = {
		"host", "gw.example", "user-agent", "h2load nghttp2/1.52.0",
		"accept", "text/css,*/*;q=0.1", "accept-encoding", "gzip, deflate, br",
		"accept-language", "en-US,en;q=0.5", "if-none-match", "W/\"5e-18a\"", NULL,
	};

	assert_true(plain("GET", "/", curl));
	assert_true(plain("GET", "/index.html", curl));
	assert_true(plain("HEAD", "/static/app-1.2.3.min.js", asset));
	assert_true(plain("GET", "/etc/passwd", curl));	/* no scoped rule reads the path for it */
}

static void test_sends_on(void **state)
{
	static const char *const curl[] = { "Host", "gw", "User-Agent", "curl/7.88.1", NULL };
	static const char *const cookie[] = { "Host", "gw", "Cookie", "a=1", NULL };
	static const char *const referer[] = { "Host", "gw", "Referer", "https://gw/", NULL };
	static const char *const browser[] = { "User-Agent", "Mozilla/5.0 (X11; Linux x86_64)", NULL };
	static const char *const xhtml[] = { "User-Agent", "agent xhtml", NULL };
	static const char *const brace[] = { "Accept", "() { :; }; id", NULL };
	static const char *const other[] = { "X-Forwarded-For", "198.18.0.1", NULL };
	static const char *const pct[] = { "Accept", "%7B", NULL };

	assert_false(plain("GET", "/?", curl));
	assert_false(plain("GET", "/a?b=c", curl));
	assert_false(plain("POST", "/", curl));
	assert_false(plain("GET", "/a%20b", curl));
	assert_false(plain("GET", "/a+b", curl));
	assert_false(plain("GET", "/../x", curl));
	assert_false(plain("GET", "//x", curl));
	assert_false(plain("GET", "/./x", curl));
	assert_false(plain("GET", "x", curl));
	assert_false(plain("GET", "/Shell_Exec.php", curl));	/* 933150 on the path */
	assert_false(plain("GET", "/", cookie));
	assert_false(plain("GET", "/", referer));
	assert_false(plain("GET", "/", browser));
	assert_false(plain("GET", "/", xhtml));
	assert_false(plain("GET", "/", brace));
	assert_false(plain("GET", "/", other));
	assert_false(plain("GET", "/", pct));
}

/* A request with a body is never plain, whatever else it is. */
static void test_body(void **state)
{
	struct req q;

	req_init(&q, "GET", "/");
	q.r.body = "x";
	q.r.body_len = 1;
	assert_false(prefilter_plain(pf, &q.r));
}

static const char *const path_words[] = {
	"index", "static", "img", "app.js", "v1", "users", "etc", "passwd", "bin", "sh", "proc",
	"self", "environ", "php", "shell_exec", "system", "eval", "base64_decode", "phpinfo",
	"include_once", "file_get_contents", "script", "alert", "cookie", "document.cookie",
	"onload", "javascript", "wget", "curl", "cmd.exe", "x-y_z", "A.B", "boot.ini", "win.ini",
	"%3cscript%3e", "a(b)", "$x", "<svg", "q=1", "a;b", "x|y",
};
static const char *const ua_words[] = {
	"curl/7.88.1", "Mozilla/5.0", "h2load", "nghttp2/1.52.0", "xhtml", "xmlns", "formaction",
	"onload", "onerror", "script", "javascript", "alert", "bot", "Wget/1.21", "(X11;", "x=1",
	"<b>", "\"q\"", "ok", "-", "python-requests/2.31",
};
static const char *const header_names[] = {
	"Accept", "accept-language", "cache-control", "if-none-match", "dnt", "te",
	"Sec-Fetch-Mode", "x-custom", "cookie", "referer",
};
static const char *const header_values[] = {
	"*/*", "en-US,en;q=0.5", "no-cache", "W/\"x\"", "1", "trailers", "navigate",
	"() { :; }; id", "O:8:\"stdClass\":0:{}", "text/html;q=0.9", "gzip, br", "%28%29",
	"<script>", "a'b",
};

#define PICK(a) (a)[rand() % (sizeof(a) / sizeof((a)[0]))]

/* The claim: whatever passes matches no scoped rule. */
static void test_sound(void **state)
{
	size_t passed = 0, failed = 0;

	srand(12);
	for (int i = 0; i < 3000; i++) {
		char url[512] = "", ua[256] = "";
		struct moat_insp_verdict v;
		struct req q;
		int n = 1 + rand() % 4;

		for (int k = 0; k < n; k++) {
			strcat(url, "/");
			strcat(url, PICK(path_words));
		}
		for (int k = 0, m = 1 + rand() % 3; k < m; k++) {
			if (k)
				strcat(ua, " ");
			strcat(ua, PICK(ua_words));
		}
		req_init(&q, rand() % 8 ? "GET" : "HEAD", url);
		req_header(&q, "Host", "gw.example");
		req_header(&q, "User-Agent", ua);
		for (int k = 0, m = rand() % 3; k < m; k++)
			req_header(&q, PICK(header_names), PICK(header_values));
		if (!prefilter_plain(pf, &q.r)) {
			failed++;
			continue;
		}
		passed++;
		memset(&v, 0, sizeof(v));
		assert_int_equal(crs_eval(crs, &q.r, "198.18.0.9", 40000, &v), 0);
		if (v.result != MOAT_INSP_CLEAN || v.n_rules)
			fail_msg("plain, yet rule %u matched: %s UA '%s'", v.rules[0], url, ua);
	}
	print_message("generated: %zu passed the pre-filter (each clean by the CRS), %zu sent on\n",
		      passed, failed);
	assert_true(passed >= 300 && failed >= 300);
}

/* Above paranoia 1 the argument is not made: nothing passes. */
static void test_paranoia(void **state)
{
	static const char *const curl[] = { "Host", "gw", NULL };
	struct prefilter *saved = pf;
	char err[256];

	pf = prefilter_load(RULES, 2, err, sizeof(err));
	assert_non_null(pf);
	assert_false(plain("GET", "/", curl));
	prefilter_free(pf);
	pf = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passes),
		cmocka_unit_test(test_sends_on),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_sound),
		cmocka_unit_test(test_paranoia),
	};

	return cmocka_run_group_tests_name("prefilter", tests, setup, teardown);
}
