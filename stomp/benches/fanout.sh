#!/usr/bin/env bash
# Fan-out benchmark, same machine, same client, same run: one publisher, 100 subscribers of
# one topic, through our stomp_server (simple broker), through RabbitMQ's own web-stomp
# endpoint (rabbitmq-server 3.10 from Debian, started here under a temp dir), and through
# stomp_server relaying to that RabbitMQ (RELAY=0 leaves the last one out).
#
#   stomp/benches/fanout.sh                    # SUBSCRIBERS=100 MESSAGES=2000 SIZE=128 ROUNDS=3
#
# Needs rabbitmq-server installed (apt-get install rabbitmq-server; stomp/tests/interop/run.sh
# installs it). Each round runs both servers once, alternating which goes first.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SUBSCRIBERS="${SUBSCRIBERS:-100}" MESSAGES="${MESSAGES:-2000}" SIZE="${SIZE:-128}" ROUNDS="${ROUNDS:-3}"

# shellcheck source=../tests/interop/rabbitmq.sh
. "$REPO/stomp/tests/interop/rabbitmq.sh"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rfc6455-stomp-bench.XXXXXX")"
SERVER_PID=""
RELAY_PID=""
cleanup() {
    set +e
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
    if [ -n "$RELAY_PID" ]; then kill "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null; fi
    rabbit_stop
    rm -rf "$WORK"
}
trap cleanup EXIT

cd "$REPO"
echo "building (release)..." >&2
cargo build --release -q -p rfc6455-stomp --example stomp_server
cargo bench -q -p rfc6455-stomp --bench fanout --no-run 2>/dev/null
TARGET="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

rabbit_start "$WORK/rabbitmq"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$TARGET/release/examples/stomp_server" "127.0.0.1:$PORT" >"$WORK/stomp_server.log" 2>&1 &
SERVER_PID=$!
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do sleep 0.1; done
if [ "${RELAY:-1}" = 1 ]; then
    RELAY_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$TARGET/release/examples/stomp_server" "127.0.0.1:$RELAY_PORT" --relay "127.0.0.1:$RABBIT_STOMP_PORT" >"$WORK/relay.log" 2>&1 &
    RELAY_PID=$!
    until grep -q 'broker available: true' "$WORK/relay.log"; do sleep 0.1; done
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "rabbitmq-server $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null), web-stomp on 127.0.0.1:$RABBIT_WS_PORT"
bench() {
    cargo bench -q -p rfc6455-stomp --bench fanout -- --subscribers "$SUBSCRIBERS" --messages "$MESSAGES" \
        --size "$SIZE" "$@"
}
for round in $(seq "$ROUNDS"); do
    ours=(--url "ws://127.0.0.1:$PORT/ws" --label "stomp_server (simple broker)")
    rabbit=(--url "ws://127.0.0.1:$RABBIT_WS_PORT/ws" --login guest --passcode guest --label "RabbitMQ web-stomp")
    if [ $((round % 2)) -eq 1 ]; then
        bench "${ours[@]}"
        bench "${rabbit[@]}"
    else
        bench "${rabbit[@]}"
        bench "${ours[@]}"
    fi
    if [ -n "$RELAY_PID" ]; then
        bench --url "ws://127.0.0.1:$RELAY_PORT/ws" --label "stomp_server --relay RabbitMQ"
    fi
done
