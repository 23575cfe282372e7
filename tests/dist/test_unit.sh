#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The systemd unit as shipped: `make install` into a scratch root, then
# `systemd-analyze verify` on the installed unit (its ExecStart pointed at the
# installed moatd) must say nothing, and `systemd-analyze security --offline`
# must rate it at most 3.0. A copy stripped of its hardening must rate worse,
# so the rating check can fail. TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh

MAX_EXPOSURE=3.0
BUILD=${BUILD:-build}
ROOT=$(mktemp -d /tmp/m11unit.XXXXXX) || exit 1
trap 'rm -rf "$ROOT"' EXIT
OUT=$ROOT/check.out
UNIT=$ROOT/lib/systemd/system/moatd.service

tap_need systemd-analyze

# The exposure figure of a unit file, e.g. 2.6.
exposure() { # FILE
	systemd-analyze security --offline=true "$1" 2>&1 |
		sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p'
}

exposure_at_most() { # FILE MAX
	local e; e=$(exposure "$1")
	echo "exposure ${e:-(no 'Overall exposure level' line)}, want <= $2"
	[ -n "$e" ] && awk -v e="$e" -v m="$2" 'BEGIN { exit !(e <= m) }'
}

verify_clean() { # FILE
	local out rc
	out=$(systemd-analyze verify "$1" 2>&1); rc=$?
	echo "$out"
	[ $rc -eq 0 ] && [ -z "$out" ]
}

# Exactly the capabilities the unit's comment justifies.
caps_are() { # FILE CAP...
	local file=$1 got want; shift
	got=$(sed -n 's/^CapabilityBoundingSet=//p' "$file" | tr ' ' '\n' | sort | xargs)
	want=$(printf '%s\n' "$@" | sort | xargs)
	echo "CapabilityBoundingSet: '$got', want '$want'"
	[ "$got" = "$want" ]
}

has_line() { grep -qx "$2" "$1" || { echo "no line '$2' in $1"; return 1; }; }

check "make install DESTDIR=scratch root" \
	make -s install DESTDIR="$ROOT" BUILD="$BUILD" || bail "make install failed"
[ -f "$UNIT" ]; tap $? "unit installed as /lib/systemd/system/moatd.service"

# verify checks that every ExecStart binary exists: point them at the
# scratch root's.
sed -i "s#=/usr/sbin/moatd #=$ROOT/usr/sbin/moatd #" "$UNIT"
# Documentation=man:... must name pages the install put there.
export MANPATH=$ROOT/usr/share/man
check "systemd-analyze verify: no warning (man pages from the scratch root)" verify_clean "$UNIT"
check "systemd-analyze security --offline: exposure <= $MAX_EXPOSURE" \
	exposure_at_most "$UNIT" "$MAX_EXPOSURE"
sed -n 's/^exposure/# exposure/p' "$OUT"
check "capabilities: CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_ADMIN and no other" \
	caps_are "$UNIT" CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_ADMIN
check "starts before the network: Before= and Wants=network-pre.target" eval \
	'grep -q "^Before=.*network-pre.target" "$UNIT" && has_line "$UNIT" Wants=network-pre.target'
for line in ProtectSystem=strict ReadWritePaths=/sys/fs/bpf StateDirectory=moat \
	    NoNewPrivileges=yes PrivateTmp=yes ProtectHome=yes LockPersonality=yes \
	    MemoryDenyWriteExecute=yes Type=notify; do
	check "unit sets $line" has_line "$UNIT" "$line"
done

# The same unit without its sandbox (only [Unit], the commands, [Install]).
grep -E '^(\[|Description|Documentation|Type|Exec|Restart|Wanted)' "$UNIT" >"$ROOT/bare.service"
check "the check can fail: the unit without its sandbox rates above $MAX_EXPOSURE" \
	eval '! exposure_at_most "$ROOT/bare.service" "$MAX_EXPOSURE"'

echo "1..$T"
[ "$FAILED" -eq 0 ]
