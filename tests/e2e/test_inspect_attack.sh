#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The inspector under attack (issue 12, SPEC §6): a ban is a state change,
# so it must follow only from what a client itself sent. Real nginx (TLS,
# HTTP/1.1) in the gateway namespace; real TLS clients (tests/e2e/tlsclient.py,
# python's ssl) in the client namespace, each scenario from source addresses
# of its own (extra addresses on the client's veth) so each ban can be told
# apart:
#   - an attacker's connection takes a victim's closed fd, and its attack is
#     cut around the victim's request on the same nginx worker: only the
#     attacker is detected and banned; 12 clients at once on that worker,
#     only the 4 attackers among them detected;
#   - evasions: one byte per TLS record, the attack in the third of three
#     pipelined requests, a chunked body cut inside the payload, the payload
#     at the very end of a body of exactly inspector.max_body, and at the end
#     of a 16 KiB read; a body beyond max_body is counted truncated;
#   - what nginx serves the worker follows: a request after an Upgrade nginx
#     did not take, after a header value with a control byte, an HTTP/0.9
#     request line, a method http-parser does not know;
#   - malformed HTTP is counted unparsed, the worker survives;
#   - overload: the worker or moatd stopped, what is shed or lost is counted
#     and the connection given up; XDP keeps dropping the banned;
#   - 'nginx -s reload' and an attack at once: detected, or counted lost;
#   - the inspector's ban outlives a moatd restart;
#   - a secret in a header, cookie and field of an attack request lands in no
#     log, metric, event or file.
# TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh
# shellcheck source=tests/e2e/inspect_lab.sh
. tests/e2e/inspect_lab.sh

SECRET=nfsecret$RANDOM$RANDOM$RANDOM
MAX_BODY=32768
TLSC=$PWD/tests/e2e/tlsclient.py
ATTACK='/search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E'



# tls SRC [RECORD]: stdin's bytes to nginx over TLS from SRC, RECORD bytes per TLS record.
tls() {
	local src=$1 dst=$GW4_CLI
	[[ $src == *:* ]] && dst=$GW6_CLI
	lab_in cli python3 "$TLSC" send "$src" "$dst" ${2:+--record "$2"}
}

# detections_of CLIENT: how many detection lines moatd logged for CLIENT.
detections_of() {
	grep '^{' "$LAB_DIR/moatd.log" | jq -s --arg c "$1" \
		'map(select(.event == "detection" and .client == $c)) | length'
}
detected_banned() { # CLIENT
	grep '^{' "$LAB_DIR/moatd.log" | jq -e -s --arg c "$1" \
		'map(select(.event == "detection" and .client == $c and .action == "banned")) |
		 length > 0' >/dev/null
}
# The detection clients moatd logged, one a line, sorted and unique.
detected_clients() { grep '^{' "$LAB_DIR/moatd.log" | jq -r 'select(.event == "detection") | .client' | sort -u; }

banned() { lab_moatctl --json ban list | jq -e --arg a "$1" \
	'[.. | objects | select(.origin? == "inspector" and .cidr == $a)] | length == 1' >/dev/null; }
not_banned() { ! lab_moatctl ban list | grep -qF -- "$1"; }

# req PATH [CONNECTION]: one GET's bytes.
req() { printf 'GET %s HTTP/1.1\r\nHost: gw\r\nConnection: %s\r\n\r\n' "$1" "${2:-keep-alive}"; }

# --- lab -----------------------------------------------------------------------

inspect_lab_start nf python3 taskset
# Sources of their own for each scenario, on the client's veth.
add_sources() {
	local i
	for i in $(seq 10 50) 100 101; do
		ip -n "$LAB-cli" addr add "198.18.1.$i/24" dev eth0 || return 1
	done
	ip -n "$LAB-cli" addr add 2001:db8:1::100/64 dev eth0 nodad &&
	ip -n "$LAB-cli" addr add 2001:db8:1::101/64 dev eth0 nodad
}
check "lab: extra client addresses" add_sources || bail "addresses"
A_FD=198.18.1.10 V4=198.18.1.100 V6=2001:db8:1::100

lab_write_config "$CONF" \
	"inspector:
  enabled: true
  library: $LIBSSL
  processes: [$LAB_NGINX_BIN]
  max_body: $MAX_BODY
  ban: { enabled: true, ttl: 10m }" || bail "config"
check "moatd starts with the inspector" lab_moatd "$CONF" || bail "moatd did not start"
check "attached to nginx's master and worker" \
	lab_wait 10 sample_at_least moat_inspector_attached_processes 2
w0=$(worker_pid)

# --- 1. an innocent client is never banned ------------------------------------
check "fd reuse: the attacker's connection takes the victim's closed fd (v4 victim)" \
	lab_in cli python3 "$TLSC" fdreuse "$A_FD" "$V4" "$GW4_CLI" "$GW6_CLI"
