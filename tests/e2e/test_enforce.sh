#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Enforcement end to end, IPv4 and IPv6: build/moatd guards the gateway of the
# namespace lab (scripts/lab.sh) against real curl, socat, ssh and nmap, with
# real nginx and sshd behind it. Each silence is first shown to be an answer
# without moat, so that a silence with moat is moat's doing. TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh

TAP_BAIL_LOGS=(moatd)
TAP_BAIL_LINES=20

url_host() { [[ $1 == *:* ]] && echo "[$1]" || echo "$1"; }
fam() { [[ $1 == *:* ]] && echo 6 || echo 4; }

# --- peers' views -----------------------------------------------------------

http_body() { # NS URL: the page is the lab's body
	local body
	body=$(lab_in "$1" curl -sS -k --max-time 5 "$2") || return 1
	[ "$body" = "$LAB_BODY" ] || { echo "unexpected body '$body'"; return 1; }
}
https_ok() { http_body "$1" "https://$(url_host "$2")/"; }
http_ok() { http_body "$1" "http://$(url_host "$2"):$3/"; }

# NS ADDR PORT: no answer at all -- the connect times out (curl 28), not
# refused (7) nor slow to answer: moat drops the SYN, so no RST either.
tcp_silent() {
	local err rc
	err=$(lab_in "$1" curl -sS --max-time 2 "http://$(url_host "$2"):$3/" 2>&1)
	rc=$?
	echo "$err"
	if [ $rc -ne 28 ] || [[ $err != *"Connection timed out"* ]]; then
		echo "curl exit $rc, want 28 with the connect timing out"
		return 1
	fi
}

udp_probe() { # NS ADDR: prints what comes back from port 5353 within 2 s
	echo "probe-$T" | lab_in "$1" timeout 6 socat -t 2 - "UDP$(fam "$2"):$(url_host "$2"):5353"
}
udp_echo() {
	local out
	out=$(udp_probe "$1" "$2") || return 1
	[ "$out" = "probe-$T" ] || { echo "echo answered '$out'"; return 1; }
}
udp_silent() { # no echo and no ICMP port unreachable (socat would fail with ECONNREFUSED)
	local out rc
	out=$(udp_probe "$1" "$2")
	rc=$?
	if [ $rc -ne 0 ] || [ -n "$out" ]; then
		echo "socat exit $rc, answer '$out'"
		return 1
	fi
}

ssh_ok() { # NS ADDR
	local out
	out=$(lab_ssh "$1" "$2" echo ok) || return 1
	[ "$out" = ok ] || { echo "ssh printed '$out'"; return 1; }
}
ssh_silent() { # NS ADDR: the TCP connect times out (not refused, not denied later)
	local err rc
	err=$(lab_ssh "$1" "$2" echo ok 2>&1)
	rc=$?
	echo "$err"
	if [ $rc -ne 255 ] || [[ $err != *"port 22: Connection timed out"* ]]; then
		echo "ssh exit $rc, want 255 with the connect timing out"
		return 1
	fi
}

# ADDR: a SYN scan of ports 1-1024 from cli finds 443 open and nothing else:
# 22 and the rest filtered (no RST at all, so nothing "closed").
nmap_only_443() {
	local out ports ignored open six=
	[ "$(fam "$1")" = 6 ] && six=-6
	out=$(lab_in cli nmap $six -sS -Pn -n -T4 -p 1-1024 -oG - "$1") || { echo "$out"; return 1; }
	ports=$(sed -n 's/.*Ports: \([^\t]*\).*/\1/p' <<<"$out")
	ignored=$(sed -n 's/.*Ignored State: \([a-z|]*\) .*/\1/p' <<<"$out")
	echo "ports: $ports"
	echo "ignored: $ignored"
	open=$(grep -o '[0-9]*/open/' <<<"$ports" | cut -d/ -f1 | tr '\n' ' ')
	[ "$open" = "443 " ] || { echo "open ports '$open', want '443 '"; return 1; }
	if ! grep -qE '(^|, )22/filtered/' <<<"$ports"; then
		# 22 unlisted: it is among the ignored ports, which must then be filtered.
		grep -qE '(^|, )22/' <<<"$ports" && { echo "22 not filtered"; return 1; }
		[ "$ignored" = filtered ] || { echo "22 is '$ignored', want filtered"; return 1; }
	fi
	! grep -q closed <<<"$ports $ignored" || { echo "closed ports: someone sent a RST"; return 1; }
}

