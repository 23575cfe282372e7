#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stateful policy end to end (issue 3): build/moatd guards the gateway of the
# namespace lab (scripts/lab.sh) and is judged by what real peers see.
#   - TLS ports: real openssl s_client (1.2, 1.3) and curl pass; a TLS 1.0
#     ClientHello and plaintext HTTP get no answer at all (tls_version,
#     not_tls), and the rest of such a connection drops too. The same bytes
#     with moat in `mode: monitor` (switched by reload) get nginx's answers.
#   - SSH ports: junk after sshd's banner never reaches sshd (its log), real
#     ssh from the DevOps host works, a session opened before moatd started
#     keeps working.
#   - Replies: the gateway's own TCP, UDP and ping (v4, v6) get their answers
#     (`reply`), while new inbound packets to the same gateway ports, even
#     from source port 53, are dropped (`port`).
#   - moatctl check gives the verdicts the real traffic got, and changes no
#     counter.
# Every process is started with lab_spawn (stopped by PID by lab_down, on
# every exit path, through lab_init's trap). TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh


ST_HTTP_PORT=18080	# python http.server in cli (v4 and v6)
ST_UDP_PORT=18053	# UDP echo in cli (v4 and v6)
ST_GW_TCP4=40080	# local ports the gateway's own clients use
ST_GW_TCP6=40081
ST_GW_UDP4=40053
ST_GW_UDP6=40054
ST_WAIT=2		# seconds a probe waits for an answer that must not come

TAP_BAIL_LOGS=(moatd sshd presession)

# A gauge from moatd's /metrics.
st_metric() { # NAME
	lab_in gw curl -s --max-time 2 http://127.0.0.1:9477/metrics |
		awk -v n="$1" '$1 == n { print $2 }'
}
st_conns_at_least() { local n; n=$(st_metric moat_conns); [ "${n:-0}" -ge "$1" ]; }
# Every entry has a socket behind it (any state but LISTEN) on a validated port.
st_conns_swept() {
	local n socks
	n=$(st_metric moat_conns)
	socks=$(lab_in gw ss -Htan '( sport = :443 or sport = :8443 or sport = :22 )' | grep -vc LISTEN)
	echo "moat_conns ${n:-?}, sockets $socks"
	[ -n "$n" ] && [ "$n" -le "$socks" ]
}

# A TcpExt counter of NS (/proc/net/netstat is per namespace).
st_tcpext() { # NS NAME
	lab_in "$1" awk -v n="$2" '/^TcpExt:/ { if (!h) { split($0, k); h = 1 } else
		for (i = 2; i <= NF; i++) if (k[i] == n) print $i }' /proc/net/netstat
}
# curl with TCP Fast Open gets the page, twice (the first fetches a cookie).
st_tfo_curl() { # ADDR
	local url i
	url="https://$(st_url_host "$1")/"
	for i in 1 2; do
		st_body_is "$LAB_BODY" cli --tcp-fastopen -k "$url" || return 1
	done
}
# The server took the ClientHello from a SYN: TCPFastOpenPassive grew.
st_tfo_taken() { # BEFORE
	local n; n=$(st_tcpext gw TCPFastOpenPassive)
	echo "TCPFastOpenPassive $1 -> $n"
	[ "${n:-0}" -gt "$1" ]
}
# With gw advertising a tiny MSS, every ClientHello spans many segments.
st_small_mss() { # on|off
	local r4 r6
	r4="198.18.1.0/24 dev gwc0 proto kernel scope link src $GW4_CLI"
	r6="2001:db8:1::/64 dev gwc0 proto kernel metric 256"
	if [ "$1" = on ]; then
		ip -n "$LAB-gw" route change $r4 advmss 64 &&
			ip -n "$LAB-gw" -6 route change $r6 advmss 64
	else
		ip -n "$LAB-gw" route change $r4 && ip -n "$LAB-gw" -6 route change $r6
	fi
}

st_url_host() { [[ $1 == *:* ]] && echo "[$1]" || echo "$1"; }
st_fam() { [[ $1 == *:* ]] && echo v6 || echo v4; }

# --- raw clients ------------------------------------------------------------------
#
# One python client for the byte-exact probes. Prints "local PORT" once
# connected (TCP), then one result line:
#   silent | eof | reset | refused | answer HEX | echo | connected | timeout
# A TCP probe ends with an abortive close (RST), so that its client side
# leaves nothing behind that could send again later.
ST_PY='
import os, socket, struct, sys

sys.path.insert(0, "@E2E@")
from clienthello import hello  # noqa: E402

def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET

def result(s, wait):
    s.settimeout(wait)
    try:
        r = s.recv(4096)
    except socket.timeout:
        return "silent"
    except ConnectionResetError:
        return "reset"
    except ConnectionRefusedError:
        return "refused"
    return ("answer " + r[:64].hex()) if r else "eof"