check "... the attacker is detected and banned" lab_wait 10 detected_banned "$A_FD"
check "fd reuse again, a v6 victim and a fresh attacker" \
	lab_in cli python3 "$TLSC" fdreuse 198.18.1.19 "$V6" "$GW4_CLI" "$GW6_CLI"
check "... the attacker is detected and banned" lab_wait 10 detected_banned 198.18.1.19
check "... the victims are never detected" bash -c \
	"[ \"\$(grep '^{' '$LAB_DIR/moatd.log' | jq -s 'map(select(.event == \"detection\" and (.client == \"$V4\" or .client == \"$V6\"))) | length')\" = 0 ]"
check "... nor banned" not_banned "$V4"
check "... the attacker is" banned "$A_FD"

# Many clients at once on the one nginx worker: 8 benign and 4 attackers,
# 30 pipelined requests each, one TLS record per 300 bytes.
crowd() {
	local k pids=() rc=0
	for k in $(seq 26 37); do
		{
			for i in $(seq 29); do req "/crowd/$k/$i?x=$i"; done
			if [ "$k" -ge 34 ]; then req "$ATTACK" close; else req /crowd/last close; fi
		} | tls "198.18.1.$k" 300 >/dev/null 2>&1 &
		pids+=($!)
	done
	for k in "${pids[@]}"; do wait "$k" || rc=1; done
	return $rc
}
check "12 clients at once, 30 pipelined requests each, the last one an attack for 4 of them" crowd
check "... the 4 attackers detected and banned" lab_wait 10 bash -c \
	"$(declare -f detected_banned); for k in 34 35 36 37; do detected_banned 198.18.1.\$k || exit 1; done"
crowd_clean() {
	local k
	for k in $(seq 26 33); do
		[ "$(detections_of "198.18.1.$k")" = 0 ] && not_banned "198.18.1.$k" || return 1
	done
}
check "... none of the 8 benign ones detected or banned" crowd_clean

# --- 2. evasions ------------------------------------------------------------------

src=198.18.1.11
onebyte() { req "$ATTACK" close | tls $src 1; }
check "one byte per TLS record" onebyte
check "... detected and banned" lab_wait 10 detected_banned $src

src=2001:db8:1::101
check "from IPv6, one byte per TLS record" onebyte
check "... detected and banned (its /128)" lab_wait 10 detected_banned $src
! req / close | tls $src >/dev/null 2>&1
tap $? "... its next connection fails"

src=198.18.1.12
pipelined() { { req /one; req /two; req "$ATTACK" close; } | tls $src; }
check "the attack in the 3rd of 3 pipelined requests (one write)" pipelined
check "... detected and banned" lab_wait 10 detected_banned $src

src=198.18.1.13
chunked() {
	printf 'POST /ping HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n'
	printf 'Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n'
	printf '11\r\nhost=127.0.0.1;ca\r\n9\r\nt /etc/pa\r\n4\r\nsswd\r\n0\r\n\r\n'
}
chunked >"$LAB_DIR/chunked.req"
check "a command injection cut inside chunks of a chunked body, 40 bytes per record" \
	tls $src 40 <"$LAB_DIR/chunked.req"
check "... detected and banned" lab_wait 10 detected_banned $src

