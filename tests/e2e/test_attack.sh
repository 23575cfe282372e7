#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Attacks on moat's TCP connection state, end to end: build/moatd guards the
# gateway of the namespace lab (scripts/lab.sh) and crafted packets
# (tests/e2e/rawtcp.py, an AF_PACKET TCP client in cli or ops) try to get
# bytes that are not a TLS ClientHello (an SSH identification) to the
# application behind a validated port. The application is a plain TCP sink
# on 8443 (a TLS port in the config) that logs, hex-encoded, every byte each
# connection gives it: each check asserts exactly what it received.
#
# rawtcp.py speaks from an address of the cli (ops) subnet that no interface
# holds, with a permanent neighbour entry for it on the gateway: the
# gateway's answers reach the veth, where rawtcp reads them, and the cli
# kernel never resets a connection it does not know.
#
#   1  TLS ClientHello in the SYN (no Fast Open: discarded), GET at ISN+1
#   2  RST far out of window, then GET
#   3  decoy ClientHello with a bad TCP checksum, then GET
#   4  decoy ClientHello without ACK flag (and in an IPv4 first fragment), then GET
#   5  the 11 "magic" bytes (record and handshake lengths 0) + GET; the same
#      head assembled from overlapping segments with an old ACK
#   6  a genuine ClientHello split after 5 bytes reaches the sink whole
#   7  re-SYN with a ClientHello after a dropped GET, then GET again
#   8  blind spoofed SYN (and a sweep of 2000 source ports) against a live
#      connection of the cli kernel's own: its data keeps coming
#   9  blind spoofed RSTs against the gateway's own outbound connection
#  10  SSH from a DevOps address: identification in the SYN, junk at ISN+1
#  11  an ACK the kernel refuses in SYN_RECV (the host's ISN + 2) makes the
#      gateway's listener answer with a RST; then the right ACK, and one
#      segment starting 11 bytes before ISN+1: a ClientHello head the kernel
#      takes for old data, then GET. (On 71d9293 a hole: the host's RST
#      deleted the state, and data with no state was judged as the first
#      bytes of a connection, so GET reached the sink.)
#  12  urgent data: the 11 head bytes as 11 urgent (URG) bytes, then GET. The
#      kernel takes urgent bytes out of the stream: whatever the sink reads
#      must begin with the head moat judged, never with GET (a hole on
#      71d9293). Also for SSH.
#  13  as 11, the connection's own conn_pending entry evicted by a SYN flood
#      instead (SYN cookies: no SYN-ACK retransmission refreshes it)
#  14  the same flood, blind (from other sources), while a legitimate
#      client's handshake is in flight (its third ACK comes after the flood):
#      once the connection is up, its ClientHello must reach the sink
# Every process via lab_spawn, removed on every exit path (lab_init's trap).
# TAP on stdout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh
# shellcheck source=tests/e2e/tap.sh
. tests/e2e/tap.sh

AT_SINK=8443		# the sink in gw (v4 and v6), a TLS port
AT_FAKE4=198.18.1.77	# rawtcp's addresses in cli's subnet, on no interface
AT_FAKE6=2001:db8:1::77
AT_SLOW4=198.18.1.150	# 14: a legitimate client with a slow handshake
AT_OPSFAKE4=198.18.2.77	# ... in ops' subnet, added to devops at run time
AT_SRV4=18099		# line servers in cli for the gateway's own connection
AT_SRV6=18098
AT_GW4=40090		# the gateway's client ports to them
AT_GW6=40091
AT_WAIT=1		# seconds rawtcp waits for an ACK that must not come
AT_FLOOD_ADDRS=12	# flood sources (64512 ports each) after AT_FAKE4
AT_PREFILL=6000		# SYNs that fill the sink's SYN queue (listen backlog 4096)
AT_RAW=$PWD/tests/e2e/rawtcp.py

TAP_BAIL_LOGS=(moatd sink sshd)

