#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian package: `make deb` builds it with debhelper and lintian finds
# no error; dpkg installs it into a scratch root (dpkg --root, maintainer
# scripts run outside it with DPKG_ROOT set), where every shipped file is,
# the example policy validates in monitor mode and moatd is not enabled;
# then remove keeps the conffile and purge leaves nothing behind. TAP.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh

BUILD=${BUILD:-build}
ROOT=$(mktemp -d /tmp/m11deb.XXXXXX) || exit 1
trap 'rm -rf "$ROOT"' EXIT
OUT=$ROOT/check.out
R=$ROOT/root

tap_need dpkg-buildpackage dh lintian dpkg

# An empty dpkg database: the scratch root knows no package.
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers" || exit 1
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
# Its libraries are the host's: what Depends names is not in the scratch root.
rdpkg() { dpkg --root="$R" --force-script-chrootless --force-depends "$@"; }

check "make deb: debhelper builds it, lintian reports no error" \
	make -s deb BUILD="$BUILD" || bail "no package"
DEB=$(tail -n 1 "$OUT")
sed -n '/^[EW]: /s/^/# lintian: /p' "$OUT"
! grep -q '^E: ' "$OUT"; tap $? "lintian: no E: line"
check "the package declares its libraries (libbpf, libyaml, libjson-c, libmicrohttpd, libcurl)" \
	eval 'deps=$(dpkg-deb -f "$DEB" Depends); echo "$deps";
	      for l in libbpf1 libyaml-0-2 libjson-c5 libmicrohttpd12 libcurl4; do
	          grep -q "$l" <<<"$deps" || exit 1; done'

check "dpkg -i into a scratch root" rdpkg -i "$DEB" || bail "install failed"
check "dpkg says: install ok installed" eval \
	'[ "$(dpkg --root="$R" -s moat | sed -n "s/^Status: //p")" = "install ok installed" ]'
for f in usr/sbin/moatd usr/sbin/moatctl lib/systemd/system/moatd.service etc/moat/moat.yaml \
	 usr/share/man/man8/moatd.8.gz usr/share/man/man8/moatctl.8.gz usr/share/man/man5/moat.yaml.5.gz \
	 usr/share/bash-completion/completions/moatctl usr/share/moat/prometheus/moat-alerts.yml \
	 usr/share/moat/prometheus/alertmanager.yml usr/share/moat/prometheus/grafana-moat.json \
	 usr/share/doc/moat/copyright; do
	[ -f "$R/$f" ]; tap $? "installed: /$f"
done
check "/etc/moat/moat.yaml is a conffile" eval \
	'dpkg-deb -I "$DEB" conffiles | grep -qx /etc/moat/moat.yaml'
check "the example policy says mode: monitor and validates" eval \
	'grep -qx "mode: monitor" "$R/etc/moat/moat.yaml" &&
	 "$R/usr/sbin/moatd" --check-config "$R/etc/moat/moat.yaml"'
check "the installed moatctl runs (--version)" "$R/usr/sbin/moatctl" --version
check "moatd.service is not enabled by the install" eval \
	'! find "$R/etc/systemd" -name moatd.service 2>/dev/null | grep -q .'

check "dpkg -r: binaries gone, the conffile kept" eval \
	'rdpkg -r moat && [ ! -e "$R/usr/sbin/moatd" ] && [ -f "$R/etc/moat/moat.yaml" ]'
check "dpkg -P: purged, nothing left outside dpkg's own database" eval \
	'rdpkg -P moat && left=$(cd "$R" && find . -mindepth 1 ! -path "./var/lib/dpkg*" ! -type d);
	 echo "left: ${left:-nothing}"; [ -z "$left" ] &&
	 ! dpkg --root="$R" -s moat 2>/dev/null | grep -q "^Status: install"'

echo "1..$T"
[ "$FAILED" -eq 0 ]
