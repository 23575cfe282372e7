#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The inspector over HTTP/2 end to end (issue 12, SPEC §6): build/moatd with
# the inspector on, real nginx (TLS with ALPN h2) in the gateway namespace,
# real curl --http2 from the client and DevOps namespaces. Benign h2
# requests (query, form, JSON, a multipart form with a file, several
# streams on one connection) are not flagged and none is left unparsed;
# attacks in a query, a form, JSON and a multipart field over h2 are flagged
# with their category; the client that sent one is dropped at XDP on its
# next connection; a secret sent in a header, a cookie and a form field over
# h2 is in no log, metric or file. TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh
# shellcheck source=tests/e2e/inspect_lab.sh
. tests/e2e/inspect_lab.sh

SECRET=nd2secret$RANDOM$RANDOM$RANDOM



# requests_reach RESULT N: the counter got to N.
requests_reach() { [ "$(requests "$1")" -ge "$2" ]; }

# h2 NS ADDR PATH [curl args...]: one request over HTTP/2 and TLS; fails
# unless the answer came over HTTP/2. Prints the status.
h2() {
	local ns=$1 addr=$2 path=$3 host out; shift 3
	host=$addr
	[[ $addr == *:* ]] && host="[$addr]"
	out=$(lab_in "$ns" curl -sS -k --http2 --max-time 5 -o /dev/null \
		-w '%{http_version} %{http_code}\n' "$@" "https://$host$path") || return 1
	echo "$out"
	[[ $out == "2 "* ]]
}

# detection_logged CLIENT CATEGORY ACTION PATH: moatd logged that detection.
detection_logged() {
	grep '^{' "$LAB_DIR/moatd.log" | jq -e -s -c --arg c "$1" --arg k "$2" --arg a "$3" \
		--arg p "$4" 'map(select(.event == "detection" and .client == $c and .category == $k
			and .action == $a and .path == $p)) | if length > 0 then . else false end'
}

inspector_bans_are() { # ADDR...
	local got want
	lab_moatctl --json ban list >"$LAB_DIR/bans.json" || return 1
	got=$(jq -r '.. | objects | select(.origin? == "inspector") | .cidr' "$LAB_DIR/bans.json" | sort)
	want=$(printf '%s\n' "$@" | sort)
	echo "inspector bans: $got"
	[ "$got" = "$want" ]
}

# ------------------------------------------------------------------------------

inspect_lab_start nd promtool

lab_write_config "$CONF" \
	"inspector:
  enabled: true
  library: $LIBSSL
  processes: [$LAB_NGINX_BIN]
  max_body: 64KiB
  ban: { enabled: true, ttl: 10m, exempt: [] }" || bail "config"
check "moatd starts with the inspector" lab_moatd "$CONF" || bail "moatd did not start"
attached() { [ "$(sample moat_inspector_attached_processes)" -ge 2 ] 2>/dev/null; }
check "attached to nginx's master and worker" lab_wait 10 attached

# --- benign over h2 -----------------------------------------------------------
printf 'meeting notes:\nbudget approved, next review in May\n' >"$LAB_DIR/notes.txt"
check "h2: benign GET with a query" h2 cli "$GW4_CLI" "/search?q=hello+world&lang=en"
check "h2: benign form POST carrying the secret (header, cookie, field)" \
	h2 cli "$GW4_CLI" /login -H "X-Api-Key: $SECRET" -b "session=$SECRET; theme=dark" \
	--data-urlencode "user=alice" --data-urlencode "password=$SECRET"
check "h2: benign JSON POST with code in it" \
	h2 cli "$GW4_CLI" /api/snippets -H 'Content-Type: application/json' \
	--data '{"title":"Notes","code":"function add(a, b) { return a + b; }","tags":["js",1]}'
check "h2: benign multipart form with a text file" \
	h2 cli "$GW4_CLI" /upload -F "title=Quarterly report (Q1/2024)" -F "file=@$LAB_DIR/notes.txt"
