#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Metrics and alerting end to end (issue 4): build/moatd in the namespace lab
# (scripts/lab.sh) is scraped by a real Prometheus; SSH attempts from the
# non-DevOps client make the shipped SSH alert fire, and a real Alertmanager
# delivers it to a webhook receiver run here. /healthz turns 503 when the XDP
# program is detached behind moatd's back. Prometheus, Alertmanager and the
# receiver run in the gateway namespace (private loopback), are started with
# lab_spawn and so are stopped by lab_down, with their files in $LAB_DIR, on
# every exit path. TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh

RULES=scripts/prometheus/moat-alerts.yml
METRICS=http://127.0.0.1:9477

TAP_BAIL_LOGS=(moatd prometheus alertmanager webhook)

gw_curl() { lab_in gw curl -sS --max-time 5 "$@"; }

# --- moatd's endpoint ---------------------------------------------------------

healthz_is() { # CODE [BODY-REGEX]
	local out code body
	out=$(gw_curl -w '\n%{http_code}' "$METRICS/healthz") || return 1
	code=${out##*$'\n'} body=${out%$'\n'*}
	body=${body%$'\n'}	# the one line ends with a newline
	echo "healthz: $code '$body'"
	[ "$code" = "$1" ] || return 1
	[ -z "${2:-}" ] || [[ $body =~ $2 ]]
}

status_is() { # METHOD PATH CODE
	local code how=(-X "$1")
	[ "$1" = HEAD ] && how=(--head)	# -X HEAD would wait for a body
	code=$(gw_curl -o /dev/null -w '%{http_code}' "${how[@]}" "$METRICS$2") || return 1
	echo "$1 $2: $code"
	[ "$code" = "$3" ]
}

content_type_ok() {
	local ct
	ct=$(gw_curl -o /dev/null -w '%{content_type}' "$METRICS/metrics") || return 1
	echo "Content-Type: $ct"
	[ "$ct" = "text/plain; version=0.0.4; charset=utf-8" ]
}

scrape() { gw_curl -f "$METRICS/metrics"; }

promtool_live() {
	scrape >"$LAB_DIR/scrape.txt" || return 1
	promtool check metrics <"$LAB_DIR/scrape.txt"
}

# has_sample REGEX: a sample line of the live scrape matches.
has_sample() {
	scrape | grep -E -- "$1" || { echo "no sample matching: $1"; return 1; }
}

# One value of the live scrape: sample NAME{LABELS} (exact text).
sample() { scrape | awk -v k="$1" '$1 == k { print $2 }'; }

ssh_source_at_least() { # N
	local v
	v=$(sample 'moat_packets_total{interface="gwc0",verdict="drop",reason="ssh_source"}')
	echo "gwc0 drop/ssh_source = ${v:-none}"
	[ -n "$v" ] && [ "$v" -ge "$1" ]
}

cert_expiry_ok() {
	local want got
	want=$(date -d "$(openssl x509 -noout -enddate -in "$CERT" | cut -d= -f2)" +%s) || return 1
	got=$(sample "moat_tls_certificate_expiry_timestamp_seconds{path=\"$CERT\"}")
	echo "expiry: metric ${got:-none}, openssl $want"
	[ "$got" = "$want" ]
}

# Metrics carry no client address (SPEC §5): none of the lab's peers appears.
no_client_address() { # FILE
	if grep -nE "$CLI4|$OPS4|$CLI6|$OPS6|198\.18\.|2001:db8" "$1"; then
		return 1
	fi
	echo "no address in $(wc -l <"$1") lines"
}

# --- Prometheus, Alertmanager, webhook receiver --------------------------------

listening() { [ -n "$(lab_in gw ss -Hltn "sport = :$1")" ]; }

# free_port BASE: the first port from BASE nothing listens on in gw.
free_port() {
	local p=$1
	while listening "$p"; do p=$((p + 1)); done
	echo "$p"
}

alive() { # PID NAME
	kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1") != Z* ]] && return 0
	echo "$2 exited:"; tail -n 20 "$LAB_DIR/$2.log"
	return $LAB_GIVE_UP
}

ready() { # PID NAME URL
	alive "$1" "$2" || return
	gw_curl -f -o /dev/null "$3" 2>/dev/null
}

# Writes each POST body to $HOOK_DIR/NNNN.json, atomically.
WEBHOOK_PY='
import http.server, itertools, os, sys
port, out = int(sys.argv[1]), sys.argv[2]
seq = itertools.count()
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        path = os.path.join(out, "%04d.json" % next(seq))
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.rename(path + ".tmp", path)
        self.send_response(200)
        self.end_headers()
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Hook).serve_forever()
'

