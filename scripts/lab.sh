# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# moat's network-namespace lab, sourced by the e2e tests and the demo.
#
#        cli (eth0) ---- (gwc0) gw (gwd0) ---- (eth0) ops
#   198.18.1.2  2001:db8:1::2   |   198.18.2.2  2001:db8:2::2
#                      198.18.1.1 / 2001:db8:1::1 , 198.18.2.1 / 2001:db8:2::1
#
#   lab_init PREFIX          LAB, LAB_DIR, LAB_PIN; mounts bpffs; trap -> lab_down
#   lab_up                   namespaces $LAB-{cli,ops,gw}, veths, addresses
#   lab_nginx                gw: nginx (TLS 443, plain 80/8080), UDP echo on 5353;
#                            LAB_NGINX_BIN runs a copy of nginx (an executable of
#                            this lab's own, e.g. for the inspector's process list)
#   lab_sshd                 gw: sshd on 22, client key in $LAB_DIR/ssh
#   lab_write_config FILE [LINE...]   moat.yaml for the lab (a LINE that starts
#                            with a top-level key replaces the default for that key)
#   lab_moatd CONFIG         gw: build/moatd -c CONFIG, waits until ready and attached
#   lab_moatd_reload         SIGHUP to moatd, waits until it is ready again
#   lab_notify_count MSG     how many MSG (READY=1...) moatd sent on NOTIFY_SOCKET
#   lab_moatctl ARGS...      gw: build/moatctl --pin-dir $LAB_PIN ARGS...
#   lab_in NS CMD...         runs CMD in $LAB-NS (nsenter: bpffs stays visible)
#   lab_ssh NS ADDR CMD...   ssh from NS to ADDR with the lab key
#   lab_session_start        an SSH session ops -> gw held open (ssh ... cat);
#                            lab_session_roundtrip TAG: a line comes back;
#                            lab_session_close ends it
#   lab_spawn NS NAME CMD... background CMD in NS, log $LAB_DIR/NAME.log, pid in
#                            LAB_LAST_PID, killed by lab_down (call it from the
#                            main shell, not from $(...), or lab_down can't see it)
#   lab_stop PID             stops one process lab_spawn started, and its children
#   lab_wait SECS CMD...     polls CMD until it succeeds or SECS pass
#   lab_down                 removes everything (idempotent; also run by the trap);
#                            LAB_KEEP_LOGS=DIR keeps a copy of the *.log files
#
# Every namespace, pin and process carries the prefix and is removed on every
# exit path. Nothing is created in the root network namespace.

