# SPDX-License-Identifier: GPL-2.0
# TAP for the e2e tests (sourced): tap RC NAME, and check NAME CMD... which
# runs CMD in this shell (what it records stays), keeps its output in $OUT
# and shows the end of it as the diagnostic when it fails.
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