# --- moat's view ------------------------------------------------------------

# JSON IFACE VERDICT REASON -> packets (0 when the counter is not listed)
count() {
	jq -r --arg i "$2" --arg v "$3" --arg r "$4" '[.interfaces[] | select(.name == $i)
		| .counters[] | select(.verdict == $v and .reason == $r) | .packets] | add // 0' <<<"$1"
}
stats() { lab_moatctl --json stats; }

# BEFORE AFTER IFACE VERDICT REASON grew|same: compares a counter in two snapshots.
counter_cmp() {
	local a b
	a=$(count "$1" "$3" "$4" "$5") && b=$(count "$2" "$3" "$4" "$5") || return 1
	echo "$3 $4/$5: $a -> $b"
	case $6 in
	grew) (( b > a )) ;;
	same) (( b == a )) ;;
	esac || { echo "stats after:"; echo "$2"; return 1; }
}

devops_json() { lab_moatctl --json devops list; }
# CIDR...: none of them listed
devops_absent() {
	devops_json | jq -e --args '[.[] | select(.cidr as $c | $ARGS.positional | index([$c]))] | length == 0' "$@" >/dev/null
}
# CIDR NAME ORIGIN: listed with that name and origin
devops_listed() {
	devops_json | jq -e --arg c "$1" --arg n "$2" --arg o "$3" \
		'any(.[]; .cidr == $c and .name == $n and .origin == $o)' >/dev/null
}
# The two entries added with moatctl: origin runtime, an RFC 3339 expiry.
runtime_entries_listed() {
	devops_json | tee /dev/stderr | jq -e --arg a "$CLI4" --arg b "$CLI6" '[.[]
		| select((.cidr == $a and .name == "tmp") or (.cidr == $b and .name == "tmp6"))
		| select(.origin == "runtime" and (.expires | type) == "string")] | length == 2' >/dev/null
}
ops_entries_listed() { devops_listed "$OPS4" ops4 config && devops_listed "$OPS6" ops6 config; }
runtime_and_ops_listed() {
	devops_listed "$CLI4" tmp runtime && devops_listed "$CLI6" tmp6 runtime && ops_entries_listed
}
devops_show() { echo "devops list:"; devops_json; }

status_ok() {
	lab_moatctl --json status | tee /dev/stderr | jq -e '.loaded == true and .mode == "enforce"
		and ([.interfaces[].name] | sort) == ["gwc0", "gwd0"]
		and all(.interfaces[]; .attached == true) and .devops_entries == 2' >/dev/null
}

xdp_on() { # DEV...: an XDP program is attached to each
	local dev
	for dev; do
		ip -n "$LAB-gw" -d link show dev "$dev" | tee /dev/stderr | grep -q 'prog/xdp' || return 1
	done
}
xdp_off() {
	local dev
	for dev; do
		! ip -n "$LAB-gw" -d link show dev "$dev" | tee /dev/stderr | grep -q 'prog/xdp' || return 1
	done
}
pins_gone() { [ ! -e "$LAB_PIN" ] || { ls -lA "$LAB_PIN"; [ -z "$(ls -A "$LAB_PIN")" ]; }; }
moatd_gone() { ! kill -0 "$1" 2>/dev/null; }

# moatctl reload --confirm-within: rolls back unless confirmed.
status_json() { lab_moatctl --json status; }
awaiting() { status_json | jq -e 'has("confirm_before")' >/dev/null; }
not_awaiting() { status_json | jq -e 'has("confirm_before") | not' >/dev/null; }