# --- payloads (hex) -------------------------------------------------------------------
at_payloads() {
	local py
	# shellcheck disable=SC2016 # python
	py='
import sys
sys.path.insert(0, "tests/e2e")
from clienthello import hello
print(hello(0x0303).hex())
print(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".hex())
print(b"SSH-2.0-x\r\n".hex())
'
	{ read -r AT_HELLO; read -r AT_GET; read -r AT_SSHID; } < <(python3 -c "$py")
	AT_MAGIC=1603010000010000000303
	[ ${#AT_HELLO} -gt 100 ] && [ -n "$AT_GET" ] && [ -n "$AT_SSHID" ]
}
at_hex() { printf '%s' "$1" | xxd -p | tr -d '\n'; }
at_ascii() { xxd -r -p <<<"$1" | tr -c '[:print:]' '.'; }

# --- the sink ---------------------------------------------------------------------------
# Prints "open ADDR PORT", "data ADDR PORT HEX" for every read, "close ADDR PORT".
AT_SINK_PY='
import socket, sys, threading
port = int(sys.argv[1])
lock = threading.Lock()
def emit(*a):
    with lock:
        print(*a, flush=True)
def serve(c, peer):
    addr, p = peer[0], peer[1]
    emit("open", addr, p)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            emit("data", addr, p, b.hex())
    except OSError as e:
        emit("error", addr, p, type(e).__name__)
    emit("close", addr, p)
def listen(fam, host):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(4096)
    while True:
        c, peer = s.accept()
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()
threading.Thread(target=listen, args=(socket.AF_INET6, "::"), daemon=True).start()
listen(socket.AF_INET, "0.0.0.0")
'
at_sink_ready() { # PID
	_lab_alive_or_log "$1" sink || return $LAB_GIVE_UP
	[ "$(_lab_listening -ltn "sport = :$AT_SINK")" -ge 2 ]
}
at_sink() {
	lab_spawn gw sink /usr/bin/python3 -u -c "$AT_SINK_PY" "$AT_SINK"
	lab_wait 10 at_sink_ready "$LAB_LAST_PID"
}
# at_sink_hex ADDR PORT -- every byte the sink read from that peer, in order
at_sink_hex() {
	awk -v a="$1" -v p="$2" '$1 == "data" && $2 == a && $3 == p { printf "%s", $4 }' \
		"$LAB_DIR/sink.log"
}
at_sink_nonempty() { [ -n "$(at_sink_hex "$1" "$2")" ]; }
at_sink_is() { [ "$(at_sink_hex "$1" "$2")" = "$3" ]; }
at_show_sink() { # ADDR PORT
	local got; got=$(at_sink_hex "$1" "$2")
	if [ -z "$got" ]; then
		echo "sink received from $1 port $2: nothing"
	else
		echo "sink received from $1 port $2: ${#got} hex digits: $got"
		echo "  as text: $(at_ascii "$got")"
	fi
}

# --- rawtcp -----------------------------------------------------------------------------
at_mac() { ip -n "$LAB-$1" -j link show dev "$2" | jq -r '.[0].address'; }

at_neigh() {
	AT_GWC_MAC=$(at_mac gw gwc0) && AT_GWD_MAC=$(at_mac gw gwd0) &&
	AT_CLI_MAC=$(at_mac cli eth0) && AT_OPS_MAC=$(at_mac ops eth0) || return 1
	ip -n "$LAB-gw" neigh replace "$AT_FAKE4" lladdr "$AT_CLI_MAC" dev gwc0 nud permanent &&
	ip -n "$LAB-gw" neigh replace "$AT_FAKE6" lladdr "$AT_CLI_MAC" dev gwc0 nud permanent &&
	ip -n "$LAB-gw" neigh replace "$AT_OPSFAKE4" lladdr "$AT_OPS_MAC" dev gwd0 nud permanent ||
		return 1
	# AT_SLOW4, and the sources of rawtcp's SYN floods (13, 14): the
	# addresses after AT_FAKE4 and AT_SLOW4.
	local i a
	for a in "$AT_FAKE4" "$AT_SLOW4"; do
		for ((i = 0; i <= AT_FLOOD_ADDRS; i++)); do
			ip -n "$LAB-gw" neigh replace "${a%.*}.$(( ${a##*.} + i ))" \
				lladdr "$AT_CLI_MAC" dev gwc0 nud permanent || return 1
		done
	done
	ip -n "$LAB-gw" neigh show nud permanent | wc -l
}

# at_raw NS SRC SPORT DST DPORT STEP... -- rawtcp.py in NS (cli talks to gwc0, ops to gwd0)
at_raw() {
	local ns=$1 src=$2 sport=$3 dst=$4 dport=$5 mac; shift 5
	[ "$ns" = ops ] && mac=$AT_GWD_MAC || mac=$AT_GWC_MAC
	lab_in "$ns" timeout 30 /usr/bin/python3 "$AT_RAW" --dev eth0 --dmac "$mac" \
		--src "$src" --sport "$sport" --dst "$dst" --dport "$dport" "$@"
}
AT_SRC4=$AT_FAKE4	# where at_none and at_exactly speak from (v4)
at_fake() { [ "$1" = 6 ] && echo "$AT_FAKE6" || echo "$AT_SRC4"; }
at_gw() { [ "$1" = 6 ] && echo "$GW6_CLI" || echo "$GW4_CLI"; }

# at_none FAM SPORT STEP... -- rawtcp from the fake address of FAM to the sink;
# the steps end with a no-ack (the kernel never took the bytes); the sink
# received nothing at all from that connection.
at_none() {
	local fam=$1 sport=$2 src rc=0; shift 2
	src=$(at_fake "$fam")
	at_raw cli "$src" "$sport" "$(at_gw "$fam")" "$AT_SINK" "$@" || rc=1
	# The kernel took something: give the sink a moment to show what.
	[ $rc -eq 0 ] || lab_wait 3 at_sink_nonempty "$src" "$sport"
	at_show_sink "$src" "$sport"
	at_sink_nonempty "$src" "$sport" && rc=1
	return $rc
}

# at_exactly FAM SPORT WANT-HEX STEP... -- the sink received exactly WANT-HEX
at_exactly() {
	local fam=$1 sport=$2 want=$3 src rc=0; shift 3
	src=$(at_fake "$fam")
	at_raw cli "$src" "$sport" "$(at_gw "$fam")" "$AT_SINK" "$@" || rc=1
	lab_wait 3 at_sink_is "$src" "$sport" "$want" || rc=1
	at_show_sink "$src" "$sport"
	[ $rc -eq 0 ] || echo "wanted exactly: $want"
	return $rc
}

# at_head_first FAM SPORT HEAD-HEX STEP... -- whatever the sink received
# from that connection begins with HEAD-HEX (nothing at all is fine too)
at_head_first() {
	local fam=$1 sport=$2 head=$3 src got rc=0; shift 3
	src=$(at_fake "$fam")
	at_raw cli "$src" "$sport" "$(at_gw "$fam")" "$AT_SINK" "$@" || rc=1
	# What the kernel took reaches the sink within a moment.
	lab_wait 1 at_sink_nonempty "$src" "$sport"
	at_show_sink "$src" "$sport"
	got=$(at_sink_hex "$src" "$sport")
	if [ -n "$got" ] && [[ $got != "$head"* ]]; then
		echo "the sink's first bytes are not the head moat judged ($head)"
		rc=1
	fi
	return $rc
}

# --- moat's counters ----------------------------------------------------------------------
at_stats() { lab_moatctl --json stats; }
at_count() { # JSON IFACE VERDICT REASON
	jq -r --arg i "$2" --arg v "$3" --arg r "$4" '[.interfaces[] | select(.name == $i)
		| .counters[] | select(.verdict == $v and .reason == $r) | .packets] | add // 0' <<<"$1"
}
_at_grew() { # BEFORE IFACE VERDICT REASON N
	local now; now=$(at_stats) || return 1
	AT_DELTA="$2 $3/$4: $(at_count "$1" "$2" "$3" "$4") -> $(at_count "$now" "$2" "$3" "$4")"
	[ $(( $(at_count "$now" "$2" "$3" "$4") - $(at_count "$1" "$2" "$3" "$4") )) -ge "$5" ]
}
at_grew() { # BEFORE IFACE VERDICT REASON [N]
	local rc=0
	lab_wait 3 _at_grew "$1" "$2" "$3" "$4" "${5:-1}" || rc=1
	echo "$AT_DELTA (want +${5:-1})"
	return $rc
}

# --- 8. a live connection of the cli kernel's own ------------------------------------------
AT_LEGIT_PY='
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("port", s.getsockname()[1], flush=True)
s.sendall(bytes.fromhex(sys.argv[3]))
for i in range(1200):           # a tick every 50 ms, for at most a minute
    time.sleep(0.05)
    s.sendall(b"tick %06d\n" % i)
'
# The sink got the hello, then ticks 0..n-1 in order and nothing else;
# prints n (at least MIN, else fails).
AT_TICKS_PY='
import sys
data, hello, least = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3])
if not data.startswith(hello):
    sys.exit("does not start with the ClientHello")
