#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs every libFuzzer target in $BUILD/fuzz from a scratch copy of its seed
# corpus (tests/fuzz/corpus/NAME, never written to), with the libFuzzer
# options given (default: -runs=20000). TAP: one line per target; a crash
# leaves its input in $BUILD/fuzz/crashes/ and shows the report.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
opts=("$@")
[ ${#opts[@]} -gt 0 ] || opts=(-runs=20000)
work=$(mktemp -d /tmp/m8fuzz.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$BUILD/fuzz/crashes"
T=0 failed=0
for bin in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin") seeds=tests/fuzz/corpus/${name#fuzz_}
	T=$((T + 1))
	mkdir -p "$work/$name"
	[ -d "$seeds" ] && cp "$seeds"/* "$work/$name"/
	if "$bin" "${opts[@]}" -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix="$BUILD/fuzz/crashes/$name-" "$work/$name" >"$work/$name.log" 2>&1; then
		echo "ok $T - $name: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$work/$name.log")"
	else
		failed=$((failed + 1))
		echo "not ok $T - $name (input kept in $BUILD/fuzz/crashes/)"
		grep -A 20 'ERROR\|runtime error\|deadly signal' "$work/$name.log" | head -n 40 | sed 's/^/# /'
	fi
done
echo "1..$T"
[ "$failed" -eq 0 ] && [ "$T" -gt 0 ]