# body BYTES TAIL: a form POST whose body is BYTES long and ends with TAIL.
body() {
	local n=$1 tail=$2 pad
	pad=$((n - ${#tail} - 2))
	printf 'POST /form HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n'
	printf 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n' "$n"
	printf 'a='; head -c "$pad" /dev/zero | tr '\0' x; printf '%s' "$tail"
}
src=198.18.1.14
body $MAX_BODY '&c=%3Cscript%3Ealert(1)%3C%2Fscript%3E' >"$LAB_DIR/atmax.req"
check "an XSS at the very end of a body of exactly max_body" tls $src <"$LAB_DIR/atmax.req"
check "... detected and banned" lab_wait 10 detected_banned $src

src=198.18.1.15
body 16000 '&c=%3Cscript%3Ealert(1)%3C%2Fscript%3E' >"$LAB_DIR/big.req"
check "an XSS at the end of a 16 KiB read (headers and body in one TLS record)" \
	tls $src 16384 <"$LAB_DIR/big.req"
check "... detected and banned" lab_wait 10 detected_banned $src

src=198.18.1.16
trunc=$(requests truncated)
body $((MAX_BODY + 100)) '&c=%3Cscript%3Ealert(1)%3C%2Fscript%3E' >"$LAB_DIR/over.req"
check "an XSS beyond max_body" tls $src <"$LAB_DIR/over.req"
check "... not lost silently: counted truncated" \
	lab_wait 10 sample_at_least 'moat_inspector_requests_total{result="truncated"}' $((trunc + 1))

# --- 3. what nginx serves, the worker follows --------------------------------------
# Each was an evasion: the worker gave the connection up (or never finished
# the request) while nginx answered the attack.
src=198.18.1.20
upgrade() {
	printf 'GET / HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'
	req "$ATTACK" close
}
check "an Upgrade nginx does not take, then the attack on the same connection" \
	bash -c "[ \"\$(cat)\" = 2 ]" < <(upgrade | tls $src)
check "... detected and banned" lab_wait 10 detected_banned $src

src=198.18.1.21
ctl_header() {
	printf 'GET / HTTP/1.1\r\nHost: gw\r\nX-Note: a\001b\r\n\r\n'
	req "$ATTACK" close
}
check "a control byte in a header value (nginx takes it), then the attack" \
	bash -c "[ \"\$(cat)\" = 2 ]" < <(ctl_header | tls $src)
check "... detected and banned" lab_wait 10 detected_banned $src

src=198.18.1.22
# HTTP/0.9: nginx answers the bare request line (no status line to count).
printf 'GET %s\r\n' "$ATTACK" | tls $src >"$OUT" 2>&1
nine_served() { grep -q "^$src .*\"GET /search?q=%3Cscript%3E[^ ]*\" 200 " "$LAB_DIR/nginx/access.log"; }
check "an HTTP/0.9 request line carrying the attack, served by nginx" lab_wait 5 nine_served
check "... detected and banned" lab_wait 10 detected_banned $src

src=198.18.1.23
unknown_method() { printf 'FOO %s HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n' "$ATTACK"; }
check "a method http-parser does not know (nginx takes any [A-Z_-] token)" \
	bash -c "[ \"\$(cat)\" = 1 ]" < <(unknown_method | tls $src)
check "... detected and banned, with the method as sent" lab_wait 10 bash -c \
	"grep '^{' '$LAB_DIR/moatd.log' | jq -e -s 'map(select(.client == \"$src\" and .method == \"FOO\" and .action == \"banned\")) | length == 1'"

# --- 4. malformed input --------------------------------------------------------------
src=198.18.1.17
unp=$(requests unparsed)
junk() { printf 'GET / HTTP/1.1\r\nHost: gw\r\nContent-Length: -5\r\n\r\n'; }
junk | tls $src >"$OUT" 2>&1
tap 0 "malformed HTTP sent (negative Content-Length; nginx answers 400: $(cat "$OUT"))"
check "... counted unparsed" \
	lab_wait 10 sample_at_least 'moat_inspector_requests_total{result="unparsed"}' $((unp + 1))
check "... the worker did not crash" test "$(worker_pid)" = "$w0"

# --- 5. overload: nothing skipped silently ---------------------------------------
lost() { local v; v=$(sample moat_inspector_events_lost_total); echo "${v:-0}"; }
# flood SRC N SIZE M: tlsclient.py flood in the background (coprocess FL), until "flooded".
flood() {
	coproc FL { lab_in cli python3 "$TLSC" flood "$1" "$GW4_CLI" "$2" "$3" "$4" 2>&1; }
	local line
	read -r -t 120 -u "${FL[0]}" line && echo "$line" && [ "$line" = flooded ]
}
# flood_end: lets the flood send its attack on each connection; its answer count.
flood_end() {
	local line
	echo go >&"${FL[1]}"
	read -r -t 30 -u "${FL[0]}" line; echo "$line"
	wait "$FL_PID" 2>/dev/null
	[ -n "$line" ] && [ "$line" -gt 0 ]
}
# The shed count stops moving: moatd has taken every record the flood made.
settled() { local a; a=$(requests shed); sleep 0.5; [ "$a" = "$(requests shed)" ]; }

# (a) The worker is behind (stopped here): moatd sheds what the socket can't
# take; each connection with a hole is given up (unparsed), its later
# requests too, never parsed across the hole. Two connections opened on one
# CPU: their ids share the low byte (the CPU), which once made them share
# the gap mark, so the first one's hole went unmarked.
src=198.18.1.24
unp=$(requests unparsed) shed=$(requests shed)
for w in $(pgrep -P "$LAB_NGINX_PID"); do taskset -p 1 "$w" >/dev/null; done
w=$(worker_pid)
kill -STOP "$w"
check "the worker stopped: 900 POSTs of 16 KB on one connection, 20 on another" flood $src 900 16000 20
check "... shed, counted" lab_wait 10 sample_at_least 'moat_inspector_requests_total{result="shed"}' $((shed + 1))
lab_wait 10 settled
kill -CONT "$w"
check "... the worker resumed; an attack on each connection after the hole, answered" flood_end
check "... each connection given up once: unparsed +2" \
	lab_wait 10 sample_at_least 'moat_inspector_requests_total{result="unparsed"}' $((unp + 2))
check "... the worker was not restarted" test "$(worker_pid)" = "$w"

# (b) moatd stopped: the ring buffer overflows in the kernel; the loss is
# counted there, the connection's next record says "gap", the worker gives
# it up; XDP goes on dropping the banned meanwhile.
src=198.18.1.25
unp=$(requests unparsed) lost0=$(lost)
kill -STOP "$LAB_MOATD_PID"
check "moatd stopped: 900 POSTs of 16 KB on one connection (14 MB > the 8 MB ring)" flood $src 900 16000 0
! req / close | tls "$A_FD" >/dev/null 2>&1
tap $? "... a banned attacker is still dropped at XDP meanwhile"
kill -CONT "$LAB_MOATD_PID"
check "... moatd resumed: the records lost are counted (moat_inspector_events_lost_total)" \
	lab_wait 10 sample_at_least moat_inspector_events_lost_total $((lost0 + 1))
check "... an attack on the same connection, answered" flood_end
check "... the connection given up: unparsed +1" \
	lab_wait 10 sample_at_least 'moat_inspector_requests_total{result="unparsed"}' $((unp + 1))

# --- 6. nginx -s reload, and the attack at once ---------------------------------
# The new workers are attached from the kernel's fork event; a request that
# reaches one before its probes are in place would be seen by nothing.
reload_attack() { # SRC
	lab_in gw "$LAB_NGINX_BIN" -p "$LAB_DIR/nginx" -c "$LAB_DIR/nginx/nginx.conf" -s reload &&
	req "$ATTACK" close | tls "$1"
}
missed='' lost0=$(lost)
for k in $(seq 40 49); do
	reload_attack "198.18.1.$k" >"$OUT" 2>&1 || missed+=" 198.18.1.$k(no answer)"
done
for k in $(seq 40 49); do
	lab_wait 10 detected_banned "198.18.1.$k" || missed+=" 198.18.1.$k"
done
lost1=$(lost)
[ -z "$missed" ] || [ "${lost1%.*}" -gt "${lost0%.*}" ]
tap $? "10 times nginx -s reload then an attack at once: each detected, or counted lost (missed:${missed:- none}; lost $lost0 -> $lost1)"

# --- 7. the ban outlives moatd -------------------------------------------------------
lab_stop "$LAB_MOATD_PID"
check "moatd stopped and started again" lab_moatd "$CONF"
check "... the inspector's ban of the first attacker is still in force" banned "$A_FD"
! req / close | tls "$A_FD" >/dev/null 2>&1
tap $? "... its connections still fail"

# --- 8. privacy ---------------------------------------------------------------------------
src=198.18.1.18
secret_attack() {
	printf 'POST /login?token=%s HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n' "$SECRET"
	printf 'X-Api-Key: %s\r\nCookie: session=%s\r\n' "$SECRET" "$SECRET"
	printf 'Content-Type: application/x-www-form-urlencoded\r\n'
	local b="password=$SECRET&c=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
	printf 'Content-Length: %d\r\n\r\n%s' "${#b}" "$b"
}
secret_attack >"$LAB_DIR/secret.req"
lab_spawn gw events "$LAB_BUILD/moatctl" --pin-dir "$LAB_PIN" --json events
events_pid=$LAB_LAST_PID
check "an attack carrying a secret (query, header, cookie, field)" tls $src <"$LAB_DIR/secret.req"
check "... detected and banned" lab_wait 10 detected_banned $src
rm -f "$LAB_DIR"/*.req
event_shown() { jq -e -s --arg c "$src" 'map(select(.client? == $c)) | length > 0' "$LAB_DIR/events.log" >/dev/null; }
check "... shown in moatctl events" lab_wait 10 event_shown
lab_stop "$events_pid"
scrape >"$LAB_DIR/scrape.txt"
! grep -rl -- "$SECRET" "$LAB_DIR" "$LAB_PIN" 2>/dev/null | grep -v '/nginx/access.log$'
tap $? "the secret is in no log, metric, event or file of moat's"
check "the detected clients are exactly the attackers (reload ones aside)" bash -c \
	"[ \"\$(grep '^{' '$LAB_DIR/moatd.log' | jq -r 'select(.event == \"detection\") | .client' | grep -v '^198[.]18[.]1[.]4[0-9]$' | sort -u | tr '\n' ' ')\" = '198.18.1.10 198.18.1.11 198.18.1.12 198.18.1.13 198.18.1.14 198.18.1.15 198.18.1.18 198.18.1.19 198.18.1.20 198.18.1.21 198.18.1.22 198.18.1.23 198.18.1.34 198.18.1.35 198.18.1.36 198.18.1.37 2001:db8:1::101 ' ]"

tap_lab_down
echo "1..$T"
[ "$FAILED" -eq 0 ]