def abort(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def bound(host, kind, sport):
    s = socket.socket(family(host), kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if sport:
        s.bind(("::" if ":" in host else "0.0.0.0", sport))
    return s

cmd, host, port, wait = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
args = sys.argv[5:]
if cmd in ("tls10", "http", "ssh"):
    s = socket.create_connection((host, port), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("local", s.getsockname()[1], flush=True)
    if cmd == "ssh":
        banner = b""
        while not banner.endswith(b"\n") and len(banner) < 255:
            b = s.recv(1)
            if not b:
                break
            banner += b
        print("banner", banner.strip().decode(errors="replace"), flush=True)
        s.sendall(args[0].encode() + b"\r\n")
    elif cmd == "tls10":
        s.sendall(hello(0x0301))
    else:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        # A valid TLS 1.2 hello right behind it (its own segment): the rest
        # of a connection that started wrong must drop too.
        s.sendall(hello(0x0303))
    print(result(s, wait), flush=True)
    abort(s)
elif cmd == "connect":          # [SPORT]
    s = bound(host, socket.SOCK_STREAM, int(args[0]) if args else 0)
    s.settimeout(wait)
    try:
        s.connect((host, port))
        print("connected", flush=True)
        abort(s)
    except socket.timeout:
        print("timeout", flush=True)
    except ConnectionRefusedError:
        print("refused", flush=True)
elif cmd == "udp":              # SPORT MESSAGE
    s = bound(host, socket.SOCK_DGRAM, int(args[0]))
    s.connect((host, port))     # connected: an ICMP port unreachable shows as refused
    msg = args[1].encode()
    s.send(msg)
    r = result(s, wait)
    print("echo" if r == "answer " + msg.hex() else r, flush=True)
else:
    sys.exit("unknown probe " + cmd)
'

# st_py NS PROBE HOST PORT WAIT ARGS... -- runs one probe in NS; the output is
# kept in ST_PROBE (and printed), the client's port in ST_LPORT.
st_py() {
	local ns=$1; shift
	ST_PROBE=$(lab_in "$ns" /usr/bin/python3 -c "${ST_PY//@E2E@/$PWD/tests/e2e}" "$@" 2>&1)
	echo "$ns probe $*:"
	echo "$ST_PROBE"
	ST_LPORT=$(sed -n 's/^local //p' <<<"$ST_PROBE")
}

# st_probe_is WANT NS PROBE ARGS... -- the probe's last line is WANT (a regex).
st_probe_is() {
	local want=$1; shift
	st_py "$@"
	[[ $(tail -n 1 <<<"$ST_PROBE") =~ ^($want)$ ]] || { echo "want: $want"; return 1; }
}

# After a probe whose bytes moat dropped, the gateway's end of the connection
# is still open (nginx and sshd wait for a first message that never came):
# destroy it (ss -K sends the RST), so nothing of it shows up later: neither
# in the counters compared around moatctl check (nginx would close it after
# 60 s, the client would answer with a RST moat counts), nor in
# lockout_guard's view of the host's SSH sessions -- moatd refuses every
# reload while sshd holds a connection moat has already cut as not_ssh.
st_kill_gw_end() { # SERVER-PORT CLIENT-PORT
	[ -n "$2" ] || return 0
	lab_in gw ss -K -tn state all "( sport = :$1 and dport = :$2 )" >/dev/null
	[ -z "$(lab_in gw ss -Htn state all "( sport = :$1 and dport = :$2 )")" ] ||
		{ echo "gw still has a socket for :$1 <- :$2"; return 1; }
}

# st_silent NS PROBE HOST PORT ARGS... -- no answer at all (no data, no FIN,
# no RST) within ST_WAIT; then the gateway's end is closed.
st_silent() {
	local ns=$1 probe=$2 host=$3 port=$4 rc; shift 4
	st_probe_is silent "$ns" "$probe" "$host" "$port" "$ST_WAIT" "$@"
	rc=$?
	st_kill_gw_end "$port" "$ST_LPORT" || rc=1
	return $rc
}

# --- the peers' views ---------------------------------------------------------------

st_s_client() { # NS ADDR tls1_2|tls1_3 [PORT]: a full handshake of that version
	local out want=TLSv${3#tls}
	want=${want/_/.}
	out=$(lab_in "$1" timeout 10 openssl s_client -brief -"$3" \
		-connect "$(st_url_host "$2"):${4:-443}" </dev/null 2>&1)
	echo "$out"
	grep -q '^CONNECTION ESTABLISHED' <<<"$out" &&
		grep -q "^Protocol version: $want\$" <<<"$out"
}

st_body_is() { # WANT NS CURL-ARGS...
	local want=$1 ns=$2 body; shift 2
	body=$(lab_in "$ns" curl -sS --max-time 5 "$@") || return 1
	[ "$body" = "$want" ] || { echo "body '$body', want '$want'"; return 1; }
}

st_ssh_ok() { # NS ADDR
	local out
	out=$(lab_ssh "$1" "$2" echo ok) || return 1
	[ "$out" = ok ] || { echo "ssh printed '$out'"; return 1; }
}

st_ping() { # ADDR: from gw, 2 echo requests, 2 replies
	local out
	out=$(lab_in gw ping -n -c 2 -i 0.2 -W 2 "$1" 2>&1)
	echo "$out"
	grep -q ' 2 received' <<<"$out"
}

# nginx 1.22 (Debian 12) leaves TLS 1.3 out of its default ssl_protocols and
# lab.sh does not set them: when nginx does not speak 1.3, a TLS 1.3 server of
# our own (openssl s_server, dual-stack, on 8443, a TLS port in the config)
# plays the gateway's TLS 1.3 service. ST_TLS13_PORT says which one it is.
st_tls13_ready() { # PID
	_lab_alive_or_log "$1" tls13 || return $LAB_GIVE_UP
	[ -n "$(lab_in gw ss -Hltn 'sport = :8443')" ]
}
st_tls13_server() {
	ST_TLS13_PORT=443
	if st_s_client cli "$GW4_CLI" tls1_3 443 >/dev/null; then
		echo "nginx speaks TLS 1.3 on 443"
		return 0
	fi
	ST_TLS13_PORT=8443
	echo "nginx does not speak TLS 1.3: openssl s_server -tls1_3 on 8443"
	lab_spawn gw tls13 openssl s_server -quiet -www -tls1_3 -accept 8443 \
		-cert "$LAB_CERT" -key "${LAB_CERT%/*}/key.pem"
	lab_wait 10 st_tls13_ready "$LAB_LAST_PID" && st_s_client cli "$GW4_CLI" tls1_3 8443
}

# sshd's log (sshd -e, in $LAB_DIR/sshd.log).
st_sshd_has() { grep -F -- "$1" "$LAB_DIR/sshd.log"; }
st_sshd_bad_lines() {
	grep -cE 'invalid format|Bad protocol version identification|invalid protocol identifier' \
		"$LAB_DIR/sshd.log"
}
st_sshd_never_saw() { # MARK BAD-LINES-BEFORE
	local n
	n=$(st_sshd_bad_lines)
	echo "sshd.log:"; tail -n 8 "$LAB_DIR/sshd.log"
	if st_sshd_has "$1" >/dev/null; then
		echo "sshd logged '$1'"
		return 1
	fi
	[ "$n" -eq "$2" ] || { echo "bad-identification lines: $2 -> $n"; return 1; }
}

# --- servers in cli, for the gateway's own connections --------------------------------

st_cli_listening() { # FLAGS PORT N
	[ "$(lab_in cli ss -H "$1" "sport = :$2" | wc -l)" -ge "$3" ]
}
st_cli_servers_ready() {
	local p
	for p in "${ST_CLI_PIDS[@]}"; do
		_lab_alive_or_log "${p%%:*}" "${p#*:}" || return $LAB_GIVE_UP
	done
	st_cli_listening -ltn "$ST_HTTP_PORT" 2 && st_cli_listening -lun "$ST_UDP_PORT" 2
}
st_cli_servers() {
	ST_PAGE="moat stateful test page $LAB"
	mkdir -p "$LAB_DIR/www" && echo "$ST_PAGE" >"$LAB_DIR/www/index.html" || return 1
	ST_CLI_PIDS=()
	lab_spawn cli httpd4 /usr/bin/python3 -m http.server --bind "$CLI4" \
		--directory "$LAB_DIR/www" "$ST_HTTP_PORT"
	ST_CLI_PIDS+=("$LAB_LAST_PID:httpd4")
	lab_spawn cli httpd6 /usr/bin/python3 -m http.server --bind "$CLI6" \
		--directory "$LAB_DIR/www" "$ST_HTTP_PORT"
	ST_CLI_PIDS+=("$LAB_LAST_PID:httpd6")
	lab_spawn cli udpecho4 socat -T 1 "UDP4-RECVFROM:$ST_UDP_PORT,bind=$CLI4,fork" PIPE
	ST_CLI_PIDS+=("$LAB_LAST_PID:udpecho4")
	lab_spawn cli udpecho6 socat -T 1 "UDP6-RECVFROM:$ST_UDP_PORT,bind=[$CLI6],fork" PIPE
	ST_CLI_PIDS+=("$LAB_LAST_PID:udpecho6")
	lab_wait 10 st_cli_servers_ready
}

# --- lockout_guard -------------------------------------------------------------------------

st_guard_log_has() { grep -qF "lockout_guard: the new policy would cut the SSH session from $1" \
	"$LAB_DIR/moatd.log"; }
st_generation() { lab_moatctl --json status | jq -r .generation; }

# A policy without ops in devops, while the session from ops (section 6) is
# open: refused whole, generation unchanged, the last reload marked failed.
st_guard_refuses() {
	local gen0; gen0=$(st_generation) || return 1
	lab_write_config "$CONF" "mode: enforce" \
		'tls: { ports: [443, 8443], validate: true, min_version: "1.2", quic: false }' \
		"ssh: { ports: [22], validate: true, devops: [] }" \
		"outbound: { track: true }" "icmp: { echo: false }" || return 1
	kill -HUP "$LAB_MOATD_PID" || return 1
	lab_wait 15 st_guard_log_has "$OPS4" || { tail -n 3 "$LAB_DIR/moatd.log"; return 1; }
	lab_moatctl --json status | jq -e --arg g "$gen0" '(.generation | tostring) == $g
		and (.last_reload_ok | not)' >/dev/null || return 1
	lab_moatctl --json devops list | jq -e --arg a "$OPS4" 'any(.[]; .cidr == $a)' >/dev/null
}

# A connection moat already cut as not_ssh, that sshd still holds open, is
# no reason to refuse a reload: the policy in force drops it already.
st_guard_ignores_cut() {
	local s0 pid rc=0
	s0=$(st_stats)
	# shellcheck disable=SC2016 # python, not shell
	lab_spawn ops cutconn /usr/bin/python3 -c 'import socket, sys, time
s = socket.create_connection((sys.argv[1], 22)); s.recv(200)
s.send(b"junk instead of a banner\r\n"); time.sleep(30)' "$GW6_OPS"
	pid=$LAB_LAST_PID
	st_grew "$s0" gwd0 drop not_ssh || rc=1
	[ "$(lab_in gw ss -Htn state established "( sport = :22 and dst [$OPS6] )" | wc -l)" -ge 1 ] ||
		{ echo "sshd holds no connection from $OPS6"; rc=1; }
	if [ $rc -eq 0 ] && ! { st_config enforce && lab_moatd_reload && st_status_mode enforce; }; then
		tail -n 3 "$LAB_DIR/moatd.log"
		rc=1
	fi
	lab_stop "$pid"
	lab_in gw ss -K -tn state all "( sport = :22 and dst [$OPS6] )" >/dev/null
	return $rc
}

# --- an SSH session from ops that predates moatd --------------------------------------
#
# `ssh ops -> gw cat`, its stdin a fifo this shell holds open, its stdout a
# file: a line written to the fifo must come back in the file
# (lab_session_* in scripts/lab.sh).
st_presession_open() { lab_session_start && lab_session_roundtrip before-moatd; }
# The session is a real established TCP connection to sshd, from ops.
st_pre_established() {
	lab_in gw ss -Htn state established "( sport = :22 and dst $OPS4 )" | tee /dev/stderr |
		grep -q .
}

# --- moat's view -------------------------------------------------------------------------

st_stats() { lab_moatctl --json stats; }

# JSON IFACE VERDICT REASON -> packets (0 when the counter is not listed)
st_count() {
	jq -r --arg i "$2" --arg v "$3" --arg r "$4" '[.interfaces[] | select(.name == $i)
		| .counters[] | select(.verdict == $v and .reason == $r) | .packets] | add // 0' <<<"$1"
}

# st_delta BEFORE IFACE VERDICT REASON OP N -- (now - before) OP N, OP an
# arithmetic comparison (-ge, -eq).
st_delta() {
	local now a b
	now=$(st_stats) || return 1
	a=$(st_count "$1" "$2" "$3" "$4") && b=$(st_count "$now" "$2" "$3" "$4") || return 1
	echo "$2 $3/$4: $a -> $b (want the change $5 $6)"
	test "$((b - a))" "$5" "$6"
}
# Counters are read right after the packets: poll a moment for growth (and
# show only the last reading).
_st_delta_keep() { ST_DELTA=$(st_delta "$@"); }
st_grew() {
	local rc=0
	lab_wait 5 _st_delta_keep "$1" "$2" "$3" "$4" -ge "${5:-1}" || rc=1
	echo "$ST_DELTA"
	return $rc
}
st_same() { st_delta "$1" "$2" "$3" "$4" -eq 0; }

# st_saw CASE BEFORE IFACE VERDICT REASON -- the real traffic of CASE was
# counted under VERDICT REASON; remembered for the moatctl check section.
declare -A ST_REAL=()
st_saw() {
	local case=$1; shift
	st_grew "$@" || return 1
	ST_REAL[$case]="$3 $4"
}

st_config() { # MODE
	lab_write_config "$CONF" "mode: $1" \
		'tls: { ports: [443, 8443], validate: true, min_version: "1.2", quic: false }' \
		"ssh:
  ports: [22]
  validate: true
  devops:
    - { cidr: \"$OPS4/32\", name: ops4 }
    - { cidr: \"$OPS6/128\", name: ops6 }" \
		"outbound: { track: true }" "icmp: { echo: false }"
}
st_status_mode() { # MODE: in force, last (re)load applied
	lab_moatctl --json status | tee /dev/stderr | jq -e --arg m "$1" '.loaded and .mode == $m
		and .last_reload_ok and all(.interfaces[]; .attached)' >/dev/null
}
st_reload() { # MODE: rewrite the file, SIGHUP, READY=1, and it took
	if ! { st_config "$1" && lab_moatd_reload && st_status_mode "$1"; }; then
		tail -n 5 "$LAB_DIR/moatd.log"
		return 1
	fi
}
st_monitor_port_counts() { # BEFORE N
	st_grew "$1" gwc0 monitor_drop port "$2" && st_same "$1" gwc0 drop port
}

# --- moatctl check ---------------------------------------------------------------------

# CASE|check arguments|the verdict and reason real traffic got
ST_CHECKS=(
	"cli->443 none|--from $CLI4 --to $GW4_CLI --dport 443 --payload none|pass tls"
	"cli->22|--from $CLI4 --to $GW4_CLI --dport 22|drop ssh_source"
	"ops->22 ssh|--from $OPS4 --to $GW4_OPS --dport 22 --payload ssh|pass ssh"
	"cli->443 http|--from $CLI4 --to $GW4_CLI --dport 443 --payload http|drop not_tls"
	"cli->443 tls1.0|--from $CLI4 --to $GW4_CLI --dport 443 --payload tls1.0|drop tls_version"
	"cli->443 tls1.2|--from $CLI4 --to $GW4_CLI --dport 443 --payload tls1.2|pass tls"
	"cli udp 5353|--from $CLI4 --to $GW4_CLI --proto udp --dport 5353|drop port"
)
declare -A ST_CHECK_OUT=()

st_run_checks() {
	local c case args
	for c in "${ST_CHECKS[@]}"; do
		IFS='|' read -r case args _ <<<"$c"
		# shellcheck disable=SC2086 # args are words
		ST_CHECK_OUT[$case]=$(lab_moatctl check $args 2>&1) ||
			ST_CHECK_OUT[$case]="exit $?: ${ST_CHECK_OUT[$case]}"
	done
}

# What a check must not change: the stats (moatctl --json stats, byte for
# byte) and the tables the program writes: flows, connection states, drops
# per source (moatctl top), bans (pinned), and each program's own drop
# sampler (top_sample, found through the pinned XDP links).
ST_MAPS=(flows conns top_sources ban)

# st_map_snap LABEL pinned PATH | LABEL id ID -- the map's contents; a big
# array (every slot is dumped, used or not) as a digest of its dump.
st_map_snap() {
	local label=$1 info sum; shift
	info=$(bpftool -j map show "$@") || return 1
	echo "== $label"
	if jq -e '(.type | test("array")) and .max_entries > 1024' <<<"$info" >/dev/null; then
		sum=$(bpftool -j map dump "$@" | sha256sum; exit "${PIPESTATUS[0]}") || return 1
		echo "sha256 of the dump of $(jq -r '"\(.type) \(.max_entries)"' <<<"$info"): ${sum%% *}"
	else
		bpftool -jp map dump "$@"
	fi
}
st_prog_map_snap() { # MAP-NAME
	local link prog id n=0
	for link in "$LAB_PIN"/link_*; do
		prog=$(bpftool -j link show pinned "$link" | jq -r .prog_id) || return 1
		for id in $(bpftool -j prog show id "$prog" | jq -r '.map_ids[]'); do
			[ "$(bpftool -j map show id "$id" | jq -r .name)" = "$1" ] || continue
			st_map_snap "${link##*/} $1" id "$id" || return 1
			n=$((n + 1))
		done
	done
	[ $n -gt 0 ] || { echo "no map $1 behind $LAB_PIN/link_*"; return 1; }
}
st_snapshot() {
	local m
	st_stats || return 1
	for m in "${ST_MAPS[@]}"; do
		st_map_snap "$m" pinned "$LAB_PIN/$m" || return 1
	done
	st_prog_map_snap top_sample
}

# The snapshot around all the checks. A packet of the lab's own (an IPv6
# router solicitation...) landing in between would change it too: up to 3
# tries, so only a check that counts fails every time.
st_checks_count_nothing() {
	local try before after
	for try in 1 2 3; do
		before=$(st_snapshot) || return 1
		st_run_checks
		after=$(st_snapshot) || return 1
		ST_TRIES=$try
		if [ "$before" = "$after" ]; then
			echo "identical on try $try ($(wc -c <<<"$after") bytes)"
			return 0
		fi
		echo "try $try: changed:"
		diff -U0 <(echo "$before") <(echo "$after") | head -n 8
	done
	return 1
}

st_check_says() { # CASE WANT
	local out=${ST_CHECK_OUT[$1]:-(not run)} real=${ST_REAL[$1]:-}
	echo "moatctl check: $out"
	echo "real traffic: ${real:-(its counter never grew)}"
	[[ $out =~ ^([a-z_]+\ [a-z_]+)\ \(interface\ [a-z0-9]+\)$ ]] ||
		{ echo "want 'VERDICT REASON (interface IF)'"; return 1; }
	[ "${BASH_REMATCH[1]}" = "$2" ] && [ "$real" = "$2" ]
}

# --- the run ------------------------------------------------------------------------

main() {
	local a v s0 mark bad0 c case want

	tap_lab_start ms jq curl openssl socat ssh ping ss nsenter bpftool /usr/bin/python3 \
		    /usr/sbin/nginx /usr/sbin/sshd
	# No more router solicitations from the peers: fewer packets of the lab's
	# own between two stats snapshots.
	lab_in cli sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
	lab_in ops sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
	check "lab: nginx (443 TLS) and UDP echo on 5353 in gw" lab_nginx || bail "no nginx"
	check "lab: sshd on 22 in gw, logging to sshd.log" lab_sshd || bail "no sshd"
	check "cli: http.server on $ST_HTTP_PORT and UDP echo on $ST_UDP_PORT (v4, v6)" \
		st_cli_servers || bail "no servers in cli"

	# --- without moat ---------------------------------------------------------
	# The sshd log check below can see junk: sshd logs it when it gets it.
	mark="hello junk-$LAB-nomoat"
	check "no moat: junk after sshd's banner from ops gets sshd's answer" \
		st_probe_is 'answer .*|eof|reset' ops ssh "$GW4_OPS" 22 "$ST_WAIT" "$mark"
	check "no moat: sshd logs that junk (invalid identification)" \
		lab_wait 5 st_sshd_has "$mark"
	check "no moat: a TLS 1.3 server in gw (nginx on 443, else openssl s_server on 8443)" \
		st_tls13_server || bail "no TLS 1.3 server"
	check "no moat: ssh session from ops (ssh gw cat) opened, round trip works" \
		st_presession_open || bail "no ssh session"
	check "no moat: that session is established in gw" st_pre_established

	st_config enforce
	check "moatd starts (enforce, tls/ssh validate) and attaches" lab_moatd "$CONF" ||
		bail "moatd did not start"
	check "moatctl status: enforce, attached, last load applied" st_status_mode enforce

	# --- 6. the session opened before moatd -----------------------------------------
	s0=$(st_stats)
	check "session opened before moatd: round trip after attach" lab_session_roundtrip after-attach
	check "  its packets pass as ssh on gwd0 (seeded from the socket table)" \
		st_grew "$s0" gwd0 pass ssh
	check "  moat_conns counts it (seeded when moatd took over)" \
		lab_wait 15 st_conns_at_least 1

	# --- 1. TLS 1.2 and 1.3 pass -----------------------------------------------------
	s0=$(st_stats)
	for a in "$GW4_CLI" "$GW6_CLI"; do
		v=$(st_fam "$a")
		check "$v: openssl s_client -tls1_2 handshake with gw:443" st_s_client cli "$a" tls1_2
		check "$v: openssl s_client -tls1_3 handshake with gw:$ST_TLS13_PORT" \
			st_s_client cli "$a" tls1_3 "$ST_TLS13_PORT"
		check "$v: curl -k https://$a/ gets the page" \
			st_body_is "$LAB_BODY" cli -k "https://$(st_url_host "$a")/"
	done
	check "stats: gwc0 pass tls grew" st_saw "cli->443 none" "$s0" gwc0 pass tls &&
		ST_REAL["cli->443 tls1.2"]="pass tls"
	check "stats: real hellos never counted as drop not_tls" st_same "$s0" gwc0 drop not_tls
	check "stats: real hellos never counted as drop tls_version" \
		st_same "$s0" gwc0 drop tls_version || unset 'ST_REAL[cli->443 tls1.2]'

	# --- 2. TLS 1.0 hello: no answer ---------------------------------------------------
	for a in "$GW4_CLI" "$GW6_CLI"; do
		v=$(st_fam "$a")
		s0=$(st_stats)
		check "$v: TLS 1.0 ClientHello to gw:443 gets no answer (no ServerHello, alert, FIN)" \
			st_silent cli tls10 "$a" 443
		check "$v: stats: gwc0 drop tls_version counts it" \
			st_saw "cli->443 tls1.0" "$s0" gwc0 drop tls_version
	done

	# --- 3. plaintext HTTP to 443: no answer ---------------------------------------------
	for a in "$GW4_CLI" "$GW6_CLI"; do
		v=$(st_fam "$a")
		s0=$(st_stats)
		check "$v: plaintext HTTP to gw:443, then a TLS 1.2 hello behind it: no answer" \
			st_silent cli http "$a" 443
		check "$v: stats: drop not_tls counts the request and the rest of the connection (>= 2)" \
			st_saw "cli->443 http" "$s0" gwc0 drop not_tls 2
		check "$v: stats: pass tls grew by exactly 2 (SYN, ACK): the hello behind was dropped" \
			st_delta "$s0" gwc0 pass tls -eq 2
	done

	# --- 4. SSH validation ------------------------------------------------------------------
	bad0=$(st_sshd_bad_lines)
	for a in "$GW4_OPS" "$GW6_OPS"; do
		v=$(st_fam "$a")
		mark="hello junk-$LAB-moat-$v"
		s0=$(st_stats)
		check "$v: junk after sshd's banner from ops gets no answer" \
			st_silent ops ssh "$a" 22 "$mark"
		check "$v: stats: gwd0 drop not_ssh counts it" st_grew "$s0" gwd0 drop not_ssh
		check "$v: sshd never saw it (no such line in its log, no invalid-format line)" \
			st_sshd_never_saw "$mark" "$bad0"
	done
	s0=$(st_stats)
	for a in "$GW4_OPS" "$GW6_OPS"; do
		check "$(st_fam "$a"): real ssh from ops (DevOps) logs in" st_ssh_ok ops "$a"
	done
	check "stats: gwd0 pass ssh grew" st_saw "ops->22 ssh" "$s0" gwd0 pass ssh
	s0=$(st_stats)
	check "TCP from cli (not DevOps) to gw:22 times out" \
		st_probe_is timeout cli connect "$GW4_CLI" 22 "$ST_WAIT"
	check "stats: gwc0 drop ssh_source counts it" st_saw "cli->22" "$s0" gwc0 drop ssh_source

	# --- 5. replies to the gateway's own connections ----------------------------------------
	s0=$(st_stats)
	check "gw: curl http://$CLI4:$ST_HTTP_PORT/ (from port $ST_GW_TCP4) gets the page" \
		st_body_is "$ST_PAGE" gw --local-port "$ST_GW_TCP4" "http://$CLI4:$ST_HTTP_PORT/"
	check "  stats: gwc0 pass reply grew" st_grew "$s0" gwc0 pass reply
	s0=$(st_stats)
	check "gw: curl http://[$CLI6]:$ST_HTTP_PORT/ (from port $ST_GW_TCP6) gets the page" \
		st_body_is "$ST_PAGE" gw --local-port "$ST_GW_TCP6" "http://[$CLI6]:$ST_HTTP_PORT/"
	check "  stats: gwc0 pass reply grew" st_grew "$s0" gwc0 pass reply
	s0=$(st_stats)
	check "gw: UDP to $CLI4:$ST_UDP_PORT (from port $ST_GW_UDP4) gets its echo" \
		st_probe_is echo gw udp "$CLI4" "$ST_UDP_PORT" 3 "$ST_GW_UDP4" "q-$LAB-4"
	check "  stats: gwc0 pass reply grew" st_grew "$s0" gwc0 pass reply
	s0=$(st_stats)
	check "gw: UDP to [$CLI6]:$ST_UDP_PORT (from port $ST_GW_UDP6) gets its echo" \
		st_probe_is echo gw udp "$CLI6" "$ST_UDP_PORT" 3 "$ST_GW_UDP6" "q-$LAB-6"
	check "  stats: gwc0 pass reply grew" st_grew "$s0" gwc0 pass reply
	for a in "$CLI4" "$CLI6"; do
		s0=$(st_stats)
		check "gw: ping -c 2 $a gets 2 replies" st_ping "$a"
		check "  stats: gwc0 pass reply grew by >= 2" st_grew "$s0" gwc0 pass reply 2
	done

	# Nothing of that opens the gateway to new inbound packets.
	s0=$(st_stats)
	check "cli:53 -> gw:$ST_GW_TCP4 (the port gw's curl used), TCP: times out" \
		st_probe_is timeout cli connect "$GW4_CLI" "$ST_GW_TCP4" "$ST_WAIT" 53
	check "  stats: gwc0 drop port grew" st_grew "$s0" gwc0 drop port
	s0=$(st_stats)
	check "cli:53 -> gw:$ST_GW_UDP4 (the port gw's UDP used): no answer, not even unreachable" \
		st_probe_is silent cli udp "$GW4_CLI" "$ST_GW_UDP4" "$ST_WAIT" 53 "spoof-$LAB"
	check "  stats: gwc0 drop port grew" st_grew "$s0" gwc0 drop port
	s0=$(st_stats)
	check "cli -> gw udp/5353 (the lab's UDP echo): no echo" \
		st_probe_is silent cli udp "$GW4_CLI" 5353 "$ST_WAIT" 0 "u-$LAB"
	check "  stats: gwc0 drop port counts it" st_saw "cli udp 5353" "$s0" gwc0 drop port

	# --- 3. again, in monitor mode: the same bytes get their answers -------------------------
	check "reload to mode: monitor (SIGHUP, READY=1, applied)" st_reload monitor
	s0=$(st_stats)
	check "monitor: plaintext HTTP to gw:443 gets nginx's 400 at once" \
		st_probe_is 'answer 485454502f312e3120343030.*' cli http "$GW4_CLI" 443 5
	check "monitor: stats: monitor_drop not_tls counts it" st_grew "$s0" gwc0 monitor_drop not_tls
	check "monitor: stats: drop not_tls did not grow" st_same "$s0" gwc0 drop not_tls
	s0=$(st_stats)
	check "monitor: TLS 1.0 ClientHello gets nginx's answer (not silence)" \
		st_probe_is 'answer 1[56]03.*' cli tls10 "$GW4_CLI" 443 5
	check "monitor: stats: monitor_drop tls_version counts it" \
		st_grew "$s0" gwc0 monitor_drop tls_version
	s0=$(st_stats)
	check "monitor: cli:53 -> gw:$ST_GW_TCP4 TCP is refused by gw's kernel" \
		st_probe_is refused cli connect "$GW4_CLI" "$ST_GW_TCP4" 5 53
	check "monitor: cli:53 -> gw:$ST_GW_UDP4 UDP gets port unreachable" \
		st_probe_is refused cli udp "$GW4_CLI" "$ST_GW_UDP4" 5 53 "spoof-$LAB"
	check "monitor: cli -> gw udp/5353 gets its echo" \
		st_probe_is echo cli udp "$GW4_CLI" 5353 5 0 "u-$LAB"
	check "monitor: stats: monitor_drop port counts them (>= 3), drop port did not grow" \
		st_monitor_port_counts "$s0" 3

	check "reload back to mode: enforce" st_reload enforce
	s0=$(st_stats)
	check "enforce again: plaintext HTTP to gw:443 gets no answer at once" \
		st_silent cli http "$GW4_CLI" 443
	check "enforce again: stats: drop not_tls counts it" st_grew "$s0" gwc0 drop not_tls
	check "session opened before moatd: still round-trips after two reloads" \
		lab_session_roundtrip after-reloads

	# --- 7. moatctl check --------------------------------------------------------------------
	if check "moatctl check x${#ST_CHECKS[@]}: stats and written maps identical before and after" \
		st_checks_count_nothing && [ "$ST_TRIES" -gt 1 ]; then
		echo "# note: the snapshot changed around the checks before try $ST_TRIES (lab traffic?)"
	fi
	for c in "${ST_CHECKS[@]}"; do
		IFS='|' read -r case _ want <<<"$c"
		check "moatctl check ($case) says '$want', as the real traffic got" \
			st_check_says "$case" "$want"
	done

	# --- 8. lockout_guard -----------------------------------------------------------------------
	check "lockout_guard: a reload without ops in devops, while ops has a session, is refused" \
		st_guard_refuses
	check "lockout_guard: that session still round-trips" lab_session_roundtrip after-guard
	check "lockout_guard: the file restored, the reload is applied" \
		eval 'st_config enforce && lab_moatd_reload && st_status_mode enforce'
	check "lockout_guard: a connection moat already cut (not_ssh) does not block a reload" \
		st_guard_ignores_cut

	# --- 10. real clients: Fast Open with the server's TFO on and off, small MSS -------
	s0=$(st_stats)
	tfo0=$(st_tcpext gw TCPFastOpenPassive)
	lab_in gw sysctl -qw net.ipv4.tcp_fastopen=3
	lab_in cli sysctl -qw net.ipv4.tcp_fastopen=1
	for a in "$GW4_CLI" "$GW6_CLI"; do
		check "$(st_fam "$a"): TFO on at the server: curl --tcp-fastopen gets the page twice" \
			st_tfo_curl "$a"
	done
	check "  the server took ClientHellos from SYNs (TCPFastOpenPassive grew)" \
		st_tfo_taken "${tfo0:-0}"
	# Client data in the SYN without a cookie; the server ignores it and the
	# client sends it again after the handshake.
	lab_in gw sysctl -qw net.ipv4.tcp_fastopen=1
	lab_in cli sysctl -qw net.ipv4.tcp_fastopen=5
	for a in "$GW4_CLI" "$GW6_CLI"; do
		check "$(st_fam "$a"): TFO off at the server: the ClientHello in the SYN is sent again, page" \
			st_tfo_curl "$a"
	done
	lab_in cli sysctl -qw net.ipv4.tcp_fastopen=1
	check "gw advertises MSS 64: every ClientHello spans several segments" st_small_mss on
	for a in "$GW4_CLI" "$GW6_CLI"; do
		check "$(st_fam "$a"): curl -k https://$a/ over 64-byte segments gets the page" \
			st_body_is "$LAB_BODY" cli -k "https://$(st_url_host "$a")/"
		check "$(st_fam "$a"): openssl s_client -tls1_3 over 64-byte segments" \
			st_s_client cli "$a" tls1_3 "$ST_TLS13_PORT"
	done
	check "  MSS back to normal" st_small_mss off
	check "  real clients: drop not_tls did not grow" st_same "$s0" gwc0 drop not_tls
	check "  real clients: drop tls_version did not grow" st_same "$s0" gwc0 drop tls_version

	# --- 9. the connection table follows the host's sockets ------------------------------
	check "conns: entries of closed connections swept (moat_conns <= the host's sockets)" \
		lab_wait 20 st_conns_swept

	# --- teardown leaves nothing behind --------------------------------------------------------
	lab_session_close
	tap_lab_down

	echo "1..$T"
	[ "$FAILED" -eq 0 ]
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
