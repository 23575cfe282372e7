#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The inspector's cost and speed (issue 12), in the namespace lab with real
# nginx (one worker, TLS) and real load generators (wrk for HTTP/1.1, h2load
# for HTTP/2 and fixed rates). Every ratio compares runs of this one script,
# inspector on vs off by a reload of the same moatd and the same nginx,
# alternated round by round so that other load on the machine hits both.
#   saturation   req/s on/off (goal >= 0.80) and nginx CPU µs added per request,
#                h1 and h2, small GET and 4 KiB POST, keep-alive
#   fixed 2k/s   nginx p99 latency on/off (goal <= 1.05), none shed
#   bans         detection -> ban in force at XDP, p99 (goal < 100 ms) at
#                2k req/s with 10% attacks
#   memory       moatd + worker RSS with CRS loaded (goal < 64 MB)
# Figures go to build/bench/inspect.json; each goal is printed met/missed.
# ROUNDS and SECS shorten or lengthen it (default 3 rounds of 5 s); PARTS
# and KINDS pick what runs (e.g. PARTS=bans, KINDS=h1_get).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=scripts/lab.sh
. scripts/lab.sh

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
OUTDIR=build/bench
LIBSSL=/usr/lib/x86_64-linux-gnu/libssl.so.3
METRICS=http://127.0.0.1:9477
PY=/usr/bin/python3

die() { echo "inspect_bench: $*" >&2; exit 1; }
for t in wrk h2load nginx jq curl "$PY"; do command -v "$t" >/dev/null || die "$t missing: run make deps"; done
[ -x build/moat-inspect ] || die "build/moat-inspect not built: run make all"

lab_init "nb$(( $$ % 10000 ))" || die "lab_init"
lab_up || die "lab_up"
mkdir -p "$OUTDIR" "$LAB_DIR/ngx/tmp" || die mkdir

# --- nginx: one worker; /post reads its body (mirror) and answers 200 ---------
cp /usr/sbin/nginx "$LAB_DIR/nginx-bin" || die "copy nginx"
NGX=$LAB_DIR/nginx-bin
d=$LAB_DIR/ngx
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gw -addext "subjectAltName=IP:$GW4_CLI" \
	-keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null || die "cert"
chmod 711 "$d"
cat >"$d/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
user nobody nogroup;
pid $d/nginx.pid;
lock_file $d/nginx.lock;
error_log $LAB_DIR/nginx.log notice;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    ssl_certificate $d/cert.pem;
    ssl_certificate_key $d/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000000;
    http2_max_requests 1000000;
    client_body_buffer_size 16k;
    server {
        listen 443 ssl http2;
        default_type text/plain;
        location / { return 200 "ok\n"; }
        location /post { mirror /m; mirror_request_body on; error_page 404 405 =200 @ok; }
        location @ok { return 200 "ok\n"; }
        location = /m { internal; return 204; }
    }
}
NGINX
lab_spawn gw nginx "$NGX" -p "$d" -c "$d/nginx.conf" -e "$LAB_DIR/nginx.log"
NGINX_PID=$LAB_LAST_PID
listening() { [ "$(lab_in gw ss -Hltn 'sport = :443' | wc -l)" -ge 1 ]; }
lab_wait 10 listening || die "nginx not listening"
worker() { pgrep -P "$NGINX_PID" | head -n 1; }

