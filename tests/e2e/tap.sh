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

# tap_lab_start PREFIX TOOL... -- what every e2e test does first: the
# tools and binaries it needs are there (else bail), then a lab named
# PREFIX<pid digits> with OUT and CONF in its folder, and the namespaces up.
# Each test defines bail (it knows which logs to show).
tap_lab_start() {
	local prefix=$1 tool; shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null || bail "$tool missing: run make deps"
	done
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