rest = data[len(hello):]
n = len(rest) // 12
want = b"".join(b"tick %06d\n" % i for i in range(n))
if rest[:12 * n] != want or not (b"tick %06d\n" % n).startswith(rest[12 * n:]):
    sys.exit("not the ticks in order: %r" % rest[:120])
print(n)
sys.exit(0 if n >= least else 1)
'
at_legit_port() { AT_LEGIT_PORT=$(sed -n 's/^port //p' "$LAB_DIR/legit.log"); [ -n "$AT_LEGIT_PORT" ]; }
at_ticks() { # MIN: the legitimate connection's stream is intact, with >= MIN ticks
	AT_TICKS=$(python3 -c "$AT_TICKS_PY" "$(at_sink_hex "$CLI4" "$AT_LEGIT_PORT")" \
		"$AT_HELLO" "$1" 2>&1)
}
at_ticks_grow() { # BY
	local n0
	at_ticks 0 || { echo "$AT_TICKS"; return 1; }
	n0=$AT_TICKS
	lab_wait 5 at_ticks $((n0 + $1))
	echo "ticks at the sink: $n0 -> $AT_TICKS (want +$1)"
	_lab_ours "$AT_LEGIT_PID" || { echo "the client exited:"; cat "$LAB_DIR/legit.log"; return 1; }
	[[ $AT_TICKS =~ ^[0-9]+$ ]] && [ "$AT_TICKS" -ge $((n0 + $1)) ]
}
# A spoofed SYN from the client's address and port, payload HEX.
at_spoof_syn() { # HEX
	at_raw cli "$CLI4" "$AT_LEGIT_PORT" "$GW4_CLI" "$AT_SINK" "syn $1" && at_ticks_grow 5
}
# Spoofed SYNs from the client's address, 2000 source ports around its own.
at_spoof_sweep() { # HEX
	local first=$((AT_LEGIT_PORT - 1000))
	at_raw cli "$CLI4" "$first" "$GW4_CLI" "$AT_SINK" "synsweep $first 2000 $1" &&
		at_ticks_grow 5
}
at_legit_start() {
	lab_spawn cli legit /usr/bin/python3 -c "$AT_LEGIT_PY" "$GW4_CLI" "$AT_SINK" "$AT_HELLO"
	AT_LEGIT_PID=$LAB_LAST_PID
	lab_wait 5 at_legit_port || { cat "$LAB_DIR/legit.log"; return 1; }
	echo "legitimate client: $CLI4 port $AT_LEGIT_PORT"
	at_ticks_grow 3
}