# --- moatd, the inspector toggled by reloads ----------------------------------
CONF=$LAB_DIR/moat.yaml
write_conf() { # on|off
	local insp="inspector: { enabled: false }"
	[ "$1" = on ] && insp="inspector:
  enabled: true
  library: $LIBSSL
  processes: [$NGX]
  ban: { enabled: true, ttl: 10m, exempt: [\"$CLI4/32\"] }"
	lab_write_config "$CONF" "$insp"
}
scrape() { lab_in gw curl -sS --max-time 5 "$METRICS/metrics"; }
sample() { scrape | awk -v k="$1" '$1 == k { print $2 }'; }
attached_is() { [ "$(sample moat_inspector_attached_processes)" = "$1" ]; }
MODE=
set_mode() { # on|off
	[ "$MODE" = "$1" ] && return 0
	write_conf "$1" || die "config"
	if [ -z "$MODE" ]; then
		lab_moatd "$CONF" || die "moatd did not start"
	else
		lab_moatd_reload || die "reload"
	fi
	MODE=$1
	if [ "$1" = on ]; then lab_wait 10 attached_is 2 >/dev/null || die "inspector not attached"
	else lab_wait 10 attached_is 0 >/dev/null || die "inspector still attached"; fi
}

# --- load -------------------------------------------------------------------
URL=https://$GW4_CLI
head -c 4096 /dev/zero | tr '\0' a | sed 's/^/body=/' | head -c 4096 >"$LAB_DIR/post.txt"
cat >"$LAB_DIR/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local f = io.open("$LAB_DIR/post.txt", "rb"); wrk.body = f:read("*a"); f:close()
LUA
# cpu_ticks PID: utime + stime of a process (clock ticks)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# moatd's and its worker's CPU ticks (the inspector's side of the cost)
moat_ticks() {
	local t wk; t=$(cpu_ticks "$LAB_MOATD_PID")
	wk=$(pgrep -P "$LAB_MOATD_PID" -x moat-inspect) && t=$((t + $(cpu_ticks "$wk")))
	echo "$t"
}

# run_load KIND: one SECS run; prints "REQ_PER_S NGINX_CPU_US_PER_REQ MOAT_CPU_US_PER_REQ"
run_load() {
	local kind=$1 w t0 t1 m0 m1 out rps n
	w=$(worker)
	t0=$(cpu_ticks "$w") m0=$(moat_ticks)
	case $kind in
	h1_get)  out=$(lab_in cli taskset -c 0 wrk -t1 -c16 -d"${SECS}s" "$URL/" 2>&1) ;;
	h1_post) out=$(lab_in cli taskset -c 0 wrk -t1 -c16 -d"${SECS}s" -s "$LAB_DIR/post.lua" "$URL/post" 2>&1) ;;
	h2_get)  out=$(lab_in cli taskset -c 0 h2load -c16 -m10 -D "$SECS" "$URL/" 2>&1) ;;
	h2_post) out=$(lab_in cli taskset -c 0 h2load -c16 -m10 -D "$SECS" -d "$LAB_DIR/post.txt" \
			-H 'Content-Type: application/x-www-form-urlencoded' "$URL/post" 2>&1) ;;
	esac
	t1=$(cpu_ticks "$w") m1=$(moat_ticks)
	if [[ $kind == h1_* ]]; then
		rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
		n=$(awk '/requests in/ { print $1 }' <<<"$out")
	else
		rps=$(awk '/^finished in/ { gsub(",", ""); print $4 }' <<<"$out")
		n=$(awk '/^requests:/ { print $8 }' <<<"$out")
	fi
	[ -n "$rps" ] && [ -n "$n" ] && [ "$n" -gt 0 ] || { echo "$out" >&2; die "no figures from $kind"; }
	echo "$rps $(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')" \
		"$(awk -v d=$((m1 - m0)) -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

