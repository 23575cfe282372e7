// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP/1.1 reassembly of the inspector's worker (user/inspect/http1.c): the
 * same requests come out whatever pieces the reads cut the stream into.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "inspect/http1.h"
#include "lib/seen.h"

/* Feeds text cut at the given offsets (sorted, < len); returns h1_feed's last error. */
static int feed_cut(const char *text, size_t max_body, const size_t *cuts, size_t n_cuts,
		    struct seen *s)
{
	struct h1_conn *c = h1_new(max_body, collect, s);
	size_t len = strlen(text), at = 0;
	int err = 0;

	assert_non_null(c);
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i <= n_cuts && !err; i++) {
		size_t to = i < n_cuts ? cuts[i] : len;

		err = h1_feed(c, text + at, to - at);
		at = to;
	}
	h1_free(c);
	return err;
}

static const char pipelined[] =
	"GET /a?x=1 HTTP/1.1\r\nHost: gw\r\nX-Empty:\r\nAccept: */*\r\n\r\n"
	"POST /form HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	"Content-Length: 11\r\n\r\nname=a&b=c1"
	"POST /up HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
	"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n"
	"GET /last HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n";

static const char *const want[] = {
	"GET /a?x=1|Host=gw|X-Empty=|Accept=*/*|body=",
	"POST /form|Host=gw|Content-Type=application/x-www-form-urlencoded|"
	"Content-Length=11|body=name=a&b=c1",
	"POST /up|Host=gw|Transfer-Encoding=chunked|body=hello world",
	"GET /last|Host=gw|Connection=close|body=",
};

static void check_want(const struct seen *s)
{
	assert_int_equal(s->n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(s->req[i], want[i]);
}

static void test_pipelined_whole(void **state)
{
	struct seen s;

	assert_int_equal(feed_cut(pipelined, 1024, NULL, 0, &s), 0);
	check_want(&s);
}

/* One cut anywhere, then two cuts at every pair of a stride: same requests. */
static void test_split_every_byte(void **state)
{
	size_t len = strlen(pipelined);
	struct seen s;

	for (size_t i = 1; i < len; i++) {
		assert_int_equal(feed_cut(pipelined, 1024, &i, 1, &s), 0);
		check_want(&s);
	}
	for (size_t i = 1; i < len; i += 7) {
		for (size_t j = i + 1; j < len; j += 5) {
			size_t cuts[2] = { i, j };

			assert_int_equal(feed_cut(pipelined, 1024, cuts, 2, &s), 0);
			check_want(&s);
		}
	}
}

static void test_byte_by_byte(void **state)
{
	size_t len = strlen(pipelined), *cuts = malloc(len * sizeof(*cuts));
	struct seen s;

	assert_non_null(cuts);
	for (size_t i = 0; i < len - 1; i++)
		cuts[i] = i + 1;
	assert_int_equal(feed_cut(pipelined, 1024, cuts, len - 1, &s), 0);
	check_want(&s);
	free(cuts);
}

static void test_body_limit(void **state)
{
	static const char req[] = "POST /f HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"
				  "POST /g HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd";
	size_t cut = 45;
	struct seen s;

	assert_int_equal(feed_cut(req, 4, &cut, 1, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.req[0], "POST /f|Content-Length=10|body=0123|truncated");
	assert_string_equal(s.req[1], "POST /g|Content-Length=4|body=abcd");
}

static void test_bad_framing(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GARBAGE\r\n\r\n",
		"get / HTTP/1.1\r\n\r\n",
		"FOO\r\n\r\n",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",	/* h2 preface: not followed here */
		"GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nmore bytes",
		/* An upgrade the server made: a websocket frame is no request. */
		"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		"\x81\x85\x01\x02\x03\x04" "abcde",
	};
	struct seen s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct h1_conn *c = h1_new(64, collect, &s);

		memset(&s, 0, sizeof(s));
		assert_int_equal(h1_feed(c, bad[i], strlen(bad[i])), -EPROTO);
		/* Sticky: a good request after it is not parsed. */
		assert_int_equal(h1_feed(c, "GET / HTTP/1.1\r\n\r\n", 18), -EPROTO);
		h1_free(c);
	}
}

static void test_url_limit(void **state)
{
	size_t n = H1_MAX_URL + 32;
	char *req = malloc(n + 32);
	struct seen s;

	assert_non_null(req);
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', n);
	strcpy(req + 5 + n, " HTTP/1.1\r\n\r\n");
	assert_int_equal(feed_cut(req, 64, NULL, 0, &s), -EPROTO);
	assert_int_equal(s.n, 0);
	free(req);
}

/*
 * nginx answers an Upgrade it does not proxy as a plain request and reads
 * the next one on the connection: so does the parser, in whatever pieces.
 */
