#!/usr/bin/env bash
# End-to-end interop checks of our examples against real peers.
# See tests/interop/README.md for what is checked and all env vars.
#
#   tests/interop/run.sh                 # install peers, build examples, run all checks
#   INTEROP_ONLY=py-client,chat tests/interop/run.sh
#
# Prints one PASS/FAIL line per check and exits non-zero if any check failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export INTEROP_HOME="${INTEROP_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/rfc6455-interop}"
ARTIFACTS="${INTEROP_ARTIFACTS:-$REPO/target/interop}"
LOGS="$ARTIFACTS/logs"
CHECK_TIMEOUT="${INTEROP_CHECK_TIMEOUT:-300}"
PORT_TIMEOUT="${INTEROP_PORT_TIMEOUT:-30}"
ALL_CHECKS="py-client node-client browser-echo browser-origin echo-client-py echo-client-node nginx-proxy chat py-deflate-limit echo-client-wss echo-client-proxy browser-h2 node-h2 py-wss node-wss"
ONLY="${INTEROP_ONLY:-}"

T_START=$(date +%s)
say() { printf '[interop] %s\n' "$*"; }
die() { printf '[interop] ERROR: %s\n' "$*" >&2; exit 2; }

# ------------------------------------------------------------ processes ----
# Every background process we start is recorded here and killed (by PID /
# its own process group, which setsid made equal to its PID) on exit.
declare -A PID_NAME=() # running background processes we started: pid -> name

start_bg() { # start_bg NAME CMD... ; sets LAST_PID
    local name="$1"
    shift
    setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
    LAST_PID=$!
    PID_NAME[$LAST_PID]="$name"
    say "started $name (pid $LAST_PID): $*" >>"$LOGS/processes.log"
}

alive() { kill -0 "$1" 2>/dev/null; }

# Reap a process we started that exited by itself; prints nothing, returns its status.
reap_pid() { # reap_pid PID
    local rc=0
    wait "$1" 2>/dev/null || rc=$?
    unset 'PID_NAME[$1]'
    return "$rc"
}

stop_pid() { # stop_pid PID : TERM the process (and its own process group), KILL after 5s
    local pid="$1"
    [ -n "${PID_NAME[$pid]:-}" ] || return 0 # not ours, or already reaped
    if alive "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            say "${PID_NAME[$pid]} (pid $pid) ignored SIGTERM for 5s, sending SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    reap_pid "$pid"
    return 0
}