JSON=$LAB_DIR/inspect.json
echo '{}' >"$JSON"
put() { # KEY JSON-VALUE
	jq --arg k "$1" --argjson v "$2" '.[$k] = $v' "$JSON" >"$JSON.tmp" && mv "$JSON.tmp" "$JSON"
}
MET=0 MISSED=0
goal() { # NAME OK(0/1) TEXT
	if [ "$2" -eq 0 ]; then echo "  met:    $1: $3"; MET=$((MET + 1))
	else echo "  missed: $1: $3"; MISSED=$((MISSED + 1)); fi
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

echo "inspector bench: $ROUNDS rounds of ${SECS}s per figure, on and off alternated (nginx one worker)"
# PARTS (default all): saturation fixed bans; KINDS: which saturation loads.
PARTS=${PARTS:-saturation fixed bans}
has() { [[ " $PARTS " == *" $1 "* ]]; }
KINDS=${KINDS:-h1_get h1_post h2_get h2_post}
has saturation || KINDS=""
for kind in $KINDS; do
	: >"$LAB_DIR/$kind.off"; : >"$LAB_DIR/$kind.on"
	for ((r = 0; r < ROUNDS; r++)); do
		for m in off on; do
			set_mode "$m"
			run_load "$kind" >>"$LAB_DIR/$kind.$m"
		done
	done
	off=$(cut -d' ' -f1 "$LAB_DIR/$kind.off" | median) on=$(cut -d' ' -f1 "$LAB_DIR/$kind.on" | median)
	coff=$(cut -d' ' -f2 "$LAB_DIR/$kind.off" | median) con=$(cut -d' ' -f2 "$LAB_DIR/$kind.on" | median)
	moff=$(cut -d' ' -f3 "$LAB_DIR/$kind.off" | median) mon=$(cut -d' ' -f3 "$LAB_DIR/$kind.on" | median)
	ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')
	added=$(awk -v a="$con" -v b="$coff" 'BEGIN { printf "%.2f", a - b }')
	put "$kind" "{\"req_s_off\": $off, \"req_s_on\": $on, \"ratio\": $ratio,
		\"nginx_cpu_us_per_req_off\": $coff, \"nginx_cpu_us_per_req_on\": $con,
		\"nginx_cpu_us_added_per_req\": $added,
		\"moatd_worker_cpu_us_per_req_off\": $moff, \"moatd_worker_cpu_us_per_req_on\": $mon}"
	printf '  %-8s off %8.0f req/s %6.1f us/req   on %8.0f req/s %6.1f us/req   ratio %s  (+%s us nginx CPU/req; moatd+worker %s us/req)\n' \
		"$kind" "$off" "$coff" "$on" "$con" "$ratio" "$added" "$mon"
done

# --- fixed 2k req/s: p99 with vs without; none shed -------------------------------
# h2load --h1: 20 clients x 100 req/s, each request's latency in its log file.
fixed_p99() { # LOGFILE [URI-FILE]: runs 2k req/s for SECS*2, prints p99 in µs
	local args=(--h1 -c 20 --rps 100 -D $((SECS * 2)) --log-file "$1")
	if [ -n "${2:-}" ]; then args+=(-i "$2"); else args+=("$URL/"); fi
	lab_in cli taskset -c 0 h2load "${args[@]}" >"$1.out" 2>&1 || { cat "$1.out" >&2; die "h2load"; }
	awk -F'\t' '$2 == 200 { print $3 }' "$1" | sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print a[i] }'
}
: >"$LAB_DIR/p99.off"; : >"$LAB_DIR/p99.on"; : >"$LAB_DIR/shed"
shed0=0
FIXED_ROUNDS=$ROUNDS
has fixed || FIXED_ROUNDS=0
for ((r = 0; r < FIXED_ROUNDS; r++)); do
	for m in off on; do
		set_mode "$m"
		[ "$m" = on ] && shed0=$(sample 'moat_inspector_requests_total{result="shed"}')
		fixed_p99 "$LAB_DIR/fixed.$m.$r.log" >>"$LAB_DIR/p99.$m"
		[ "$m" = on ] && shed=$(( $(sample 'moat_inspector_requests_total{result="shed"}') - shed0 )) &&
			echo "$shed" >>"$LAB_DIR/shed"
	done
done
if [ "$FIXED_ROUNDS" -gt 0 ]; then
	p_off=$(median <"$LAB_DIR/p99.off") p_on=$(median <"$LAB_DIR/p99.on")
	shed=$(awk '{ s += $1 } END { print s + 0 }' "$LAB_DIR/shed")
	p_ratio=$(awk -v a="$p_on" -v b="$p_off" 'BEGIN { printf "%.3f", a / b }')
	put fixed_2k "{\"p99_us_off\": $p_off, \"p99_us_on\": $p_on, \"ratio\": $p_ratio, \"shed\": $shed}"
	printf '  fixed 2k req/s: p99 off %s us, on %s us, ratio %s, shed %s\n' "$p_off" "$p_on" "$p_ratio" "$shed"
