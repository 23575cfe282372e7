#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs every Debian package moat needs to build, test and demo. Idempotent:
# packages already present are not fetched again, and apt lists are refreshed
# only when something is missing.
set -euo pipefail

PKGS=(
	# build (libclang-rt-14-dev: libFuzzer and the sanitizers for clang)
	make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
	libyaml-dev libjson-c-dev libmicrohttpd-dev libssl-dev libcmocka-dev libclang-rt-14-dev
	libcurl4-openssl-dev
	# lab and end-to-end tests: real peers
	iproute2 iputils-ping util-linux procps openssl ca-certificates nginx-light openssh-server
	openssh-client curl nmap ncat socat python3-scapy jq
	prometheus prometheus-alertmanager
	# make bench: peers to compare with (xdp-filter, nftables), load for
	# nginx with and without the inspector (wrk, h2load), and the plot
	xdp-tools nftables wrk nghttp2-client gnuplot-nox
	# shipping checks: the unit (systemd-analyze), manuals (linted, rendered)
	systemd mandoc groff-base man-db
	# make deb and its test
	debhelper dpkg-dev fakeroot lintian
	# the inspector: HTTP/1.1 parser, ModSecurity + OWASP CRS, the worker's seccomp filter
	# and HTTP/2's HPACK inflater
	libhttp-parser-dev libnghttp2-dev libmodsecurity-dev modsecurity-crs libseccomp-dev
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packaged daemons (nginx, sshd, prometheus) must not start on the build host:
# the tests start their own, privately, in network namespaces.
own_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	own_policy=1
fi
trap '[ $own_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
