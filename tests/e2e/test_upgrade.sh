#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Upgrade under traffic: the moat of tests/e2e/UPGRADE_FROM (the last one that
# landed before the pinned layout changed) guards the lab, holds a runtime
# DevOps entry and a ban, and carries an SSH session and a stream of HTTPS
# requests; then it is stopped and this build's moatd starts on its pins.
# Asserted: enforcement never stops (every request of the stream gets its
# page, the session keeps round-tripping), counters continue, the runtime
# entries and the ban stay in force, the maps whose layout changed are
# replaced and said so, and the stream's wrong verdicts count 0.
# TAP on stdout; everything removed on every exit path (lab_init's trap).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh

UP_FROM=$(cat tests/e2e/UPGRADE_FROM)
UP_BANNED=198.18.1.99		# banned with the old moatctl
UP_RUNTIME=198.18.1.50		# a runtime DevOps entry made with the old moatctl

TAP_BAIL_LOGS=(moatd build stream presession)

# The old moat, built from git history into the lab folder.
up_build_old() {
	local d=$LAB_DIR/old
	mkdir -p "$d" && git archive "$UP_FROM" | tar -x -C "$d" || return 1
	make -C "$d" -j2 all >"$LAB_DIR/build.log" 2>&1 || { tail -n 5 "$LAB_DIR/build.log"; return 1; }
	[ -x "$d/build/moatd" ] && [ -x "$d/build/moatctl" ]
}
up_old_moatctl() { lab_in gw "$LAB_DIR/old/build/moatctl" --pin-dir "$LAB_PIN" "$@"; }

# An SSH session from ops (scripts/lab.sh): a line written to it comes back.
up_session_open() { lab_session_start && lab_session_roundtrip opened; }

# HTTPS requests from cli, one after the other, each line "ok" or "fail":
# every one is a new connection judged by whichever moat is in force.
up_stream_start() {
	UP_STREAM=$LAB_DIR/stream.out
	: >"$UP_STREAM"
	# shellcheck disable=SC2016 # expanded by that bash
	lab_spawn cli stream bash -c 'while [ ! -e "$0.stop" ]; do
		if [ "$(curl -sk --max-time 3 "https://$1/")" = "$2" ]; then echo ok; else echo fail; fi
	done >"$0"' "$UP_STREAM" "$GW4_CLI" "$LAB_BODY"
	UP_STREAM_PID=$LAB_LAST_PID
}
# Asks the stream to stop after the request in flight, and waits for it.
up_stream_stop() {
	touch "$UP_STREAM.stop"
	lab_wait 10 eval '! kill -0 "$UP_STREAM_PID" 2>/dev/null'
}
up_stream_count() { grep -c "^$1\$" "$UP_STREAM"; }
up_stream_grew() { [ "$(up_stream_count ok)" -ge $(($1 + 5)) ]; }

up_packets() { # JSON: packets passed as tls on gwc0
	jq -r '[.interfaces[] | select(.name == "gwc0") | .counters[]
		| select(.verdict == "pass" and .reason == "tls") | .packets] | add // 0'
}

up_check_says() { # WANT ARGS...
	local want=$1 out; shift
	out=$(lab_moatctl check "$@") || true
	echo "$out"
	[ "${out%% (*}" = "$want" ]
}

main() {
	tap_lab_start mu jq curl ssh socat git make
	check "the old moat ($UP_FROM) builds from git history" up_build_old || bail "no old build"
	check "lab: nginx in gw" lab_nginx || bail "no nginx"
	check "lab: sshd in gw" lab_sshd || bail "no sshd"
	lab_write_config "$CONF" "tls: { ports: [443], validate: true }" "outbound: { track: true }"

	local new_build=$LAB_BUILD
	LAB_BUILD=$LAB_DIR/old/build
	check "the old moatd starts and attaches" lab_moatd "$CONF" || bail "old moatd did not start"
	LAB_BUILD=$new_build
	check "old moatctl: a runtime DevOps entry" \
		up_old_moatctl devops add "$UP_RUNTIME/32" --name upgrade
	check "old moatctl: a ban" up_old_moatctl ban add "$UP_BANNED/32"
	check "an SSH session from ops through the old moat" up_session_open ||
		bail "no ssh session"
	up_stream_start
	check "HTTPS requests pass through the old moat" lab_wait 20 up_stream_grew 0
	local before ok0 p0
	before=$(up_old_moatctl --json stats)
	p0=$(up_packets <<<"$before")
	check "the old moat counted them (pass tls: ${p0:-?} packets)" eval '[ "${p0:-0}" -gt 0 ]'

	# --- the upgrade: the old moatd stops (its programs stay), the new one adopts ---
	lab_stop "$LAB_MOATD_PID"
	ok0=$(up_stream_count ok)
	check "this moatd starts on the old pins and attaches" lab_moatd "$CONF" ||
		bail "new moatd did not start"
	check "  it says which pinned maps it replaced (older layout)" \
		grep -q "has an older layout" "$LAB_DIR/moatd.log"
	check "  and that the pins now carry this build's layout stamp" \
		grep -q "now have layout" "$LAB_DIR/moatd.log"
	check "  and that the connections that predate it pass as they are" \
		grep -q "predate moat on validated ports pass as they are" "$LAB_DIR/moatd.log"
	check "HTTPS requests keep passing through the new moat" lab_wait 20 up_stream_grew "$ok0"
	check "the SSH session opened under the old moat still round-trips" lab_session_roundtrip after
	check "real ssh from ops logs in (a new connection, judged by the new moat)" \
		lab_ssh ops "$GW4_OPS" true
	check "the runtime DevOps entry is still listed" eval \
		'lab_moatctl --json devops list | jq -e --arg a "$UP_RUNTIME" "any(.[]; .cidr == \$a)"'
	check "the ban is still listed" eval \
		'lab_moatctl --json ban list | jq -e --arg a "$UP_BANNED" "any(.[]; .cidr == \$a)"'
	check "the ban is still in force (the new filter was rebuilt from it)" \
		up_check_says "drop banned" --from "$UP_BANNED" --to "$GW4_CLI" --dport 443
	check "the runtime DevOps entry is still in force" \
		up_check_says "pass ssh" --from "$UP_RUNTIME" --to "$GW4_CLI" --dport 22
	check "counters continued (pass tls grew from the old moat's figure)" \
		eval '[ "$(lab_moatctl --json stats | up_packets)" -gt "$p0" ]'
	check "the request stream stops after its request in flight" up_stream_stop
	check "wrong verdicts in the stream: 0 of $(up_stream_count ok) requests failed" \
		eval '[ "$(up_stream_count fail)" -eq 0 ]'

	lab_session_close
	tap_lab_down
	echo "1..$T"
	[ "$FAILED" -eq 0 ]
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