fi

# --- detection -> ban in force, at 2k req/s with 10% attacks ------------------------
# The background: 2k req/s from the exempt client, one request in ten an XSS.
# The timed attacks: one every 100 ms, each from its own address, over TLS
# (Python's ssl, HTTP/1.1); the time from sending the request to its
# detection line reaching moatctl events, which moatd writes only after
# the ban is in the XDP program's ban table: an upper bound of the delay.
if has bans; then
set_mode on
NB=${BANS:-40}	# each run of attacks; two runs, 2*NB addresses (at most 150)
for ((i = 0; i < 2 * NB; i++)); do
	lab_in cli ip addr add "198.18.1.$((100 + i))/24" dev eth0 || die "address"
done
: >"$LAB_DIR/uris"
for ((i = 0; i < 9; i++)); do echo "$URL/search?q=item$i&page=2" >>"$LAB_DIR/uris"; done
echo "$URL/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E" >>"$LAB_DIR/uris"
cat >"$LAB_DIR/bans.py" <<'PY'
import json, os, socket, ssl, subprocess, sys, threading, time
gw, n, moatctl, pin, gwns, base = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
ev = subprocess.Popen(["nsenter", "--net=" + gwns, moatctl, "--pin-dir", pin, "--json", "events"],
                      stdout=subprocess.PIPE, text=True)
seen = {}
def reader():
    for line in ev.stdout:
        t = time.monotonic()
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("event") == "detection" and o.get("action") == "banned":
            seen.setdefault(o["client"], t)
threading.Thread(target=reader, daemon=True).start()
# Ready when its ring is mapped.
while "anon_inode:bpf-map" not in open("/proc/%d/maps" % ev.pid).read():
    time.sleep(0.01)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
sent = {}
for i in range(n):
    src = "198.18.1.%d" % (base + i)
    s = socket.create_connection((gw, 443), timeout=5, source_address=(src, 0))
    t = ctx.wrap_socket(s)
    req = b"GET /login?next=%3Cscript%3Ealert(document.domain)%3C%2Fscript%3E HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
    sent[src] = time.monotonic()
    t.sendall(req)
    try:
        t.recv(4096)
    except OSError:
        pass
    t.close()
    time.sleep(0.1)
deadline = time.monotonic() + 5
while len(seen) < n and time.monotonic() < deadline:
    time.sleep(0.05)
ev.terminate()
d = sorted((seen[a] - sent[a]) * 1000 for a in sent if a in seen)
print(json.dumps({"attacks": n, "banned": len(d), "ms": d}))
PY
# First with no other traffic: moatd's own path (probe, worker, ban, event).
lab_in cli "$PY" "$LAB_DIR/bans.py" "$GW4_CLI" "$NB" "$LAB_BUILD/moatctl" "$LAB_PIN" \
	"/run/netns/$LAB-gw" 100 >"$LAB_DIR/bans_idle.json" 2>"$LAB_DIR/bans.err" || { cat "$LAB_DIR/bans.err" >&2; die "bans.py"; }
idle_p99=$(jq '.ms | if length == 0 then 1e9 else .[(length * 0.99 | floor) - (if length * 0.99 == (length * 0.99 | floor) then 1 else 0 end)] end' "$LAB_DIR/bans_idle.json")
printf '  bans with no other traffic: %s of %s banned, detection -> ban p99 %.1f ms\n' \
	"$(jq .banned "$LAB_DIR/bans_idle.json")" "$NB" "$idle_p99"