start_webhook() {
	HOOK_PORT=$(free_port 19095)
	HOOK_DIR=$LAB_DIR/webhook
	mkdir -p "$HOOK_DIR" || return 1
	lab_spawn gw webhook /usr/bin/python3 -c "$WEBHOOK_PY" "$HOOK_PORT" "$HOOK_DIR"
	lab_wait 10 ready "$LAB_LAST_PID" webhook "http://127.0.0.1:$HOOK_PORT/"
}

start_alertmanager() {
	AM_PORT=$(free_port 19093)
	mkdir -p "$LAB_DIR/am" || return 1
	cat >"$LAB_DIR/alertmanager.yml" <<-EOF
	route:
	  receiver: test-hook
	  group_by: [alertname, interface]
	  group_wait: 1s
	  group_interval: 1s
	  repeat_interval: 1h
	receivers:
	  - name: test-hook
	    webhook_configs:
	      - url: http://127.0.0.1:$HOOK_PORT/
	        send_resolved: false
	EOF
	amtool check-config "$LAB_DIR/alertmanager.yml" || return 1
	# --cluster.listen-address= : no gossip, nothing listens beyond the web port.
	lab_spawn gw alertmanager prometheus-alertmanager \
		--config.file="$LAB_DIR/alertmanager.yml" --storage.path="$LAB_DIR/am" \
		--web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=
	lab_wait 20 ready "$LAB_LAST_PID" alertmanager "http://127.0.0.1:$AM_PORT/-/ready"
}

# The shipped rules with every for: shortened, so the test needs seconds, not
# minutes. Expressions and thresholds stay as shipped (promtool tests those).
start_prometheus() {
	PROM_PORT=$(free_port 19090)
	mkdir -p "$LAB_DIR/prom" || return 1
	sed -E 's/^( *)for: .*/\1for: 3s/' "$RULES" >"$LAB_DIR/moat-alerts.yml" || return 1
	cmp -s "$RULES" "$LAB_DIR/moat-alerts.yml" && { echo "sed changed nothing"; return 1; }
	cat >"$LAB_DIR/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	rule_files: [$LAB_DIR/moat-alerts.yml]
	alerting:
	  alertmanagers:
	    - static_configs:
	        - targets: ["127.0.0.1:$AM_PORT"]
	scrape_configs:
	  - job_name: moat
	    static_configs:
	      - targets: ["127.0.0.1:9477"]
	EOF
	promtool check config "$LAB_DIR/prometheus.yml" || return 1
	lab_spawn gw prometheus prometheus --config.file="$LAB_DIR/prometheus.yml" \
		--storage.tsdb.path="$LAB_DIR/prom" --web.listen-address="127.0.0.1:$PROM_PORT"
	PROM_PID=$LAB_LAST_PID
	lab_wait 30 ready "$PROM_PID" prometheus "http://127.0.0.1:$PROM_PORT/-/ready"
}

prom_query() { # PROMQL -> the API's JSON
	gw_curl -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"
}

target_up() {
	alive "$PROM_PID" prometheus || return
	prom_query 'up{job="moat"}' | jq -e '.data.result[0].value[1] == "1"'
}

# alert_state NAME INTERFACE STATE: Prometheus shows that alert in that state.
alert_state() {
	alive "$PROM_PID" prometheus || return
	gw_curl "http://127.0.0.1:$PROM_PORT/api/v1/alerts" |
		jq -e --arg n "$1" --arg i "$2" --arg s "$3" \
		'[.data.alerts[] | select(.labels.alertname == $n and .labels.interface == $i
		  and .state == $s)] | length > 0'
}

not_firing() { # NAME
	local n
	n=$(gw_curl "http://127.0.0.1:$PROM_PORT/api/v1/alerts" |
		jq --arg n "$1" '[.data.alerts[] | select(.labels.alertname == $n)] | length') ||
		return 1
	echo "$1 alerts: $n"
	[ "$n" = 0 ]
}

