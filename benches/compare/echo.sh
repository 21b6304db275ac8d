#!/usr/bin/env bash
# Loopback echo: rfc6455's tokio echo server (examples/echo_server.rs) and the peers' echo
# servers (src/bin/echo_*.rs) under the same closed-loop load from src/bin/loadgen.rs.
#
#   benches/compare/echo.sh                  # 1/16/256 connections x 1/16 in flight x 16 B/1 KiB/64 KiB
#   DURATION=10 ROUNDS=3 benches/compare/echo.sh
#
# Every server runs with TOKIO_WORKER_THREADS=1 pinned to CPU $SERVER_CPU (default 0); the
# load generator (one thread) is pinned to CPU $CLIENT_CPU (default 1). All servers are up
# at once (idle ones sleep in epoll) and each configuration is measured on every server in
# turn, so slow drifts of a shared machine hit all of them alike. Prints msgs/s, p50 and
# p99 per server, the server's CPU time per echoed message (from /proc/PID/stat; robust to
# other load on the machine, which msgs/s is not), rfc6455's msgs/s over the best peer's,
# and the best peer's CPU per message over rfc6455's (above 1: rfc6455 needs less CPU).
#
# Environment: DURATION (s, default 5), WARMUP (s, 1), CONNS ("1 16 256"), INFLIGHT ("1 16":
# messages each connection sends before waiting for their echoes),
# SIZES ("16 1024 65536"), SERVERS ("rfc6455 tungstenite fastwebsockets tokio-websockets"),
# ROUNDS (1; the median round by msgs/s is reported, with its latencies and CPU), SERVER_CPU,
# CLIENT_CPU, OUT (directory for raw results and server logs; default a new temp dir),
# BUILD (1; 0 runs the binaries already built).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-"1 16 256"}
INFLIGHT=${INFLIGHT:-"1 16"}
SIZES=${SIZES:-"16 1024 65536"}
SERVERS=${SERVERS:-"rfc6455 tungstenite fastwebsockets tokio-websockets"}
ROUNDS=${ROUNDS:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OUT=${OUT:-$(mktemp -d /tmp/rfc6455-echo.XXXXXX)}
mkdir -p "$OUT"

if [ "${BUILD:-1}" = 1 ]; then
    echo "building (release)..." >&2
    (cd "$ROOT" && cargo build --release --example echo_server) >&2
    (cd "$HERE" && cargo build --release --bins) >&2
fi
LOADGEN="$HERE/target/release/loadgen"

server_cmd() {
    case "$1" in
        rfc6455) echo "$ROOT/target/release/examples/echo_server" ;;
        tungstenite) echo "$HERE/target/release/echo_tungstenite" ;;
        fastwebsockets) echo "$HERE/target/release/echo_fastwebsockets" ;;
        tokio-websockets) echo "$HERE/target/release/echo_tokio_websockets" ;;
        *) echo "unknown server $1" >&2; exit 2 ;;
    esac
}

server_port() {
    case "$1" in
        rfc6455) echo 9101 ;;
        tungstenite) echo 9102 ;;
        fastwebsockets) echo 9103 ;;
        tokio-websockets) echo 9104 ;;
    esac
}

listening() { ss -Hltn "sport = :$1" | grep -q .; }

PIDS=()
declare -A SPID
# CPU time (user + system, all threads) of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
cleanup() {
    local pid i
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for i in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for s in $SERVERS; do
    port=$(server_port "$s")
    if listening "$port"; then
        echo "port $port (for $s) is already in use" >&2
        exit 1
    fi
    # `cargo run --release --example echo_server` runs this same binary (cargo run execs
    # it); it is started directly so that nothing rebuilds it mid-run and $! is its PID.
    TOKIO_WORKER_THREADS=1 taskset -c "$SERVER_CPU" "$(server_cmd "$s")" "127.0.0.1:$port" \
        2>"$OUT/$s.log" &
    PIDS+=($!)
    SPID[$s]=$!
    for i in $(seq 100); do
        listening "$port" && break
        kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "$s exited; see $OUT/$s.log" >&2; exit 1; }
        sleep 0.1
    done
    listening "$port" || { echo "$s is not listening on $port after 10 s" >&2; exit 1; }
done

