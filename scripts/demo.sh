#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: moat guarding a gateway, shown with real traffic. Builds the
# namespace lab (scripts/lab.sh), starts nginx, sshd and moatd on the gateway,
# then tries everything from a client and from a DevOps host, IPv4 and IPv6,
# printing each command and what it really answered. Exits 1 if anything
# behaves otherwise than the policy says. Tears everything down at the end.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh

if [ -t 1 ]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'
else
	B='' G='' R='' D='' N=''
fi
UNEXPECTED=0

say() { printf '\n%s%s%s\n' "$B" "$*" "$N"; }
note() { printf '%s\n' "$*" | fold -s -w 78 | sed 's/^/  /'; }

# show PROMPT DISPLAY CMD... -- prints "PROMPT$ DISPLAY", runs CMD, prints its
# output; RC and OUT hold the result.
show() {
	local prompt=$1 display=$2; shift 2
	printf '  %s%s$ %s%s\n' "$D" "$prompt" "$display" "$N"
	OUT=$("$@" 2>&1)
	RC=$?
	if [ -n "$OUT" ]; then
		# shellcheck disable=SC2001 # sed reads better for a per-line indent
		sed 's/^/      /' <<<"$OUT"
	else
		echo "      (no output)"
	fi
}

# expect GOOD BAD COND... -- COND decides whether the last command did what
# the policy says.
expect() {
	local good=$1 bad=$2; shift 2
	if "$@"; then
		printf '  %s-> as expected: %s%s\n' "$G" "$good" "$N"
	else
		printf '  %s-> UNEXPECTED: %s%s\n' "$R" "$bad" "$N"
		UNEXPECTED=$((UNEXPECTED + 1))
	fi
}
got_page() { [ "$RC" -eq 0 ] && [ "$OUT" = "$LAB_BODY" ]; }
timed_out() { [ "$RC" -eq "$1" ] && [[ $OUT == *"onnection timed out"* ]]; }
silent() { [ "$RC" -eq 0 ] && [ -z "$OUT" ]; }
said_ok() { [ "$RC" -eq 0 ] && [ "$OUT" = ok ]; }
only_443() { [ "$1" = "443/tcp " ] && grep -q filtered <<<"$OUT"; }

left_nothing() { # LAB PIN
	! ip netns list | grep -q "^$1-" && [ ! -e "$2" ]
}

url_host() { [[ $1 == *:* ]] && echo "[$1]" || echo "$1"; }
fam() { [[ $1 == *:* ]] && echo 6 || echo 4; }

https_from() { # NS ADDR
	local u; u="https://$(url_host "$2")/"
	show "$1" "curl -sS -k $u" lab_in "$1" curl -sS -k --max-time 5 "$u"
	expect "the page, over TLS" "curl exit $RC" got_page
}
http_from() { # NS ADDR PORT
	local u; u="http://$(url_host "$2"):$3/"
	show "$1" "curl -sS --max-time 2 $u" lab_in "$1" curl -sS --max-time 2 "$u"
	expect "no answer at all (a timeout, not a refusal: moat dropped the SYN)" \
		"curl exit $RC; moat should have dropped this" timed_out 28
}
udp_from() { # NS ADDR
	local t; t="UDP$(fam "$2"):$(url_host "$2"):5353"
	# shellcheck disable=SC2016 # expanded by that sh
	show "$1" "echo hello | socat -t 2 - $t" \
		lab_in "$1" sh -c 'echo hello | timeout 6 socat -t 2 - "$0"' "$t"
	expect "no echo came back" "socat exit $RC; the UDP echo should not be reachable" silent
}
ssh_from() { # NS ADDR allowed|denied
	show "$1" "ssh root@$2 echo ok    ${D}(lab key, batch mode, ConnectTimeout=3)${N}" \
		lab_ssh "$1" "$2" echo ok
	if [ "$3" = allowed ]; then
		expect "logged in and ran the command" "ssh exit $RC" said_ok
	else
		expect "the connection timed out: sshd never saw it" \
			"ssh exit $RC; it should time out" timed_out 255
	fi
}
nmap_from() { # NS ADDR
	local six='' open; [ "$(fam "$2")" = 6 ] && six='-6 '
	# shellcheck disable=SC2086 # $six is one optional flag
	show "$1" "nmap ${six}-sS -Pn -n -T4 -p 1-1024 $2" lab_in "$1" nmap $six -sS -Pn -n -T4 -p 1-1024 "$2"
	open=$(awk '$2 == "open" { printf "%s ", $1 }' <<<"$OUT")
	expect "only 443/tcp open; everything else, 22 included, filtered" "open: ${open:-none}" only_443 "$open"
}

