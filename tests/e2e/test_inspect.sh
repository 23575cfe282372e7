#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The inspector end to end (issue 12, SPEC §6): build/moatd with the
# inspector on, real nginx (TLS, HTTP/1.1) in the gateway namespace, real
# curl from the client and DevOps namespaces. Uprobes go on nginx's real
# libssl by pid (nginx runs in the root pid namespace). Benign requests are
# not flagged; an XSS in a query and a command injection in a form body are
# (JSON line, counters); the attacker is dropped at XDP on its next
# connection with a ban of origin inspector; DevOps and exempt clients are
# never banned; a secret sent in a header, a cookie and a form field shows up
# in no log, metric or file; 'nginx -s reload' workers are inspected; a
# killed worker is restarted and counted. TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh
# shellcheck source=tests/e2e/inspect_lab.sh
. tests/e2e/inspect_lab.sh

SECRET=m12secret$RANDOM$RANDOM$RANDOM




# https NS ADDR PATH [curl args...]: an HTTP/1.1 request over TLS to nginx; prints the status.
https() {
	local ns=$1 addr=$2 path=$3 host; shift 3
	host=$addr
	[[ $addr == *:* ]] && host="[$addr]"
	lab_in "$ns" curl -sS -k --http1.1 --max-time 5 -o /dev/null -w '%{http_code}\n' \
		"$@" "https://$host$path"
}


# detection_logged CLIENT CATEGORY ACTION: moatd logged that detection as one JSON line.
detection_logged() {
	grep '^{' "$LAB_DIR/moatd.log" | jq -e -s -c --arg c "$1" --arg k "$2" --arg a "$3" \
		'map(select(.event == "detection" and .client == $c and .category == $k and
			.action == $a)) | if length > 0 then . else false end'
}

# inspector_bans_are ADDR...: exactly these bans have origin inspector.
inspector_bans_are() {
	local got want
	lab_moatctl --json ban list | tee "$LAB_DIR/bans.json"
	got=$(jq -r '.. | objects | select(.origin? == "inspector") | .cidr' "$LAB_DIR/bans.json" | sort)
	want=$(printf '%s\n' "$@" | sort)
	[ "$got" = "$want" ]
}

not_banned() { # ADDR...
	local a list; list=$(lab_moatctl ban list) || return 1
	echo "$list"
	for a in "$@"; do
		! grep -qF -- "$a" <<<"$list" || return 1
	done
}



attached_to() { # PID: moatd says so
	grep -q "inspector: attached to pid $1 " "$LAB_DIR/moatd.log"
}

# ------------------------------------------------------------------------------

inspect_lab_start m12 promtool

check "the worker loads the shipped base config and the scoped CRS" \
	build/moat-inspect --check

