#!/usr/bin/env bash
# Memory held per idle WebSocket connection, server side: rfc6455's tokio echo server and
# the peers' echo servers, each alone, with N (default 10,000) connections that complete
# the handshake and then send nothing.
#
#   benches/compare/idle.sh
#   N=2000 SERVERS="rfc6455 fastwebsockets" benches/compare/idle.sh
#
# For each server: start it (TOKIO_WORKER_THREADS=1, pinned to $SERVER_CPU), open and close
# one connection (so that one-time allocations of the first connection are not counted),
# read VmRSS from /proc/PID/status, open N idle connections with `loadgen --idle` (pinned to
# $CLIENT_CPU), wait until every handshake is done and SETTLE seconds more, read VmRSS
# again, and report (after - before) / N. Kernel socket buffers are not in RSS and are not
# counted.
#
# Environment: N (10000), SERVERS, SETTLE (s, 2), SERVER_CPU (0), CLIENT_CPU (1),
# BUILD (1; 0 runs the binaries already built), OUT (directory for logs).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-10000}
SERVERS=${SERVERS:-"rfc6455 tungstenite fastwebsockets tokio-websockets"}
SETTLE=${SETTLE:-2}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OUT=${OUT:-$(mktemp -d /tmp/rfc6455-idle.XXXXXX)}
mkdir -p "$OUT"

# Both processes need one descriptor per connection, plus a few.
need=$((N + 200))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
    ulimit -n "$need" 2>/dev/null || {
        echo "cannot raise the open-file limit to $need (hard limit $(ulimit -Hn)); lower N" >&2
        exit 1
    }
fi

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

listening() { ss -Hltn "sport = :$1" | grep -q .; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

PIDS=()
stop() {
    local pid=$1 i
    kill "$pid" 2>/dev/null || true
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop "$pid"; done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=9110
declare -A RESULT
for s in $SERVERS; do
    port=$((port + 1))
    if listening "$port"; then
        echo "port $port is already in use" >&2
        exit 1
    fi
    TOKIO_WORKER_THREADS=1 taskset -c "$SERVER_CPU" "$(server_cmd "$s")" "127.0.0.1:$port" \
        2>"$OUT/$s.log" &
    server=$!
    PIDS=("$server")
    for i in $(seq 100); do
        listening "$port" && break
        sleep 0.1
    done
    listening "$port" || { echo "$s is not listening after 10 s" >&2; exit 1; }

    # One connection opened and closed first.
    timeout 30 "$LOADGEN" "ws://127.0.0.1:$port" --idle 1 --hold 0 >/dev/null
    sleep "$SETTLE"
    before=$(rss_kb "$server")

    ready="$OUT/$s.ready"
    : >"$ready"
    taskset -c "$CLIENT_CPU" "$LOADGEN" "ws://127.0.0.1:$port" --idle "$N" --hold 3600 \
        >"$ready" 2>>"$OUT/loadgen.log" &
    client=$!
    PIDS=("$client" "$server")
    for i in $(seq 1200); do
        grep -q IDLE_READY "$ready" && break
        kill -0 "$client" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q IDLE_READY "$ready"; then
        echo "$s: the $N connections were not all open after 120 s (see $OUT/loadgen.log)" >&2
        RESULT[$s]="failed"
        cleanup
        continue
    fi
    sleep "$SETTLE"
    after=$(rss_kb "$server")
    per=$(( (after - before) * 1024 / N ))
    RESULT[$s]="$per"
    printf "%-18s RSS before %8d KiB  after %8d KiB  per connection %6d bytes\n" \
        "$s" "$before" "$after" "$per" | tee -a "$OUT/results.txt" >&2
    cleanup
done

printf "\n%-18s %s\n" "server" "idle RSS per connection (bytes, N=$N)"
for s in $SERVERS; do
    printf "%-18s %s\n" "$s" "${RESULT[$s]}"
done
echo "logs: $OUT" >&2
