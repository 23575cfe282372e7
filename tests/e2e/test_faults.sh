#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The control plane under faults and bad input (issue 8), end to end in the
# namespace lab (scripts/lab.sh, prefix m8): a damaged runtime.json, a
# second moatd on the same pin dir, unload on a wrong --pin-dir, expiries
# past 2262, a deadline left by a dead moatd, slow HTTP clients and a busy
# metrics port. Everything it starts is a lab_spawn child, everything it
# creates is under $LAB_DIR or $LAB_PIN*, removed on every exit path. TAP.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh

METRICS=http://127.0.0.1:9477

TAP_BAIL_LOGS=(moatd)
TAP_BAIL_LINES=15

STATE=
moatd_log_has() { grep -F -- "$1" "$LAB_DIR/moatd.log" || { tail -n 15 "$LAB_DIR/moatd.log"; return 1; }; }
moatd_alive() { kill -0 "$LAB_MOATD_PID" 2>/dev/null && [[ $(ps -o stat= -p "$LAB_MOATD_PID") != Z* ]]; }
stop_moatd() {
	kill -TERM "$LAB_MOATD_PID" 2>/dev/null
	lab_wait 10 _lab_gone "$LAB_MOATD_PID" && wait "$LAB_MOATD_PID" 2>/dev/null
	return 0
}
devops_has() { # CIDR ORIGIN
	lab_moatctl --json devops list | jq -e --arg c "$1" --arg o "$2" \
		'any(.[]; .cidr == $c and .origin == $o)' >/dev/null
}
ban_has() { lab_moatctl --json ban list | jq -e --arg c "$1" 'any(.[]; .cidr == $c)' >/dev/null; }

# --- 1. a damaged runtime.json -------------------------------------------------

# The issue's file (devops an object) with a ban list holding one good entry
# and one bad one: moatd starts, the config's policy is in force, the good
# ban is restored, the file is set aside and rewritten, every refusal logged.
DAMAGED='{"version":1,"devops":{},"ban":[{"cidr":"198.18.99.0/24","origin":"runtime","expires":0},{"cidr":"198.18.98.1/33"}]}'

damaged_file_set_aside() {
	local aside
	aside=$(ls "$STATE"/runtime.json.bad-* 2>/dev/null) || { ls -la "$STATE"; return 1; }
	echo "set aside as $aside"
	[ "$(cat "$aside")" = "$DAMAGED" ] || { echo "content changed"; return 1; }
}

rewritten_clean() {
	local f=$STATE/runtime.json
	cat "$f" || return 1
	[ "$(stat -c %a "$f")" = 600 ] || { echo "mode $(stat -c %a "$f")"; return 1; }
	jq -e '.version == 1 and (.devops | length) == 0 and
		(.ban | length) == 1 and .ban[0].cidr == "198.18.99.0/24"' "$f" >/dev/null
}

# --- 2. one moatd per pin dir -------------------------------------------------

link_ids() { # the bpf_link ids pinned for both interfaces
	local dev
	for dev in gwc0 gwd0; do
		lab_in gw bpftool -j link show pinned "$LAB_PIN/link_$dev" | jq -r .id || return 1
	done
}

second_moatd_refused() { # FIRST-PID
	local rc
	lab_in gw env -u NOTIFY_SOCKET timeout 20 "$LAB_BUILD/moatd" -c "$CONF" >"$LAB_DIR/second.log" 2>&1
	rc=$?
	cat "$LAB_DIR/second.log"
	[ $rc -eq 1 ] || { echo "exit $rc, want 1"; return 1; }
	grep -qF "pin_dir $LAB_PIN is in use by moatd pid $1: one moatd per pin_dir" "$LAB_DIR/second.log"
}

# --- 6. expiries past 2262 ------------------------------------------------------

ttl_refused() { # TTL
	local rc
	lab_moatctl ban add 198.18.97.0/24 --ttl "$1"
	rc=$?
	[ $rc -eq 2 ] || { echo "exit $rc, want 2"; return 1; }
	! ban_has 198.18.97.0/24
}