RESULTS="$OUT/results.txt"
: >"$RESULTS"
limit=$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN { printf "%d", w + d + 60 }')
for round in $(seq "$ROUNDS"); do
    for c in $CONNS; do
      for k in $INFLIGHT; do
        for size in $SIZES; do
            for s in $SERVERS; do
                port=$(server_port "$s")
                t0=$(cpu_ticks "${SPID[$s]}")
                line=$(timeout --kill-after=5 "$limit" taskset -c "$CLIENT_CPU" "$LOADGEN" \
                    "ws://127.0.0.1:$port" --conns "$c" --inflight "$k" --size "$size" \
                    --duration "$DURATION" --warmup "$WARMUP" 2>>"$OUT/loadgen.log" \
                    | grep '^RESULT' || echo "RESULT conns=$c inflight=$k size=$size msgs_per_s=0 p50_us=nan p99_us=nan errors=failed")
                t1=$(cpu_ticks "${SPID[$s]}")
                # The server's CPU time per echoed message (warm-up included on both sides):
                # unlike msgs/s, other load on the machine does not skew it.
                cpu=$(echo "$line" | awk -v d=$((t1 - t0)) -v hz="$TICK" '{
                    for (i = 1; i <= NF; i++) if ($i ~ /^all_messages=/) { split($i, kv, "="); n = kv[2] }
                    if (n > 0) printf "%.2f", d / hz * 1e6 / n; else printf "nan" }')
                echo "server=$s round=$round $line server_cpu_us_per_msg=$cpu" | tee -a "$RESULTS" >&2
            done
        done
      done
    done
done
cleanup

awk -v servers="$SERVERS" '
    function field(name,   i, kv) {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
        return ""
    }
    {
        s = field("server"); c = field("conns") "x" field("inflight"); z = field("size"); r = field("msgs_per_s") + 0
        key = c SUBSEP z SUBSEP s
        m = ++runs[key]
        rates[key, m] = r; p50s[key, m] = field("p50_us"); p99s[key, m] = field("p99_us")
        cpus[key, m] = field("server_cpu_us_per_msg")
        if (!((c SUBSEP z) in seen)) { seen[c SUBSEP z] = 1; order[++n] = c SUBSEP z }
    }
    END {
        # Per configuration and server: the median round by msgs/s (the lower middle one
        # for an even count), with that round'"'"'s latencies and CPU per message.
        for (key in runs) {
            m = runs[key]
            for (i = 1; i <= m; i++) idx[i] = i
            for (i = 2; i <= m; i++)
                for (j = i; j > 1 && rates[key, idx[j - 1]] > rates[key, idx[j]]; j--) {
                    t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t
                }
            mid = idx[int((m + 1) / 2)]
            rate[key] = rates[key, mid]; p50[key] = p50s[key, mid]; p99[key] = p99s[key, mid]
            if (cpus[key, mid] != "nan" && cpus[key, mid] != "") cpu[key] = cpus[key, mid] + 0
        }
        ns = split(servers, names, " ")
        printf "%-5s %-6s", "", ""
        for (i = 1; i <= ns; i++) printf " | %-35s", names[i]
        printf " | %-10s | %s\n", "rfc6455", "rfc6455"
        printf "%-5s %-6s", "c x k", "size"
        for (i = 1; i <= ns; i++) printf " | %8s %8s %8s %8s", "msgs/s", "p50 us", "p99 us", "cpu us"
        printf " | %-10s | %s\n", "msgs/s /", "cpu/msg:"
        printf "%-5s %-6s", "", ""
        for (i = 1; i <= ns; i++) printf " | %35s", ""
        printf " | %-10s | %s\n", "best peer", "best peer / ours"
        for (k = 1; k <= n; k++) {
            split(order[k], cz, SUBSEP)
            printf "%-5s %-6s", cz[1], cz[2]
            best = 0; bestcpu = 0
            for (i = 1; i <= ns; i++) {
                key = order[k] SUBSEP names[i]
                printf " | %8.0f %8s %8s %8s", rate[key], p50[key], p99[key], (key in cpu) ? sprintf("%.2f", cpu[key]) : "-"
                if (names[i] != "rfc6455" && rate[key] > best) best = rate[key]
                if (names[i] != "rfc6455" && (key in cpu) && (bestcpu == 0 || cpu[key] < bestcpu)) bestcpu = cpu[key]
            }
            ours = order[k] SUBSEP "rfc6455"
            if (best > 0 && (ours in rate)) printf " | %-10.2f", rate[ours] / best; else printf " | %-10s", "-"
            if (bestcpu > 0 && (ours in cpu) && cpu[ours] > 0) printf " | %.2f\n", bestcpu / cpu[ours]; else printf " | -\n"
        }
    }' "$RESULTS"
echo "raw results and server logs: $OUT" >&2
