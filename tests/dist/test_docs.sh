#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Manuals and completion as shipped: each page under man/ renders without a
# single warning from `mandoc -Tlint` and `groff -ww`, and is installed by
# `make install`; the commands of `moatctl --help` (printed from moatctl's
# command table) are each documented in moatctl(8) and completed by
# scripts/bash-completion/moatctl, which is exercised in a plain bash through
# COMPREPLY. TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh

BUILD=${BUILD:-build}
ROOT=$(mktemp -d /tmp/m11docs.XXXXXX) || exit 1
trap 'rm -rf "$ROOT"' EXIT
OUT=$ROOT/check.out
PAGES=(man/moatd.8 man/moatctl.8 man/moat.yaml.5)
COMPLETION=scripts/bash-completion/moatctl

tap_need mandoc groff
[ -x "$BUILD/moatctl" ] && [ -x "$BUILD/moatd" ] || bail "$BUILD/moatctl or moatd not built: run make all"

# No output and exit 0: any message is a failure.
silent() {
	local out rc
	out=$("$@" 2>&1); rc=$?
	echo "$out"
	[ $rc -eq 0 ] && [ -z "$out" ]
}

for page in "${PAGES[@]}"; do
	check "$page: mandoc -Tlint says nothing" silent mandoc -Tlint "$page"
	check "$page: groff -ww -man says nothing" silent groff -ww -man -z "$page"
done
# A page with an unknown macro: both linters must speak (the checks can fail).
printf '.TH BAD 8 2026-01-01 moat\n.SH NAME\nbad \\- page\n.SH DESCRIPTION\n.XX text\n' \
	>"$ROOT/bad.8"
check "a broken page: mandoc -Tlint and groff -ww both complain" eval \
	'! silent mandoc -Tlint "$ROOT/bad.8" && ! silent groff -ww -man -z "$ROOT/bad.8"'

check "make install DESTDIR=scratch root" \
	make -s install DESTDIR="$ROOT/root" BUILD="$BUILD" || bail "make install failed"
for f in usr/share/man/man8/moatd.8 usr/share/man/man8/moatctl.8 \
	 usr/share/man/man5/moat.yaml.5 usr/share/bash-completion/completions/moatctl; do
	[ -f "$ROOT/root/$f" ]; tap $? "installed: /$f"
done
check "man -l renders moatctl(8) with its NAME line" eval \
	'MANWIDTH=80 man -l "$ROOT/root/usr/share/man/man8/moatctl.8" 2>&1 | grep -q "moatctl - show and change what moat enforces"'

# --- --help comes from the tables -------------------------------------------
# The commands --help lists (first word of each "Commands:" line).
help_commands() {
	"$BUILD/moatctl" --help | sed -n '/^Commands:/,/^$/p' |
		sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | sort -u
}
check "moatctl --help: exit 0 on stdout, lists status ... unload" eval \
	'help_commands | tee "$ROOT/commands" | grep -qx status && grep -qx unload "$ROOT/commands"'
check "moatd --help: exit 0, lists every option moatd takes" eval \
	'h=$("$BUILD/moatd" --help) && for o in -c --config --check-config -v --verbose -h --help -V --version; do grep -q -- "$o" <<<"$h" || { echo "no $o"; exit 1; }; done'
check "moatctl bogus: exit 2 and the usage on stderr" eval \
	'"$BUILD/moatctl" bogus >/dev/null 2>"$ROOT/err"; [ $? -eq 2 ] && grep -q "^Commands:" "$ROOT/err"'

documented() { # PAGE: every command of --help has its own entry
	local cmd miss=
	while read -r cmd; do
		grep -q "^\(\\\\fB\|\.B[IR]* \"\?\)$cmd\b" "$1" || miss+=" $cmd"
	done <"$ROOT/commands"
	[ -z "$miss" ] || { echo "not in $1:$miss"; return 1; }
}
check "moatctl(8) documents every command of --help" documented man/moatctl.8

# --- bash completion ----------------------------------------------------------
# A stub moatctl that answers "--json devops list" like the real one.
cat >"$ROOT/moatctl" <<'EOF'
#!/bin/sh
case "$*" in
*"devops list"*) printf '[\n  {\n    "cidr": "198.18.2.2/32",\n    "name": "ops4"\n  },\n  {\n    "cidr": "198.18.9.0/24",\n    "name": "lab"\n  }\n]\n' ;;
*"ban list"*) printf '[\n  {\n    "cidr": "198.18.7.7/32"\n  }\n]\n' ;;
esac
EOF
chmod +x "$ROOT/moatctl"

# complete WORD... -- COMPREPLY (sorted, one line) for the command line
# "moatctl WORD...", the last word being completed; a plain bash, nothing
# of bash-completion loaded.
complete_line() {
	# shellcheck disable=SC2016 # expanded by that bash
	bash --norc --noprofile -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_moatctl
		printf "%s\n" "${COMPREPLY[@]}" | sort | xargs' \
		sh "$COMPLETION" "$ROOT/moatctl" "$@"
}
completes() { # WANT WORD...
	local want=$1 got; shift
	got=$(complete_line "$@")
	echo "moatctl $*<TAB>: '$got', want '$want'"
	[ "$got" = "$want" ]
}

check "completion: 'moatctl <TAB>' offers exactly the commands of --help" \
	completes "$(xargs <"$ROOT/commands")" ""
check "completion: 'moatctl de' -> devops" completes devops de
check "completion: 'moatctl --' -> the global options" completes "--help --json --pin-dir --version" --
check "completion: 'moatctl --json devops ' -> list add del" completes "add del list" --json devops ""
check "completion: 'moatctl devops add 1.2.3.4 --' -> --name --ttl" \
	completes "--name --ttl" devops add 1.2.3.4 --
check "completion: 'moatctl ban add x --' -> --ttl only" completes "--ttl" ban add x --
check "completion: 'moatctl devops del ' -> the CIDRs in the table" \
	completes "198.18.2.2/32 198.18.9.0/24" devops del ""
check "completion: 'moatctl ban del 198' -> the banned CIDR" completes "198.18.7.7/32" ban del 198
check "completion: 'moatctl check --payload tls' -> tls1.0 tls1.2" \
	completes "tls1.0 tls1.2" check --payload tls
check "completion: 'moatctl check --pr' -> --proto" completes "--proto" check --pr
check "completion: 'moatctl stats -' -> --watch" completes "--watch" stats -
check "completion: 'moatctl --json au' -> audit" completes audit --json au
check "completion: 'moatctl audit --' -> --config --prometheus" completes "--config --prometheus" audit --

echo "1..$T"
[ "$FAILED" -eq 0 ]