# --- 9. the gateway's own connection to a line server in cli ---------------------------------
AT_LINES_PY='
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
c, _ = s.accept()
for i in range(1200):           # a 15-byte line every 50 ms, for at most a minute
    c.sendall(b"line %09d\n" % i)
    time.sleep(0.05)
'
AT_LINESCLI_PY='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", int(sys.argv[3])))
s.connect((sys.argv[1], int(sys.argv[2])))
try:
    for line in s.makefile("rb"):
        print(line.decode().strip(), flush=True)
    print("eof", flush=True)
except OSError as e:
    print("error", e, flush=True)
'
at_lines() { grep -c '^line ' "$LAB_DIR/$1.log"; }
at_lines_at_least() { [ "$(at_lines "$1")" -ge "$2" ]; }
at_lines_grow() { # NAME BY
	local n0; n0=$(at_lines "$1")
	lab_wait 5 at_lines_at_least "$1" $((n0 + $2))
	echo "lines received by the gateway's client: $n0 -> $(at_lines "$1") (want +$2)"
	if grep -E '^(eof|error)' "$LAB_DIR/$1.log"; then
		return 1
	fi
	at_lines_at_least "$1" $((n0 + $2))
}
at_srv_ready() { # PORT
	[ -n "$(lab_in cli ss -Hltn "sport = :$1")" ]
}
AT_LINES_PIDS=()
# at_outbound FAM: server in cli, the gateway's client to it, lines coming
at_outbound() {
	local fam=$1 addr port lport
	if [ "$fam" = 6 ]; then addr=$CLI6 port=$AT_SRV6 lport=$AT_GW6
	else addr=$CLI4 port=$AT_SRV4 lport=$AT_GW4; fi
	lab_spawn cli "lines$fam" /usr/bin/python3 -c "$AT_LINES_PY" "$addr" "$port"
	AT_LINES_PIDS+=("$LAB_LAST_PID")
	lab_wait 5 at_srv_ready "$port" || return 1
	lab_spawn gw "linescli$fam" /usr/bin/python3 -c "$AT_LINESCLI_PY" "$addr" "$port" "$lport"
	AT_LINES_PIDS+=("$LAB_LAST_PID")
	lab_wait 5 at_lines_at_least "linescli$fam" 3 || { cat "$LAB_DIR/linescli$fam.log"; return 1; }
	at_lines_grow "linescli$fam" 3
}
# at_blind_rst FAM: spoofed RSTs from the server's address and port, none at
# the exact sequence number: the gateway's client keeps getting lines.
at_blind_rst() {
	local fam=$1 addr port lport gw
	if [ "$fam" = 6 ]; then addr=$CLI6 port=$AT_SRV6 lport=$AT_GW6 gw=$GW6_CLI
	else addr=$CLI4 port=$AT_SRV4 lport=$AT_GW4 gw=$GW4_CLI; fi
	at_raw cli "$addr" "$port" "$gw" "$lport" learn-seq "rst-near -1 1 7 -1000 1001 300001" \
		"rst-sweep 1000" || return 1
	at_lines_grow "linescli$fam" 5
}