LAB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_BUILD=${BUILD:-build}
[[ $LAB_BUILD == /* ]] || LAB_BUILD=$LAB_REPO/$LAB_BUILD

GW4_CLI=198.18.1.1  GW6_CLI=2001:db8:1::1
CLI4=198.18.1.2     CLI6=2001:db8:1::2
GW4_OPS=198.18.2.1  GW6_OPS=2001:db8:2::1
OPS4=198.18.2.2     OPS6=2001:db8:2::2
export GW4_CLI GW6_CLI CLI4 CLI6 GW4_OPS GW6_OPS OPS4 OPS6

# What nginx answers on every port and path.
LAB_BODY="moat lab gateway"
export LAB_BODY

lab_log() { echo "lab: $*" >&2; }

# CMD given to lab_wait returns this to stop waiting (e.g. the daemon died).
LAB_GIVE_UP=222

# lab_wait SECS CMD... -- polls CMD every 0.1 s; 0 once it succeeds, 1 at the
# deadline or when CMD returns $LAB_GIVE_UP.
lab_wait() {
	local secs=$1 rc; shift
	local end=$(( ${EPOCHREALTIME/./} + secs * 1000000 ))
	while :; do
		"$@"; rc=$?
		[ $rc -eq 0 ] && return 0
		[ $rc -eq $LAB_GIVE_UP ] && return 1
		(( ${EPOCHREALTIME/./} >= end )) && return 1
		sleep 0.1
	done
}

lab_init() {
	local prefix=${1:?usage: lab_init PREFIX}
	if [[ ! $prefix =~ ^[A-Za-z][A-Za-z0-9]{0,7}$ ]]; then
		lab_log "prefix '$prefix': want a letter then up to 7 letters/digits"
		return 2
	fi
	if [ "$(id -u)" -ne 0 ]; then
		lab_log "needs root"
		return 1
	fi
	local ns
	for ns in cli ops gw; do
		if [ -e "/run/netns/$prefix-$ns" ]; then
			lab_log "namespace $prefix-$ns already exists: not ours, refusing"
			return 1
		fi
	done
	if [ -e "/sys/fs/bpf/$prefix" ]; then
		lab_log "/sys/fs/bpf/$prefix already exists: not ours, refusing"
		return 1
	fi
	LAB=$prefix
	LAB_PIN=/sys/fs/bpf/$LAB
	LAB_PIDS=()		# "pid:starttime", so that a recycled pid is never killed
	LAB_MOATD_PID=
	LAB_DIR=$(mktemp -d "/tmp/$LAB.XXXX") || return 1
	# nginx workers run unprivileged and must reach their temp folders.
	chmod 711 "$LAB_DIR"
	export LAB LAB_DIR LAB_PIN
	trap lab_down EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# bpffs: mounted once for the host (other labs may be using it), never unmounted.
	if [ "$(stat -f -c %T /sys/fs/bpf)" != bpf_fs ]; then
		# shellcheck disable=SC2016 # expanded by that sh
		flock /sys/fs/bpf sh -c \
			'[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf' ||
			{ lab_log "couldn't mount bpffs on /sys/fs/bpf"; return 1; }
	fi
}

lab_in() {
	local ns=$1; shift
	nsenter --net="/run/netns/$LAB-$ns" "$@"
}

_lab_starttime() { # field 22 of /proc/PID/stat (after the "(comm)" field)
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	local -a f
	read -ra f <<<"$stat"
	echo "${f[19]}"
}

lab_spawn() {
	local ns=$1 name=$2; shift 2
	nsenter --net="/run/netns/$LAB-$ns" "$@" </dev/null >>"$LAB_DIR/$name.log" 2>&1 &
	LAB_LAST_PID=$!
	LAB_PIDS+=("$LAB_LAST_PID:$(_lab_starttime "$LAB_LAST_PID")")
}

# Whether PID is still the process lab_spawn started (not exited, not recycled).
_lab_ours() {
	local entry
	for entry in "${LAB_PIDS[@]}"; do
		if [ "${entry%%:*}" = "$1" ]; then
			[ "$(_lab_starttime "$1")" = "${entry#*:}" ]
			return $?	# explicit: a bare return in a trap handler returns the pre-trap status
		fi
	done
	return 1
}

_lab_descendants() {
	local child
	for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$child"
		_lab_descendants "$child"
	done
}

_lab_gone() {
	local p
	for p in "$@"; do
		# A zombie child of ours counts as gone.
		[ -e "/proc/$p" ] && [[ $(ps -o stat= -p "$p" 2>/dev/null) != Z* ]] && return 1
	done
	return 0
}

# lab_stop PID -- TERM (then KILL after 5 s) a process lab_spawn started, with
# whatever it forked (nginx workers, sshd sessions, socat children).
lab_stop() {
	local pid=$1 tree
	_lab_ours "$pid" || return 0
	mapfile -t tree < <(echo "$pid"; _lab_descendants "$pid")
	kill -TERM "${tree[@]}" 2>/dev/null
	if ! lab_wait 5 _lab_gone "${tree[@]}"; then
		lab_log "pid $pid did not stop on SIGTERM, killing"
		kill -KILL "${tree[@]}" 2>/dev/null
		lab_wait 2 _lab_gone "${tree[@]}"
	fi
	wait "$pid" 2>/dev/null
	return 0
}

lab_down() {
	[ -n "${LAB:-}" ] || return 0
	local i ns rc=0
	for (( i = ${#LAB_PIDS[@]} - 1; i >= 0; i-- )); do
		lab_stop "${LAB_PIDS[i]%%:*}"
	done
	LAB_PIDS=()
	if [[ $LAB_PIN == /sys/fs/bpf/?* ]] && [ -e "$LAB_PIN" ]; then
		if [ -x "$LAB_BUILD/moatctl" ] && [ -e "/run/netns/$LAB-gw" ]; then
			lab_moatctl unload >/dev/null 2>&1 || lab_log "moatctl unload failed (pins removed anyway)"
		fi
		rm -rf "$LAB_PIN" || rc=1
	fi
	for ns in gw cli ops; do
		if [ -e "/run/netns/$LAB-$ns" ]; then
			ip netns del "$LAB-$ns" || rc=1
		fi
	done
	if [[ ${LAB_DIR:-} == /tmp/$LAB.* ]] && [ -d "$LAB_DIR" ]; then
		if [ -n "${LAB_KEEP_LOGS:-}" ]; then
			mkdir -p "$LAB_KEEP_LOGS" && cp "$LAB_DIR"/*.log "$LAB_KEEP_LOGS"/ 2>/dev/null
		fi
		rm -rf "$LAB_DIR" || rc=1
	fi
	return $rc
}

_lab_links_ready() {
	local ns dev ns_dev
	for ns_dev in gw:gwc0 gw:gwd0 cli:eth0 ops:eth0; do
		ns=${ns_dev%%:*} dev=${ns_dev#*:}
		ip -n "$LAB-$ns" -o link show dev "$dev" | grep -q 'state UP' || return 1
		[ -z "$(ip -n "$LAB-$ns" -6 -o addr show dev "$dev" tentative)" ] || return 1
	done
}

# Two-way reachability: a TCP connect to a closed port is refused at once
# when both directions work (and needs no ping, which moat may drop).
_lab_reach() { # NS ADDR
	# shellcheck disable=SC2016 # expanded by that bash
	lab_in "$1" timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/9"' "$2" 2>&1 | grep -q 'Connection refused'
}

lab_up() {
	local ns
	for ns in gw cli ops; do
		ip netns add "$LAB-$ns" || return 1
	done
	# Created directly in the namespaces: nothing ever appears in the root one.
	ip link add name gwc0 netns "$LAB-gw" type veth peer name eth0 netns "$LAB-cli" || return 1
	ip link add name gwd0 netns "$LAB-gw" type veth peer name eth0 netns "$LAB-ops" || return 1

	lab_in gw sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 \
		net.ipv6.conf.gwc0.accept_dad=0 net.ipv6.conf.gwd0.accept_dad=0 || return 1
	lab_in cli sysctl -qw net.ipv6.conf.eth0.accept_dad=0 || return 1
	lab_in ops sysctl -qw net.ipv6.conf.eth0.accept_dad=0 || return 1

	ip -n "$LAB-gw" addr add "$GW4_CLI/24" dev gwc0 &&
	ip -n "$LAB-gw" addr add "$GW6_CLI/64" dev gwc0 nodad &&
	ip -n "$LAB-gw" addr add "$GW4_OPS/24" dev gwd0 &&
	ip -n "$LAB-gw" addr add "$GW6_OPS/64" dev gwd0 nodad &&
	ip -n "$LAB-cli" addr add "$CLI4/24" dev eth0 &&
	ip -n "$LAB-cli" addr add "$CLI6/64" dev eth0 nodad &&
	ip -n "$LAB-ops" addr add "$OPS4/24" dev eth0 &&
	ip -n "$LAB-ops" addr add "$OPS6/64" dev eth0 nodad || return 1
	for ns in gw cli ops; do
		ip -n "$LAB-$ns" link set lo up || return 1
	done
	ip -n "$LAB-gw" link set gwc0 up && ip -n "$LAB-gw" link set gwd0 up &&
	ip -n "$LAB-cli" link set eth0 up && ip -n "$LAB-ops" link set eth0 up || return 1

	if ! lab_wait 10 _lab_links_ready; then
		lab_log "links did not come up"
		return 1
	fi
	local pair
	for pair in "cli $GW4_CLI" "cli $GW6_CLI" "ops $GW4_OPS" "ops $GW6_OPS"; do
		if ! lab_wait 10 _lab_reach "${pair%% *}" "${pair#* }"; then
			lab_log "no reply from ${pair#* } in $LAB-${pair%% *}"
			return 1
		fi
	done
}

# How many listening sockets in gw match an ss filter.
_lab_listening() { # ss-flags filter
	lab_in gw ss -H "$1" "$2" | wc -l
}

_lab_alive_or_log() { # PID NAME
	kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1") != Z* ]] && return 0
	lab_log "$2 exited; last lines of $LAB_DIR/$2.log:"
	tail -n 20 "$LAB_DIR/$2.log" >&2
	return 1
}

_lab_nginx_ready() { # nginx-pid udp4-pid udp6-pid
	_lab_alive_or_log "$1" nginx || return $LAB_GIVE_UP
	_lab_alive_or_log "$2" udp4 || return $LAB_GIVE_UP
	_lab_alive_or_log "$3" udp6 || return $LAB_GIVE_UP
	[ "$(_lab_listening -ltn '( sport = :443 or sport = :80 or sport = :8080 )')" -ge 6 ] &&
	[ "$(_lab_listening -lun 'sport = :5353')" -ge 2 ]
}

lab_nginx() {
	local d=$LAB_DIR/nginx
	mkdir -p "$d/tmp" || return 1
	chmod 711 "$d"
	# Self-signed, made now; SANs are the gateway's addresses.
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gw \
		-addext "subjectAltName=IP:$GW4_CLI,IP:$GW6_CLI,IP:$GW4_OPS,IP:$GW6_OPS" \
		-keyout "$d/key.pem" -out "$d/cert.pem" 2>"$d/openssl.log" || return 1
	LAB_CERT=$d/cert.pem
	export LAB_CERT
	cat >"$d/nginx.conf" <<-EOF
	daemon off;
	worker_processes 1;
	user nobody nogroup;
	pid $d/nginx.pid;
	lock_file $d/nginx.lock;
	error_log $LAB_DIR/nginx.log notice;
	events { worker_connections 256; }
	http {
	    access_log $d/access.log;
	    client_body_temp_path $d/tmp/body;
	    proxy_temp_path $d/tmp/proxy;
	    fastcgi_temp_path $d/tmp/fastcgi;
	    uwsgi_temp_path $d/tmp/uwsgi;
	    scgi_temp_path $d/tmp/scgi;
	    ssl_certificate $d/cert.pem;
	    ssl_certificate_key $d/key.pem;
	    ssl_protocols TLSv1.2 TLSv1.3;
	    server {
	        listen 443 ssl http2 fastopen=64;
	        listen [::]:443 ssl http2 fastopen=64;
	        listen 80;
	        listen [::]:80;
	        listen 8080;
	        listen [::]:8080;
	        default_type text/plain;
	        location / { return 200 "$LAB_BODY\n"; }
	    }
	}
	EOF
	lab_spawn gw nginx "${LAB_NGINX_BIN:-/usr/sbin/nginx}" -p "$d" -c "$d/nginx.conf" -e "$LAB_DIR/nginx.log"
	LAB_NGINX_PID=$LAB_LAST_PID
	# UDP echo: each datagram is answered by its own short-lived child.
	lab_spawn gw udp4 socat -T 1 UDP4-RECVFROM:5353,fork PIPE
	local u4=$LAB_LAST_PID
	lab_spawn gw udp6 socat -T 1 UDP6-RECVFROM:5353,ipv6only=1,fork PIPE
	local u6=$LAB_LAST_PID
	if ! lab_wait 10 _lab_nginx_ready "$LAB_NGINX_PID" "$u4" "$u6"; then
		lab_log "nginx / UDP echo not listening in $LAB-gw"
		return 1
	fi
}

_lab_sshd_ready() { # pid
	_lab_alive_or_log "$1" sshd || return $LAB_GIVE_UP
	[ "$(_lab_listening -ltn 'sport = :22')" -ge 2 ]
}

lab_sshd() {
	local d=$LAB_DIR/ssh
	mkdir -p "$d" && chmod 700 "$d" || return 1
	ssh-keygen -q -t ed25519 -N '' -C "$LAB-host" -f "$d/host_key" &&
	ssh-keygen -q -t ed25519 -N '' -C "$LAB-client" -f "$d/client_key" &&
	cp "$d/client_key.pub" "$d/authorized_keys" || return 1
	cat >"$d/sshd_config" <<-EOF
	Port 22
	ListenAddress 0.0.0.0
	ListenAddress ::
	HostKey $d/host_key
	AuthorizedKeysFile $d/authorized_keys
	UsePAM no
	StrictModes no
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PidFile /run/sshd.pid
	EOF
	# sshd wants /run/sshd: give it a private /run in its own mount namespace.
	# shellcheck disable=SC2016 # expanded by that sh
	lab_spawn gw sshd unshare -m --propagation private sh -c \
		'mount -t tmpfs -o mode=755 lab-run /run && mkdir -m 755 /run/sshd &&
		 /usr/sbin/sshd -t -f "$1" && exec /usr/sbin/sshd -D -e -f "$1"' sh "$d/sshd_config"
	LAB_SSHD_PID=$LAB_LAST_PID
	if ! lab_wait 10 _lab_sshd_ready "$LAB_SSHD_PID"; then
		lab_log "sshd not listening in $LAB-gw"
		return 1
	fi
}

lab_ssh() {
	local ns=$1 addr=$2; shift 2
	# ConnectTimeout bounds the connect; timeout bounds the rest.
	lab_in "$ns" timeout 30 ssh -F /dev/null -i "$LAB_DIR/ssh/client_key" -o IdentitiesOnly=yes \
		-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=3 -o LogLevel=ERROR \
		"root@$addr" "$@"
}

# An SSH session from ops to gw that this shell holds open: `ssh ... cat`,
# its stdin a fifo (fd LAB_SESSION_FD), its stdout $LAB_DIR/session.out, its
# log presession.log, its pid LAB_SESSION_PID.
lab_session_start() {
	LAB_SESSION_IN=$LAB_DIR/session.in
	LAB_SESSION_OUT=$LAB_DIR/session.out
	mkfifo "$LAB_SESSION_IN" && : >"$LAB_SESSION_OUT" || return 1
	exec {LAB_SESSION_FD}<>"$LAB_SESSION_IN" || return 1
	# shellcheck disable=SC2016 # expanded by that bash
	lab_spawn ops presession bash -c 'exec timeout 600 ssh -F /dev/null -i "$2" \
		-o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
		-o ConnectTimeout=3 -o LogLevel=ERROR "root@$3" cat <"$0" >"$1"' \
		"$LAB_SESSION_IN" "$LAB_SESSION_OUT" "$LAB_DIR/ssh/client_key" "$GW4_OPS"
	LAB_SESSION_PID=$LAB_LAST_PID
}
_lab_session_has() { # LINE
	_lab_alive_or_log "$LAB_SESSION_PID" presession || return $LAB_GIVE_UP
	grep -qx -- "$1" "$LAB_SESSION_OUT"
}
lab_session_roundtrip() { # TAG: a line through the session comes back within 10 s
	local line="$LAB-$1"
	_lab_ours "$LAB_SESSION_PID" || { echo "the ssh session is gone"; return 1; }
	echo "$line" >&"$LAB_SESSION_FD" || return 1
	lab_wait 10 _lab_session_has "$line" && { echo "came back: $line"; return 0; }
	echo "no echo of '$line'; session output:"; cat "$LAB_SESSION_OUT"
	echo "session log:"; tail -n 5 "$LAB_DIR/presession.log"
	return 1
}
lab_session_close() { exec {LAB_SESSION_FD}>&-; }

lab_write_config() {
	local file=${1:?usage: lab_write_config FILE [LINE...]}; shift
	local extra="" line key
	for line in "$@"; do
		extra+="$line"$'\n'
	done
	mkdir -p "$LAB_DIR/state" || return 1
	# Defaults, each skipped when an extra line sets the same top-level key.
	local -A dflt=(
		[interfaces]="interfaces: [gwc0, gwd0]"
		[pin_dir]="pin_dir: $LAB_PIN"
		[state_dir]="state_dir: $LAB_DIR/state"
		[tls]="tls: { ports: [443] }"
		[ssh]="ssh:
  ports: [22]
  devops:
    - { cidr: \"$OPS4/32\", name: ops4 }
    - { cidr: \"$OPS6/128\", name: ops6 }"
		[metrics]='metrics: { listen: "127.0.0.1:9477" }'
		[inspector]="inspector: { enabled: false }"
	)
	{
		echo "# moat lab $LAB"
		for key in interfaces pin_dir state_dir tls ssh metrics inspector; do
			grep -q "^$key:" <<<"$extra" || echo "${dflt[$key]}"
		done
		printf '%s' "$extra"
	} >"$file"
}

lab_moatctl() {
	lab_in gw "$LAB_BUILD/moatctl" --pin-dir "$LAB_PIN" "$@"
}

# moatd speaks systemd's notify protocol (Type=notify): READY=1 once a policy
# is in force, at start and after each SIGHUP. lab_moatd waits for it: a
# status showing the interfaces attached is not enough on its own, since after
# a restart it shows the previous moatd's pins until the new one has swapped
# in its generation. The lab listens on $LAB_DIR/notify.sock.

# lab_notify_count MSG -- how many times moatd has sent MSG (READY=1,
# RELOADING=1, STOPPING=1) since the lab started.
lab_notify_count() {
	grep -o "$1" "$LAB_DIR/notify.log" 2>/dev/null | wc -l
}
_lab_notify_ready() { lab_notify_count READY=1; }

_lab_notify_listen() {
	[ -n "${LAB_NOTIFY_PID:-}" ] && _lab_ours "$LAB_NOTIFY_PID" && return 0
	rm -f "$LAB_DIR/notify.sock"
	lab_spawn gw notify socat -u "UNIX-RECV:$LAB_DIR/notify.sock" STDOUT
	LAB_NOTIFY_PID=$LAB_LAST_PID
	lab_wait 5 test -S "$LAB_DIR/notify.sock"
}

_lab_moatd_ready() { # READY=1 count to exceed
	_lab_alive_or_log "$LAB_MOATD_PID" moatd || return $LAB_GIVE_UP
	[ "$(_lab_notify_ready)" -gt "$1" ] || return 1
	lab_moatctl --json status 2>/dev/null |
		jq -e '(.interfaces | length) > 0 and all(.interfaces[]; .attached == true)' >/dev/null 2>&1
}

lab_moatd() {
	local conf=${1:?usage: lab_moatd CONFIG} ready rc=0
	if [ ! -x "$LAB_BUILD/moatd" ] || [ ! -x "$LAB_BUILD/moatctl" ]; then
		lab_log "$LAB_BUILD/moatd or moatctl not built"
		return 1
	fi
	_lab_notify_listen || { lab_log "no notify socket"; return 1; }
	ready=$(_lab_notify_ready)
	lab_spawn gw moatd env NOTIFY_SOCKET="$LAB_DIR/notify.sock" "$LAB_BUILD/moatd" -c "$conf"
	LAB_MOATD_PID=$LAB_LAST_PID
	lab_wait 30 _lab_moatd_ready "$ready" || rc=$?
	if [ $rc -ne 0 ]; then
		# (_lab_moatd_ready has already shown the log if moatd exited)
		kill -0 "$LAB_MOATD_PID" 2>/dev/null &&
			lab_log "moatd not ready (READY=1 and attached) within 30 s; see $LAB_DIR/moatd.log"
		return 1
	fi
}

# lab_moatd_reload -- SIGHUP to moatd, then waits for its READY=1. moatd sends
# READY=1 whether the new file was accepted or refused: check the outcome.
lab_moatd_reload() {
	local ready; ready=$(_lab_notify_ready)
	kill -HUP "$LAB_MOATD_PID" || return 1
	lab_wait 30 _lab_moatd_ready "$ready"
}
