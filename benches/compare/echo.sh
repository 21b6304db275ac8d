#!/usr/bin/env bash
# Loopback echo: rfc6455's tokio echo server (examples/echo_server.rs) and the peers' echo
# servers (src/bin/echo_*.rs) under the same closed-loop load from src/bin/loadgen.rs.
#
#   benches/compare/echo.sh                  # 1/16/256 connections x 16 B/1 KiB/64 KiB
#   DURATION=10 ROUNDS=3 benches/compare/echo.sh
#
# Every server runs with TOKIO_WORKER_THREADS=1 pinned to CPU $SERVER_CPU (default 0); the
# load generator (one thread) is pinned to CPU $CLIENT_CPU (default 1). All servers are up
# at once (idle ones sleep in epoll) and each configuration is measured on every server in
# turn, so slow drifts of a shared machine hit all of them alike. Prints msgs/s, p50 and
# p99 per server, and rfc6455's msgs/s over the best peer's.
#
# Environment: DURATION (s, default 5), WARMUP (s, 1), CONNS ("1 16 256"),
# SIZES ("16 1024 65536"), SERVERS ("rfc6455 tungstenite fastwebsockets tokio-websockets"),
# ROUNDS (1; the best msgs/s of the rounds is kept, with its latencies), SERVER_CPU,
# CLIENT_CPU, OUT (directory for raw results and server logs; default a new temp dir),
# BUILD (1; 0 runs the binaries already built).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-"1 16 256"}
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
        for size in $SIZES; do
            for s in $SERVERS; do
                port=$(server_port "$s")
                line=$(timeout --kill-after=5 "$limit" taskset -c "$CLIENT_CPU" "$LOADGEN" \
                    "ws://127.0.0.1:$port" --conns "$c" --size "$size" \
                    --duration "$DURATION" --warmup "$WARMUP" 2>>"$OUT/loadgen.log" \
                    | grep '^RESULT' || echo "RESULT conns=$c size=$size msgs_per_s=0 p50_us=nan p99_us=nan errors=failed")
                echo "server=$s round=$round $line" | tee -a "$RESULTS" >&2
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
        s = field("server"); c = field("conns"); z = field("size"); r = field("msgs_per_s") + 0
        key = c SUBSEP z SUBSEP s
        if (!(key in rate) || r > rate[key]) {
            rate[key] = r; p50[key] = field("p50_us"); p99[key] = field("p99_us")
        }
        if (!((c SUBSEP z) in seen)) { seen[c SUBSEP z] = 1; order[++n] = c SUBSEP z }
    }
    END {
        ns = split(servers, names, " ")
        printf "%-6s %-6s", "", ""
        for (i = 1; i <= ns; i++) printf " | %-28s", names[i]
        printf " | %s\n", "rfc6455 msgs/s"
        printf "%-6s %-6s", "conns", "size"
        for (i = 1; i <= ns; i++) printf " | %9s %8s %9s", "msgs/s", "p50 us", "p99 us"
        printf " | %s\n", "/ best peer"
        for (k = 1; k <= n; k++) {
            split(order[k], cz, SUBSEP)
            printf "%-6s %-6s", cz[1], cz[2]
            best = 0
            for (i = 1; i <= ns; i++) {
                key = order[k] SUBSEP names[i]
                printf " | %9.0f %8s %9s", rate[key], p50[key], p99[key]
                if (names[i] != "rfc6455" && rate[key] > best) best = rate[key]
            }
            ours = rate[order[k] SUBSEP "rfc6455"]
            if (best > 0 && ours != "") printf " | %.2f\n", ours / best; else printf " | -\n"
        }
    }' "$RESULTS"
echo "raw results and server logs: $OUT" >&2
