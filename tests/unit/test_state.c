// SPDX-License-Identifier: GPL-2.0
/*
 * runtime.json reading (user/lib/state.c): a table of damaged files, each
 * with the entries that must still come through and the lines that must
 * say what was refused; and the file's mode whatever the umask.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "lib/state.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct seen {
	char entries[1024];	/* "devops 198.51.100.7 alice runtime 0\n" ... */
	char problems[4096];	/* one per line */
	int n_problems;
};

static int on_entry(void *ctx, const struct moat_state_entry *e)
{
	struct seen *s = ctx;
	size_t n = strlen(s->entries);
	char cidr[64];

	moat_format_cidr(&e->cidr, cidr, sizeof(cidr));
	snprintf(s->entries + n, sizeof(s->entries) - n, "%s %s %s %s %lld\n",
		 e->list == MOAT_STATE_BAN ? "ban" : "devops", cidr, e->name,
		 e->origin == MOAT_ORIGIN_INSPECTOR ? "inspector" : "runtime",
		 (long long)e->expires);
	return 0;
}

static void on_problem(void *ctx, const char *msg)
{
	struct seen *s = ctx;
	size_t n = strlen(s->problems);

	s->n_problems++;
	snprintf(s->problems + n, sizeof(s->problems) - n, "%s\n", msg);
}

static int parse(const char *text, size_t len, struct seen *s)
{
	struct moat_state_sink sink = { on_entry, on_problem, s };

	memset(s, 0, sizeof(*s));
	return moat_state_parse("runtime.json", text, len, &sink);
}

#define GOOD_DEVOPS "{\"cidr\": \"198.51.100.7\", \"name\": \"alice\", \"origin\": \"runtime\", \"expires\": 0}"
#define GOOD_BAN    "{\"cidr\": \"203.0.113.0/24\", \"origin\": \"inspector\", \"expires\": 4102444800}"
#define WRAP(d, b)  "{\"version\": 1, \"devops\": [" d "], \"ban\": [" b "]}"
#define BOTH	    "devops 198.51.100.7 alice runtime 0\nban 203.0.113.0/24 203.0.113.0/24 inspector 4102444800\n"

static const struct {
	const char *name, *text;
	int problems;
	const char *entries;	/* what still comes through */
	const char *says;	/* in the problem lines */
} cases[] = {
	{ "clean", WRAP(GOOD_DEVOPS, GOOD_BAN) "\n", 0, BOTH, "" },
	{ "what moatd writes, pretty", "{\n  \"version\":1,\n  \"devops\":[\n  ],\n  \"ban\":[\n  ]\n}\n",
	  0, "", "" },
	{ "no lists at all", "{\"version\": 1}", 0, "", "" },
	{ "the issue's file: devops is an object", "{\"version\":1,\"devops\":{},\"ban\":[]}", 1, "",
	  "runtime.json: devops: expected an array, got object; none of its entries restored" },
	{ "ban is null, devops survives", "{\"version\":1,\"devops\":[" GOOD_DEVOPS "],\"ban\":null}", 1,
	  "devops 198.51.100.7 alice runtime 0\n", "ban: expected an array, got null" },
	{ "root is an array", "[" GOOD_DEVOPS "]", 1, "", "expected an object, got array; nothing restored" },
	{ "root is a number", "42", 1, "", "expected an object, got int" },
	{ "root is a string", "\"x\"", 1, "", "expected an object, got string" },
	{ "empty file", "", 1, "", "not JSON (at byte 0: the text ends early)" },
	{ "truncated", "{\"version\": 1, \"devops\": [" GOOD_DEVOPS, 1, "", "the text ends early" },
	{ "garbage after the value", WRAP(GOOD_DEVOPS, "") "x", 1, "", "not JSON (at byte 115: unexpected character)" },
	{ "two values", WRAP(GOOD_DEVOPS, "") WRAP("", ""), 1, "", "" },
	{ "too deep", "{\"version\":1,\"devops\":[{\"cidr\":[[[\"x\"]]]}]}", 1, "", "not JSON" },
	{ "version missing", "{\"devops\": [" GOOD_DEVOPS "]}", 1, "", "version: missing" },
	{ "version 2", "{\"version\": 2, \"devops\": [" GOOD_DEVOPS "]}", 1, "",
	  "version: 2, this moat reads version 1; nothing restored" },
	{ "version is a string", "{\"version\": \"1\"}", 1, "", "version: 1," },
	{ "a bad entry in the middle",
	  WRAP(GOOD_DEVOPS ", {\"cidr\": \"10.0.0.1/33\"}, {\"cidr\": \"198.51.100.8\", \"name\": \"bob\"}", GOOD_BAN),
	  1, "devops 198.51.100.7 alice runtime 0\ndevops 198.51.100.8 bob runtime 0\n"
	     "ban 203.0.113.0/24 203.0.113.0/24 inspector 4102444800\n",
	  "runtime.json: devops[1].cidr: '10.0.0.1/33': prefix length above 32; entry skipped" },
	{ "entry is not an object", WRAP("7, " GOOD_DEVOPS, ""), 1,
	  "devops 198.51.100.7 alice runtime 0\n", "devops[0]: expected an object, got int" },
	{ "cidr missing", WRAP("{\"name\": \"x\"}", GOOD_BAN), 1,
	  "ban 203.0.113.0/24 203.0.113.0/24 inspector 4102444800\n", "devops[0].cidr: missing" },
	{ "cidr a number", WRAP("", "{\"cidr\": 10}"), 1, "", "ban[0].cidr: not a string" },
	{ "cidr with host bits", WRAP("", "{\"cidr\": \"10.0.0.1/8\"}"), 1, "", "host bits set" },
	{ "cidr with a NUL", WRAP("", "{\"cidr\": \"10.0.0.1\\u0000x\"}"), 1, "", "ban[0].cidr: not a string" },
	{ "name too long", WRAP("{\"cidr\": \"10.0.0.1\", \"name\": \"" "0123456789012345678901234567890123" "\"}", ""),
	  1, "", "longer than 31 characters" },
	{ "name empty", WRAP("{\"cidr\": \"10.0.0.1\", \"name\": \"\"}", ""), 1, "", "devops[0].name" },
	{ "name with a newline", WRAP("{\"cidr\": \"10.0.0.1\", \"name\": \"a\\nb\"}", ""), 1, "",
	  "'a?b': contains a control character" },
	{ "name an array", WRAP("{\"cidr\": \"10.0.0.1\", \"name\": []}", ""), 1, "", "name: not a string" },
	{ "origin config", WRAP("{\"cidr\": \"10.0.0.1\", \"origin\": \"config\"}", ""), 1, "",
	  "want runtime or inspector" },
	{ "origin a bool", WRAP("{\"cidr\": \"10.0.0.1\", \"origin\": true}", ""), 1, "", "origin: not a string" },
	{ "expires a string", WRAP("{\"cidr\": \"10.0.0.1\", \"expires\": \"2030-01-01\"}", ""), 1, "",
	  "expires: expected unix seconds, got string" },
	{ "expires a double", WRAP("{\"cidr\": \"10.0.0.1\", \"expires\": 1.5}", ""), 1, "", "got double" },
	{ "expires negative", WRAP("{\"cidr\": \"10.0.0.1\", \"expires\": -5}", ""), 1, "",
	  "not between 0 (never) and 9223372036 (2262-04-11T23:47:16Z)" },
	{ "expires past 2262", WRAP("{\"cidr\": \"10.0.0.1\", \"expires\": 9223372037}", ""), 1, "",
	  "expires: 9223372037: not between" },
	{ "expires beyond int64", WRAP("{\"cidr\": \"10.0.0.1\", \"expires\": 99999999999999999999999}", ""),
	  1, "", "expires" },
	{ "expires at the 2262 edge", WRAP("{\"cidr\": \"10.0.0.1\", \"expires\": 9223372036}", ""), 0,
	  "devops 10.0.0.1 10.0.0.1 runtime 9223372036\n", "" },
	{ "expires null", WRAP("{\"cidr\": \"10.0.0.1\", \"expires\": null}", ""), 1, "", "got null" },
	{ "unknown members are ignored", "{\"version\":1,\"x\":[1],\"devops\":[{\"cidr\":\"::1\",\"y\":2}]}",
	  0, "devops ::1 ::1 runtime 0\n", "" },
};

