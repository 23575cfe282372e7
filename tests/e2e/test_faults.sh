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

bail() {
	echo "Bail out! $*"
	if [ -n "${LAB_DIR:-}" ] && [ -s "$LAB_DIR/moatd.log" ]; then
		tail -n 15 "$LAB_DIR/moatd.log" | sed 's/^/# moatd: /'
	fi
	echo "1..$T"
	exit 1
}

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
	stop_moatd
	lab_moatctl unload >/dev/null

	tap_lab_down
	echo "1..$T"
	[ "$FAILED" -eq 0 ]
}

main "$@"
