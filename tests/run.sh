#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs the test tiers and prints one closing line "N passed, N failed".
# Every tier speaks TAP: "ok N - name" / "not ok N - name" lines are counted;
# a tier that crashes before reporting counts as one failure.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
tier=${1:-all}
log=$(mktemp /tmp/moat-tests.XXXXXX)
trap 'rm -f "$log"' EXIT

run() { # name command...
	local name=$1; shift
	echo "# --- $name"
	local before; before=$(grep -c '^ok \|^not ok ' "$log")
	"$@" 2>&1 | tee -a "$log" | grep -v '^ok '
	local rc=${PIPESTATUS[0]}
	local after; after=$(grep -c '^ok \|^not ok ' "$log")
	if [ "$rc" -ne 0 ] && ! tail -n $((after - before + 1)) "$log" | grep -q '^not ok '; then
		echo "not ok - $name exited $rc" | tee -a "$log"
	elif [ "$after" -eq "$before" ]; then
		echo "not ok - $name reported no test" | tee -a "$log"
	fi
}

if [ "$tier" = all ] || [ "$tier" = unit ]; then
	for t in "$BUILD"/tests/unit/*; do
		[ -x "$t" ] && run "unit/$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
	done
	# The inspector's rates on tests/inspect-corpus (h1 and h2, per half).
	run unit/corpus "$BUILD/tests/inspect/corpus" --check
fi
if [ "$tier" = all ] || [ "$tier" = prog ]; then
	run prog "$BUILD/tests/prog/prog_test"
	run prog/filter "$BUILD/tests/filter/filter_test"
fi
if [ "$tier" = all ] || [ "$tier" = dist ]; then
	for t in tests/dist/test_*.sh; do
		[ -f "$t" ] && run "dist/$(basename "$t" .sh)" bash "$t"
	done
fi
if [ "$tier" = all ] || [ "$tier" = deb ]; then
	run deb/test_deb bash tests/deb/test_deb.sh
fi
if [ "$tier" = all ] || [ "$tier" = model ]; then
	run model "$BUILD/tests/model/difffuzz" -n "${MOAT_FUZZ_PACKETS:-200000}"
fi
if [ "$tier" = all ] || [ "$tier" = fuzz ]; then
	run fuzz bash tests/fuzz/run.sh -runs=100000
fi
if [ "$tier" = all ] || [ "$tier" = e2e ]; then
	for t in tests/e2e/test_*.sh; do
		[ -f "$t" ] && run "e2e/$(basename "$t" .sh)" bash "$t"
	done
fi

passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
echo
grep '^not ok ' "$log" | sed 's/^/FAILED: /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
