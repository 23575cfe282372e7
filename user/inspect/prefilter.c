// SPDX-License-Identifier: GPL-2.0
/*
 * The pre-filter (see prefilter.h). Why a request it passes is clean, for
 * the CRS 3.3.4 rule files the worker loads (crs.c: 901, 932, 933, 934,
 * 941, 949) at paranoia 1, and the base configuration (crs-base.conf,
 * which only sets body processors and removes matches):
 *
 * What it passes: method GET or HEAD with no body; the URL a path only
 * (no '?', so no ARGS or ARGS_NAMES at all), made of [A-Za-z0-9/._-],
 * without "..", "//" or "/./"; headers only from a fixed list of names
 * (no Cookie, so no REQUEST_COOKIES; no Referer, no X-Filename and kin);
 * every value made of printable ASCII other than ( % { ; User-Agent
 * made of [A-Za-z0-9 /._-] only.
 *
 * What the scoped rules read, then: 901 and 949 score nothing themselves;
 * every other PL1 rule reads ARGS, ARGS_NAMES, REQUEST_COOKIES(_NAMES),
 * XML or FILES (all empty here), or one of these:
 *  - REQUEST_FILENAME (the path): 933150 is a phrase match on
 *    php-function-names-933150.data (lowercased): checked here with the same
 *    list; 933160 and 933210 need '(' (or '['), 933180 needs '$', 941110
 *    needs '<'. The path has none, and no transformation of these rules
 *    (lowercase, urlDecodeUni, normalizePath...) makes one: there is no '%',
 *    '+', '&' or '\' to decode.
 *  - REQUEST_HEADERS (every value) and REQUEST_LINE: 932170 is
 *    "^\(\s*\)\s+{" after urlDecode (needs '(' or '%'; the line starts with
 *    the method), 933170 (serialized PHP objects) needs '{' (and '"').
 *  - User-Agent: 941110 needs '<', 941120 and 941140 need '=' or '(',
 *    941160 '<' or a quote, 941170 ':' or '@'; 941130's alternatives need
 *    one of ":!@;=" except "xhtml", "xmlns" and "formaction": checked here;
 *    941100 (libinjection's XSS) flags only tags, comments, doctypes or an
 *    attribute with a value, which need '<', '=' or a quote. Their decoding
 *    transformations need '%', '+', '&', '\' or bytes above 0x7f.
 *  - Referer and X-Filename, X_Filename, X.Filename, X-File-Name: not allowed.
 * tests/unit/test_prefilter.c checks the claim against the CRS itself.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "prefilter.h"

#define MAX_WORDS	256

struct prefilter {
	bool enabled;
	size_t n_words;
	char *words[MAX_WORDS];	/* 933150's list, lowercased */
};

/* Headers whose values only 932170 and 933170 read (and User-Agent, checked apart). */
static const char *const benign_headers[] = {
	"host", "user-agent", "accept", "accept-encoding", "accept-language", "cache-control",
	"pragma", "connection", "if-none-match", "if-modified-since", "upgrade-insecure-requests",
	"dnt", "te", "priority", "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site",
	"sec-fetch-user", "sec-ch-ua-mobile",
};

/* 941130's alternatives that need no character outside the User-Agent set. */
static const char *const ua_words[] = { "xhtml", "xmlns", "formaction" };

struct prefilter *prefilter_load(const char *rules_dir, int paranoia, char *err, size_t errlen)
{
	struct prefilter *pf = calloc(1, sizeof(*pf));
	char path[4096], line[256];
	FILE *f;

	if (!pf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (paranoia != 1)
		return pf;	/* the argument is made for PL1 only: all to the CRS */
	snprintf(path, sizeof(path), "%s/php-function-names-933150.data", rules_dir);
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %m", path);
		free(pf);
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\r\n");

		line[n] = '\0';
		if (!n || line[0] == '#')
			continue;
		if (pf->n_words == MAX_WORDS) {
			snprintf(err, errlen, "%s: more than %d words", path, MAX_WORDS);
			fclose(f);
			prefilter_free(pf);
			return NULL;
		}
		for (size_t i = 0; i < n; i++)
			line[i] = tolower((unsigned char)line[i]);
		pf->words[pf->n_words] = strdup(line);
		if (!pf->words[pf->n_words++]) {
			snprintf(err, errlen, "out of memory");
			fclose(f);
			prefilter_free(pf);
			return NULL;
		}
	}
	fclose(f);
	pf->enabled = pf->n_words > 0;
	return pf;
}

void prefilter_free(struct prefilter *pf)
{
	if (!pf)
		return;
	for (size_t i = 0; i < pf->n_words; i++)
		free(pf->words[i]);
	free(pf);
}

static bool word_char(unsigned char c)
{
	return isascii(c) && (isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-');
}

/* Lowercased copy of s if all of it is in the set (space too when space). */
static bool lower_in_set(const char *s, bool space, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		unsigned char c = s[i];

		if (i + 1 >= outlen || !(word_char(c) || (space && c == ' ')))
			return false;
		out[i] = tolower(c);
	}
	out[i] = '\0';
	return true;
}

static bool has_word(const char *s, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(s, words[i]))
			return true;
	return false;
}

static bool header_value_ok(const char *v)
{
	for (; *v; v++) {
		unsigned char c = *v;

		if (c < 0x20 || c > 0x7e || c == '(' || c == '%' || c == '{')
			return false;
	}
	return true;
}

bool prefilter_plain(const struct prefilter *pf, const struct h1_request *r)
{
	char low[H1_MAX_URL];
	const char *h = r->headers;

	if (!pf || !pf->enabled || r->body_len || r->truncated ||
	    (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")))
		return false;
	if (r->url[0] != '/' || !lower_in_set(r->url, false, low, sizeof(low)) ||
	    strstr(low, "..") || strstr(low, "//") || strstr(low, "/./") ||
	    has_word(low, (const char *const *)pf->words, pf->n_words))
		return false;
	for (size_t i = 0; i < r->n_headers; i++) {
		const char *name = h, *value = h + strlen(h) + 1;
		size_t k, n = sizeof(benign_headers) / sizeof(benign_headers[0]);

		h = value + strlen(value) + 1;
		for (k = 0; k < n && strcasecmp(name, benign_headers[k]); k++)
			;
		if (k == n || !header_value_ok(value))
			return false;
		if (!strcasecmp(name, "user-agent") &&
		    (!lower_in_set(value, true, low, sizeof(low)) ||
		     has_word(low, ua_words, sizeof(ua_words) / sizeof(ua_words[0]))))
			return false;
	}
	return true;
}
