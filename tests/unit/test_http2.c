// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP/2 reassembly of the inspector's worker (user/inspect/http2.c): the
 * same requests come out whatever pieces the reads cut the frames into;
 * HPACK with its dynamic table across requests and a table size update,
 * CONTINUATION, padding and priority, interleaved streams, RST_STREAM,
 * trailers, the body limit; bad framing gives the connection up, for good.
 * Frames are written by tests/inspect/h2enc.c (nghttp2's deflater). The
 * worker's routing (reasm.c): a connection opening with the preface is
 * HTTP/2 wherever the reads cut it, any other is HTTP/1.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "inspect/http2.h"
#include "inspect/reasm.h"
#include "inspect/h2enc.h"
#include "lib/seen.h"

/* Feeds bytes cut at the given offsets (sorted, < len); returns h2_feed's last result. */
static int feed_cut(const struct buf *b, size_t max_body, const size_t *cuts, size_t n_cuts,
		    struct seen *s)
{
	struct h2_conn *c = h2_new(max_body, collect, s);
	size_t at = 0;
	int err = 0;

	assert_non_null(c);
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i <= n_cuts && !err; i++) {
		size_t to = i < n_cuts ? cuts[i] : b->len;

		err = h2_feed(c, b->p + at, to - at);
		at = to;
	}
	h2_free(c);
	return err;
}

static const struct treq get = {
	"GET", "/search?q=hello+world", "gw",
	{ { "User-Agent", "curl/7.88.1" }, { "Accept", "*/*" } }, 2, NULL, 0,
};
static const struct treq post = {
	"POST", "/form", "gw",
	{ { "Content-Type", "application/x-www-form-urlencoded" }, { "Cookie", "a=1; b=2; c=3" } },
	2, "name=a&b=c1", 11,
};
static const char *const want_get =
	"GET /search?q=hello+world|user-agent=curl/7.88.1|accept=*/*|host=gw|body=";
static const char *const want_post =
	"POST /form|content-type=application/x-www-form-urlencoded|host=gw|cookie=a=1; b=2; c=3|"
	"body=name=a&b=c1";

/* get, post, get again (indexed from the dynamic table) on one connection. */
static void three(struct buf *out, const struct h2shape *shape)
{
	struct h2enc e;

	assert_int_equal(h2enc_init(&e, 4096), 0);
	assert_true(h2enc_request(&e, &get, shape));
	assert_true(h2enc_request(&e, &post, shape));
	assert_true(h2enc_request(&e, &get, shape));
	*out = e.out;
	e.out = (struct buf){};
	h2enc_free(&e);
}

static void check_three(const struct seen *s)
{
	assert_int_equal(s->n, 3);
	assert_string_equal(s->req[0], want_get);
	assert_string_equal(s->req[1], want_post);
	assert_string_equal(s->req[2], want_get);
}

static const struct h2shape shapes[] = {
	{},
	{ .frag = 5, .data = 3 },			/* CONTINUATIONs, small DATA frames */
	{ .pad = 7, .priority = true, .data = 4 },	/* PADDED, PRIORITY */
	{ .frag = 1, .pad = 255, .split_cookie = true },	/* cookie crumbs joined back */
	{ .frag = 9, .data = 1, .pad = 1, .priority = true, .split_cookie = true },
};

static void test_shapes_whole(void **state)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct buf b;
		struct seen s;

		three(&b, &shapes[i]);
		assert_int_equal(feed_cut(&b, 1024, NULL, 0, &s), 0);
		check_three(&s);
		buf_free(&b);
	}
}

/* Every shape cut once at every byte, and fed byte by byte. */
static void test_split_every_byte(void **state)
{
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		struct buf b;
		struct seen s;
		size_t *cuts;

		three(&b, &shapes[k]);
		for (size_t i = 1; i < b.len; i++) {
			assert_int_equal(feed_cut(&b, 1024, &i, 1, &s), 0);
			check_three(&s);
		}
		cuts = malloc(b.len * sizeof(*cuts));
		assert_non_null(cuts);
		for (size_t i = 0; i < b.len - 1; i++)
			cuts[i] = i + 1;
		assert_int_equal(feed_cut(&b, 1024, cuts, b.len - 1, &s), 0);
		check_three(&s);
		free(cuts);
		buf_free(&b);
	}
}