# --- 13. the LRU conn_pending --------------------------------------------------------------
# AT_FLOOD: SYNs from each online CPU (rawtcp's flood), twice one CPU's
# share of conn_pending (an LRU hash with per-CPU lists, sized by possible
# CPUs): enough to evict an entry nothing looks up any more.
at_flood_size() {
	local max possible cpus online
	max=$(bpftool -j map show pinned "$LAB_PIN/conn_pending" | jq -r .max_entries) || return 1
	possible=$(cat /sys/devices/system/cpu/possible) || return 1
	cpus=$(( ${possible##*-} + 1 ))
	online=$(nproc)
	AT_FLOOD=$(( max * 2 / cpus ))
	echo "conn_pending: $max entries, $cpus possible CPUs: $AT_FLOOD SYNs from each of $online CPUs"
	if [ $(( (AT_FLOOD * online + AT_PREFILL) / 64512 + 1 )) -gt "$AT_FLOOD_ADDRS" ]; then
		echo "more than $AT_FLOOD_ADDRS flood addresses needed"
		return 1
	fi
	[ "$AT_FLOOD" -gt 0 ]
}

# moat's connection events (conn_events: table_full, untracked), summed over CPUs
at_conn_events() {
	bpftool -j map dump pinned "$LAB_PIN/conn_events" | python3 -c '
import json, sys
def num(v):
    return v if isinstance(v, int) else int.from_bytes(bytes(int(b, 16) for b in v), "little")
n = {}
for e in json.load(sys.stdin):
    k = e.get("formatted", e).get("key", e["key"])
    k = num(k) if not isinstance(k, int) else k
    vals = e.get("formatted", e).get("values", e["values"])
    n[k] = sum(num(v["value"]) for v in vals)
print("table_full %d untracked %d" % (n.get(0, 0), n.get(1, 0)))'
}
# at_slow_client SPORT STEP... -- at_exactly from AT_SLOW4, and on failure
# what moat and the gateway's kernel made of the connection
at_slow_client() {
	local sport=$1 ev0 rc=0; shift
	ev0=$(at_conn_events)
	at_exactly 4 "$sport" "$AT_HELLO" "$@" || rc=1
	if [ $rc -ne 0 ]; then
		echo "moat conn_events: before: $ev0; after: $(at_conn_events)"
		echo "gw's socket: $(lab_in gw ss -Htn "( sport = :$AT_SINK and dport = :$sport )")"
	fi
	return $rc
}

# --- 10. SSH ---------------------------------------------------------------------------------
at_sshd_has() { grep -F -- "$1" "$LAB_DIR/sshd.log"; }
# at_ssh_none SPORT MARK STEP...: rawtcp from AT_OPSFAKE4 to gw:22; the junk
# line MARK never reaches sshd (it logs identification strings it refuses).
at_ssh_none() {
	local sport=$1 mark=$2 rc=0; shift 2
	at_raw ops "$AT_OPSFAKE4" "$sport" "$GW4_OPS" 22 "$@" || rc=1
	if [ $rc -ne 0 ]; then
		lab_wait 3 at_sshd_has "$mark" >/dev/null
	fi
	echo "sshd.log for port $sport:"
	grep -F "port $sport" "$LAB_DIR/sshd.log"
	if at_sshd_has "$mark"; then
		echo "sshd got the junk '$mark'"
		rc=1
	fi
	return $rc
}

# --- the run ---------------------------------------------------------------------------------
main() {
	local fam s0 h5 j sp steps mark

	tap_lab_start ma jq ss xxd nsenter timeout nproc bpftool /usr/bin/python3 /usr/sbin/sshd
	lab_in cli sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
	lab_in ops sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
	check "payloads: TLS 1.2 ClientHello, GET, SSH identification" at_payloads ||
		bail "no payloads"
	check "lab: plain TCP sink on gw:$AT_SINK (v4, v6), logging every byte" at_sink ||
		bail "no sink"
	check "lab: sshd on gw:22" lab_sshd || bail "no sshd"
	check "lab: permanent neighbours on gw for rawtcp's addresses" at_neigh || bail "no neighbours"
	lab_write_config "$CONF" "tls: { ports: [443, $AT_SINK] }"
	check "moatd starts (tls 443/$AT_SINK validated, ssh defaults) and attaches" \
		lab_moatd "$CONF" || bail "moatd did not start"
	check "moatctl devops add $AT_OPSFAKE4/32 (rawtcp's DevOps address)" \
		lab_moatctl devops add "$AT_OPSFAKE4/32" --name attack

	# A genuine ClientHello split after 5 bytes reaches the sink whole,
	# from rawtcp too (the lab works; the checks below can pass for the
	# right reason only).
	h5=${AT_HELLO:0:10}
	for fam in 4 6; do
		check "6 v$fam: ClientHello in two segments (5 bytes, the rest): the sink gets it whole" \
			at_exactly "$fam" $((41060 + fam)) "$AT_HELLO" syn synack ack "data 0 $h5" \
			"data 5 ${AT_HELLO:10}" "expect-ack $(( ${#AT_HELLO} / 2 ))"
	done

	# --- 1. SYN data the host discards -------------------------------------------------------
	for fam in 4 6; do
		s0=$(at_stats)
		check "1 v$fam: ClientHello in the SYN (discarded), handshake, GET at ISN+1: sink gets nothing" \
			at_none "$fam" $((41010 + fam)) "syn $AT_HELLO" synack ack "data 0 $AT_GET" \
			"no-ack 1 $AT_WAIT"
		check "1 v$fam: stats: gwc0 drop not_tls counts the GET" at_grew "$s0" gwc0 drop not_tls
	done

	check "2: RST far out of window after the handshake, then GET: sink gets nothing" \
		at_none 4 41020 syn synack ack "rst far" "data 0 $AT_GET" "no-ack 1 $AT_WAIT"
	check "3: decoy ClientHello with a bad TCP checksum, then GET: sink gets nothing" \
		at_none 4 41030 syn synack ack "data 0 $AT_HELLO badsum" "data 0 $AT_GET" \
		"no-ack 1 $AT_WAIT"
	check "4: decoy ClientHello without ACK flag, then GET: sink gets nothing" \
		at_none 4 41040 syn synack ack "data 0 $AT_HELLO noack" "data 0 $AT_GET" \
		"no-ack 1 $AT_WAIT"
	check "4: decoy ClientHello in an IPv4 first fragment (MF), then GET: sink gets nothing" \
		at_none 4 41041 syn synack ack "data 0 $AT_HELLO frag" "data 0 $AT_GET" \
		"no-ack 1 $AT_WAIT"
	check "5: the 11 magic bytes (lengths 0) then GET, one segment: sink gets nothing" \
		at_none 4 41050 syn synack ack "data 0 $AT_MAGIC$AT_GET" "no-ack 1 $AT_WAIT"
	# Each segment a valid head prefix on its own, acknowledging the host's
	# ISN itself (ack = ISN, one below what moat keeps): if the kernel took
	# them, it would assemble the magic bytes from their new parts.
	check "5: magic bytes assembled from overlapping segments with ACK = host's ISN: sink gets nothing" \
		at_none 4 41051 syn synack ack "data 0 16030100 ack=-1" "data 0 1603010100 ack=-1" \
		"data 0 1603010004010000 ack=-1" "data 0 1603010004010001000303$AT_GET ack=-1" \
		"no-ack 1 $AT_WAIT"
	check "7: GET dropped, re-SYN with a ClientHello on the tuple, GET again: sink gets nothing" \
		at_none 4 41070 syn synack ack "data 0 $AT_GET" "no-ack 1 $AT_WAIT" "syn $AT_HELLO" \
		"data 0 $AT_GET" "no-ack 1 $AT_WAIT"

	# --- 8. blind spoofed SYNs against a live connection --------------------------------------
	if check "8: a legitimate client (cli kernel, $CLI4) sends a ClientHello, then ticks" \
		at_legit_start; then
		check "8: spoofed SYN with 1 byte (0x16) on its tuple: its ticks keep reaching the sink" \
			at_spoof_syn 16
		check "8: spoofed SYN sweep (2000 source ports around it, 1 byte each): ticks keep coming" \
			at_spoof_sweep 16
		check "8: spoofed SYN sweep with a ClientHello head as payload: ticks keep coming" \
			at_spoof_sweep "${AT_HELLO:0:22}"
		lab_stop "$AT_LEGIT_PID"
	fi

	# --- 9. blind spoofed RSTs against the gateway's own connection ---------------------------
	for fam in 4 6; do
		if check "9 v$fam: the gateway's client gets lines from a server in cli" \
			at_outbound "$fam"; then
			check "9 v$fam: spoofed RSTs (near misses, 1000 over the sequence space): lines keep coming" \
				at_blind_rst "$fam"
		fi
	done
	for j in "${AT_LINES_PIDS[@]}"; do
		lab_stop "$j"
	done

	# --- 10. SSH ---------------------------------------------------------------------------------
	mark="junk-$LAB-10"
	s0=$(at_stats)
	check "10: SSH identification in the SYN (discarded), junk at ISN+1: sshd never gets it" \
		at_ssh_none 43010 "$mark" "syn $AT_SSHID" synack ack "data 0 $(at_hex "$mark"$'\r\n')" \
		"no-ack 1 $AT_WAIT"
	check "10: stats: gwd0 drop not_ssh counts it" at_grew "$s0" gwd0 drop not_ssh

	# --- 11. the host's own RST in SYN_RECV ----------------------------------------------------
	# ack 1: one above the host's ISN + 1, in moat's ACK window but not the
	# exact number the kernel's request socket wants: the listener answers
	# with a RST and the request lives on. (On 71d9293 the ACK moved the
	# entry to conns and the RST deleted it: no state.) Then a segment
	# starting before ISN+1: with no state, judged from its own first byte.
	for fam in 4 6; do
		check "11 v$fam: bad ACK in SYN_RECV (host RSTs), handshake, hello head + GET at ISN-10: sink gets nothing" \
			at_none "$fam" $((41110 + fam)) syn synack "ack 1" expect-rst ack \
			"data -11 ${AT_HELLO:0:22}$AT_GET" "no-ack 1 $AT_WAIT"
	done
	mark="junk-$LAB-11"
	check "11 ssh: bad ACK in SYN_RECV, handshake, 'SSH-2.0-' + junk at ISN-7: sshd never gets it" \
		at_ssh_none 43011 "$mark" syn synack "ack 1" expect-rst ack \
		"data -8 $(at_hex "SSH-2.0-$mark"$'\r\n')" "no-ack 1 $AT_WAIT"

	# --- 12. urgent data ----------------------------------------------------------------------
	# The head sent one urgent byte per segment, then GET: what the sink
	# reads must begin with what moat judged (the head), never with GET.
	# (Dropping the urgent bytes is fine: then the sink reads nothing.)
	for fam in 4 6; do
		steps=(syn synack ack)
		for ((j = 0; j < 11; j++)); do
			steps+=("data $j ${AT_HELLO:$((2 * j)):2} urg=1" "wait-ack $((j + 1)) 0.05")
		done
		check "12 v$fam: ClientHello head as 11 urgent bytes, then GET: the sink never reads GET first" \
			at_head_first "$fam" $((41120 + fam)) "${AT_HELLO:0:22}" "${steps[@]}" \
			"data 11 $AT_GET" "wait-ack $(( 11 + ${#AT_GET} / 2 )) $AT_WAIT"
	done
	mark="junk-$LAB-12"
	steps=(syn synack ack)
	sp=$(at_hex "SSH-2.0-")
	for ((j = 0; j < 8; j++)); do
		steps+=("data $j ${sp:$((2 * j)):2} urg=1" "wait-ack $((j + 1)) 0.05")
	done
	check "12 ssh: 'SSH-2.0-' as 8 urgent bytes, then junk: sshd never reads the junk alone" \
		at_ssh_none 43012 "$mark" "${steps[@]}" "data 8 $(at_hex "$mark"$'\r\n')" \
		"wait-ack $(( 8 + ${#mark} + 2 )) $AT_WAIT"

	# --- 13. the own pending entry evicted ------------------------------------------------
	# Once the sink's SYN queue is full, the kernel answers with SYN cookies:
	# no request socket, no SYN-ACK retransmission, so nothing looks the
	# entry up again. A flood bigger than one CPU's share of the LRU
	# conn_pending (the flood comes from every CPU in turn, so the CPU that
	# holds the entry gets its share) evicts it; the cookie ACK then completes a connection moat has no
	# state for, and the overlapping segment of 11 tries to carry GET.
	if check "13: conn_pending size and CPUs: flood size" at_flood_size; then
		check "13: SYN queue filled (cookies), handshake, $AT_FLOOD SYNs per CPU, cookie ACK, hello head + GET at ISN-10: sink gets nothing" \
			at_none 4 41130 "flood-build $((AT_PREFILL + AT_FLOOD * $(nproc)))" \
			"flood $((AT_PREFILL / $(nproc)))" \
			syn synack "flood $AT_FLOOD" ack "data -11 ${AT_HELLO:0:22}$AT_GET" \
			"no-ack 1 $AT_WAIT"

		# --- 14. a blind SYN flood against a handshake in flight ------------------
		# The same flood from other sources (blind: nothing of the victim's
		# connection in it) while a legitimate client's third ACK is on its
		# way (a slow client, or a faster flood): the client's connection
		# must work once it completes.
		AT_SRC4=$AT_SLOW4
		check "14: blind SYN flood ($AT_FLOOD SYNs per CPU, cookies) during a client's handshake: its ClientHello reaches the sink" \
			at_slow_client 41140 "flood-build $((AT_PREFILL + AT_FLOOD * $(nproc)))" \
			"flood $((AT_PREFILL / $(nproc)))" syn synack "flood $AT_FLOOD" ack \
			"data 0 $AT_HELLO" "expect-ack $(( ${#AT_HELLO} / 2 )) 2"
		AT_SRC4=$AT_FAKE4
	fi

	tap_lab_down
	echo "1..$T"
	[ "$FAILED" -eq 0 ]
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
