# SPDX-License-Identifier: GPL-2.0
# TAP for the e2e, dist and deb tests (sourced): tap RC NAME, and check NAME
# CMD... which runs CMD in this shell (what it records stays), keeps its
# output in $OUT and shows the end of it as the diagnostic when it fails;
# bail and tap_need; the lab's start, teardown and dry-run snapshots.
T=0
FAILED=0

tap() { # RC NAME
	T=$((T + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T - $2"
	else
		FAILED=$((FAILED + 1))
		echo "not ok $T - $2"
	fi
}

# bail MESSAGE -- gives up: "Bail out!", the last TAP_BAIL_LINES lines of
# each log named in TAP_BAIL_LOGS ($LAB_DIR/NAME.log, when there is one),
# the plan so far, exit 1. A test names the logs that explain its failures.
TAP_BAIL_LOGS=()
TAP_BAIL_LINES=10
bail() {
	echo "Bail out! $*"
	local log
	for log in "${TAP_BAIL_LOGS[@]}"; do
		if [ -n "${LAB_DIR:-}" ] && [ -s "$LAB_DIR/$log.log" ]; then
			tail -n "$TAP_BAIL_LINES" "$LAB_DIR/$log.log" | sed "s/^/# $log: /"
		fi
	done
	echo "1..$T"
	exit 1
}

# tap_need TOOL... -- each is installed, else bail.
tap_need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || bail "$tool missing: run make deps"
	done
}

check() { # NAME CMD...
	local name=$1 rc; shift
	"$@" >"$OUT" 2>&1
	rc=$?
	tap $rc "$name"
	[ $rc -eq 0 ] || tail -n 25 "$OUT" | sed 's/^/# /'
	return $rc
}

# lab_down, then assert that it left nothing behind: namespaces, pins, the
# lab folder, processes.
tap_lab_down() {
	local pids=("${LAB_PIDS[@]}") p alive=
	lab_down
	tap $? "lab_down"
	tap "$(ip netns list | grep -c "^$LAB-")" "teardown: no $LAB-* namespace left"
	[ ! -e "$LAB_PIN" ]; tap $? "teardown: no $LAB_PIN"
	[ ! -e "$LAB_DIR" ]; tap $? "teardown: no $LAB_DIR"
	for p in "${pids[@]}"; do
		kill -0 "${p%%:*}" 2>/dev/null && alive+=" ${p%%:*}"
	done
	[ -z "$alive" ]; tap $? "teardown: no process left${alive:+ (alive:$alive)}"
}

# tap_lab_start PREFIX TOOL... -- what every e2e test does first: the
# tools and binaries it needs are there (else bail), then a lab named
# PREFIX<pid digits> with OUT and CONF in its folder, and the namespaces up.
tap_lab_start() {
	local prefix=$1; shift
	tap_need "$@"
	if [ ! -x "$LAB_BUILD/moatd" ] || [ ! -x "$LAB_BUILD/moatctl" ]; then
		bail "$LAB_BUILD/moatd or moatctl not built: run make all"
	fi
	# Lab names are at most 6 characters: the pid's last digits fill the rest.
	local mod=1 i
	for (( i = ${#prefix}; i < 6 && mod < 10000; i++ )); do mod=$((mod * 10)); done
	lab_init "$prefix$(( $$ % mod ))" || bail "lab_init"
	OUT=$LAB_DIR/check.out
	CONF=$LAB_DIR/moat.yaml
	check "lab: three namespaces, veths and addresses" lab_up || bail "no lab"
}

# tap_state_snapshot -- what a dry run must not change: the stats (moatctl
# --json stats, byte for byte), meta, the tables the program writes (flows,
# connection states, drops per source, bans), and each program's own drop
# sampler (top_sample, found through the pinned XDP links). A big array is
# shown as a digest of its dump.
TAP_SNAP_MAPS=(meta flows conns conn_pending conn_syn top_sources ban)
_tap_map_snap() { # LABEL pinned PATH | LABEL id ID
	local label=$1 info sum; shift
	info=$(bpftool -j map show "$@") || return 1
	echo "== $label"
	if jq -e '(.type | test("array")) and .max_entries > 1024' <<<"$info" >/dev/null; then
		sum=$(bpftool -j map dump "$@" | sha256sum; exit "${PIPESTATUS[0]}") || return 1
		echo "sha256 of the dump: ${sum%% *}"
	else
		bpftool -jp map dump "$@"
	fi
}
tap_state_snapshot() {
	local m link prog id
	lab_moatctl --json stats || return 1
	for m in "${TAP_SNAP_MAPS[@]}"; do
		_tap_map_snap "$m" pinned "$LAB_PIN/$m" || return 1
	done
	for link in "$LAB_PIN"/link_*; do
		prog=$(bpftool -j link show pinned "$link" | jq -r .prog_id) || return 1
		for id in $(bpftool -j prog show id "$prog" | jq -r '.map_ids[]'); do
			[ "$(bpftool -j map show id "$id" | jq -r .name)" = top_sample ] || continue
			_tap_map_snap "${link##*/} top_sample" id "$id" || return 1
		done
	done
}

# tap_changes_nothing CMD... -- CMD leaves tap_state_snapshot as it was. A
# packet of the lab's own landing in between changes it too: up to 3 tries,
# so only a CMD that writes fails every time.
tap_changes_nothing() {
	local try before after
	for try in 1 2 3; do
		before=$(tap_state_snapshot) || return 1
		"$@" >/dev/null 2>&1
		after=$(tap_state_snapshot) || return 1
		if [ "$before" = "$after" ]; then
			echo "identical on try $try ($(wc -c <<<"$after") bytes)"
			return 0
		fi
		echo "try $try: changed:"
		diff -U0 <(echo "$before") <(echo "$after") | head -n 8
	done
	return 1
}