# shellcheck disable=SC2317 # invoked via trap
cleanup() {
    local pid
    for pid in "${!PID_NAME[@]}"; do stop_pid "$pid"; done
    [ -z "${WORK:-}" ] || rm -rf "$WORK"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

listening() { # listening PORT
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

wait_port() { # wait_port PORT PID NAME : bounded wait for a listener; fails early if PID died
    local port="$1" pid="$2" name="$3" deadline=$((SECONDS + PORT_TIMEOUT))
    while ! listening "$port"; do
        if ! alive "$pid"; then
            say "$name (pid $pid) exited before listening on port $port; last log lines:"
            tail -n 20 "$LOGS/$name.log" | sed 's/^/    /'
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "$name did not listen on 127.0.0.1:$port within ${PORT_TIMEOUT}s; last log lines:"
            tail -n 20 "$LOGS/$name.log" | sed 's/^/    /'
            return 1
        fi
        sleep 0.1
    done
}

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ------------------------------------------------------------ results ------
declare -a RESULTS=()
FAILED=0
record() { # record NAME RC DETAIL
    local line
    if [ "$2" -eq 0 ]; then
        line="PASS  $1${3:+  ($3)}"
    else
        line="FAIL  $1${3:+  ($3)}"
        FAILED=$((FAILED + 1))
    fi
    RESULTS+=("$line")
    say "$line"
}

wanted() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

run_logged() { # run_logged LOGNAME CMD... : run with timeout, tee to log, return rc
    local name="$1"
    shift
    timeout --kill-after=10 "$CHECK_TIMEOUT" "$@" 2>&1 | tee "$LOGS/$name.log" | sed 's/^/    /'
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 124 ] && say "$name: timed out after ${CHECK_TIMEOUT}s"
    return "$rc"
}

# Start an echo server on a free port; sets ES_PID, ES_PORT. Args: NAME [--allowed-origin O]...
start_echo_server() {
    local name="$1"
    shift
    ES_PORT=$(free_port)
    start_bg "$name" bash -c "exec $ECHO_SERVER_CMD \"\$@\"" echo_server "127.0.0.1:$ES_PORT" "$@"
    ES_PID=$LAST_PID
    wait_port "$ES_PORT" "$ES_PID" "$name"
}

server_still_up() { # server_still_up PID NAME
    if ! alive "$1"; then
        say "$2 (pid $1) is no longer running - it crashed or exited during the check; see $LOGS/$2.log"
        tail -n 20 "$LOGS/$2.log" | sed 's/^/    /'
        return 1
    fi
}

# ------------------------------------------------------------ setup --------
mkdir -p "$LOGS" || die "cannot create $LOGS"
rm -f "$LOGS"/*.log "$ARTIFACTS"/*.png "$ARTIFACTS"/*.json
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rfc6455-interop.XXXXXX")"
say "repo $REPO, artifacts $ARTIFACTS, INTEROP_HOME $INTEROP_HOME"

if [ "${INTEROP_SKIP_INSTALL:-0}" != 1 ]; then
    t0=$SECONDS
    "$HERE/install.sh" 2>&1 | tee "$LOGS/install.log" | sed 's/^/    /'
    [ "${PIPESTATUS[0]}" -eq 0 ] || die "install.sh failed (see $LOGS/install.log)"
    say "install: $((SECONDS - t0))s"
fi

PY="$INTEROP_HOME/venv/bin/python"
export NODE_PATH="$INTEROP_HOME/node/node_modules${NODE_PATH:+:$NODE_PATH}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
TINYPROXY="${TINYPROXY:-$(command -v tinyproxy || echo /usr/bin/tinyproxy)}"
[ -x "$PY" ] || die "no python venv at $INTEROP_HOME/venv (run install.sh)"
[ -d "$INTEROP_HOME/node/node_modules/ws" ] || die "no node_modules at $INTEROP_HOME/node (run install.sh)"
# Loopback only: never route our connections through a proxy.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

# ------------------------------------------------------------ build --------
overridden=0
[ -n "${ECHO_SERVER_CMD:-}" ] && overridden=$((overridden + 1))
[ -n "${ECHO_CLIENT_CMD:-}" ] && overridden=$((overridden + 1))
[ -n "${CHAT_CMD:-}" ] && overridden=$((overridden + 1))
[ -n "${AXUM_ECHO_CMD:-}" ] && overridden=$((overridden + 1))
SKIP_BUILD="${INTEROP_SKIP_BUILD:-}"
[ -z "$SKIP_BUILD" ] && [ "$overridden" -eq 4 ] && SKIP_BUILD=1

if [ "$SKIP_BUILD" = 1 ]; then
    say "skipping cargo build (INTEROP_SKIP_BUILD=1 or all *_CMD overridden)"
else
    t0=$SECONDS
    # axum_echo declares required-features = ["axum", "rustls"]: without them cargo skips it.
    say "cargo build --release --examples --features axum,rustls"
    (cd "$REPO" && timeout "${INTEROP_BUILD_TIMEOUT:-1800}" cargo build --release --examples --features axum,rustls) 2>&1 |
        tee "$LOGS/cargo-build.log" | tail -n 5 | sed 's/^/    /'
    [ "${PIPESTATUS[0]}" -eq 0 ] || die "cargo build --release --examples --features axum,rustls failed (see $LOGS/cargo-build.log)"
    say "build: $((SECONDS - t0))s"
fi
if [ -z "${ECHO_SERVER_CMD:-}" ] || [ -z "${ECHO_CLIENT_CMD:-}" ] || [ -z "${CHAT_CMD:-}" ] ||
    [ -z "${AXUM_ECHO_CMD:-}" ]; then
    TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null)"
    TARGET_DIR="${TARGET_DIR:-${CARGO_TARGET_DIR:-$REPO/target}}"
    EXAMPLES="$TARGET_DIR/release/examples"
fi
ECHO_SERVER_CMD="${ECHO_SERVER_CMD:-$EXAMPLES/echo_server}"
ECHO_CLIENT_CMD="${ECHO_CLIENT_CMD:-$EXAMPLES/echo_client}"
CHAT_CMD="${CHAT_CMD:-$EXAMPLES/chat}"
AXUM_ECHO_CMD="${AXUM_ECHO_CMD:-$EXAMPLES/axum_echo}"
say "ECHO_SERVER_CMD=$ECHO_SERVER_CMD"
say "ECHO_CLIENT_CMD=$ECHO_CLIENT_CMD"
say "CHAT_CMD=$CHAT_CMD"
say "AXUM_ECHO_CMD=$AXUM_ECHO_CMD"
{
    echo "date: $(date -u +%FT%TZ)"
    echo "chromium: $("$CHROMIUM" --version 2>/dev/null)"
    echo "nginx: $("$NGINX" -v 2>&1)"
    echo "tinyproxy: $("$TINYPROXY" -v 2>&1)"
    echo "openssl: $(openssl version 2>&1)"
    echo "python websockets: $("$PY" -c 'import websockets; print(websockets.__version__)')"
    echo "node: $(node --version), ws $(node -p 'require("ws/package.json").version'), puppeteer-core $(node -p 'require("puppeteer-core/package.json").version')"
    echo "ECHO_SERVER_CMD=$ECHO_SERVER_CMD"
    echo "ECHO_CLIENT_CMD=$ECHO_CLIENT_CMD"
    echo "CHAT_CMD=$CHAT_CMD"
    echo "AXUM_ECHO_CMD=$AXUM_ECHO_CMD"
} >"$ARTIFACTS/versions.txt"

# ------------------------------------------------------------ checks -------
ALLOWED_TEST_ORIGIN="https://allowed.example"
REJECTED_TEST_ORIGIN="https://evil.example"

client_checks() { # client_checks NAME SCRIPT-RUNNER...
    local name="$1" rc
    shift
    say "--- $name: $* against our echo_server"
    if ! start_echo_server "$name-echo_server" --allowed-origin "$ALLOWED_TEST_ORIGIN"; then
        record "$name" 1 "echo_server did not start"
        return
    fi
    run_logged "$name" "$@" "ws://127.0.0.1:$ES_PORT/" \
        --accepted-origin "$ALLOWED_TEST_ORIGIN" --rejected-origin "$REJECTED_TEST_ORIGIN"
    rc=$?
    server_still_up "$ES_PID" "$name-echo_server" || rc=1
    stop_pid "$ES_PID"
    record "$name" "$rc" "$(grep -c ' ok ' "$LOGS/$name.log") ok, $(grep -c ' FAIL ' "$LOGS/$name.log") failed"
}

check_py_client() { client_checks py-client "$PY" "$HERE/py_client_checks.py" --label py-client; }
check_node_client() { client_checks node-client node "$HERE/node_client_checks.js" --label node-client; }

PAGE_PID=""
start_page_server() {
    [ -n "$PAGE_PID" ] && alive "$PAGE_PID" && return 0
    PAGE_PORT=$(free_port)
    start_bg page-server "$PY" -m http.server "$PAGE_PORT" --bind 127.0.0.1 --directory "$HERE/browser"
    PAGE_PID=$LAST_PID
    wait_port "$PAGE_PORT" "$PAGE_PID" page-server
}

check_browser_echo() {
    local rc origin
    say "--- browser-echo: Chromium page -> our echo_server (page origin allowed)"
    start_page_server || { record browser-echo 1 "static page server did not start"; return; }
    origin="http://127.0.0.1:$PAGE_PORT"
    start_echo_server browser-echo-echo_server --allowed-origin "$origin" ||
        { record browser-echo 1 "echo_server did not start"; return; }
    run_logged browser-echo node "$HERE/browser_checks.js" --label browser-echo \
        --page "$origin/echo.html" --ws "ws://127.0.0.1:$ES_PORT/" --expect ok \
        --screenshot "$ARTIFACTS/browser-echo.png"
    rc=$?
    server_still_up "$ES_PID" browser-echo-echo_server || rc=1
    stop_pid "$ES_PID"
    record browser-echo "$rc" "origin $origin, subprotocol v11.stomp, close 4000"
}

check_browser_origin() {
    local rc
    say "--- browser-origin: Chromium page -> our echo_server allowing only another origin (expect refusal)"
    start_page_server || { record browser-origin 1 "static page server did not start"; return; }
    start_echo_server browser-origin-echo_server --allowed-origin "https://only-this-origin.example" ||
        { record browser-origin 1 "echo_server did not start"; return; }
    run_logged browser-origin node "$HERE/browser_checks.js" --label browser-origin \
        --page "http://127.0.0.1:$PAGE_PORT/echo.html" --ws "ws://127.0.0.1:$ES_PORT/" --expect rejected
    rc=$?
    server_still_up "$ES_PID" browser-origin-echo_server || rc=1
    stop_pid "$ES_PID"
    record browser-origin "$rc" "page origin http://127.0.0.1:$PAGE_PORT not allowed -> handshake refused"
}

# echo_client_check [--url ws[s]://HOST] [--client-arg ARG]... [--no-record] NAME PEER-RUNNER...
# Returns 0 if both sides passed; records a PASS/FAIL line unless --no-record.
echo_client_check() {
    local base="ws://127.0.0.1" client_args=() record_it=1
    while true; do
        case "${1:-}" in
            --url) base="$2"; shift 2 ;;
            --client-arg) client_args+=("$2"); shift 2 ;;
            --no-record) record_it=""; shift ;;
            *) break ;;
        esac
    done
    local name="$1" port peer_pid client_rc peer_rc detail
    shift
    say "--- $name: our echo_client -> $*"
    port=$(free_port)
    start_bg "$name-peer" "$@" "127.0.0.1:$port" --result "$ARTIFACTS/$name.json" --timeout 60
    peer_pid=$LAST_PID
    if ! wait_port "$port" "$peer_pid" "$name-peer"; then
        EC_DETAIL="peer server did not start"
        [ -z "$record_it" ] || record "$name" 1 "$EC_DETAIL"
        return 1
    fi
    # *_CMD strings may hold several words (e.g. "python3 stand-in.py"): run via bash -c.
    run_logged "$name-client" bash -c "exec $ECHO_CLIENT_CMD \"\$@\"" echo_client "$base:$port/interop?peer=$name" "${client_args[@]}"
    client_rc=$?
    # The peer exits by itself once its one connection is done (give it less
    # time when the client already failed: the peer may still wait for one).
    for _ in $(seq "$([ "$client_rc" -eq 0 ] && echo 100 || echo 20)"); do alive "$peer_pid" || break; sleep 0.1; done
    if alive "$peer_pid"; then
        say "$name-peer still running after echo_client finished (no complete session); stopping it"
        stop_pid "$peer_pid"
        peer_rc=1
    else
        reap_pid "$peer_pid"
        peer_rc=$?
    fi
    sed 's/^/    /' "$LOGS/$name-peer.log"
    detail="echo_client exit $client_rc, peer $( [ "$peer_rc" -eq 0 ] && echo pass || echo "fail (exit $peer_rc)")"
    EC_DETAIL="$detail"
    [ "$client_rc" -eq 0 ] && [ "$peer_rc" -eq 0 ]
    local rc=$?
    [ -z "$record_it" ] || record "$name" "$rc" "$detail"
    return "$rc"
}

check_echo_client_py() { echo_client_check echo-client-py "$PY" "$HERE/py_peer_server.py"; }
check_echo_client_node() { echo_client_check echo-client-node node "$HERE/node_peer_server.js"; }

# A throwaway CA made with openssl, and a certificate for localhost and 127.0.0.1 it signed.
make_test_ca() { # make_test_ca DIR
    local dir="$1"
    mkdir -p "$dir"
    (
        cd "$dir" &&
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
                -subj "/CN=rfc6455 interop test CA" -keyout ca.key -out ca.pem &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -subj "/CN=localhost" -keyout server.key -out server.csr &&
            printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
                "keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >server.ext &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                -extfile server.ext -out server.pem
    ) >"$LOGS/openssl-ca.log" 2>&1
}

# RFC 6455 §4.1: "If /secure/ is true, the client MUST perform a TLS handshake over the
# connection after opening the connection and before sending the handshake data
# [RFC2818]" … "the client MUST use the Server Name Indication extension in the TLS
# handshake [RFC6066]". Python websockets serves wss:// with a certificate from a CA made
# here; echo_client trusts it with --ca and must send SNI "localhost" and ALPN http/1.1.
check_echo_client_wss() {
    local ca="$WORK/ca"
    say "--- echo-client-wss: our echo_client --ca -> Python websockets over TLS"
    make_test_ca "$ca" || { sed 's/^/    /' "$LOGS/openssl-ca.log"; record echo-client-wss 1 "openssl could not make the test CA"; return; }
    echo_client_check --url "wss://localhost" --client-arg --ca --client-arg "$ca/ca.pem" \
        echo-client-wss "$PY" "$HERE/py_peer_server.py" --tls "$ca/server.pem" "$ca/server.key" --expect-sni localhost
}

# RFC 6455 §4.1: "if the client is configured to use a proxy when using the WebSocket
# Protocol to connect to host /host/ and port /port/, then the client SHOULD connect to
# that proxy and ask it to open a TCP connection to the host given by /host/ and the port
# given by /port/" — CONNECT (RFC 9110 §9.3.6) through tinyproxy with Basic
# authentication (RFC 7617), ws:// and wss:// (TLS end to end inside the tunnel), and
# refused credentials ending echo_client with exit 1.
check_echo_client_proxy() {
    local ca="$WORK/ca" conf="$WORK/tinyproxy.conf" tp_port tp_pid rc=0 details=() dead_port
    # tinyproxy takes only plain characters in a password; the URL percent-encodes one of
    # them anyway (%33 is "3"), so echo_client's decoding is exercised.
    local user="alice" password="s3cret" password_url="s%33cret"
    say "--- echo-client-proxy: our echo_client --proxy -> tinyproxy (Basic auth) -> Python websockets"
    [ -f "$ca/ca.pem" ] || make_test_ca "$ca" ||
        { sed 's/^/    /' "$LOGS/openssl-ca.log"; record echo-client-proxy 1 "openssl could not make the test CA"; return; }
    tp_port=$(free_port)
    # No ConnectPort line: CONNECT to any port (Debian's default config allows 443 and 563).
    printf '%s\n' "Port $tp_port" "Listen 127.0.0.1" "Allow 127.0.0.1" "Timeout 30" "MaxClients 20" \
        "LogLevel Connect" "BasicAuth $user $password" >"$conf"
    cp "$conf" "$ARTIFACTS/tinyproxy.conf"
    start_bg tinyproxy "$TINYPROXY" -d -c "$conf"
    tp_pid=$LAST_PID
    wait_port "$tp_port" "$tp_pid" tinyproxy || { record echo-client-proxy 1 "tinyproxy did not start"; return; }
    local proxy="http://$user:$password_url@127.0.0.1:$tp_port"

    echo_client_check --no-record --client-arg --proxy --client-arg "$proxy" \
        echo-client-proxy-ws "$PY" "$HERE/py_peer_server.py" || rc=1
    details+=("ws: $EC_DETAIL")
    echo_client_check --no-record --url "wss://127.0.0.1" --client-arg --proxy --client-arg "$proxy" \
        --client-arg --ca --client-arg "$ca/ca.pem" \
        echo-client-proxy-wss "$PY" "$HERE/py_peer_server.py" --tls "$ca/server.pem" "$ca/server.key" || rc=1
    details+=("wss: $EC_DETAIL")

    # Refused credentials: tinyproxy answers a wrong password with 401 and none with 407;
    # either way echo_client must fail with exit 1 and say why. Nothing listens behind.
    dead_port=$(free_port)
    local bad name proxy_url expect client_rc
    for bad in "wrong-password|http://$user:nope@127.0.0.1:$tp_port|the proxy refused the tunnel: 401" \
        "no-credentials|http://127.0.0.1:$tp_port|proxy authentication required (407"; do
        IFS='|' read -r name proxy_url expect <<<"$bad"
        run_logged "echo-client-proxy-$name" bash -c "exec $ECHO_CLIENT_CMD \"\$@\"" echo_client \
            "ws://127.0.0.1:$dead_port/" --proxy "$proxy_url"
        client_rc=$?
        if [ "$client_rc" -eq 1 ] && grep -qF "$expect" "$LOGS/echo-client-proxy-$name.log"; then
            details+=("$name: exit 1")
        else
            say "echo-client-proxy-$name: expected exit 1 and \"$expect\", got exit $client_rc"
            details+=("$name: exit $client_rc")
            rc=1
        fi
    done
    server_still_up "$tp_pid" tinyproxy || rc=1
    stop_pid "$tp_pid"
    # Every attempt went through tinyproxy: 2 tunnels opened, 2 refused.
    local connects
    connects=$(grep -c 'Request (file descriptor [0-9]*): CONNECT ' "$LOGS/tinyproxy.log")
    if [ "$connects" -ne 4 ]; then
        say "echo-client-proxy: tinyproxy logged $connects CONNECT requests, expected 4"
        rc=1
    fi
    local joined
    joined=$(printf '%s; ' "${details[@]}")
    record echo-client-proxy "$rc" "${joined%; }; $connects CONNECTs"
}

check_nginx() {
    local rc nport prefix="$WORK/nginx" nginx_pid
    say "--- nginx-proxy: Python client -> nginx -> our echo_server (no origin flags)"
    start_echo_server nginx-echo_server || { record nginx-proxy 1 "echo_server did not start"; return; }
    nport=$(free_port)
    mkdir -p "$prefix/tmp"
    # nginx started as root runs its worker as nobody; let it traverse the prefix.
    chmod 755 "$WORK" "$prefix" "$prefix/tmp"
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@LISTEN@|127.0.0.1:$nport|g" -e "s|@UPSTREAM@|127.0.0.1:$ES_PORT|g" \
        "$HERE/nginx.conf.template" >"$prefix/nginx.conf"
    cp "$prefix/nginx.conf" "$ARTIFACTS/nginx.conf"
    if ! "$NGINX" -t -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf" -g 'daemon off;' >"$LOGS/nginx-test.log" 2>&1; then
        sed 's/^/    /' "$LOGS/nginx-test.log"
        stop_pid "$ES_PID"
        record nginx-proxy 1 "nginx -t failed"
        return
    fi
    start_bg nginx "$NGINX" -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf" -g 'daemon off;'
    nginx_pid=$LAST_PID
    if ! wait_port "$nport" "$nginx_pid" nginx; then
        stop_pid "$ES_PID"
        record nginx-proxy 1 "nginx did not start"
        return
    fi
    run_logged nginx-proxy "$PY" "$HERE/py_client_checks.py" --label nginx-proxy \
        "ws://127.0.0.1:$nport/" --accepted-origin "https://any-origin.example"
    rc=$?
    server_still_up "$ES_PID" nginx-echo_server || rc=1
    stop_pid "$nginx_pid"
    stop_pid "$ES_PID"
    cp "$prefix/error.log" "$LOGS/nginx-error.log" 2>/dev/null
    cp "$prefix/access.log" "$LOGS/nginx-access.log" 2>/dev/null
    record nginx-proxy "$rc" "127.0.0.1:$nport -> 127.0.0.1:$ES_PORT"
}

check_chat() {
    local rc port pid
    say "--- chat: two Chromium pages on our chat example"
    port=$(free_port)
    start_bg chat-server bash -c "exec $CHAT_CMD \"\$@\"" chat "127.0.0.1:$port"
    pid=$LAST_PID
    wait_port "$port" "$pid" chat-server || { record chat 1 "chat example did not start"; return; }
    run_logged chat node "$HERE/chat_checks.js" --url "http://127.0.0.1:$port/" --screenshot "$ARTIFACTS/chat.png"
    rc=$?
    server_still_up "$pid" chat-server || rc=1
    stop_pid "$pid"
    if [ "$rc" -eq 0 ]; then
        record chat 0 "screenshot $ARTIFACTS/chat.png"
    else
        record chat "$rc" "see $LOGS/chat.log and $ARTIFACTS/chat-failure-*.png"
    fi
}

check_py_deflate_limit() {
    local rc
    say "--- py-deflate-limit: Python client, permessage-deflate, messages at the default 1 MiB limit"
    start_echo_server py-deflate-limit-echo_server --max-message-size 1048576 ||
        { record py-deflate-limit 1 "echo_server did not start"; return; }
    run_logged py-deflate-limit "$PY" "$HERE/py_deflate_limit.py" "ws://127.0.0.1:$ES_PORT/" --limit 1048576
    rc=$?
    server_still_up "$ES_PID" py-deflate-limit-echo_server || rc=1
    stop_pid "$ES_PID"
    record py-deflate-limit "$rc" "1,048,576 incompressible bytes echoed, 1,048,577 closed with 1009"
}

# ---------------------------------------------------------- axum_echo: TLS and HTTP/2 ----
# axum_echo serves /echo over HTTP/1.1 Upgrade and RFC 8441 extended CONNECT: plain, h2c
# with prior knowledge and HTTP/1.1 on one port; with --tls, ALPN h2 and http/1.1 and the
# certificate (localhost, 127.0.0.1) of the throwaway CA, made once and shared by all checks.
start_axum_echo() { # start_axum_echo NAME [--tls CERT KEY] ; sets AX_PID, AX_PORT
    local name="$1"
    shift
    AX_PORT=$(free_port)
    start_bg "$name" bash -c "exec $AXUM_ECHO_CMD \"\$@\"" axum_echo "127.0.0.1:$AX_PORT" "$@"
    AX_PID=$LAST_PID
    wait_port "$AX_PORT" "$AX_PID" "$name"
}

shared_test_ca() { # shared_test_ca CHECK : $WORK/ca, made on first use; records a FAIL if openssl fails
    [ -f "$WORK/ca/server.pem" ] && return 0
    make_test_ca "$WORK/ca" && return 0
    sed 's/^/    /' "$LOGS/openssl-ca.log"
    record "$1" 1 "openssl could not make the test CA"
    return 1
}

# RFC 8441 §3: a client uses the extended CONNECT only after the server's SETTINGS carried
# SETTINGS_ENABLE_CONNECT_PROTOCOL = 1. Chromium (RFC 8441 on by default since M91, no flag
# needed) does so only on an h2 connection it already has to the origin, and otherwise
# silently opens an HTTP/1.1 connection: the driver checks in the DevTools events that the
# page came over h2 and that every WebSocket handshake answered 200, not 101.
check_browser_h2() {
    local rc detail
    say "--- browser-h2: Chromium -> axum_echo --tls: page over h2, WebSockets over RFC 8441, permessage-deflate"
    shared_test_ca browser-h2 || return
    start_axum_echo browser-h2-axum_echo --tls "$WORK/ca/server.pem" "$WORK/ca/server.key" ||
        { record browser-h2 1 "axum_echo did not start"; return; }
    run_logged browser-h2 node "$HERE/browser_h2_checks.js" --url "https://127.0.0.1:$AX_PORT/" \
        --screenshot "$ARTIFACTS/browser-h2.png"
    rc=$?
    server_still_up "$AX_PID" browser-h2-axum_echo || rc=1
    stop_pid "$AX_PID"
    detail="page $(grep -o 'protocol [a-z0-9./]*$' "$LOGS/browser-h2.log" | head -n 1)"
    detail+=", $(grep -c 'handshake status 200 ' "$LOGS/browser-h2.log") WebSocket handshakes with status 200"
    detail+=", extensions $(grep -o 'ws.extensions "[^"]*"' "$LOGS/browser-h2.log" | cut -d'"' -f2)"
    detail+=", $(grep -o -m 1 'Chrome/[0-9.]*' "$LOGS/browser-h2.log")"
    record browser-h2 "$rc" "$detail"
}

# RFC 8441 by hand from Node's http2 module: h2c with prior knowledge and TLS with ALPN h2,
# 10 WebSockets on one connection each, a wrong :protocol and a wrong version refused.
check_node_h2() {
    local rc=0 details=()
    say "--- node-h2: Node http2 (RFC 8441 by hand) -> axum_echo, h2c and TLS"
    shared_test_ca node-h2 || return
    start_axum_echo node-h2-axum_echo-h2c || { record node-h2 1 "axum_echo did not start"; return; }
    run_logged node-h2-h2c node "$HERE/node_h2_checks.js" --label node-h2-h2c "http://127.0.0.1:$AX_PORT" || rc=1
    server_still_up "$AX_PID" node-h2-axum_echo-h2c || rc=1
    stop_pid "$AX_PID"
    details+=("h2c: $(grep -c ' ok ' "$LOGS/node-h2-h2c.log") ok")
    start_axum_echo node-h2-axum_echo-tls --tls "$WORK/ca/server.pem" "$WORK/ca/server.key" ||
        { record node-h2 1 "axum_echo --tls did not start"; return; }
    run_logged node-h2-tls node "$HERE/node_h2_checks.js" --label node-h2-tls \
        "https://127.0.0.1:$AX_PORT" --ca "$WORK/ca/ca.pem" || rc=1
    server_still_up "$AX_PID" node-h2-axum_echo-tls || rc=1
    stop_pid "$AX_PID"
    details+=("TLS: $(grep -c ' ok ' "$LOGS/node-h2-tls.log") ok")
    record node-h2 "$rc" "${details[0]}, ${details[1]}"
}

# The usual client suites over wss:// (HTTP/1.1 + TLS, Upgrade) against axum_echo, trusting
# the test CA. Left out: subprotocols (axum_echo selects none) and the 403 Origin case (it
# has no origin policy); binary sizes stop at the extractor's default 1 MiB message limit.
wss_client_checks() { # wss_client_checks NAME ONLY SCRIPT-RUNNER...
    local name="$1" only="$2" rc
    shift 2
    say "--- $name: $* against axum_echo --tls over wss://"
    shared_test_ca "$name" || return
    start_axum_echo "$name-axum_echo" --tls "$WORK/ca/server.pem" "$WORK/ca/server.key" ||
        { record "$name" 1 "axum_echo did not start"; return; }
    run_logged "$name" "$@" "wss://127.0.0.1:$AX_PORT/echo" --ca "$WORK/ca/ca.pem" \
        --max-message-size 1048576 --accepted-origin "https://any-origin.example" --only "$only"
    rc=$?
    server_still_up "$AX_PID" "$name-axum_echo" || rc=1
    stop_pid "$AX_PID"
    record "$name" "$rc" "$(grep -c ' ok ' "$LOGS/$name.log") ok, $(grep -c ' FAIL ' "$LOGS/$name.log") failed"
}

check_py_wss() {
    wss_client_checks py-wss handshake,text_ascii,text_utf8,binary_sizes,fragmented,ping_pong,close_code_reason,pipelined,origin,concurrent,still_alive \
        "$PY" "$HERE/py_client_checks.py" --label py-wss
}
check_node_wss() {
    wss_client_checks node-wss text,binary_sizes,fragmented,ping_pong,close_code_reason,pipelined,origin,concurrent,still_alive \
        node "$HERE/node_client_checks.js" --label node-wss
}

for c in $ALL_CHECKS; do
    wanted "$c" || continue
    t0=$SECONDS
    case "$c" in
        py-client) check_py_client ;;
        node-client) check_node_client ;;
        browser-echo) check_browser_echo ;;
        browser-origin) check_browser_origin ;;
        echo-client-py) check_echo_client_py ;;
        echo-client-node) check_echo_client_node ;;
        nginx-proxy) check_nginx ;;
        chat) check_chat ;;
        py-deflate-limit) check_py_deflate_limit ;;
        echo-client-wss) check_echo_client_wss ;;
        echo-client-proxy) check_echo_client_proxy ;;
        browser-h2) check_browser_h2 ;;
        node-h2) check_node_h2 ;;
        py-wss) check_py_wss ;;
        node-wss) check_node_wss ;;
    esac
    say "($c took $((SECONDS - t0))s)"
done
for c in ${ONLY//,/ }; do
    [[ " $ALL_CHECKS " == *" $c "* ]] || record "$c" 1 "unknown check name (known: $ALL_CHECKS)"
done

echo
say "==================== summary ($(($(date +%s) - T_START))s) ===================="
for line in "${RESULTS[@]}"; do say "$line"; done
say "logs and artifacts: $ARTIFACTS"
if [ "${#RESULTS[@]}" -eq 0 ]; then
    say "no checks ran"
    exit 1
fi
if [ "$FAILED" -gt 0 ]; then
    say "$FAILED of ${#RESULTS[@]} checks FAILED"
    exit 1
fi
say "all ${#RESULTS[@]} checks PASSED"
exit 0
