# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What the inspector's end-to-end tests share; sourced after scripts/lab.sh
# and tests/e2e/tap.sh. The libssl they probe, moatd's metrics, and a lab
# whose nginx (TLS, HTTP/1.1 and HTTP/2) runs from a private copy of its
# binary: the inspector attaches by executable, and the other nginx
# processes on this host are not the test's.

METRICS=http://127.0.0.1:9477
LIBSSL=/usr/lib/x86_64-linux-gnu/libssl.so.3
TAP_BAIL_LOGS=(moatd nginx)
TAP_BAIL_LINES=15

# inspect_lab_start PREFIX TOOL... -- tap_lab_start with the tools every
# inspector test uses and the caller's, then nginx from its copy.
inspect_lab_start() {
	local prefix=$1; shift
	[ -r "$LIBSSL" ] || bail "$LIBSSL missing: run make deps"
	[ -x "$LAB_BUILD/moat-inspect" ] || bail "$LAB_BUILD/moat-inspect not built: run make all"
	tap_lab_start "$prefix" curl jq nginx pgrep "$@"
	cp /usr/sbin/nginx "$LAB_DIR/nginx-bin" || bail "couldn't copy nginx"
	LAB_NGINX_BIN=$LAB_DIR/nginx-bin
	check "lab: nginx with TLS (HTTP/1.1 and HTTP/2)" lab_nginx || bail "no nginx"
}

scrape() { lab_in gw curl -sS -f --max-time 5 "$METRICS/metrics"; }
sample() { scrape | awk -v k="$1" '$1 == k { print $2 }'; } # NAME{LABELS}: its value
sample_is() { [ "$(sample "$1")" = "$2" ]; }
sample_at_least() { local v; v=$(sample "$1"); [ -n "$v" ] && [ "${v%.*}" -ge "$2" ]; }
requests() { sample "moat_inspector_requests_total{result=\"$1\"}"; } # RESULT
detections() { sample "moat_inspector_detections_total{category=\"$1\"}"; } # CATEGORY

worker_pid() { pgrep -P "$LAB_MOATD_PID" -x moat-inspect; }
nginx_workers() { pgrep -P "$LAB_NGINX_PID"; }
