#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# moatctl audit end to end: build/moatd guards the gateway of the namespace
# lab (scripts/lab.sh) with the lab's policy, and the audit of it keeps
# every promise (exit 0), v4 and v6, on both interfaces, with the facts
# (mode, interfaces, DevOps names, certificate expiry, alert rules from a
# real Prometheus loaded with the shipped rules) and changes no counter or
# map. Reloaded with `mode: monitor`, and then with `tls.validate: false`,
# the audit exits 1 and names exactly the promises each breaks. TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh

RULES=scripts/prometheus/moat-alerts.yml
PROM_PORT=19090		# inside the lab's gw namespace: nothing else listens there
ALL_PROMISES="drop_rest replies ssh_devops tls_min_1_2 web_tls"

TAP_BAIL_LOGS=(moatd prometheus)

# audit ARGS... -- moatctl audit in gw; JSON in $LAB_DIR/audit.json, exit in AUDIT_RC.
audit_json() {
	lab_moatctl --json audit --config "$CONF" "$@" >"$LAB_DIR/audit.json"
	AUDIT_RC=$?
	echo "moatctl --json audit $*: exit $AUDIT_RC"
}
aq() { jq -e "$@" "$LAB_DIR/audit.json"; }

# The ids of the promises in a state, sorted, on one line.
promises_where() { # true|false
	jq -r --argjson k "$1" '[.promises[] | select(.kept == $k) | .id] | sort | join(" ")' \
		"$LAB_DIR/audit.json"
}
broken_are() { # IDS -- exit 1, and exactly these promises broken
	local got; got=$(promises_where false)
	echo "exit $AUDIT_RC, broken: '$got', want '$1'"
	[ "$AUDIT_RC" -eq 1 ] && [ "$got" = "$1" ]
}
all_kept() { # [IDS: default, the five packet promises]
	local got want=${1:-$ALL_PROMISES}; got=$(promises_where true)
	echo "exit $AUDIT_RC, kept: '$got', want '$want'"
	jq -c '.promises[] | select(.kept == false) | {id, notes}' "$LAB_DIR/audit.json"
	[ "$AUDIT_RC" -eq 0 ] && [ "$got" = "$want" ] && aq '.kept == true' >/dev/null
}

# Every promise was probed on both interfaces, in both families.
probed_everywhere() {
	local p
	for p in $ALL_PROMISES; do
		aq --arg p "$p" '[.promises[] | select(.id == $p) | .evidence[]] as $e |
			([$e[].interface] | unique) == ["gwc0", "gwd0"] and
			([$e[].family] | unique) == [4, 6]' >/dev/null ||
			{ echo "$p: not probed on gwc0 and gwd0, v4 and v6"; return 1; }
	done
}

# The probe whose packet matches REGEX under promise ID got VERDICT REASON.
probe_got() { # ID REGEX "VERDICT REASON"
	aq --arg p "$1" --arg re "$2" --arg want "$3" \
		'[.promises[] | select(.id == $p) | .evidence[] | select(.packet | test($re))] |
		 length > 0 and all("\(.verdict) \(.reason)" == $want)'
}

# The host's own UDP flows, v4 and v6 (nothing listens: the reply path needs
# only the recorded flow).
host_flows() {
	lab_in gw sh -c "echo x | timeout 2 socat -t 0.2 - UDP4:$CLI4:5353,sourceport=40123" 2>/dev/null
	lab_in gw sh -c "echo x | timeout 2 socat -t 0.2 - UDP6:[$CLI6]:5353,sourceport=40124" 2>/dev/null
	[ "$(bpftool -j map dump pinned "$LAB_PIN/flows" | jq length)" -ge 2 ]
}