/* A table size update, then fields indexed from the shrunk and regrown table. */
static void test_hpack_table_size(void **state)
{
	struct h2enc e;
	struct seen s;

	assert_int_equal(h2enc_init(&e, 4096), 0);
	assert_true(h2enc_request(&e, &get, NULL));
	assert_int_equal(nghttp2_hd_deflate_change_table_size(e.hpack, 64), 0);
	assert_true(h2enc_request(&e, &post, NULL));
	assert_int_equal(nghttp2_hd_deflate_change_table_size(e.hpack, 8192), 0);
	assert_true(h2enc_request(&e, &get, NULL));
	assert_true(h2enc_request(&e, &get, NULL));
	assert_int_equal(feed_cut(&e.out, 1024, NULL, 0, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.req[0], want_get);
	assert_string_equal(s.req[1], want_post);
	assert_string_equal(s.req[2], want_get);
	assert_string_equal(s.req[3], want_get);
	h2enc_free(&e);
}

/* HEADERS 1, HEADERS 3, DATA 3 (end), DATA 1, unknown frame, DATA 1 (end). */
static void test_interleaved(void **state)
{
	struct treq a = post, b = post;
	struct h2enc e;
	struct seen s;

	a.path = "/one";
	b.path = "/three";
	a.n_hdr = b.n_hdr = 1;
	assert_int_equal(h2enc_init(&e, 4096), 0);
	assert_int_equal(h2enc_headers(&e, 1, &a, NULL, false), 0);
	assert_int_equal(h2enc_headers(&e, 3, &b, NULL, false), 0);
	h2enc_data(&e, 3, "third", 5, NULL, true);
	h2enc_data(&e, 1, "fir", 3, NULL, false);
	h2enc_frame(&e, 0xfa, 0, 1, "ignored", 7);
	h2enc_frame(&e, 8, 0, 1, "\0\0\1\0", 4);	/* WINDOW_UPDATE */
	h2enc_frame(&e, 6, 0, 0, "pingping", 8);
	h2enc_data(&e, 1, "st", 2, NULL, true);
	assert_int_equal(feed_cut(&e.out, 1024, NULL, 0, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.req[0], "POST /three|content-type=application/x-www-form-urlencoded|"
			    "host=gw|body=third");
	assert_string_equal(s.req[1], "POST /one|content-type=application/x-www-form-urlencoded|"
			    "host=gw|body=first");
	h2enc_free(&e);
}

/* A reset stream is still inspected with what arrived; one without headers is not. */
static void test_rst_stream(void **state)
{
	struct h2enc e;
	struct seen s;

	assert_int_equal(h2enc_init(&e, 4096), 0);
	assert_int_equal(h2enc_headers(&e, 1, &post, NULL, false), 0);
	h2enc_data(&e, 1, "half", 4, NULL, false);
	h2enc_frame(&e, 3, 0, 1, "\0\0\0\x08", 4);
	h2enc_frame(&e, 3, 0, 5, "\0\0\0\x08", 4);
	h2enc_data(&e, 1, "late", 4, NULL, true);	/* on a closed stream: dropped */
	assert_true(h2enc_request(&e, &get, NULL) == 1);	/* its own counter: id 1 is */
	assert_int_equal(feed_cut(&e.out, 1024, NULL, 0, &s), -EPROTO);	/* reused: bad */
	assert_int_equal(s.n, 1);
	assert_string_equal(s.req[0], "POST /form|content-type=application/x-www-form-urlencoded|"
			    "host=gw|cookie=a=1; b=2; c=3|body=half");
	h2enc_free(&e);
}

/* The connection ends with a request begun: inspected with what arrived. */
static void test_close(void **state)
{
	struct h2enc e;
	struct seen s;
	struct h2_conn *c = h2_new(1024, collect, &s);

	memset(&s, 0, sizeof(s));
	assert_int_equal(h2enc_init(&e, 4096), 0);
	assert_int_equal(h2enc_headers(&e, 1, &post, NULL, false), 0);
	h2enc_data(&e, 1, "part", 4, NULL, false);
	h2enc_frame(&e, 1, 0, 3, "\x82", 1);	/* a block never finished: not a request */
	assert_int_equal(h2_feed(c, e.out.p, e.out.len), 0);
	assert_int_equal(s.n, 0);
	h2_close(c);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.req[0], "POST /form|content-type=application/x-www-form-urlencoded|"
			    "host=gw|cookie=a=1; b=2; c=3|body=part");
	h2_free(c);
	h2enc_free(&e);
}

static void test_trailers_and_limit(void **state)
{
	struct treq t = { "POST", "/t", "gw", { { "x-trailer", "done" } }, 1, NULL, 0 };
	struct h2enc e;
	struct seen s;

	assert_int_equal(h2enc_init(&e, 4096), 0);
	assert_int_equal(h2enc_headers(&e, 1, &post, NULL, false), 0);
	h2enc_data(&e, 1, "0123456789", 10, NULL, false);
	assert_int_equal(h2enc_headers(&e, 1, &t, NULL, true), 0);
	assert_int_equal(feed_cut(&e.out, 4, NULL, 0, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.req[0], "POST /form|content-type=application/x-www-form-urlencoded|"
			    "x-trailer=done|host=gw|cookie=a=1; b=2; c=3|body=0123|truncated");
	h2enc_free(&e);
}

/* Writes the preface and SETTINGS, then lets add() append frames. */
static void bad_case(void (*add)(struct h2enc *e), size_t want_seen)
{
	struct h2enc e;
	struct seen s;
	struct h2_conn *c;

	assert_int_equal(h2enc_init(&e, 4096), 0);
	add(&e);
	c = h2_new(1024, collect, &s);
	memset(&s, 0, sizeof(s));
	assert_int_equal(h2_feed(c, e.out.p, e.out.len), -EPROTO);
	/* Sticky: a good request after it is not parsed. */
	h2enc_free(&e);
	assert_int_equal(h2enc_init(&e, 4096), 0);
	assert_true(h2enc_request(&e, &get, NULL));
	assert_int_equal(h2_feed(c, e.out.p + H2_PREFACE_LEN, e.out.len - H2_PREFACE_LEN),
			 -EPROTO);
	assert_int_equal(s.n, want_seen);
	h2_free(c);
	h2enc_free(&e);
}

static void b_interrupted_block(struct h2enc *e)
{
	/* HEADERS without END_HEADERS (":method GET"), a PING, its CONTINUATION. */
	h2enc_frame(e, 1, 1, 1, "\x82", 1);
	h2enc_frame(e, 6, 0, 0, "pingping", 8);
	h2enc_frame(e, 9, 4, 1, "\x84", 1);
}
static void b_lone_continuation(struct h2enc *e) { h2enc_frame(e, 9, 4, 1, "\x82", 1); }
static void b_data_stream0(struct h2enc *e) { h2enc_frame(e, 0, 1, 0, "x", 1); }
static void b_even_stream(struct h2enc *e) { h2enc_headers(e, 2, &get, NULL, true); }
static void b_reused_stream(struct h2enc *e)
{
	h2enc_headers(e, 3, &get, NULL, true);
	h2enc_headers(e, 3, &get, NULL, true);
}
static void b_lower_stream(struct h2enc *e)
{
	h2enc_headers(e, 5, &get, NULL, true);
	h2enc_headers(e, 3, &get, NULL, true);
}
static void b_pad_too_long(struct h2enc *e) { h2enc_frame(e, 0, 9, 1, "\x05" "abc", 4); }
static void b_pad_headers(struct h2enc *e) { h2enc_frame(e, 1, 0x0c, 1, "\x09\x82", 2); }
static void b_padded_empty(struct h2enc *e) { h2enc_frame(e, 0, 8, 1, "", 0); }
static void b_settings_len(struct h2enc *e) { h2enc_frame(e, 4, 0, 0, "\0\1\0\0\0", 5); }
static void b_settings_ack(struct h2enc *e) { h2enc_frame(e, 4, 1, 0, "\0\1\0\0\0\0", 6); }
static void b_push_promise(struct h2enc *e) { h2enc_frame(e, 5, 4, 1, "\0\0\0\2\x82", 5); }
static void b_hpack_garbage(struct h2enc *e) { h2enc_frame(e, 1, 5, 1, "\xff\xff\xff\xff\xff\x7f", 6); }
static void b_hpack_index(struct h2enc *e) { h2enc_frame(e, 1, 5, 1, "\xbe", 1); }	/* 62: empty table */
static void b_huge_headers(struct h2enc *e)
{
	static char big[H2_MAX_FRAME + 1];

	h2enc_frame(e, 1, 5, 1, big, sizeof(big));
}
static void b_rst_len(struct h2enc *e) { h2enc_frame(e, 3, 0, 1, "\0\0\0", 3); }
static void b_good_then_bad(struct h2enc *e)
{
	h2enc_request(e, &get, NULL);
	h2enc_frame(e, 2, 0, 0, "\0\0\0\0\0", 5);	/* PRIORITY on stream 0 */
}

static void test_bad_framing(void **state)
{
	static void (*const bad[])(struct h2enc *) = {
		b_interrupted_block, b_lone_continuation, b_data_stream0, b_even_stream,
		b_pad_too_long, b_pad_headers, b_padded_empty, b_settings_len, b_settings_ack,
		b_push_promise, b_hpack_garbage, b_hpack_index, b_huge_headers, b_rst_len,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bad_case(bad[i], 0);
	bad_case(b_reused_stream, 1);
	bad_case(b_lower_stream, 1);
	bad_case(b_good_then_bad, 1);
}

static void test_bad_preface(void **state)
{
	static const char *const bad[] = {
		"PRI * HTTP/2.0\r\n\r\nXM\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: gw\r\n\r\n",
	};
	struct seen s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct h2_conn *c = h2_new(64, collect, &s);

		assert_int_equal(h2_feed(c, bad[i], strlen(bad[i])), -EPROTO);
		h2_free(c);
	}
}

/* Too many streams open at once: given up, the ones before still came out whole. */
static void test_stream_limit(void **state)
{
	struct h2enc e;
	struct seen s;

	assert_int_equal(h2enc_init(&e, 4096), 0);
	for (uint32_t i = 0; i <= H2_MAX_STREAMS; i++)
		assert_int_equal(h2enc_headers(&e, 1 + 2 * i, &post, NULL, false), 0);
	assert_int_equal(feed_cut(&e.out, 64, NULL, 0, &s), -EPROTO);
	assert_int_equal(s.n, 0);
	h2enc_free(&e);
}

/* Routing by the preface, cut at every byte; HTTP/1 that starts like it. */
static void test_routing(void **state)
{
	static const char h1[] = "GET /a HTTP/1.1\r\nHost: gw\r\n\r\n";
	struct buf b;
	struct seen s;

	three(&b, NULL);
	for (size_t i = 1; i < 40; i++) {
		struct reasm *a = reasm_new(1024, collect, &s);

		memset(&s, 0, sizeof(s));
		assert_int_equal(reasm_feed(a, b.p, i), 0);
		assert_int_equal(reasm_feed(a, b.p + i, b.len - i), 0);
		assert_true(reasm_is_h2(a));
		check_three(&s);
		reasm_free(a);
	}
	buf_free(&b);
	for (size_t i = 1; i < sizeof(h1) - 1; i++) {
		struct reasm *a = reasm_new(1024, collect, &s);

		memset(&s, 0, sizeof(s));
		assert_int_equal(reasm_feed(a, h1, i), 0);
		assert_int_equal(reasm_feed(a, h1 + i, sizeof(h1) - 1 - i), 0);
		assert_false(reasm_is_h2(a));
		assert_int_equal(s.n, 1);
		assert_string_equal(s.req[0], "GET /a|Host=gw|body=");
		reasm_free(a);
	}
	/* "PRI * HTTP/2.0" and then something else: not h2; as HTTP/1, the
	 * PRI request it is (judged like any other), then bytes that are none. */
	{
		struct reasm *a = reasm_new(1024, collect, &s);

		memset(&s, 0, sizeof(s));
		assert_int_equal(reasm_feed(a, "PRI * HTTP/2.0\r\n\r\nXX", 21), -EPROTO);
		assert_false(reasm_is_h2(a));
		assert_int_equal(s.n, 1);
		assert_string_equal(s.req[0], "PRI *|body=");
		reasm_free(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes_whole),
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_hpack_table_size),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_rst_stream),
		cmocka_unit_test(test_trailers_and_limit),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_bad_framing),
		cmocka_unit_test(test_bad_preface),
		cmocka_unit_test(test_stream_limit),
		cmocka_unit_test(test_routing),
	};

	return cmocka_run_group_tests_name("http2", tests, NULL, NULL);
}