static void test_shapes(void **state)
{
	struct seen s;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int ret = parse(cases[i].text, strlen(cases[i].text), &s);

		if (ret != cases[i].problems || s.n_problems != cases[i].problems ||
		    strcmp(s.entries, cases[i].entries) || !strstr(s.problems, cases[i].says))
			fail_msg("case '%s': returned %d, %d problem line(s), want %d\n"
				 "entries:\n%s\nwant:\n%s\nproblems:\n%s\nwant in them: %s",
				 cases[i].name, ret, s.n_problems, cases[i].problems, s.entries,
				 cases[i].entries, s.problems, cases[i].says);
	}
}

/* A NUL inside the text is not whitespace after the value. */
static void test_embedded_nul(void **state)
{
	static const char text[] = WRAP(GOOD_DEVOPS, "") "\0 ";
	struct seen s;

	assert_int_equal(parse(text, sizeof(text) - 1, &s), 1);
	assert_string_equal(s.entries, "");
}

/* Control characters from the file never reach the log raw. */
static void test_messages_are_one_line(void **state)
{
	static const char text[] = WRAP("{\"cidr\": \"\\r\\n\\u001b[31mx\"}", "");
	struct seen s;

	assert_int_equal(parse(text, strlen(text), &s), 1);
	assert_non_null(strstr(s.problems, "'???[31mx'"));
	assert_int_equal(strchr(s.problems, '\n') - s.problems, strlen(s.problems) - 1);
}

static int stop_at_second(void *ctx, const struct moat_state_entry *e)
{
	return ++*(int *)ctx == 2 ? -ENOSPC : 0;
}

static void test_entry_error_stops(void **state)
{
	static const char text[] = WRAP(GOOD_DEVOPS ", " GOOD_DEVOPS ", " GOOD_DEVOPS, "");
	int calls = 0;
	struct moat_state_sink sink = { stop_at_second, NULL, &calls };

	assert_int_equal(moat_state_parse("runtime.json", text, strlen(text), &sink), -ENOSPC);
	assert_int_equal(calls, 2);
}

static void check_mode(mode_t mask)
{
	char dir[] = "/tmp/m8state.XXXXXX", path[PATH_MAX];
	struct stat st;
	mode_t old;

	assert_non_null(mkdtemp(dir));
	old = umask(mask);
	assert_int_equal(moat_state_write(dir, "{\"version\": 1}\n"), 0);
	umask(old);
	snprintf(path, sizeof(path), "%s/%s", dir, MOAT_STATE_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 15);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* runtime.json holds who may SSH in: 0600 whatever the umask says. */
static void test_write_mode(void **state)
{
	check_mode(0);
	check_mode(022);
	check_mode(0777);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_messages_are_one_line),
		cmocka_unit_test(test_entry_error_stops),
		cmocka_unit_test(test_write_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