start_prometheus() {
	mkdir -p "$LAB_DIR/prom" || return 1
	cat >"$LAB_DIR/prometheus.yml" <<-EOF
	global:
	  evaluation_interval: 1s
	rule_files: [$LAB_REPO/$RULES]
	EOF
	lab_spawn gw prometheus prometheus --config.file="$LAB_DIR/prometheus.yml" \
		--storage.tsdb.path="$LAB_DIR/prom" --web.listen-address="127.0.0.1:$PROM_PORT"
	PROM_PID=$LAB_LAST_PID
	lab_wait 30 prometheus_ready
}
prometheus_ready() {
	kill -0 "$PROM_PID" 2>/dev/null || return $LAB_GIVE_UP
	lab_in gw curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$PROM_PORT/-/ready" &&
	lab_in gw curl -sf --max-time 2 "http://127.0.0.1:$PROM_PORT/api/v1/rules" |
		jq -e '[.data.groups[].rules[]] | length > 0' >/dev/null
}
# The alert names the shipped rules file defines, sorted.
shipped_alerts() { sed -n 's/^ *- alert: *//p' "$RULES" | sort | xargs; }

main() {
	local cert_days

	tap_lab_start m11a jq curl openssl socat nsenter bpftool prometheus
	lab_in cli sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
	lab_in ops sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gw \
		-keyout "$LAB_DIR/key.pem" -out "$LAB_DIR/cert.pem" 2>/dev/null || bail "no certificate"
	lab_write_config "$CONF" "inspector: { enabled: false, certificate: $LAB_DIR/cert.pem }"
	check "moatd starts with the lab's policy and attaches" lab_moatd "$CONF" ||
		bail "moatd did not start"
	check "the gateway sends UDP to cli, v4 and v6: two flows recorded" lab_wait 5 host_flows
	check "Prometheus in gw with the shipped alert rules" start_prometheus ||
		bail "no Prometheus"

	# --- the lab's policy: every promise kept -----------------------------------
	check "audit (JSON, --prometheus) of the lab's policy runs" \
		audit_json --prometheus "http://127.0.0.1:$PROM_PORT"
	check "lab policy: exit 0, every promise kept, alerts wired too" \
		all_kept "alerts $ALL_PROMISES"
	check "each promise probed on gwc0 and gwd0, IPv4 and IPv6" probed_everywhere
	check "evidence: SYN + TLS 1.0 ClientHello to 443 drops as tls_version" \
		probe_got tls_min_1_2 'SYN \+ ClientHello TLS 1\.0' "drop tls_version"
	check "evidence: SYN + TLS 1.2 ClientHello to 443 passes as tls" \
		probe_got tls_min_1_2 'SYN \+ ClientHello TLS 1\.2' "pass tls"
	check "evidence: SYN to 22 from outside the allowlist drops as ssh_source" \
		probe_got ssh_devops '^tcp (203\.0\.113\.66|\[2001:db8:ffff::66\]):40000 > .*:22 SYN$' \
		"drop ssh_source"
	check "evidence: SYN to 22 from ops (v4, v6) passes as ssh" \
		probe_got ssh_devops "^tcp ($OPS4|\\[$OPS6\\]):40000 > .*:22 SYN\$" "pass ssh"
	check "evidence: the host's own UDP flows get their replies (reply)" \
		probe_got replies "^udp ($CLI4|\\[$CLI6\\]):5353 > " "pass reply"
	check "evidence: a spoofed DNS 'reply' opens nothing (port)" \
		probe_got replies '^udp .*:53 > ' "drop port"
	check "facts: mode enforce, both interfaces attached" \
		aq '.facts.mode == "enforce" and ([.facts.interfaces[] | select(.attached)] | length) == 2'
	check "facts: DevOps ops4 and ops6, no expiry" \
		aq '[.facts.devops[] | "\(.name) \(.expires)"] | sort == ["ops4 null", "ops6 null"]'
	cert_days=$(jq -r .facts.certificate.days_left "$LAB_DIR/audit.json")
	check "facts: the certificate expires in 1 day (made with -days 2), date given" eval \
		'[ "$cert_days" = 1 ] && aq ".facts.certificate.expires | test(\"^20[0-9-]+T\")"'
	check "facts: the alert rules Prometheus loaded are the shipped ones" eval \
		'got=$(jq -r ".facts.alert_rules | sort | join(\" \")" "$LAB_DIR/audit.json");
		 echo "got: $got"; echo "want: $(shipped_alerts)"; [ "$got" = "$(shipped_alerts)" ]'
	check "Markdown: exit 0, 'Every promise is kept', a kept row per promise" eval \
		'lab_moatctl audit --config "$CONF" >"$LAB_DIR/audit.md" &&
		 grep -q "^\*\*Every promise is kept.\*\*$" "$LAB_DIR/audit.md" &&
		 [ "$(grep -c "^| .* | kept | " "$LAB_DIR/audit.md")" -eq 5 ]'
	sed -n '/^| promise/,/^$/p' "$LAB_DIR/audit.md" | sed 's/^/# /'

	# --- it changes nothing ---------------------------------------------------------
	check "audit x2 (Markdown, JSON): stats and written maps identical before and after" \
		tap_changes_nothing eval 'lab_moatctl audit --config "$CONF"; lab_moatctl --json audit'
	check "the comparison can fail: a ban add (new expiry each time) changes the snapshot" \
		eval '! tap_changes_nothing lab_moatctl ban add 203.0.113.99 --ttl 1h'
	lab_moatctl ban del 203.0.113.99 >/dev/null

	# --- policies that break promises -------------------------------------------------
	check "reload with mode: monitor" eval \
		'lab_write_config "$CONF" "mode: monitor" && lab_moatd_reload'
	audit_json >/dev/null
	check "monitor: exit 1; every promise that needs a drop broken, nothing else" \
		broken_are "drop_rest replies ssh_devops tls_min_1_2 web_tls"
	check "monitor: evidence: SYN to port 80 got monitor_drop port" \
		probe_got web_tls ':80 SYN$' "monitor_drop port"
	check "monitor: Markdown names 'Everything else dropped' as BROKEN, exit 1" eval \
		'lab_moatctl audit --config "$CONF" >"$LAB_DIR/audit.md"; [ $? -eq 1 ] &&
		 grep -q "^| Everything else dropped | \*\*BROKEN\*\* |" "$LAB_DIR/audit.md"'
	check "reload with tls: { ports: [443], validate: false }" eval \
		'lab_write_config "$CONF" "tls: { ports: [443], validate: false }" && lab_moatd_reload'
	audit_json >/dev/null
	check "no TLS validation: exit 1; web_tls and tls_min_1_2 broken, the rest kept" \
		broken_are "tls_min_1_2 web_tls"
	check "no TLS validation: evidence: SYN + HTTP request to 443 passes as tls" \
		probe_got web_tls 'SYN \+ HTTP request' "pass tls"
	check "the lab's policy back: audit exit 0 again" eval \
		'lab_write_config "$CONF" && lab_moatd_reload && audit_json && all_kept'

	# --- errors ----------------------------------------------------------------------------
	check "a Prometheus that does not answer: alerts broken, named, exit 1" eval \
		'audit_json --prometheus http://127.0.0.1:9; broken_are alerts &&
		 aq "[.promises[] | select(.id == \"alerts\") | .notes[]] | any(test(\"couldn.t query\"))"'
	check "audit --bogus: exit 2" eval \
		'lab_moatctl audit --bogus 2>/dev/null; [ $? -eq 2 ]'
	check "audit with nothing loaded under --pin-dir: exit 1, says so" eval \
		'out=$(lab_in gw "$LAB_BUILD/moatctl" --pin-dir "$LAB_PIN-none" audit 2>&1); rc=$?;
		 echo "$out"; [ $rc -eq 1 ] && [[ $out == *"not loaded under $LAB_PIN-none"* ]]'

	tap_lab_down
	echo "1..$T"
	[ "$FAILED" -eq 0 ]
}

main "$@"