# A far expiry that is accepted is in force, listed and saved.
far_ttl_in_force() {
	local want listed saved verdict
	want=$(( $(date +%s) + 12000 * 7 * 86400 ))
	lab_moatctl devops add "$CLI4" --name far --ttl 12000w || return 1
	listed=$(lab_moatctl --json devops list | jq -r --arg c "$CLI4" '.[] | select(.cidr == $c) | .expires')
	saved=$(jq -r --arg c "$CLI4" '.devops[] | select(.cidr == $c) | .expires' "$STATE/runtime.json")
	verdict=$(lab_moatctl --json check --from "$CLI4" --to "$GW4_CLI" --dport 22 | jq -r '.verdict + " " + .reason')
	echo "listed: $listed; saved: $saved (want ~$want); check: $verdict"
	[[ $listed == 225[0-9]-* ]] && [ -n "$saved" ] &&
		[ "$saved" -ge $((want - 5)) ] && [ "$saved" -le $((want + 5)) ] &&
		[ "$verdict" = "pass ssh" ]
}

# Names follow the config's rules: a listing stays one line per entry.
name_refused() { # NAME
	local rc
	lab_moatctl devops add 198.18.1.50 --name "$1"
	rc=$?
	[ $rc -eq 2 ] || { echo "exit $rc, want 2"; return 1; }
	! devops_has 198.18.1.50 runtime
}

# --- 12. slow HTTP clients ------------------------------------------------------