lab_write_config "$CONF" \
	"inspector:
  enabled: true
  library: $LIBSSL
  processes: [$LAB_NGINX_BIN]
  max_body: 64KiB
  ban: { enabled: true, ttl: 10m, exempt: [\"$CLI6/128\"] }" || bail "config"
check "moatd starts with the inspector" lab_moatd "$CONF" || bail "moatd did not start"

check "probe site: the internal read, found in the ELF (no single-stepped fallback)" \
	grep -q 'reads probed at libssl.s internal read' "$LAB_DIR/moatd.log"
check "attached to nginx's master and worker" \
	lab_wait 10 sample_at_least moat_inspector_attached_processes 2

# --- benign traffic, with a secret in a header, a cookie and a form field -----
check "benign GET" https cli "$GW4_CLI" "/search?q=hello+world&lang=en"
check "benign form POST carrying the secret (header, cookie, field)" \
	https cli "$GW4_CLI" /login -H "X-Api-Key: $SECRET" -b "session=$SECRET" \
	--data-urlencode "user=alice" --data-urlencode "password=$SECRET"
check "benign keep-alive: two requests on one connection" \
	lab_in cli curl -sS -k --http1.1 --max-time 5 -o /dev/null -o /dev/null \
	"https://$GW4_CLI/a?x=1" "https://$GW4_CLI/b?y=2"
check "4 requests inspected, clean" lab_wait 10 sample_at_least \
	'moat_inspector_requests_total{result="clean"}' 4
check "none detected" test "$(requests detected)" = 0
check "detection latency observed for each of them, each under 1 s" bash -c '
	m=$(nsenter --net=/run/netns/'"$LAB"'-gw curl -sS --max-time 5 '"$METRICS"'/metrics) || exit 1
	n=$(awk "\$1 == \"moat_inspector_detection_latency_seconds_count\" { print \$2 }" <<<"$m")
	b=$(awk "\$1 == \"moat_inspector_detection_latency_seconds_bucket{le=\\\"1\\\"}\" { print \$2 }" <<<"$m")
	echo "count=$n le1=$b"; [ "$n" -ge 4 ] && [ "$b" = "$n" ]' 

# --- attacks ------------------------------------------------------------------
check "XSS in a query from a DevOps host: answered" \
	https ops "$GW4_OPS" "/search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E"
check "... flagged xss and logged, not banned (devops)" \
	lab_wait 10 detection_logged "$OPS4" xss devops
ops_line_ok() {
	grep '^{' "$LAB_DIR/moatd.log" | jq -e -s --arg c "$OPS4" 'map(select(.client == $c))[0] |
		.path == "/search" and .method == "GET" and (.rules | length) > 0 and
		(.time | test("^[0-9-]+T[0-9:]+Z$"))'
}
check "... the log line: method, path without the query, rule ids, time" ops_line_ok

check "XSS from the exempt client (IPv6)" \
	https cli "$GW6_CLI" "/p?name=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
check "... flagged xss, not banned (exempt)" lab_wait 10 detection_logged "$CLI6" xss exempt

check "command injection in a form body from the client" \
	https cli "$GW4_CLI" /ping --data-urlencode "host=127.0.0.1;cat /etc/passwd" \
	--data-urlencode "comment=$SECRET"
check "... flagged rce, logged, banned" lab_wait 10 detection_logged "$CLI4" rce banned
xss=$(detections xss) rce=$(detections rce)
[ "$xss" = 2 ] && [ "$rce" = 1 ]; tap $? "detections counted: xss=$xss (want 2), rce=$rce (want 1)"
check "moatctl ban list shows the client with origin inspector" inspector_bans_are "$CLI4"
check "the DevOps host and the exempt client are not banned" not_banned "$OPS4" "$CLI6"
! https cli "$GW4_CLI" / --max-time 3 >/dev/null 2>&1; tap $? "the banned client's next connection fails"
check "... dropped at XDP as banned" \
	lab_wait 5 sample_at_least 'moat_packets_total{interface="gwc0",verdict="drop",reason="banned"}' 1
check "the DevOps host still gets answers" https ops "$GW4_OPS" /

# --- nginx -s reload: new workers are inspected -------------------------------
old_worker=$(nginx_workers)
[ -n "$old_worker" ]; tap $? "nginx has a worker (pid ${old_worker:-none})"
check "nginx -s reload" lab_in gw "$LAB_NGINX_BIN" -p "$LAB_DIR/nginx" -c "$LAB_DIR/nginx/nginx.conf" -s reload
new_worker_attached() {
	local w
	for w in $(nginx_workers); do
		[ "$w" != "$old_worker" ] && attached_to "$w" && return 0
	done
	return 1
}
check "the new nginx worker is attached" lab_wait 10 new_worker_attached
before=$(requests clean)
check "a request to the new worker" https ops "$GW4_OPS" "/after-reload?x=1"
check "... is inspected" lab_wait 10 sample_at_least \
	'moat_inspector_requests_total{result="clean"}' $((before + 1))

# --- the worker dies ----------------------------------------------------------
w1=$(worker_pid)
[ -n "$w1" ]; tap $? "the worker runs (pid ${w1:-none})"
check "the worker has no capabilities, runs as nobody, under seccomp" \
	bash -c "grep -q '^CapEff:[[:space:]]*0*\$' /proc/$w1/status &&
		grep -q '^Uid:[[:space:]]*65534' /proc/$w1/status &&
		grep -q '^Seccomp:[[:space:]]*2' /proc/$w1/status"
# Its open files: /dev/null on 0-2, the socketpair; nothing else, nothing writable on disk.
worker_fds_ok() {
	local f t ok=0
	for f in /proc/"$1"/fd/*; do
		t=$(readlink "$f")
		echo "$f -> $t"
		[[ $t == /dev/null || $t == socket:* ]] || ok=1
	done
	return $ok
}
check "the worker holds no file but /dev/null and its socket" worker_fds_ok "$w1"
kill -KILL "$w1" 2>/dev/null
worker_back() { local w; w=$(worker_pid); [ -n "$w" ] && [ "$w" != "$w1" ]; }
check "a killed worker is restarted" lab_wait 10 worker_back
check "... and counted" lab_wait 10 sample_at_least moat_inspector_worker_restarts_total 1
check "detection works after the restart (exempt client, XSS)" \
	https cli "$GW6_CLI" "/q?x=%3Csvg%2Fonload%3Dalert(1)%3E"
cli6_detections_at_least() {
	[ "$(grep '^{' "$LAB_DIR/moatd.log" | jq -s --arg c "$CLI6" 'map(select(.client == $c)) | length')" -ge "$1" ]
}
check "... flagged" lab_wait 10 cli6_detections_at_least 2
! https cli "$GW4_CLI" / --max-time 3 >/dev/null 2>&1
tap $? "enforcement untouched: the banned client is still dropped"

# --- privacy and the exposition -----------------------------------------------
scrape >"$LAB_DIR/scrape.txt"
check "promtool check metrics passes" promtool check metrics <"$LAB_DIR/scrape.txt"
! grep -rl -- "$SECRET" "$LAB_DIR" "$LAB_PIN" 2>/dev/null; tap $? "the secret is in no log, metric or file"
! grep -q -- "passwd\|document.cookie\|onerror" "$LAB_DIR/moatd.log"
tap $? "no request value (attack payloads) in moatd's log"

tap_lab_down
echo "1..$T"
[ "$FAILED" -eq 0 ]
