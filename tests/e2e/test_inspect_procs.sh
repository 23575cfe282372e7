#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The inspector follows processes and connections it did not see begin
# (issue 12, SPEC §6): a keep-alive TLS connection opened before moatd
# started is attributed through the read syscall made inside libssl's read
# and its attacker banned; the workers of 'nginx -s reload' and an nginx
# started after moatd are attached from the kernel's fork/exec events (not
# the slow /proc scan) and their first request is inspected. Real nginx,
# openssl s_client and curl in namespaces. TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh
# shellcheck source=tests/e2e/inspect_lab.sh
. tests/e2e/inspect_lab.sh




https() { # NS ADDR PATH [curl args...]: prints the status
	local ns=$1 addr=$2 path=$3; shift 3
	lab_in "$ns" curl -sS -k --http1.1 --max-time 5 -o /dev/null -w '%{http_code}\n' \
		"$@" "https://$addr$path"
}

detection_logged() { # CLIENT CATEGORY ACTION PATH
	grep '^{' "$LAB_DIR/moatd.log" | jq -e -s -c --arg c "$1" --arg k "$2" --arg a "$3" \
		--arg p "$4" 'map(select(.event == "detection" and .client == $c and
			.category == $k and .action == $a and .path == $p)) |
			if length > 0 then . else false end'
}

# attached_by_event PID: moatd attached to PID when the kernel told it (exec or fork).
attached_by_event() { grep -q "inspector: attached to pid $1 (exec or fork)" "$LAB_DIR/moatd.log"; }
gone() { grep -q "inspector: pid $1 is gone" "$LAB_DIR/moatd.log"; }

# The keep-alive connection: openssl s_client reading requests from a fifo.
ka_send() { printf '%s /%s HTTP/1.1\r\nHost: gw\r\n\r\n' GET "$1" >&7; }
ka_answers() { [ "$(grep -c '^HTTP/1.1 200' "$LAB_DIR/ka.log")" -ge "$1" ]; }

# ------------------------------------------------------------------------------

inspect_lab_start ne openssl

# --- a keep-alive connection from before moatd --------------------------------
mkfifo "$LAB_DIR/ka.in" || bail "mkfifo"
lab_spawn cli ka sh -c "exec openssl s_client -quiet -connect $GW4_CLI:443 <'$LAB_DIR/ka.in'"
exec 7>"$LAB_DIR/ka.in"
ka_send "before-moatd"
check "keep-alive TLS connection opened, first request answered" lab_wait 10 ka_answers 1

lab_write_config "$CONF" \
	"inspector:
  enabled: true
  library: $LIBSSL
  processes: [$LAB_NGINX_BIN]
  ban: { enabled: true, ttl: 10m }" || bail "config"
check "moatd starts with the inspector" lab_moatd "$CONF" || bail "moatd did not start"
check "nginx's master and worker found in /proc at start" \
	lab_wait 10 sample_is moat_inspector_attached_processes 2

# moatctl events, listening before the attack (its ring mapped: ready).
lab_spawn gw events "$LAB_BUILD/moatctl" --pin-dir "$LAB_PIN" --json events
EVENTS_PID=$LAB_LAST_PID
events_ready() { grep -q 'anon_inode:bpf-map' "/proc/$EVENTS_PID/maps"; }
check "moatctl --json events is listening" lab_wait 10 events_ready

ka_send "search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E"
check "an XSS on the connection from before moatd: answered" lab_wait 10 ka_answers 2
check "... detected, attributed to the client through the read syscall, banned" \
	lab_wait 10 detection_logged "$CLI4" xss banned /search
check "... no read counted unattributed" sample_is moat_inspector_events_lost_total 0
# The same JSON line in moatctl events as in moatd's log, with nothing else.
detections_of() { grep '^{' "$1" | jq -c 'select(.event == "detection")'; }
events_match_log() {
	local log ev
	log=$(detections_of "$LAB_DIR/moatd.log") ev=$(detections_of "$LAB_DIR/events.log")
	echo "log: $log"; echo "events: $ev"
	[ -n "$ev" ] && [ "$ev" = "$log" ]
}
check "moatctl events shows the detection, the same JSON line as the log" \
	lab_wait 5 events_match_log
check "... keys: event time client method path rules category action, nothing else" \
	bash -c "grep '\"detection\"' '$LAB_DIR/events.log' | jq -e -s 'length == 1 and
		(.[0] | keys == [\"action\",\"category\",\"client\",\"event\",\"method\",\"path\",\"rules\",\"time\"])'"
lab_stop "$EVENTS_PID"
! https cli "$GW4_CLI" / --max-time 3 >/dev/null 2>&1; tap $? "the client's next connection fails"
check "... dropped at XDP as banned" \
	lab_wait 5 sample_at_least 'moat_packets_total{interface="gwc0",verdict="drop",reason="banned"}' 1
exec 7>&-

# --- nginx -s reload: the new worker, from the fork event -----------------------
old_worker=$(nginx_workers)
[ -n "$old_worker" ]; tap $? "nginx has a worker (pid ${old_worker:-none})"
check "nginx -s reload" lab_in gw "$LAB_NGINX_BIN" -p "$LAB_DIR/nginx" -c "$LAB_DIR/nginx/nginx.conf" -s reload
new_worker() {
	local w
	for w in $(nginx_workers); do
		[ "$w" != "$old_worker" ] && attached_by_event "$w" && echo "$w" && return 0
	done
	return 1
}
check "the new worker is attached from its fork event" lab_wait 10 new_worker
check "the old worker's probes are let go when it exits" lab_wait 10 gone "$old_worker"
before=$(requests clean)
check "the first request after the reload (DevOps host)" https ops "$GW4_OPS" "/after-reload?x=1"
check "... is inspected" lab_wait 10 sample_at_least \
	'moat_inspector_requests_total{result="clean"}' $((before + 1))

# --- an nginx started after moatd -------------------------------------------------
old_master=$LAB_NGINX_PID
lab_stop "$LAB_NGINX_PID"
check "nginx stopped: its probes are let go" lab_wait 10 sample_is moat_inspector_attached_processes 0
# Started by hand: lab_nginx's UDP echo from the first start still runs.
lab_spawn gw nginx "$LAB_NGINX_BIN" -p "$LAB_DIR/nginx" -c "$LAB_DIR/nginx/nginx.conf" \
	-e "$LAB_DIR/nginx.log"
LAB_NGINX_PID=$LAB_LAST_PID
listening() { [ "$(lab_in gw ss -Hltn 'sport = :443' | wc -l)" -ge 2 ]; }
check "nginx started after moatd, listening" lab_wait 10 listening || bail "no second nginx"
[ "$LAB_NGINX_PID" != "$old_master" ]; tap $? "... a new master (pid $LAB_NGINX_PID)"
check "... attached from its exec event" lab_wait 10 attached_by_event "$LAB_NGINX_PID"
check "... its worker from its fork event" lab_wait 10 new_worker
check "... master and worker: 2 attached" sample_is moat_inspector_attached_processes 2
check "its first request: an XSS from the DevOps host" \
	https ops "$GW4_OPS" "/late?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
check "... detected (not banned: DevOps)" lab_wait 10 detection_logged "$OPS4" xss devops /late

tap_lab_down
echo "1..$T"
[ "$FAILED" -eq 0 ]