# N connections to moatd's endpoint, each sending its request one header line
# every 2 s, never finishing it; a connection the server closes is counted
# (with how long it lived) and opened again at once. STATUS: "open cut maxlife".
SLOW_PY='
import socket, sys, time, selectors
host, port, n, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sel = selectors.DefaultSelector()
born, cut, maxlife = {}, 0, 0.0
def connect():
    s = socket.create_connection((host, port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    born[s] = time.monotonic()
for _ in range(n):
    connect()
last = time.monotonic()
while True:
    for key, _ in sel.select(timeout=0.2):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:
            continue
        sel.unregister(s)
        s.close()
        cut += 1
        maxlife = max(maxlife, time.monotonic() - born.pop(s))
        connect()
    if time.monotonic() - last >= 2:
        last = time.monotonic()
        for s in list(born):
            try:
                s.send(b"X-Slow: 1\r\n")
            except OSError:
                pass
    with open(status + ".tmp", "w") as f:
        f.write("%d %d %.1f\n" % (len(born), cut, maxlife))
    import os; os.replace(status + ".tmp", status)
'

slow_status() { cat "$LAB_DIR/slow.status" 2>/dev/null; }
slow_open() { local o; read -r o _ < <(slow_status) && [ "${o:-0}" -ge "$1" ]; }

# /healthz and /metrics answer within 2 s, every time, for 12 s.
endpoints_answer() {
	local i code failed=0
	for i in $(seq 12); do
		code=$(lab_in gw curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$METRICS/healthz")
		[ "$code" = 200 ] || { echo "healthz try $i: ${code:-no answer}"; failed=$((failed + 1)); }
		code=$(lab_in gw curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$METRICS/metrics")
		[ "$code" = 200 ] || { echo "metrics try $i: ${code:-no answer}"; failed=$((failed + 1)); }
		sleep 1	# pacing between tries, not a wait for readiness
	done
	echo "slow clients (open cut maxlife): $(slow_status)"
	[ $failed -eq 0 ]
}

# Each slow connection was cut at its deadline (5 s), which activity did not extend.
slow_clients_cut() {
	local open cut maxlife
	read -r open cut maxlife < <(slow_status) || return 1
	echo "open $open, cut $cut, longest $maxlife s"
	[ "$cut" -ge 40 ] && awk -v m="$maxlife" 'BEGIN { exit !(m >= 4.5 && m <= 7) }'
}

# --- 15. a reload onto a busy metrics port ---------------------------------------

answers_on() { # PORT: /metrics answers
	local code
	code=$(lab_in gw curl -sS -o /dev/null -w "%{http_code}" --max-time 2 "http://127.0.0.1:$1/metrics")
	echo "metrics on $1: $code"
	[ "$code" = 200 ]
}
listening_on() { [ -n "$(lab_in gw ss -Hltn "sport = :$1")" ]; }

reload_refused() {
	local rc
	lab_moatctl reload
	rc=$?
	[ $rc -eq 1 ] || { echo "exit $rc, want 1"; return 1; }
}

# --- 5. a confirm deadline left by a dead moatd ----------------------------------

awaiting() { lab_moatctl --json status | jq -e 'has("confirm_before")' >/dev/null; }
rolled_back() { grep -q "not confirmed in time" "$LAB_DIR/moatd.log"; }

# --- 9. a reload whose pinning fails says what is true --------------------------

verdict_is() { # FROM DPORT "VERDICT REASON"
	local got
	got=$(lab_moatctl --json check --from "$1" --to "$GW4_CLI" --dport "$2" | jq -r '.verdict + " " + .reason')
	echo "check from $1 to port $2: $got"
	[ "$got" = "$3" ]
}

reload_in_force_with_problem() {
	local rc
	lab_moatctl reload >"$LAB_DIR/reload.out" 2>&1
	rc=$?
	cat "$LAB_DIR/reload.out"
	[ $rc -eq 1 ] && grep -q "is in force, but moatd reported a problem" "$LAB_DIR/reload.out"
}

# --- 13. an interface deleted and created again -----------------------------------

all_attached() {
	lab_moatctl --json status | jq -e '(.interfaces | length) == 3 and all(.interfaces[]; .attached)' >/dev/null
}
xdp_on_m8d0() { lab_in gw ip link show m8d0 | grep -q 'prog/xdp'; }
reattaches_are() { # N
	local v
	v=$(lab_in gw curl -s --max-time 2 "$METRICS/metrics" | awk '$1 == "moat_interface_reattaches_total" { print $2 }')
	echo "moat_interface_reattaches_total ${v:-none}"
	[ "$v" = "$1" ]
}

# --- 7. unload on a wrong --pin-dir ---------------------------------------------

unload_refused() { # DIR REASON
	local rc
	lab_in gw "$LAB_BUILD/moatctl" --pin-dir "$1" unload
	rc=$?
	[ $rc -eq 1 ] || { echo "exit $rc, want 1"; return 1; }
}

main() {
	tap_lab_start m8 jq curl socat nsenter
	STATE=$LAB_DIR/state

	lab_write_config "$CONF"
	mkdir -p "$STATE" && printf '%s' "$DAMAGED" >"$STATE/runtime.json"
	check "damaged runtime.json: moatd starts anyway and attaches" lab_moatd "$CONF"
	check "damaged runtime.json: the config's devops entries are in force" \
		eval 'devops_has "$OPS4" config && devops_has "$OPS6" config'
	check "damaged runtime.json: the good ban is restored" ban_has 198.18.99.0/24
	check "damaged runtime.json: the bad ban is not" eval '! ban_has 198.18.98.1/33'
	check "damaged runtime.json: log names the list refused" \
		moatd_log_has "runtime.json: devops: expected an array, got object; none of its entries restored"
	check "damaged runtime.json: log names the entry refused" \
		moatd_log_has "runtime.json: ban[1].cidr: '198.18.98.1/33': prefix length above 32; entry skipped"
	check "damaged runtime.json: set aside as runtime.json.bad-<time>, unchanged" damaged_file_set_aside
	check "damaged runtime.json: rewritten from what was restored, mode 0600" rewritten_clean

	# 2. A second moatd on the same pin dir refuses and names the first.
	local first=$LAB_MOATD_PID links
	links=$(link_ids)
	check "second moatd on the same pin_dir: exit 1, names the first's pid" \
		second_moatd_refused "$first"
	check "second moatd: the first still runs, its links untouched" \
		eval 'moatd_alive && [ "$(link_ids)" = "$links" ] && lab_moatctl status >/dev/null'
	check "unload while moatd runs: refused (exit 1), moat still attached" \
		eval 'unload_refused "$LAB_PIN" && [ "$(link_ids)" = "$links" ]'
	kill -KILL "$first"
	wait "$first" 2>/dev/null
	check "after kill -9 of the first, a new moatd starts" lab_moatd "$CONF"

	# 6. Expiries moat cannot represent are refused; a far one it can is in force.
	check "ban add --ttl 30000w (ends in 2601): exit 2, not added" ttl_refused 30000w
	check "ban add --ttl 100000d (ends in 2300): exit 2, not added" ttl_refused 100000d
	check "devops add --ttl 12000w (ends in 2256): listed, saved, in force" far_ttl_in_force
	check "devops add --name with a newline: exit 2, not added" name_refused $'a\nb'
	check "devops add --name with an escape sequence: exit 2, not added" name_refused $'\e[31mred'

	# 12. Slow clients do not keep /metrics and /healthz unreachable.
	lab_spawn gw slow /usr/bin/python3 -c "$SLOW_PY" 127.0.0.1 9477 40 "$LAB_DIR/slow.status"
	local slow=$LAB_LAST_PID
	check "40 slow HTTP clients connected to moatd's endpoint" lab_wait 10 slow_open 40
	check "with 40 slow clients: /healthz and /metrics answer within 2 s, 12 times" endpoints_answer
	check "slow clients are cut at their 5 s deadline though they keep sending" slow_clients_cut
	lab_stop "$slow"

	# 15. A reload onto a busy metrics port is refused; the old listener stays.
	lab_spawn gw busy socat TCP-LISTEN:9478,bind=127.0.0.1,reuseaddr,fork /dev/null
	local busy=$LAB_LAST_PID
	check "something else listens on 127.0.0.1:9478" lab_wait 10 listening_on 9478
	lab_write_config "$CONF" 'metrics: { listen: "127.0.0.1:9478" }'
	check "reload onto the busy port: moatctl reload exit 1" reload_refused
	check "busy port: the log says why" \
		moatd_log_has "metrics.listen: couldn't listen on '127.0.0.1:9478': Address already in use"
	check "busy port: /metrics still answers on 9477" answers_on 9477
	check "after the refused reload: /healthz 200 (the previous policy is enforced), with a warning" \
		eval 'out=$(lab_in gw curl -sS -w " %{http_code}" --max-time 2 "$METRICS/healthz"); echo "$out";
		      [ "$out" = "ok; warning: the last reload was refused, the previous policy is enforced
 200" ]'
	lab_stop "$busy"
	lab_write_config "$CONF" 'metrics: { listen: "127.0.0.1:9479" }'
	check "reload onto a free port: exit 0, served on 9479, 9477 closed" \
		eval 'lab_moatctl reload && answers_on 9479 && ! listening_on 9477'
	lab_write_config "$CONF" 'metrics: { listen: "0.0.0.0:9479" }'
	check "reload to every address on the same port: served on 0.0.0.0:9479" \
		eval 'lab_moatctl reload && answers_on 9479 && lab_in gw ss -Hltn "sport = :9479" | grep -q "0.0.0.0:9479"'
	lab_write_config "$CONF"
	check "reload back to 127.0.0.1:9477" eval 'lab_moatctl reload && answers_on 9477 && ! listening_on 9479'

	# 5. reload --confirm-within, then moatd dies: the next moatd has nothing
	# to roll back to, so the deadline goes, and a later good reload stays.
	lab_write_config "$CONF" 'ssh: { ports: [22], devops: [] }'
	check "reload --confirm-within 6s (ops removed)" eval 'lab_moatctl reload --confirm-within 6s && awaiting'
	kill -KILL "$LAB_MOATD_PID"
	wait "$LAB_MOATD_PID" 2>/dev/null
	check "moatd killed -9 while waiting; a new one starts" lab_moatd "$CONF"
	check "the new moatd drops the orphaned deadline, and says so" \
		eval '! awaiting && moatd_log_has "was left by a previous moatd; what it would roll back to is gone"'
	lab_write_config "$CONF"
	check "a good SIGHUP afterwards (ops back)" eval 'lab_moatd_reload && devops_has "$OPS4" config'
	# Observed for 8 s, past the old deadline: a negative needs a window.
	check "the good reload is not rolled back to the unconfirmed policy" \
		eval '! lab_wait 8 rolled_back && devops_has "$OPS4" config'

	# 9. The new generation goes in force but its tables cannot be pinned (a
	# folder sits where moatd pins devops first): nobody may be told it is
	# unchanged.
	mkdir "$LAB_PIN/new_devops"
	lab_write_config "$CONF" "deny: [\"$CLI4/32\"]"
	local lines; lines=$(wc -l <"$LAB_DIR/moatd.log")
	check "reload whose pinning fails: moatctl says it is in force, with a problem (exit 1)" \
		reload_in_force_with_problem
	check "the log says the new policy is in force and what failed, not 'unchanged'" \
		eval 'tail -n +$((lines + 1)) "$LAB_DIR/moatd.log" | tee /dev/stderr |
			grep -q "the new policy is in force, but its maps couldn.t be pinned" &&
		      ! tail -n +$((lines + 1)) "$LAB_DIR/moatd.log" | grep -q "unchanged"'
	check "and it is: $CLI4 is denied" verdict_is "$CLI4" 443 "drop denied"
	# 8. The pinned devops table is now the previous generation's: moatctl
	# must not report a change there as done.
	check "devops add on a pinned table not in force: exit 1, says so, nothing added" \
		eval 'lab_moatctl devops add 198.18.1.60 >"$OUT.2" 2>&1; rc=$?; cat "$OUT.2"; [ $rc -eq 1 ] &&
		      grep -q "is not the one in force" "$OUT.2" && ! devops_has 198.18.1.60 runtime'
	check "devops del on a pinned table not in force: exit 1, the entry stays" \
		eval 'lab_moatctl devops del "$OPS4"; [ $? -eq 1 ] && devops_has "$OPS4" config'
	rmdir "$LAB_PIN/new_devops"
	lab_write_config "$CONF"
	check "with the obstacle gone, a reload pins it all: exit 0, $CLI4 passes TLS" \
		eval 'lab_moatctl reload && verdict_is "$CLI4" 443 "pass tls"'
	check "and devops add works again" \
		eval 'lab_moatctl devops add 198.18.1.60 && devops_has 198.18.1.60 runtime &&
		      lab_moatctl devops del 198.18.1.60'

	# 13. A guarded interface deleted and created again is guarded again at once.
	# (no dummy driver here: a veth pair inside gw, removed with the namespace)
	ip -n "$LAB-gw" link add m8d0 type veth peer name m8d1 && ip -n "$LAB-gw" link set m8d0 up
	lab_write_config "$CONF" 'interfaces: [gwc0, gwd0, m8d0]'
	check "reload with a third interface (veth m8d0)" \
		eval 'lab_moatctl reload && all_attached && xdp_on_m8d0 && reattaches_are 0'
	ip -n "$LAB-gw" link del m8d0 && ip -n "$LAB-gw" link add m8d0 type veth peer name m8d1
	# ~0.2 s here when the host is idle; the deadline allows for a loaded one.
	check "m8d0 deleted and created again: moat is on it again without a reload" \
		eval 't0=$EPOCHREALTIME; lab_wait 20 eval "all_attached && xdp_on_m8d0" &&
		      awk -v a="$t0" -v b="$EPOCHREALTIME" "BEGIN { printf \"attached again after %.2f s\\n\", b - a }"'
	check "the re-attach is counted and logged" \
		eval 'reattaches_are 1 && moatd_log_has "interface '"'"'m8d0'"'"' came back without moat"'
	lab_write_config "$CONF"
	check "reload without m8d0" eval 'lab_moatctl reload && ! xdp_on_m8d0'
	stop_moatd
	check "moatd exit releases the lock: no $LAB_PIN/moatd left" test ! -e "$LAB_PIN/moatd"

	# 7. unload refuses what is not moat's pin dir, and removes only moat's pins.
	mkdir -p "$LAB_DIR/notbpf" && echo "interfaces: [eth0]" >"$LAB_DIR/notbpf/moat.yaml"
	check "unload --pin-dir on a folder not on bpffs: exit 1, nothing removed" \
		eval 'unload_refused "$LAB_DIR/notbpf" && [ -s "$LAB_DIR/notbpf/moat.yaml" ]'
	mkdir -p "$LAB_PIN/foreign" && ln -s /nowhere "$LAB_PIN/foreign/keep" && ln -s /nowhere "$LAB_PIN/keep"
	check "unload --pin-dir on bpffs without a moat meta: exit 1, nothing removed" \
		eval 'unload_refused "$LAB_PIN/foreign" && [ -L "$LAB_PIN/foreign/keep" ]'
	check "unload of moat's pin dir holding foreign entries: exit 0" lab_moatctl unload
	check "unload: XDP detached from gwc0 and gwd0" \
		eval '! lab_in gw ip link show gwc0 | grep -q xdp && ! lab_in gw ip link show gwd0 | grep -q xdp'
	check "unload: moat's pins gone, the foreign entries kept" \
		eval '[ "$(ls "$LAB_PIN" | tr "\n" " ")" = "foreign keep " ] || { ls -la "$LAB_PIN"; false; }'
	rm -rf "${LAB_PIN:?}/foreign" "$LAB_PIN/keep" && rmdir "$LAB_PIN"

	tap_lab_down
	echo "1..$T"
	[ "$FAILED" -eq 0 ]
}

main "$@"