hist() { scrape | awk '/^moat_inspector_detection_latency_seconds_bucket/ {
	match($0, /le="[^"]*"/); print substr($0, RSTART + 4, RLENGTH - 5), $2 }'; }
hist >"$LAB_DIR/hist0"
lab_in cli taskset -c 0 h2load --h1 -c 20 --rps 100 -D $((SECS * 3)) -i "$LAB_DIR/uris" \
	>"$LAB_DIR/bg.out" 2>&1 &
BG=$!
lab_in cli "$PY" "$LAB_DIR/bans.py" "$GW4_CLI" "$NB" "$LAB_BUILD/moatctl" "$LAB_PIN" \
	"/run/netns/$LAB-gw" $((100 + NB)) >"$LAB_DIR/bans.json" 2>"$LAB_DIR/bans.err" || { cat "$LAB_DIR/bans.err" >&2; die "bans.py"; }
wait "$BG"
# The worker's side of it: request read -> verdict in moatd, p99 as a histogram bound.
hist >"$LAB_DIR/hist1"
verdict_p99=$(join "$LAB_DIR/hist0" "$LAB_DIR/hist1" | awk '{ le[NR] = $1; c[NR] = $3 - $2 }
	END { n = c[NR]; for (i = 1; i <= NR; i++) if (c[i] >= 0.99 * n) { print le[i]; exit } }')
banned=$(jq .banned "$LAB_DIR/bans.json")
ban_p99=$(jq '.ms | if length == 0 then 1e9 else .[(length * 0.99 | floor) - (if length * 0.99 == (length * 0.99 | floor) then 1 else 0 end)] end' "$LAB_DIR/bans.json")
ban_p50=$(jq '.ms | if length == 0 then 1e9 else .[length / 2 | floor] end' "$LAB_DIR/bans.json")
bg_ok=$(awk '/^requests:/ { print $8 }' "$LAB_DIR/bg.out")
put bans "{\"attacks\": $NB, \"banned\": $banned, \"p50_ms\": $ban_p50, \"p99_ms\": $ban_p99,
	\"idle_p99_ms\": $idle_p99, \"idle_ms\": $(jq -c .ms "$LAB_DIR/bans_idle.json"),
	\"ms\": $(jq -c .ms "$LAB_DIR/bans.json"), \"background_requests_ok\": ${bg_ok:-0}, \"read_to_verdict_p99_le_s\": \"${verdict_p99}\"}"
printf '  bans: %s of %s timed attacks banned, detection -> ban p50 %.1f ms, p99 %.1f ms (background %s requests at 2k/s, 10%% attacks; read -> verdict p99 <= %s s)\n' \
	"$banned" "$NB" "$ban_p50" "$ban_p99" "${bg_ok:-0}" "$verdict_p99"
fi

# --- memory: moatd + worker with CRS loaded, after all that ---------------------------
set_mode on
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
wk=$(pgrep -P "$LAB_MOATD_PID" -x moat-inspect)
rss=$(( $(rss_kb "$LAB_MOATD_PID") + $(rss_kb "$wk") ))
put memory "{\"moatd_kb\": $(rss_kb "$LAB_MOATD_PID"), \"worker_kb\": $(rss_kb "$wk"), \"total_kb\": $rss}"
printf '  memory: moatd + worker RSS %d kB\n' "$rss"

# --- goals --------------------------------------------------------------------------
echo "goals:"
for kind in $KINDS; do
	r=$(jq ".$kind.ratio" "$JSON")
	ge "$r" 0.80; goal "$kind on/off >= 0.80" $? "$r"
done
if [ "$FIXED_ROUNDS" -gt 0 ]; then
	ge 1.05 "$p_ratio"; goal "fixed 2k req/s p99 on/off <= 1.05" $? "$p_ratio"
	[ "$shed" -eq 0 ]; goal "fixed 2k req/s: none shed" $? "$shed shed"
fi
if has bans; then
	[ "$banned" -eq "$NB" ] && ge 100 "$ban_p99"
	goal "detection -> ban p99 < 100 ms at 2k req/s" $? "p99 ${ban_p99} ms, $banned/$NB banned"
fi
[ "$rss" -lt 65536 ]; goal "moatd + worker RSS < 64 MB" $? "$rss kB"
put goals "{\"met\": $MET, \"missed\": $MISSED}"
cp "$JSON" "$OUTDIR/inspect.json"
echo "figures in $OUTDIR/inspect.json"
lab_down