# The receiver got the SSH alert, firing, for gwc0, with moat's labels.
hook_got_ssh_alert() {
	local f
	for f in "$HOOK_DIR"/*.json; do
		[ -e "$f" ] || continue
		jq -e '.status == "firing" and ([.alerts[] | select(
			.labels.alertname == "MoatSSHFromNonDevops" and .labels.interface == "gwc0" and
			.labels.service == "moat" and .labels.severity == "warning" and
			(.annotations.summary | test("moatctl top")))] | length > 0)' "$f" >/dev/null &&
			{ HOOK_FILE=$f; return 0; }
	done
	return 1
}

# Non-DevOps SSH attempts: N connects to the gateway's port 22 from cli, all
# at once; moat drops each SYN (ssh_source), so each one simply times out.
ssh_attempts() { # N
	# shellcheck disable=SC2016 # expanded by the inner bash
	lab_in cli bash -c '
		for i in $(seq "$1"); do
			timeout 1 bash -c "exec 3<>/dev/tcp/$2/22" 2>/dev/null &
		done
		wait' _ "$1" "$GW4_CLI"
	return 0
}

detach_gwd0() {
	if lab_in gw bpftool link detach pinned "$LAB_PIN/link_gwd0"; then
		echo "detached with bpftool link detach"
		return 0
	fi
	ip -n "$LAB-gw" link set gwd0 xdp off
}

# --- the run ----------------------------------------------------------------

main() {
	local tool

	tap_lab_start mm jq curl openssl nsenter bpftool prometheus prometheus-alertmanager promtool \
		    amtool /usr/bin/python3
	CERT=$LAB_DIR/gateway.pem
	check "a gateway certificate for the expiry metric" \
		openssl req -x509 -newkey rsa:2048 -nodes -days 20 -subj /CN=gw \
		-keyout "$LAB_DIR/gateway.key" -out "$CERT" || bail "no certificate"

	lab_write_config "$CONF" "inspector: { enabled: false, certificate: $CERT }"
	check "moatd starts and attaches to gwc0 and gwd0" lab_moatd "$CONF" ||
		bail "moatd did not start"
	check "moatd serves /healthz on 127.0.0.1:9477 in gw" lab_wait 10 healthz_is 200 '^ok$' ||
		bail "no metrics endpoint"

	# moatd's endpoint by itself.
	check "/metrics: Content-Type text/plain; version=0.0.4; charset=utf-8" content_type_ok
	check "/nope: 404" status_is GET /nope 404
	check "POST /metrics: 405" status_is POST /metrics 405
	check "HEAD /healthz: 200" status_is HEAD /healthz 200
	check "promtool check metrics passes on a live scrape" promtool_live
	check "moat_attached: gwd0 is 1" has_sample \
		'^moat_attached\{interface="gwd0",xdp_mode="(native|generic)"\} 1$'
	check "moat_attached: gwc0 is 1" has_sample \
		'^moat_attached\{interface="gwc0",xdp_mode="(native|generic)"\} 1$'
	check "moat_devops_entries: the lab's 2 DevOps hosts" has_sample '^moat_devops_entries 2$'
	check "moat_config_reload_success 1" has_sample '^moat_config_reload_success 1$'
	check "moat_build_info{version} 1" has_sample '^moat_build_info\{version="[^"]+"\} 1$'
	check "every verdict x reason is exported for gwc0 before any traffic" has_sample \
		'^moat_packets_total\{interface="gwc0",verdict="monitor_drop",reason="malformed"\} [0-9]+$'
	check "moat_tls_certificate_expiry_timestamp_seconds = the certificate's notAfter" \
		cert_expiry_ok

	# The real monitoring chain.
	check "webhook receiver listens in gw" start_webhook || bail "no webhook receiver"
	check "Alertmanager starts (clustering off, storage in \$LAB_DIR)" start_alertmanager ||
		bail "no Alertmanager"
	check "Prometheus starts with the shipped rules (for: shortened)" start_prometheus ||
		bail "no Prometheus"
	check "Prometheus scrapes moatd: up{job=\"moat\"} == 1" lab_wait 30 target_up
	check "before any SSH attempt: MoatSSHFromNonDevops is not active" \
		not_firing MoatSSHFromNonDevops

	check "40 SSH attempts from cli (not DevOps) time out" ssh_attempts 40
	check "moat_packets_total gwc0 drop/ssh_source counts them (>= 40)" \
		lab_wait 5 ssh_source_at_least 40
	check "Prometheus: MoatSSHFromNonDevops firing for gwc0" \
		lab_wait 60 alert_state MoatSSHFromNonDevops gwc0 firing
	check "Alertmanager delivered it to the webhook receiver" lab_wait 60 hook_got_ssh_alert
	check "the delivered alert carries no client address" no_client_address "${HOOK_FILE:-/dev/null}"
	scrape >"$LAB_DIR/scrape2.txt"
	check "the scrape after the attempts carries no client address" \
		no_client_address "$LAB_DIR/scrape2.txt"

	# Detached behind moatd's back: health and metrics must say so.
	check "/healthz is 200 before the detach" healthz_is 200 '^ok$'
	check "detach moat's XDP program from gwd0 (bpftool link detach)" detach_gwd0
	check "/healthz turns 503 naming gwd0" lab_wait 10 healthz_is 503 'interface gwd0: moat not attached'
	check "moat_attached{interface=\"gwd0\"} turns 0" has_sample \
		'^moat_attached\{interface="gwd0",xdp_mode="[a-z]+"\} 0$'
	check "Prometheus: MoatNotAttached firing for gwd0" \
		lab_wait 30 alert_state MoatNotAttached gwd0 firing

	echo "1..$T"
	[ "$FAILED" -eq 0 ]
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
