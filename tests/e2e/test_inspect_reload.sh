#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# inspector.* on reload (SPEC §3, §4: changes apply on SIGHUP): ban.enabled,
# ban.exempt, crs.paranoia (a new worker, not counted as a restart),
# processes, library (one with nothing to probe is refused and the previous
# settings stay) and enabled, each checked on a real nginx with real curl
# after a SIGHUP. TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh
# shellcheck source=tests/e2e/inspect_lab.sh
. tests/e2e/inspect_lab.sh



attached_is() { sample_is moat_inspector_attached_processes "$1"; }
https() { # NS ADDR PATH
	lab_in "$1" curl -sS -k --http1.1 --max-time 5 -o /dev/null -w '%{http_code}\n' "https://$2$3"
}
xss() { https "$1" "$2" "/$3?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"; }
detection_logged() { # CLIENT PATH ACTION
	grep '^{' "$LAB_DIR/moatd.log" | jq -e -s -c --arg c "$1" --arg p "$2" --arg a "$3" \
		'map(select(.event == "detection" and .client == $c and .path == $p and
			.action == $a)) | if length > 0 then . else false end'
}
no_inspector_bans() {
	lab_moatctl --json ban list | jq -e '[.. | objects | select(.origin? == "inspector")] | length == 0'
}

# reload_with INSPECTOR_YAML: writes the config and SIGHUPs moatd; the reload must be accepted.
reload_with() {
	lab_write_config "$CONF" "$1" || return 1
	lab_moatd_reload || return 1
	sample_is moat_config_reload_success 1
}

inspector() { # PROCESS LIBRARY BAN [EXTRA]
	printf 'inspector:\n  enabled: true\n  library: %s\n  processes: [%s]\n  ban: %s\n%s' \
		"$2" "$1" "$3" "${4:-}"
}

# ------------------------------------------------------------------------------

inspect_lab_start ne
NGX=$LAB_NGINX_BIN

lab_write_config "$CONF" "$(inspector "$NGX" "$LIBSSL" "{ enabled: true, ttl: 10m }")" || bail config
check "moatd starts with the inspector, bans on" lab_moatd "$CONF" || bail "moatd did not start"
check "nginx's master and worker attached" lab_wait 10 attached_is 2

check "reload: ban.enabled false" reload_with "$(inspector "$NGX" "$LIBSSL" "{ enabled: false }")"
check "... an XSS from the client (IPv6)" xss cli "[$GW6_CLI]" ban-off
check "... detected, not banned: ban disabled" lab_wait 10 detection_logged "$CLI6" /ban-off "ban disabled"

w1=$(worker_pid)
check "reload: bans on again, the client exempt, paranoia 2" reload_with "$(inspector "$NGX" "$LIBSSL" \
	"{ enabled: true, ttl: 10m, exempt: [\"$CLI6/128\"] }" "  crs: { paranoia: 2 }")"
new_worker() {
	local w; w=$(worker_pid)
	[ -n "$w" ] && [ "$w" != "$w1" ] && tr '\0' ' ' <"/proc/$w/cmdline" | grep -- '--paranoia 2 '
}
check "... a new worker (pid $w1 before) runs the new paranoia" new_worker
check "... not counted as a worker restart" sample_is moat_inspector_worker_restarts_total 0
check "... an XSS from the exempt client" xss cli "[$GW6_CLI]" exempt
check "... detected, not banned: exempt" lab_wait 10 detection_logged "$CLI6" /exempt exempt

check "reload: a library with nothing to probe" \
	reload_with "$(inspector "$NGX" /bin/true "{ enabled: true, ttl: 10m, exempt: [\"$CLI6/128\"] }")"
check "... refused with a clear error, the previous settings kept" \
	grep -q "keeping the previous inspector settings" "$LAB_DIR/moatd.log"
check "... still attached to both" attached_is 2
check "... still detecting" xss cli "[$GW6_CLI]" kept
check "... (detected)" lab_wait 10 detection_logged "$CLI6" /kept exempt

check "reload: processes lists another executable" \
	reload_with "$(inspector /usr/bin/true "$LIBSSL" "{ enabled: true, exempt: [\"$CLI6/128\"] }")"
check "... nginx let go: 0 attached" attached_is 0
check "reload: nginx in processes again" \
	reload_with "$(inspector "$NGX" "$LIBSSL" "{ enabled: true, exempt: [\"$CLI6/128\"] }")"
check "... master and worker attached again" attached_is 2
check "... an XSS is detected again" xss cli "[$GW6_CLI]" again
check "... (detected)" lab_wait 10 detection_logged "$CLI6" /again exempt

check "reload: inspector.enabled false" reload_with "inspector: { enabled: false }"
check "... stopped: 0 attached, no worker" bash -c "
	[ \"\$(pgrep -P $LAB_MOATD_PID -x moat-inspect)\" = '' ]"
check "... the metrics say 0 attached" attached_is 0
check "reload: inspector.enabled true" \
	reload_with "$(inspector "$NGX" "$LIBSSL" "{ enabled: true, exempt: [\"$CLI6/128\"] }")"
check "... attached to both again" attached_is 2
check "... an XSS from the DevOps host is detected" xss ops "$GW4_OPS" back
check "... (detected, devops)" lab_wait 10 detection_logged "$OPS4" /back devops
check "no ban was made by any of this" no_inspector_bans

tap_lab_down
echo "1..$T"
[ "$FAILED" -eq 0 ]