check "h2: benign Markdown post" \
	h2 cli "$GW4_CLI" /forum/post --data-urlencode \
	'body=# Release notes **bold**, see [the docs](https://example.org/docs)'
# Three streams on one connection, multiplexed.
many() {
	local out
	out=$(lab_in cli curl -sS -k --http2 --max-time 5 --parallel --parallel-immediate \
		-w '%{http_version}\n' -o /dev/null -o /dev/null -o /dev/null \
		"https://$GW4_CLI/a?x=1" "https://$GW4_CLI/b?y=2" "https://$GW4_CLI/c.css") || return 1
	echo "$out"
	[ "$(grep -c '^2$' <<<"$out")" -eq 3 ]
}
check "h2: three streams on one connection" many
check "8 requests inspected, clean" lab_wait 10 requests_reach clean 8
check "none detected" test "$(requests detected)" = 0
check "none unparsed (HTTP/2 is reassembled, not given up)" test "$(requests unparsed)" = 0
check "none shed" test "$(requests shed)" = 0

# --- attacks over h2 ----------------------------------------------------------
# From the DevOps host (never banned): query, form, JSON.
check "h2: XSS in a query from the DevOps host" \
	h2 ops "$GW4_OPS" "/search?q=%3Csvg%2Fonload%3Dalert(document.domain)%3E"
check "... flagged xss, not banned (devops)" lab_wait 10 detection_logged "$OPS4" xss devops /search
check "h2: command injection in a form" \
	h2 ops "$GW4_OPS" /ping --data-urlencode "host=127.0.0.1; cat /etc/passwd"
check "... flagged rce" lab_wait 10 detection_logged "$OPS4" rce devops /ping
check "h2: PHP injection in JSON" \
	h2 ops "$GW4_OPS" /api -H 'Content-Type: application/json' \
	--data '{"tpl":"<?php system($_GET[\"c\"]); ?>","id":7}'
check "... flagged php" lab_wait 10 detection_logged "$OPS4" php devops /api
# From the client: Node.js injection in a multipart field, then banned.
check "h2: Node.js injection in a multipart field from the client" \
	h2 cli "$GW4_CLI" /profile -F "title=hi" \
	-F "bio=_\$\$ND_FUNC\$\$_function(){require('child_process').exec('id')}()"
check "... flagged nodejs, banned" lab_wait 10 detection_logged "$CLI4" nodejs banned /profile
x=$(detections xss) r=$(detections rce) p=$(detections php) n=$(detections nodejs)
[ "$x" = 1 ] && [ "$r" = 1 ] && [ "$p" = 1 ] && [ "$n" = 1 ]
tap $? "detections counted: xss=$x rce=$r php=$p nodejs=$n (want 1 each)"
check "moatctl ban list: the client, origin inspector" inspector_bans_are "$CLI4"
! h2 cli "$GW4_CLI" / --max-time 3 >/dev/null 2>&1
tap $? "the banned client's next h2 connection fails"
dropped() {
	[ "$(sample 'moat_packets_total{interface="gwc0",verdict="drop",reason="banned"}')" -ge 1 ] 2>/dev/null
}
check "... dropped at XDP as banned" lab_wait 5 dropped
check "the DevOps host still gets h2 answers" h2 ops "$GW4_OPS" /
check "still nothing unparsed" test "$(requests unparsed)" = 0

# --- privacy ------------------------------------------------------------------
scrape >"$LAB_DIR/scrape.txt"
check "promtool check metrics passes" promtool check metrics <"$LAB_DIR/scrape.txt"
! grep -rl -- "$SECRET" "$LAB_DIR" "$LAB_PIN" 2>/dev/null
tap $? "the secret sent over h2 is in no log, metric or file"
! grep -q -- "passwd\|ND_FUNC\|onload\|system(" "$LAB_DIR/moatd.log"
tap $? "no request value (attack payloads) in moatd's log"

tap_lab_down
echo "1..$T"
[ "$FAILED" -eq 0 ]
