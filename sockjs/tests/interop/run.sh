#!/usr/bin/env bash
# SockJS against real peers: sockjs-client (npm) in Node and in headless Chromium, and
# @stomp/stompjs over sockjs-client against the STOMP example's /sockjs.
#
#   sockjs/tests/interop/run.sh            # install peers, build the examples, run the checks
#   SOCKJS_INTEROP_ONLY=node,stomp sockjs/tests/interop/run.sh
#
# sockjs-client is installed from npm into $INTEROP_HOME/sockjs-node (never into the repo)
# and served from loopback to the pages and iframe.html (--sockjs-url). Chromium and
# puppeteer-core are tests/interop's (its install.sh runs when they are missing). Prints
# one PASS/FAIL line per check; exits non-zero if any failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
export INTEROP_HOME="${INTEROP_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/rfc6455-interop}"
LOGS="${INTEROP_ARTIFACTS:-$REPO/target/interop}/sockjs"
CHECK_TIMEOUT="${INTEROP_CHECK_TIMEOUT:-300}"
ONLY="${SOCKJS_INTEROP_ONLY:-}"
NET_TIMEOUT="${INTEROP_NET_TIMEOUT:-600}"
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log
T0=$SECONDS
say() { printf '[sockjs-interop] %s\n' "$*"; }
die() { say "ERROR: $*"; exit 2; }

# Every background process started here is stopped by its PID on exit.
PIDS=()
start_bg() { # start_bg NAME CMD... ; sets LAST_PID
    local name="$1"
    shift
    "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}
stop_pid() {
    local pid="$1"
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
cleanup() { local pid; for pid in "${PIDS[@]}"; do stop_pid "$pid"; done; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { # wait_port PORT PID NAME: bounded (30 s)
    local deadline=$((SECONDS + 30))
    until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        kill -0 "$2" 2>/dev/null || { say "$3 exited:"; tail -n 20 "$LOGS/$3.log"; return 1; }
        [ "$SECONDS" -lt "$deadline" ] || { say "$3 did not listen on $1 within 30 s"; return 1; }
        sleep 0.1
    done
}
wanted() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

FAILED=0
RESULTS=()
record() { # record NAME RC
    local line
    if [ "$2" -eq 0 ]; then line="PASS  $1"; else line="FAIL  $1"; FAILED=$((FAILED + 1)); fi
    RESULTS+=("$line")
    say "$line"
}
run_check() { # run_check NAME CMD...
    local name="$1" rc
    shift
    timeout --kill-after=10 "$CHECK_TIMEOUT" "$@" 2>&1 | tee "$LOGS/$name.log" | sed 's/^/    /'
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 124 ] && say "$name timed out after ${CHECK_TIMEOUT}s"
    record "$name" "$rc"
}

# ------------------------------------------------------------------ peers ----
if [ ! -d "$INTEROP_HOME/node/node_modules/puppeteer-core" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    say "installing tests/interop's peers (Chromium, puppeteer-core)"
    "$REPO/tests/interop/install.sh" >"$LOGS/install-interop.log" 2>&1 || die "tests/interop/install.sh failed (see $LOGS/install-interop.log)"
fi
NODE_DIR="$INTEROP_HOME/sockjs-node"
STAMP="$NODE_DIR/.package.sha256"
sum="$(sha256sum "$HERE/package.json" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$sum" ] || [ ! -d "$NODE_DIR/node_modules/sockjs-client" ]; then
    say "npm install sockjs-client @stomp/stompjs into $NODE_DIR"
    mkdir -p "$NODE_DIR"
    cp "$HERE/package.json" "$NODE_DIR/package.json"
    (cd "$NODE_DIR" && timeout "$NET_TIMEOUT" npm install --no-audit --no-fund --omit=dev \
        --fetch-timeout=60000 --fetch-retries=2 --loglevel=error) >"$LOGS/npm.log" 2>&1 ||
        die "npm install failed (see $LOGS/npm.log)"
    echo "$sum" >"$STAMP"
fi
export NODE_PATH="$NODE_DIR/node_modules:$INTEROP_HOME/node/node_modules"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMIUM_JS="$REPO/tests/interop/chromium.js"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
say "sockjs-client $(node -p 'require("sockjs-client/package.json").version'), @stomp/stompjs $(node -p 'require("@stomp/stompjs/package.json").version'), node $(node --version)"

# ------------------------------------------------------------------ build ----
if [ -z "${SOCKJS_SERVER_CMD:-}" ] || [ -z "${STOMP_SERVER_CMD:-}" ]; then
    say "cargo build --release -p rfc6455-sockjs --example sockjs_server -p rfc6455-stomp --example stomp_server"
    (cd "$REPO" && timeout 1800 cargo build --release -p rfc6455-sockjs --example sockjs_server \
        -p rfc6455-stomp --example stomp_server) >"$LOGS/cargo-build.log" 2>&1 ||
        { tail -n 30 "$LOGS/cargo-build.log"; die "cargo build failed"; }
    TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
fi
SOCKJS_SERVER_CMD="${SOCKJS_SERVER_CMD:-$TARGET_DIR/release/examples/sockjs_server}"
STOMP_SERVER_CMD="${STOMP_SERVER_CMD:-$TARGET_DIR/release/examples/stomp_server}"
say "build and install: $((SECONDS - T0))s"

# sockjs-client's browser build, served from loopback.
STATIC_PORT=$(free_port)
start_bg static python3 -m http.server "$STATIC_PORT" --bind 127.0.0.1 --directory "$NODE_DIR/node_modules/sockjs-client/dist"
wait_port "$STATIC_PORT" "$LAST_PID" static || die "static server did not start"
SOCKJS_URL="http://127.0.0.1:$STATIC_PORT/sockjs.min.js"

# The four test services, with sockjs-protocol's 4096-byte streaming budget, so streaming
# clients also go through their reconnects.
PORT=$(free_port)
start_bg sockjs_server "$SOCKJS_SERVER_CMD" "127.0.0.1:$PORT" --sockjs-url "$SOCKJS_URL" --response-limit 4096
SERVER_PID=$LAST_PID
wait_port "$PORT" "$SERVER_PID" sockjs_server || die "sockjs_server did not start"

# ------------------------------------------------------------------ checks ---
T1=$SECONDS
if wanted node; then
    run_check sockjs-node node "$HERE/node_checks.js" "http://127.0.0.1:$PORT"
fi
if wanted browser; then
    run_check sockjs-browser node "$HERE/browser_checks.js" "http://127.0.0.1:$PORT" "http://localhost:$PORT"
fi
kill -0 "$SERVER_PID" 2>/dev/null || { say "sockjs_server died"; record sockjs-server-alive 1; }
if wanted stomp; then
    STOMP_PORT=$(free_port)
    start_bg stomp_server "$STOMP_SERVER_CMD" "127.0.0.1:$STOMP_PORT"
    if wait_port "$STOMP_PORT" "$LAST_PID" stomp_server; then
        run_check stomp-over-sockjs node "$HERE/stomp_checks.js" "http://127.0.0.1:$STOMP_PORT"
    else
        record stomp-over-sockjs 1
    fi
fi
say "checks: $((SECONDS - T1))s, total $((SECONDS - T0))s"
printf '%s\n' "${RESULTS[@]}"
echo "${#RESULTS[@]} checks: $((${#RESULTS[@]} - FAILED)) passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
