#!/usr/bin/env bash
# STOMP interop: the stomp_server example against real peers — @stomp/stompjs in Node and in
# headless Chromium, Python stomp.py (WSConnection) — and its relay against RabbitMQ (one
# node, two nodes sharing one RabbitMQ, RabbitMQ restarted mid-test). See README.md.
#
#   stomp/tests/interop/run.sh                     # install peers, build, run every check
#   STOMP_INTEROP_ONLY=node,py stomp/tests/interop/run.sh
#
# Prints one PASS/FAIL line per check and exits non-zero if any failed.
#
# Env: STOMP_INTEROP_HOME (peers, default ~/.cache/rfc6455-stomp-interop),
#      STOMP_INTEROP_ONLY (comma separated check names), STOMP_SERVER_CMD (skip the build and
#      run this instead of the example), STOMP_INTEROP_PROFILE (release, the default, or
#      debug), STOMP_INTEROP_SKIP_INSTALL=1, CHROMIUM (default /usr/bin/chromium).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
HOME_DIR="${STOMP_INTEROP_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/rfc6455-stomp-interop}"
ARTIFACTS="${STOMP_INTEROP_ARTIFACTS:-$REPO/target/stomp-interop}"
LOGS="$ARTIFACTS/logs"
CHECK_TIMEOUT="${STOMP_INTEROP_CHECK_TIMEOUT:-180}"
NET_TIMEOUT="${STOMP_INTEROP_NET_TIMEOUT:-600}"
PROFILE="${STOMP_INTEROP_PROFILE:-release}"
HEARTBEAT_MS=500
ALL_CHECKS="node browser py node-relay py-relay two-node restart"
ONLY="${STOMP_INTEROP_ONLY:-}"

T_START=$SECONDS
say() { printf '[stomp-interop] %s\n' "$*"; }
die() { printf '[stomp-interop] ERROR: %s\n' "$*" >&2; exit 2; }

# ------------------------------------------------------------ processes ----
# Every background process we start is recorded and stopped by its PID (and its own
# process group, which setsid made equal to its PID) on exit.
declare -A PID_NAME=()

start_bg() { # start_bg NAME CMD... ; sets LAST_PID
    local name="$1"
    shift
    setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
    LAST_PID=$!
    PID_NAME[$LAST_PID]="$name"
}

alive() { kill -0 "$1" 2>/dev/null; }

stop_pid() {
    local pid="$1"
    [ -n "${PID_NAME[$pid]:-}" ] || return 0
    if alive "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; }
    fi
    wait "$pid" 2>/dev/null
    unset 'PID_NAME[$pid]'
}

# shellcheck source=rabbitmq.sh
. "$HERE/rabbitmq.sh"