static void test_upgrade_not_taken(void **state)
{
	static const char req[] =
		"GET / HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
		"GET /s?q=<script> HTTP/1.1\r\nHost: gw\r\n\r\n"
		"CONNECT gw:443 HTTP/1.1\r\nHost: gw\r\n\r\n"
		"GET /t HTTP/1.1\r\nHost: gw\r\n\r\n";
	size_t len = strlen(req), *cuts = calloc(len, sizeof(*cuts));
	struct seen s;

	assert_non_null(cuts);
	assert_int_equal(feed_cut(req, 64, NULL, 0, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.req[1], "GET /s?q=<script>|Host=gw|body=");
	assert_string_equal(s.req[3], "GET /t|Host=gw|body=");
	for (size_t i = 0; i < len - 1; i++)
		cuts[i] = i + 1;
	assert_int_equal(feed_cut(req, 64, cuts, len - 1, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.req[1], "GET /s?q=<script>|Host=gw|body=");
	free(cuts);
}

/* Header values with bytes nginx takes (controls, high bytes) do not end the parsing. */
static void test_header_bytes(void **state)
{
	static const char req[] =
		"GET / HTTP/1.1\r\nHost: gw\r\nX: a\x01\x7f\xff" "b\r\n\r\n"
		"GET /s?q=<script> HTTP/1.1\r\nHost: gw\r\n\r\n";
	struct seen s;

	assert_int_equal(feed_cut(req, 64, NULL, 0, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.req[1], "GET /s?q=<script>|Host=gw|body=");
}

/* nginx takes any [A-Z_-] token as a method: so does the parser, in whatever pieces. */
static void test_unknown_method(void **state)
{
	static const char req[] =
		"\r\nFOO /s?q=<script> HTTP/1.1\r\nHost: gw\r\n\r\n"
		"GET /a HTTP/1.1\r\n\r\n"
		"X_Y-Z /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
		"PATCH /c HTTP/1.1\r\n\r\n";
	static const char *const want_m[] = {
		"FOO /s?q=<script>|Host=gw|body=", "GET /a|body=",
		"X_Y-Z /b|Content-Length=3|body=abc", "PATCH /c|body=",
	};
	size_t len = strlen(req), *cuts = calloc(len, sizeof(*cuts));
	struct seen s;

	assert_non_null(cuts);
	for (size_t i = 0; i < len - 1; i++)
		cuts[i] = i + 1;
	for (size_t pass = 0; pass < 2; pass++) {
		assert_int_equal(feed_cut(req, 64, cuts, pass ? len - 1 : 0, &s), 0);
		assert_int_equal(s.n, 4);
		for (size_t i = 0; i < 4; i++)
			assert_string_equal(s.req[i], want_m[i]);
	}
	free(cuts);
}

/* The connection ends inside a request: what came of it, once, marked incomplete. */
static void test_end_inside_request(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		/* HTTP/0.9: nginx answers the line alone; the parser waits for headers. */
		{ "GET /s?q=<script>\r\n", "GET /s?q=<script>|body=|incomplete" },
		{ "POST /f HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234",
		  "POST /f|Content-Length=10|body=01234|incomplete" },
		{ "GET / HTTP/1.1\r\nHost: gw\r\nX-Na", "GET /|Host=gw|X-Na=|body=|incomplete" },
		{ "GET / HTTP/1.1\r\nHost: gw\r\nX: va", "GET /|Host=gw|X=va|body=|incomplete" },
		{ "GET / HTTP/1.1\r\n\r\nGET /b?x=1 HT", "GET /b?x=1|body=|incomplete" },
	};
	struct seen s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct h1_conn *c = h1_new(64, collect, &s);

		memset(&s, 0, sizeof(s));
		assert_int_equal(h1_feed(c, cases[i].text, strlen(cases[i].text)), 0);
		h1_end(c);
		assert_int_equal(s.n, i == 4 ? 2 : 1);
		assert_string_equal(s.req[s.n - 1], cases[i].want);
		h1_end(c);	/* once */
		assert_int_equal(s.n, i == 4 ? 2 : 1);
		h1_free(c);
	}
}

/* Nothing at the end after complete requests, or after a parse error. */
static void test_end_between_requests(void **state)
{
	static const char *const texts[] = {
		"", "GET / HTTP/1.1\r\n\r\n", "\r\n", "garbage / HTTP/1.1\r\n",
	};
	struct seen s;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct h1_conn *c = h1_new(64, collect, &s);

		memset(&s, 0, sizeof(s));
		h1_feed(c, texts[i], strlen(texts[i]));
		h1_end(c);
		assert_int_equal(s.n, i == 1 ? 1 : 0);
		h1_free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_whole),
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_bad_framing),
		cmocka_unit_test(test_url_limit),
		cmocka_unit_test(test_upgrade_not_taken),
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_unknown_method),
		cmocka_unit_test(test_end_inside_request),
		cmocka_unit_test(test_end_between_requests),
	};

	return cmocka_run_group_tests_name("http1", tests, NULL, NULL);
}