plain_to_443() { # NS ADDR
	local t; t="TCP$(fam "$2"):$(url_host "$2"):443"
	# shellcheck disable=SC2016 # expanded by that sh
	# An abortive close (RST) at the end: an orphaned socket would send the
	# dropped request again for minutes, and later steps count drops.
	show "$1" "printf 'GET / HTTP/1.1\\r\\nHost: gw\\r\\n\\r\\n' | socat -t 2 - $t" \
		lab_in "$1" /usr/bin/python3 -c '
import socket, struct, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(2)
s.connect((sys.argv[1], 443))
s.sendall(b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
try:
    sys.stdout.buffer.write(s.recv(4096))
except socket.timeout:
    pass
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$2"
	expect "no answer: plaintext on the TLS port is dropped at the NIC (nginx would say 400)" \
		"got an answer; moat should have dropped it" silent
}
tls12_from() { # NS ADDR
	show "$1" "openssl s_client -brief -tls1_2 -connect $(url_host "$2"):443" \
		lab_in "$1" sh -c 'timeout 5 openssl s_client -brief -tls1_2 -connect "$0" </dev/null 2>&1 | grep -m1 "Protocol version"' "$(url_host "$2"):443"
	expect "a TLS 1.2 handshake" "no handshake" grep -q "TLSv1.2" <<<"$OUT"
}
check_says() { # WANT ARGS... -- moatctl check prints WANT
	local want=$1; shift
	show gw "moatctl check $*" lab_moatctl check "$@"
	expect "$want, and no counter moved" "got: $OUT" [ "${OUT%% (*}" = "$want" ]
}
stats_json() { lab_moatctl --json stats; }

metric() { lab_in gw curl -sS --max-time 5 http://127.0.0.1:9477/metrics | awk -v k="$1" '$1 == k { print $2 }'; }
inspector_ban_of() {
	lab_moatctl --json ban list | jq -e --arg c "$1" \
		'[.. | objects | select(.origin? == "inspector" and (.cidr == $c or .cidr == $c + "/32"))] | length == 1'
}
detection_line_ok() { # the JSON line names client and path, and no value of the request
	[ -n "$OUT" ] && jq -e --arg c "$CLI4" '.client == $c and .path == "/search" and .category == "xss" and .action == "banned"' <<<"$OUT" >/dev/null &&
		! grep -q "script\|alert" <<<"$OUT"
}

inspector_step() { # CONF
	local conf=$1 xss="https://$GW4_CLI/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
	say "11. The inspector: decrypted requests checked with ModSecurity + OWASP CRS, attackers banned at the NIC"
	note "A reload turns it on: probes on nginx's libssl read what nginx decrypts, a sandboxed worker parses HTTP and runs the CRS rules, moatd bans the source in the XDP program's ban table."
	lab_write_config "$conf" "inspector:
  enabled: true
  library: /usr/lib/x86_64-linux-gnu/libssl.so.3
  processes: [$LAB_NGINX_BIN]
  ban: { enabled: true, ttl: 10m }"
	show gw "kill -HUP moatd    ${D}(inspector.enabled: true)${N}" lab_moatd_reload
	lab_wait 10 [ "$(metric moat_inspector_attached_processes)" = 2 ]
	show gw "curl -s :9477/metrics | grep attached_processes" metric moat_inspector_attached_processes
	expect "attached to nginx's master and worker" "attached to $OUT" [ "$OUT" = 2 ]
	note "(HTTP/1.1 here: HTTP/2 is being added to the worker.)"
	show cli "curl -sS -k --http1.1 'https://$GW4_CLI/search?q=moat+docs'" \
		lab_in cli curl -sS -k --http1.1 --max-time 5 "https://$GW4_CLI/search?q=moat+docs"
	expect "the page: a benign search is left alone" "curl exit $RC" got_page
	show cli "curl -sS -k --http1.1 '$xss'    ${D}(<script>alert(1)</script>)${N}" \
		lab_in cli curl -sS -k --http1.1 --max-time 5 "$xss"
	note "nginx answers (the inspector reads, it does not sit in the request path); within milliseconds the verdict comes back:"
	lab_wait 10 inspector_ban_of "$CLI4" >/dev/null
	show gw "grep detection moatd.log" sh -c "grep '\"detection\"' '$LAB_DIR/moatd.log' | tail -n 1"
	expect "one JSON line: client, method, path without the query, rule ids, category; no request value" \
		"the line is not what SPEC says" detection_line_ok
	show gw "moatctl ban list" lab_moatctl ban list
	expect "the client is banned, origin inspector" "no inspector ban of $CLI4" inspector_ban_of "$CLI4"
	show cli "curl -sS -k --max-time 2 https://$GW4_CLI/" lab_in cli curl -sS -k --max-time 2 "https://$GW4_CLI/"
	expect "no answer: its packets now drop at the NIC (reason banned)" \
		"curl exit $RC; the ban should drop it" timed_out 28
	show gw "moatctl ban del $CLI4" lab_moatctl ban del "$CLI4"
	https_from cli "$GW4_CLI"
}

main() {
	if [ ! -x "$LAB_BUILD/moatd" ] || [ ! -x "$LAB_BUILD/moatctl" ]; then
		echo "demo: build moatd and moatctl first (make all)" >&2
		exit 1
	fi

	say "1. A lab: a client, a DevOps host and a gateway, each in its own network namespace"
	lab_init "dm$(( $$ % 10000 ))" || exit 1
	lab_up || { echo "demo: the lab did not come up" >&2; exit 1; }
	note "client $CLI4 / $CLI6  --  gateway gwc0 $GW4_CLI / $GW6_CLI"
	note "DevOps $OPS4 / $OPS6  --  gateway gwd0 $GW4_OPS / $GW6_OPS"
	note "The gateway runs nginx (HTTPS on 443, plain HTTP on 80 and 8080), a UDP echo on 5353 and sshd on 22."
	# nginx runs from a copy of its own: the inspector attaches by executable,
	# and other nginx processes on this host are not the demo's.
	cp /usr/sbin/nginx "$LAB_DIR/nginx-bin" || exit 1
	LAB_NGINX_BIN=$LAB_DIR/nginx-bin
	if ! lab_nginx || ! lab_sshd; then
		echo "demo: nginx or sshd did not start" >&2
		exit 1
	fi

	say "2. Without moat, the client reaches every service on the gateway"
	show cli "nmap -sS -Pn -n -T4 -p 1-1024 $GW4_CLI" lab_in cli nmap -sS -Pn -n -T4 -p 1-1024 "$GW4_CLI"
	show cli "curl -sS http://$GW4_CLI/" lab_in cli curl -sS --max-time 2 "http://$GW4_CLI/"
	note "22, 80 and 443 open, and plain HTTP answers: nothing but a firewall would stop a scan or a password-guessing bot."

	say "3. moatd starts on the gateway, guarding gwc0 and gwd0"
	local conf=$LAB_DIR/moat.yaml
	lab_write_config "$conf"
	note "The policy: TLS on 443 for everyone, SSH on 22 only from the DevOps host, nothing else."
	sed 's/^/      /' "$conf"
	lab_moatd "$conf" || { echo "demo: moatd did not attach" >&2; exit 1; }
	show gw "moatctl status" lab_moatctl status

	local a step=4
	for a in "$GW4_CLI" "$GW6_CLI"; do
		say "$step. From the client, IPv$(fam "$a"): web over TLS, and nothing else"
		step=$((step + 1))
		https_from cli "$a"
		http_from cli "$a" 80
		http_from cli "$a" 8080
		udp_from cli "$a"
		ssh_from cli "$a" denied
		nmap_from cli "$a"
	done

	say "6. From the DevOps host: SSH works, IPv4 and IPv6"
	for a in "$GW4_OPS" "$GW6_OPS"; do
		ssh_from ops "$a" allowed
	done

	say "7. Only real TLS and real SSH on their ports"
	tls12_from cli "$GW4_CLI"
	plain_to_443 cli "$GW4_CLI"
	note "The first bytes of every connection to 443 must be a TLS ClientHello (1.2 or newer); to 22, an SSH-2.0 banner. Anything else drops, with the rest of its connection."

	say "8. The gateway's own connections get their replies"
	show gw "ping -c 2 $CLI4" lab_in gw ping -c 2 -W 2 "$CLI4"
	expect "echo replies came back (recorded on egress, matched on ingress)" \
		"ping exit $RC" [ "$RC" -eq 0 ]
	note "Nothing opened a port for them: the egress program noted the ping, and only its exact reply passes."

	say "9. moatctl check: ask the loaded program, change nothing"
	local before; before=$(stats_json)
	check_says "drop ssh_source" --from "$CLI4" --to "$GW4_CLI" --dport 22
	check_says "pass ssh" --from "$OPS4" --to "$GW4_OPS" --dport 22 --payload ssh --interface gwd0
	check_says "drop not_tls" --from "$CLI4" --to "$GW4_CLI" --payload http
	check_says "drop tls_version" --from "$CLI6" --to "$GW6_CLI" --payload tls1.0
	check_says "pass tls" --from "$CLI6" --to "$GW6_CLI" --payload tls1.2
	local after; after=$(stats_json)
	expect "the counters are exactly as before the checks" \
		"the checks moved a counter: $(diff <(jq -c '.interfaces[] | .name as $i | .counters[] | [$i, .verdict, .reason, .packets]' <<<"$before") <(jq -c '.interfaces[] | .name as $i | .counters[] | [$i, .verdict, .reason, .packets]' <<<"$after") | grep '^>' | tr '\n' ' ')" \
		[ "$before" = "$after" ]

	say "10. A reload that removes the DevOps host takes effect at once"
	lab_write_config "$conf" "ssh: { ports: [22], validate: true, devops: [] }"
	show gw "kill -HUP moatd    ${D}(devops: [])${N}" lab_moatd_reload
	ssh_from ops "$GW4_OPS" denied
	lab_write_config "$conf"
	show gw "kill -HUP moatd    ${D}(the DevOps host back)${N}" lab_moatd_reload
	ssh_from ops "$GW4_OPS" allowed

	inspector_step "$conf"

	say "12. moatd killed with SIGKILL: enforcement stays"
	local tls0; tls0=$(lab_moatctl --json stats | jq '[.interfaces[] | select(.name == "gwc0") | .counters[] | select(.verdict == "pass" and .reason == "tls") | .packets] | add // 0')
	show gw "kill -9 moatd" kill -9 "$LAB_MOATD_PID"
	https_from cli "$GW4_CLI"
	http_from cli "$GW4_CLI" 80
	note "The XDP programs are pinned: they do not depend on moatd. A new moatd adopts them."
	lab_moatd "$conf" || { echo "demo: moatd did not restart" >&2; exit 1; }
	https_from cli "$GW4_CLI"
	local tls1; tls1=$(lab_moatctl --json stats | jq '[.interfaces[] | select(.name == "gwc0") | .counters[] | select(.verdict == "pass" and .reason == "tls") | .packets] | add // 0')
	show gw "moatctl stats: pass tls on gwc0, before the kill and now" echo "$tls0 -> $tls1"
	expect "the counters carried on across the restart" "they did not" [ "$tls1" -gt "$tls0" ]

	say "13. What moat saw"
	show gw "moatctl status" lab_moatctl status
	show gw "moatctl stats" lab_moatctl stats
	show gw "moatctl top -n 5" lab_moatctl top -n 5
	show gw "moatctl devops list" lab_moatctl devops list

	say "14. moatctl audit: the report for the customer's IT contact"
	note "Each promise of the security policy put to the loaded program, v4 and v6, on both interfaces, as dry runs like moatctl check; then the facts."
	before=$(stats_json)
	show gw "moatctl audit --config $conf" lab_moatctl audit --config "$conf"
	expect "every promise kept (exit 0)" "audit exit $RC" [ "$RC" -eq 0 ]
	expect "the counters are exactly as before the audit" "the audit moved a counter" \
		[ "$before" = "$(stats_json)" ]

	say "15. Tearing the lab down"
	local lab=$LAB pin=$LAB_PIN
	lab_down
	expect "namespaces, pins, processes and files removed" "something was left behind" \
		left_nothing "$lab" "$pin"

	echo
	if [ "$UNEXPECTED" -eq 0 ]; then
		printf '%sEverything behaved as the policy says.%s\n' "$G$B" "$N"
	else
		printf '%s%d check(s) did not behave as the policy says.%s\n' "$R$B" "$UNEXPECTED" "$N"
		exit 1
	fi
}

main "$@"