cleanup() {
    local pid
    for pid in "${!PID_NAME[@]}"; do stop_pid "$pid"; done
    rabbit_stop
    [ -z "${WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # wait_port PORT PID NAME
    local deadline=$((SECONDS + 30))
    until listening "$1"; do
        if ! alive "$2"; then
            say "$3 exited before listening on $1:"
            tail -n 20 "$LOGS/$3.log" | sed 's/^/    /'
            return 1
        fi
        [ "$SECONDS" -lt "$deadline" ] || { say "$3 did not listen on $1 within 30 s"; return 1; }
        sleep 0.1
    done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ------------------------------------------------------------ results ------
declare -a RESULTS=()
FAILED=0
record() { # record NAME RC DETAIL
    local line
    if [ "$2" -eq 0 ]; then line="PASS  $1${3:+  ($3)}"; else line="FAIL  $1${3:+  ($3)}"; FAILED=$((FAILED + 1)); fi
    RESULTS+=("$line")
    say "$line"
}
wanted() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
wanted_any() { local c; for c in "$@"; do wanted "$c" && return 0; done; return 1; }

run_logged() { # run_logged LOGNAME CMD...
    local name="$1"
    shift
    timeout --kill-after=10 "$CHECK_TIMEOUT" "$@" 2>&1 | tee "$LOGS/$name.log" | sed 's/^/    /'
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 124 ] && say "$name: timed out after ${CHECK_TIMEOUT}s"
    return "$rc"
}

counts() { echo "$(grep -c '^ *ok ' "$LOGS/$1.log") ok, $(grep -c '^ *FAIL ' "$LOGS/$1.log") failed"; }

# ------------------------------------------------------------ install ------
install_peers() {
    local pkgs=() sudo=""
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || pkgs+=(rabbitmq-server)
    if wanted browser; then [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || pkgs+=(chromium fonts-dejavu-core); fi
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || pkgs+=(python3-venv)
    { command -v node && command -v npm; } >/dev/null 2>&1 || pkgs+=(nodejs npm)
    if [ "${#pkgs[@]}" -gt 0 ]; then
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        say "apt-get install ${pkgs[*]}"
        export DEBIAN_FRONTEND=noninteractive
        timeout "$NET_TIMEOUT" $sudo apt-get update -q -o Acquire::http::Timeout=30 -o Acquire::Retries=2 >"$LOGS/apt.log" 2>&1 ||
            die "apt-get update failed (see $LOGS/apt.log)"
        # The package's postinst tries to start the system service; without systemd (or with
        # a policy-rc.d) it does not, and nothing here uses it: our node runs under $WORK.
        timeout "$NET_TIMEOUT" $sudo apt-get install -y -q --no-install-recommends "${pkgs[@]}" >>"$LOGS/apt.log" 2>&1 ||
            die "apt-get install ${pkgs[*]} failed (see $LOGS/apt.log)"
    fi
    local venv="$HOME_DIR/venv" stamp sum
    mkdir -p "$HOME_DIR"
    sum="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
    stamp="$venv/.requirements.sha256"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
        say "python venv with stomp.py in $venv"
        [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || die "python3 -m venv failed"
        timeout "$NET_TIMEOUT" "$venv/bin/python" -m pip install -q --disable-pip-version-check \
            --timeout 60 --retries 2 -r "$HERE/requirements.txt" >"$LOGS/pip.log" 2>&1 || die "pip install failed (see $LOGS/pip.log)"
        echo "$sum" >"$stamp"
    fi
    local node_dir="$HOME_DIR/node"
    mkdir -p "$node_dir"
    sum="$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)"
    stamp="$node_dir/.package.sha256"
    if [ ! -d "$node_dir/node_modules/@stomp/stompjs" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
        say "npm ci (@stomp/stompjs, ws, puppeteer-core) in $node_dir"
        cp "$HERE/package.json" "$HERE/package-lock.json" "$node_dir/"
        (cd "$node_dir" && PUPPETEER_SKIP_DOWNLOAD=1 timeout "$NET_TIMEOUT" npm ci --no-audit --no-fund \
            --omit=dev --loglevel=error) >"$LOGS/npm.log" 2>&1 || die "npm ci failed (see $LOGS/npm.log)"
        echo "$sum" >"$stamp"
    fi
}

# ------------------------------------------------------------ setup --------
mkdir -p "$LOGS" || die "cannot create $LOGS"
rm -f "$LOGS"/*.log "$ARTIFACTS"/*.png
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rfc6455-stomp-interop.XXXXXX")"
if [ "${STOMP_INTEROP_SKIP_INSTALL:-0}" != 1 ]; then
    t0=$SECONDS
    install_peers
    say "install: $((SECONDS - t0))s"
fi
PY="$HOME_DIR/venv/bin/python"
export NODE_PATH="$HOME_DIR/node/node_modules"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

if [ -z "${STOMP_SERVER_CMD:-}" ]; then
    t0=$SECONDS
    flag=()
    [ "$PROFILE" = release ] && flag=(--release)
    say "cargo build ${flag[*]} -p rfc6455-stomp --example stomp_server"
    (cd "$REPO" && timeout 1800 cargo build "${flag[@]}" -p rfc6455-stomp --example stomp_server) >"$LOGS/cargo-build.log" 2>&1 ||
        { tail -n 20 "$LOGS/cargo-build.log"; die "cargo build failed (see $LOGS/cargo-build.log)"; }
    target_dir="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    STOMP_SERVER_CMD="${target_dir:-$REPO/target}/$PROFILE/examples/stomp_server"
    say "build: $((SECONDS - t0))s"
fi
say "STOMP_SERVER_CMD=$STOMP_SERVER_CMD"
{
    echo "date: $(date -u +%FT%TZ)"
    echo "node $(node --version), @stomp/stompjs $(node -p 'require("@stomp/stompjs/package.json").version'), ws $(node -p 'require("ws/package.json").version')"
    echo "stomp.py $("$PY" -c 'import importlib.metadata as m; print(m.version("stomp-py"))')"
    echo "chromium: $("$CHROMIUM" --version 2>/dev/null)"
    echo "rabbitmq-server: $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null)"
} >"$ARTIFACTS/versions.txt"

# start_server NAME [--relay HOST:PORT] ; sets SRV_PID, SRV_PORT, SRV_URL
start_server() {
    local name="$1"
    shift
    SRV_PORT=$(free_port)
    start_bg "$name" env STOMP_HEARTBEAT_MS=$HEARTBEAT_MS bash -c "exec $STOMP_SERVER_CMD \"\$@\"" stomp_server "127.0.0.1:$SRV_PORT" "$@"
    SRV_PID=$LAST_PID
    SRV_URL="ws://127.0.0.1:$SRV_PORT/ws"
    wait_port "$SRV_PORT" "$SRV_PID" "$name"
}

still_up() { # still_up PID NAME
    alive "$1" && return 0
    say "$2 (pid $1) is gone: it crashed or exited during the check; see $LOGS/$2.log"
    tail -n 20 "$LOGS/$2.log" | sed 's/^/    /'
    return 1
}

# ------------------------------------------------------------ checks -------
check_node() { # check_node NAME [--relay ADDR]
    local name="$1" mode=simple rc
    shift
    [ $# -gt 0 ] && mode=relay
    start_server "$name-server" "$@" || { record "$name" 1 "server did not start"; return; }
    if [ "$mode" = relay ]; then wait_available "$name-server" || { record "$name" 1 "relay never available"; return; }; fi
    run_logged "$name" node "$HERE/node_checks.js" --url "$SRV_URL" --label "$name" --mode "$mode" --heartbeat-ms "$HEARTBEAT_MS"
    rc=$?
    still_up "$SRV_PID" "$name-server" || rc=1
    stop_pid "$SRV_PID"
    record "$name" "$rc" "@stomp/stompjs + ws, $mode broker: $(counts "$name")"
}

check_py() { # check_py NAME [--relay ADDR]
    local name="$1" mode=simple rc
    shift
    [ $# -gt 0 ] && mode=relay
    start_server "$name-server" "$@" || { record "$name" 1 "server did not start"; return; }
    if [ "$mode" = relay ]; then wait_available "$name-server" || { record "$name" 1 "relay never available"; return; }; fi
    run_logged "$name" "$PY" "$HERE/py_checks.py" --port "$SRV_PORT" --label "$name" --mode "$mode" --heartbeat-ms "$HEARTBEAT_MS"
    rc=$?
    still_up "$SRV_PID" "$name-server" || rc=1
    stop_pid "$SRV_PID"
    record "$name" "$rc" "stomp.py WSConnection, $mode broker: $(counts "$name")"
}

check_browser() {
    local rc
    start_server browser-server || { record browser 1 "server did not start"; return; }
    run_logged browser node "$HERE/browser_checks.js" --url "http://127.0.0.1:$SRV_PORT/" \
        --stompjs "$NODE_PATH/@stomp/stompjs/bundles/stomp.umd.js" --screenshot "$ARTIFACTS/browser.png"
    rc=$?
    still_up "$SRV_PID" browser-server || rc=1
    stop_pid "$SRV_PID"
    record browser "$rc" "headless Chromium: the page's own client, @stomp/stompjs in the page: $(counts browser)"
}

wait_available() { # wait_available SERVER-LOG-NAME : the relay's system connection is up
    local deadline=$((SECONDS + 30))
    until grep -q 'broker available: true' "$LOGS/$1.log"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

RABBIT_UP=0
ensure_rabbit() {
    [ "$RABBIT_UP" = 1 ] && return 0
    local t0=$SECONDS
    rabbit_start "$WORK/rabbitmq" || return 1
    RABBIT_UP=1
    say "rabbitmq-server up in $((SECONDS - t0))s (pid $RABBIT_PID, STOMP 127.0.0.1:$RABBIT_STOMP_PORT, web-stomp $RABBIT_WS_PORT)"
}

check_two_node() {
    local rc a_pid a_url b_pid b_url
    start_server two-node-a --relay "127.0.0.1:$RABBIT_STOMP_PORT" || { record two-node 1 "node A did not start"; return; }
    a_pid=$SRV_PID a_url=$SRV_URL
    start_server two-node-b --relay "127.0.0.1:$RABBIT_STOMP_PORT" || { record two-node 1 "node B did not start"; return; }
    b_pid=$SRV_PID b_url=$SRV_URL
    wait_available two-node-a && wait_available two-node-b || { record two-node 1 "relay never available"; return; }
    run_logged two-node node "$HERE/relay_checks.js" --a "$a_url" --b "$b_url" --phase two-node
    rc=$?
    still_up "$a_pid" two-node-a || rc=1
    still_up "$b_pid" two-node-b || rc=1
    stop_pid "$a_pid"
    stop_pid "$b_pid"
    record two-node "$rc" "two servers, one RabbitMQ: $(counts two-node)"
}

check_restart() {
    local rc a_pid a_url b_pid b_url runner deadline t0
    start_server restart-a --relay "127.0.0.1:$RABBIT_STOMP_PORT" || { record restart 1 "node A did not start"; return; }
    a_pid=$SRV_PID a_url=$SRV_URL
    start_server restart-b --relay "127.0.0.1:$RABBIT_STOMP_PORT" || { record restart 1 "node B did not start"; return; }
    b_pid=$SRV_PID b_url=$SRV_URL
    wait_available restart-a && wait_available restart-b || { record restart 1 "relay never available"; return; }
    start_bg restart node "$HERE/relay_checks.js" --a "$a_url" --b "$b_url" --phase restart
    runner=$LAST_PID
    rc=0
    deadline=$((SECONDS + 60))
    until grep -q '^READY' "$LOGS/restart.log"; do
        if ! alive "$runner" || [ "$SECONDS" -ge "$deadline" ]; then rc=1; break; fi
        sleep 0.1
    done
    if [ "$rc" -eq 0 ]; then
        t0=$SECONDS
        say "restarting RabbitMQ (pid $RABBIT_PID) under running clients"
        rabbit_restart || rc=1
        say "RabbitMQ back in $((SECONDS - t0))s (pid $RABBIT_PID)"
        deadline=$((SECONDS + 90))
        while alive "$runner" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
        if alive "$runner"; then
            say "restart: the clients did not resume within 90 s"
            rc=1
        else
            wait "$runner"
            rc=$?
            unset "PID_NAME[$runner]"
        fi
    fi
    stop_pid "$runner"
    sed 's/^/    /' "$LOGS/restart.log"
    still_up "$a_pid" restart-a || rc=1
    still_up "$b_pid" restart-b || rc=1
    grep -h 'broker available' "$LOGS/restart-a.log" "$LOGS/restart-b.log" | sed 's/^/    /'
    stop_pid "$a_pid"
    stop_pid "$b_pid"
    record restart "$rc" "RabbitMQ restarted mid-test: $(grep -m1 '^RESUMED' "$LOGS/restart.log" || echo 'no resume')"
}

wanted node && check_node node
wanted browser && check_browser
wanted py && check_py py
if wanted_any node-relay py-relay two-node restart; then
    if ! ensure_rabbit; then
        for c in node-relay py-relay two-node restart; do wanted "$c" && record "$c" 1 "RabbitMQ did not start (see $WORK/rabbitmq/rabbitmq.log)"; done
    else
        wanted node-relay && check_node node-relay --relay "127.0.0.1:$RABBIT_STOMP_PORT"
        wanted py-relay && check_py py-relay --relay "127.0.0.1:$RABBIT_STOMP_PORT"
        wanted two-node && check_two_node
        wanted restart && check_restart
        cp "$WORK/rabbitmq/rabbitmq.log" "$LOGS/rabbitmq.log" 2>/dev/null
    fi
fi

echo
say "summary ($((SECONDS - T_START))s):"
for line in "${RESULTS[@]}"; do say "  $line"; done
[ "$FAILED" -eq 0 ] || exit 1