# moatctl events: live sampled drops name the source (CLI only).
events_show_drops() {
	local out=$LAB_DIR/events.json pid i
	lab_moatctl --json events -n 3 >"$out" 2>&1 &
	pid=$!
	# one drop in 16 is sampled: send plenty, to ports nothing listens on
	for i in $(seq 1 6); do
		lab_in cli nmap -sS -Pn -n -T5 --max-retries 0 -p 3000-3020 "$GW4_CLI" >/dev/null 2>&1
		[ "$(wc -l <"$out")" -ge 3 ] && break
	done
	lab_wait 10 eval '! kill -0 '"$pid"' 2>/dev/null' || { kill "$pid"; cat "$out"; return 1; }
	cat "$out"
	jq -se --arg s "$CLI4" 'length == 3 and all(.[]; .interface == "gwc0" and .verdict == "drop"
		and .reason == "port" and (.source | startswith($s + ":"))
		and (.destination | test(":30[0-2][0-9]$")))' "$out" >/dev/null
}

# A policy that cannot be attached everywhere changes nothing anywhere.
lo_refused_whole() {
	local g0 st
	g0=$(status_json | jq .generation) || return 1
	lab_write_config "$CONF" 'interfaces: [gwc0, gwd0, lo]' 'xdp_mode: native' || return 1
	lab_moatctl reload && { echo "reload was applied"; return 1; }
	st=$(status_json)
	echo "$st"
	jq -e --argjson g "$g0" '.generation == $g and (.last_reload_ok | not)
		and ([.interfaces[].name] == ["gwc0", "gwd0"])' <<<"$st" >/dev/null || return 1
	! lab_in gw ip link show lo | grep -q xdp
}

reload() { # CONFIG-LINES...: rewrites the config, SIGHUP, waits for READY=1
	lab_write_config "$CONF" "$@" && lab_moatd_reload
}

reloading_since() { [ "$(lab_notify_count RELOADING=1)" -gt "$1" ]; }
# moatctl devops add while moatd is swapping in a new generation (after its
# RELOADING=1, before its READY=1): moatctl says yes, so the entry must be there.
add_during_reload() {
	local cidr=198.18.1.77 r; r=$(lab_notify_count RELOADING=1)
	local ready; ready=$(lab_notify_count READY=1)
	kill -HUP "$LAB_MOATD_PID" || return 1
	lab_wait 10 reloading_since "$r" || { echo "no RELOADING=1 from moatd"; return 1; }
	lab_moatctl devops add "$cidr" --name race || return 1
	lab_wait 30 _lab_moatd_ready "$ready" || { echo "no READY=1 after the reload"; return 1; }
	devops_listed "$cidr" race runtime || { devops_show; return 1; }
	lab_moatctl devops del "$cidr"
}

# --- the run ----------------------------------------------------------------

