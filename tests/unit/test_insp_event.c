// SPDX-License-Identifier: GPL-2.0
/*
 * A detection's JSON line (user/lib/insp_event.c), shared by moatd's log and
 * moatctl events: exactly the keys SPEC §6 names, IPv4 and IPv6 clients,
 * fixed-size fields the worker filled to the brim (no NUL) stay in bounds,
 * rule ids past the array are not read, an unknown category is "other".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "lib/insp_event.h"

static struct moat_insp_event event(const char *client)
{
	struct moat_insp_event e = { .time = 1764603600, .category = MOAT_INSP_XSS, .n_rules = 2,
				     .rules = { 941100, 941160 } };
	struct in6_addr a;

	if (strchr(client, ':')) {
		inet_pton(AF_INET6, client, &a);
	} else {
		memset(&a, 0, sizeof(a));
		a.s6_addr[10] = a.s6_addr[11] = 0xff;
		inet_pton(AF_INET, client, &a.s6_addr[12]);
	}
	memcpy(&e.client, &a, sizeof(a));
	strcpy(e.method, "GET");
	strcpy(e.path, "/search");
	strcpy(e.action, "banned");
	return e;
}

static const char *line(const struct moat_insp_event *e, char *buf, size_t len)
{
	json_object *o = moat_insp_event_json(e);

	snprintf(buf, len, "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return buf;
}

static void test_v4_line(void **state)
{
	struct moat_insp_event e = event("198.18.1.2");
	char buf[1024];

	assert_string_equal(line(&e, buf, sizeof(buf)),
		"{\"event\":\"detection\",\"time\":\"2025-12-01T15:40:00Z\",\"client\":\"198.18.1.2\","
		"\"method\":\"GET\",\"path\":\"/search\",\"rules\":[941100,941160],"
		"\"category\":\"xss\",\"action\":\"banned\"}");
}

static void test_v6_client(void **state)
{
	struct moat_insp_event e = event("2001:db8:1::2");
	char buf[1024];

	assert_non_null(strstr(line(&e, buf, sizeof(buf)), "\"client\":\"2001:db8:1::2\""));
}

static void test_full_fields_stay_in_bounds(void **state)
{
	struct moat_insp_event e = event("198.18.1.2");
	char buf[2048], want[MOAT_INSP_PATH_LEN + 16];

	memset(e.method, 'M', sizeof(e.method));
	memset(e.path, 'p', sizeof(e.path));
	memset(e.action, 'a', sizeof(e.action));
	line(&e, buf, sizeof(buf));
	snprintf(want, sizeof(want), "\"path\":\"%.*s\"", MOAT_INSP_PATH_LEN,
		 "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
		 "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
		 "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
		 "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp");
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "\"method\":\"MMMMMMMMMMMMMMMM\""));
	assert_non_null(strstr(buf, "\"action\":\"aaaaaaaaaaaaaaaaaaaaaaaa\""));
}

static void test_rules_and_category_bounded(void **state)
{
	struct moat_insp_event e = event("198.18.1.2");
	json_object *o, *rules, *cat;

	e.n_rules = 1000;
	e.category = 77;
	for (int i = 0; i < MOAT_INSP_MAX_RULES; i++)
		e.rules[i] = 932100 + i;
	o = moat_insp_event_json(&e);
	assert_true(json_object_object_get_ex(o, "rules", &rules));
	assert_int_equal(json_object_array_length(rules), MOAT_INSP_MAX_RULES);
	assert_true(json_object_object_get_ex(o, "category", &cat));
	assert_string_equal(json_object_get_string(cat), "other");
	assert_int_equal(json_object_object_length(o), 8);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_line),
		cmocka_unit_test(test_v6_client),
		cmocka_unit_test(test_full_fields_stay_in_bounds),
		cmocka_unit_test(test_rules_and_category_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
