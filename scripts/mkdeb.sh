#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make deb: builds build/deb/moat_VERSION_ARCH.deb with debhelper from the
# work tree (files git tracks or would: not build/), packaging from
# scripts/debian, then runs lintian on it. Prints the .deb's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out=$BUILD/deb
# 0.1~gitN.HASH: grows with every commit, so an upgrade is an upgrade.
version="0.1~git$(git rev-list --count HEAD).$(git rev-parse --short HEAD)"
src=$out/moat-$version

rm -rf "$out"
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src"
cp -r scripts/debian "$src/debian"
cat >"$src/debian/changelog" <<CHANGES
moat ($version) unstable; urgency=medium

  * Built from commit $(git rev-parse HEAD).

 -- moat maintainers <maintainers@users.noreply.r-seed-89fcc6b6.example>  $(date -R)
CHANGES
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
	tail -n 30 "$out/build.log" >&2
	echo "make deb: dpkg-buildpackage failed; full log in $out/build.log" >&2
	exit 1
}
deb=$(ls "$out"/moat_*.deb)
lintian --fail-on error "$deb" "$out"/moat_*.changes | tee "$out/lintian.log"
echo "$deb"