main() {
	local v a s0 s1 s2 c_before c_adopt c_after

	tap_lab_start me jq curl socat ssh nmap nsenter /usr/sbin/nginx /usr/sbin/sshd
	check "lab: nginx (443 TLS, 80, 8080) and UDP echo on 5353 in gw" lab_nginx || bail "no nginx"
	check "lab: sshd on 22 in gw" lab_sshd || bail "no sshd"

	# Without moat every port answers: the silences below are moat's.
	for a in "$GW4_CLI" "$GW6_CLI"; do
		v=v$(fam "$a")
		check "no moat, $v: cli gets http on 80" http_ok cli "$a" 80
		check "no moat, $v: cli gets http on 8080" http_ok cli "$a" 8080
		check "no moat, $v: cli gets the UDP echo on 5353" udp_echo cli "$a"
		check "no moat, $v: cli logs in with ssh" ssh_ok cli "$a"
	done

	lab_write_config "$CONF"
	check "moatd --check-config accepts the lab config" "$LAB_BUILD/moatd" --check-config "$CONF"
	check "moatd starts and attaches to gwc0 and gwd0" lab_moatd "$CONF" || bail "moatd did not start"
	check "moatctl status: loaded, enforce, both interfaces attached, 2 devops" status_ok

	s0=$(stats)
	for a in "$GW4_CLI" "$GW6_CLI"; do
		v=v$(fam "$a")
		check "$v: cli gets https://$a/ (TLS passes)" https_ok cli "$a"
		check "$v: cli gets no answer on tcp/80 (dropped, no RST)" tcp_silent cli "$a" 80
		check "$v: cli gets no answer on tcp/8080" tcp_silent cli "$a" 8080
		check "$v: cli gets no answer on udp/5353" udp_silent cli "$a"
		check "$v: ssh from cli times out" ssh_silent cli "$a"
		check "$v: nmap -sS 1-1024 from cli: only 443/tcp open, 22 filtered" nmap_only_443 "$a"
	done
	s1=$(stats)
	check "stats: gwc0 drop/port grew" counter_cmp "$s0" "$s1" gwc0 drop port grew
	check "stats: gwc0 drop/ssh_source grew" counter_cmp "$s0" "$s1" gwc0 drop ssh_source grew
	check "stats: gwc0 pass/tls grew" counter_cmp "$s0" "$s1" gwc0 pass tls grew
	check "stats: gwc0 pass/ssh did not grow (cli is not DevOps)" counter_cmp "$s0" "$s1" gwc0 pass ssh same

	for a in "$GW4_OPS" "$GW6_OPS"; do
		check "v$(fam "$a"): ssh from ops (DevOps) logs in and runs echo ok" ssh_ok ops "$a"
	done
	s2=$(stats)
	check "stats: gwd0 pass/ssh grew" counter_cmp "$s1" "$s2" gwd0 pass ssh grew
	check "stats: gwd0 drop/ssh_source did not grow" counter_cmp "$s1" "$s2" gwd0 drop ssh_source same

	# Reload: the DevOps entries go away, then come back.
	check "reload without ops entries (SIGHUP, READY=1)" reload 'ssh: { ports: [22], devops: [] }'
	check "reload: devops list no longer has $OPS4, $OPS6" lab_wait 10 devops_absent "$OPS4" "$OPS6" ||
		devops_show | sed 's/^/# /'
	for a in "$GW4_OPS" "$GW6_OPS"; do
		check "v$(fam "$a"): after reload, ssh from ops times out" ssh_silent ops "$a"
	done
	check "after reload, https from cli still works" https_ok cli "$GW4_CLI"
	check "restore ops entries (SIGHUP, READY=1)" reload
	check "restore: devops list has ops4 and ops6 from config" lab_wait 10 ops_entries_listed ||
		devops_show | sed 's/^/# /'
	for a in "$GW4_OPS" "$GW6_OPS"; do
		check "v$(fam "$a"): after restore, ssh from ops works" ssh_ok ops "$a"
	done

	# A remote change with a safety net: not confirmed, it rolls back.
	lab_write_config "$CONF" 'ssh: { ports: [22], devops: [] }'
	check "moatctl reload --confirm-within 4s (ops removed)" \
		lab_moatctl reload --confirm-within 4s
	check "status: awaiting confirmation" awaiting
	check "ops removed for now: devops list no longer has $OPS4" devops_absent "$OPS4"
	check "not confirmed: moatd rolls back by itself" lab_wait 15 not_awaiting
	check "after the rollback, devops list has ops4 and ops6 again" \
		lab_wait 10 ops_entries_listed
	check "after the rollback, ssh from ops works" ssh_ok ops "$GW4_OPS"
	check "moatctl reload --confirm-within 60s, then moatctl confirm" \
		eval 'lab_moatctl reload --confirm-within 60s && lab_moatctl confirm'
	check "confirmed: nothing awaits, the new policy stays" \
		eval 'not_awaiting && devops_absent "$OPS4"'
	check "confirm with nothing waiting: exit 1" \
		eval 'lab_moatctl confirm; [ $? -eq 1 ]'
	check "a policy that cannot attach to lo (native) is refused whole; lo untouched" \
		lo_refused_whole
	lab_write_config "$CONF"
	check "moatctl reload (the file restored)" lab_moatctl reload
	check "restored: ops entries listed" lab_wait 10 ops_entries_listed

	# kill -9: the pinned program keeps enforcing; a new moatd adopts the state.
	kill -KILL "$LAB_MOATD_PID"
	wait "$LAB_MOATD_PID" 2>/dev/null
	check "kill -9 moatd: it is gone" moatd_gone "$LAB_MOATD_PID"
	check "without moatd: XDP still on gwc0 and gwd0" xdp_on gwc0 gwd0
	check "without moatd: moatctl status works from the pins" status_ok
	for a in "$GW4_CLI" "$GW6_CLI"; do
		v=v$(fam "$a")
		check "without moatd, $v: https from cli works" https_ok cli "$a"
		check "without moatd, $v: tcp/80 from cli still gets no answer" tcp_silent cli "$a" 80
	done
	c_before=$(count "$(stats)" gwc0 pass tls)
	check "new moatd starts over the pinned state" lab_moatd "$CONF" || bail "moatd did not restart"
	c_adopt=$(count "$(stats)" gwc0 pass tls)
	https_ok cli "$GW4_CLI" >/dev/null 2>&1
	c_after=$(count "$(stats)" gwc0 pass tls)
	check "restart: gwc0 pass/tls carries on ($c_before <= $c_adopt < $c_after)" \
		test "$c_adopt" -ge "$c_before" -a "$c_after" -gt "$c_adopt"

	# Runtime DevOps entries.
	check "moatctl devops add $CLI4 --name tmp --ttl 10m" lab_moatctl devops add "$CLI4" --name tmp --ttl 10m
	check "moatctl devops add $CLI6 --name tmp6 --ttl 10m" lab_moatctl devops add "$CLI6" --name tmp6 --ttl 10m
	check "devops list: both runtime entries, with an expiry" runtime_entries_listed
	for a in "$GW4_CLI" "$GW6_CLI"; do
		check "v$(fam "$a"): ssh from cli works once it is a runtime DevOps entry" ssh_ok cli "$a"
	done
	check "reload with runtime entries (SIGHUP, READY=1)" lab_moatd_reload
	check "runtime entries survive a reload" runtime_and_ops_listed
	check "moatctl devops del $CLI4" lab_moatctl devops del "$CLI4"
	check "moatctl devops del $CLI6" lab_moatctl devops del "$CLI6"
	check "devops list: runtime entries gone" devops_absent "$CLI4" "$CLI6"
	for a in "$GW4_CLI" "$GW6_CLI"; do
		check "v$(fam "$a"): after devops del, ssh from cli times out" ssh_silent cli "$a"
	done

	check "a devops add during a reload is not lost" add_during_reload

	check "moatctl events: sampled drops name source, destination port, reason" events_show_drops

	# Runtime entries outlive the pins (a reboot): state_dir/runtime.json.
	check "before the 'reboot': devops add $CLI4 --ttl 1h, ban add 198.18.99.0/24 --ttl 1h" \
		eval 'lab_moatctl devops add "$CLI4" --name reboot --ttl 1h >/dev/null &&
		      lab_moatctl ban add 198.18.99.0/24 --ttl 1h >/dev/null'

	# SIGTERM fails closed; unload opens the doors again.
	kill -TERM "$LAB_MOATD_PID"
	if lab_wait 10 _lab_gone "$LAB_MOATD_PID"; then
		wait "$LAB_MOATD_PID"
		tap $? "moatd exits 0 on SIGTERM"
	else
		tap 1 "moatd exits 0 on SIGTERM (still running after 10 s)"
	fi
	check "after SIGTERM: tcp/80 from cli still gets no answer" tcp_silent cli "$GW4_CLI" 80
	check "moatctl unload" lab_moatctl unload
	check "after unload: no XDP on gwc0 or gwd0" xdp_off gwc0 gwd0
	check "after unload: no pins left in $LAB_PIN" pins_gone
	check "after unload: http on 80 answers again" http_ok cli "$GW4_CLI" 80

	# As after a reboot: no pins, a fresh moatd reads state_dir.
	check "moatd starts with no pins left (as after a reboot)" lab_moatd "$CONF"
	check "runtime devops entry restored from state_dir, origin runtime, expiry kept" \
		eval 'devops_json | jq -e --arg c "$CLI4" "any(.[]; .cidr == \$c and .name == \"reboot\"
			and .origin == \"runtime\" and .expires != null)" >/dev/null'
	check "ban restored from state_dir" \
		eval 'lab_moatctl --json ban list | jq -e "any(.[]; .cidr == \"198.18.99.0/24\")" >/dev/null'
	check "v4: the restored entry lets cli ssh in" ssh_ok cli "$GW4_CLI"
	kill -TERM "$LAB_MOATD_PID"
	lab_wait 10 _lab_gone "$LAB_MOATD_PID"
	check "moatctl unload (again)" lab_moatctl unload

	# Teardown leaves nothing behind.
	tap_lab_down

	echo "1..$T"
	[ "$FAILED" -eq 0 ]
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
