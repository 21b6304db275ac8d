#!/usr/bin/env bash
# Run the Autobahn|Testsuite against our testees and diff the results with
# autobahn/expected-results.json.
#
#   autobahn/run.sh server [--adapter tokio|blocking|both] [--cases JSON]
#       wstest -m fuzzingclient tests our echo server(s)
#   autobahn/run.sh client [--adapter tokio|blocking|both] [--cases JSON]
#       wstest -m fuzzingserver tests our autobahn client testee
#
# See autobahn/README.md for the environment variables.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

MODE="${1:-}"
[ $# -gt 0 ] && shift
case "$MODE" in server | client) ;; *) usage ;; esac

ADAPTER="${AUTOBAHN_ADAPTER:-both}"
CASES="${AUTOBAHN_CASES:-[\"*\"]}"
EXCLUDE="${AUTOBAHN_EXCLUDE_CASES:-[]}"
while [ $# -gt 0 ]; do
    case "$1" in
        --adapter) ADAPTER="${2:?--adapter needs a value}"; shift 2 ;;
        --adapter=*) ADAPTER="${1#*=}"; shift ;;
        --cases) CASES="${2:?--cases needs a value}"; shift 2 ;;
        --cases=*) CASES="${1#*=}"; shift ;;
        -h | --help) usage ;;
        *) echo "run.sh: unknown argument: $1" >&2; usage ;;
    esac
done
case "$ADAPTER" in
    tokio) ADAPTERS=(tokio) ;;
    blocking) ADAPTERS=(blocking) ;;
    both) ADAPTERS=(tokio blocking) ;;
    *) echo "run.sh: --adapter must be tokio, blocking or both" >&2; exit 2 ;;
esac

REPORTS="${AUTOBAHN_REPORTS:-${HERE}/reports}"
EXPECTED="${AUTOBAHN_EXPECTED:-${HERE}/expected-results.json}"
SUITE_TIMEOUT="${AUTOBAHN_TIMEOUT:-1800}"
STARTUP_TIMEOUT="${AUTOBAHN_STARTUP_TIMEOUT:-60}"
BUILD_TIMEOUT="${AUTOBAHN_BUILD_TIMEOUT:-1800}"
DOCKER_IMAGE="${AUTOBAHN_DOCKER_IMAGE:-crossbario/autobahn-testsuite}"
USE_DOCKER="${AUTOBAHN_DOCKER:-auto}"
HOST=127.0.0.1
FUZZ_PORT=${AUTOBAHN_FUZZ_PORT:-9001}

log() { printf '[autobahn] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

port_of() { case "$1" in tokio) echo 9001 ;; blocking) echo 9002 ;; esac; }
example_of() {
    case "$1:$2" in
        server:tokio) echo echo_server ;;
        server:blocking) echo echo_server_blocking ;;
        client:*) echo autobahn_client ;;
    esac
}

# ---------------------------------------------------------------- processes

TMP="$(mktemp -d "${TMPDIR:-/tmp}/rfc6455-autobahn.XXXXXX")"
PIDS=()
CONTAINERS=()

# start_bg DIR LOGFILE CMD...: start CMD in DIR in the background, in its own
# session/process group (PGID = PID), so that stopping it also stops its
# children, e.g. the binary under `cargo run`. Sets BG_PID.
start_bg() {
    local dir="$1" logfile="$2"
    shift 2
    (cd "$dir" && exec setsid "$@") >"$logfile" 2>&1 </dev/null &
    BG_PID=$!
    PIDS+=("$BG_PID")
}

# stop_pid PID: SIGTERM the process group started by start_bg, SIGKILL after 10 s.
stop_pid() {
    local pid="$1" i
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "process $pid did not stop after SIGTERM, sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317
cleanup() {
    local rc=$? pid name
    trap - EXIT INT TERM
    for name in "${CONTAINERS[@]}"; do
        timeout 30 docker rm -f "$name" >/dev/null 2>&1 || true
    done
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Wait for $pid's exit; returns its status (124 if it hit `timeout`).
wait_pid() {
    local rc=0
    wait "$1" || rc=$?
    return "$rc"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {
    local host="$1" port="$2" pid="$3" what="$4" deadline
    deadline=$(($(date +%s) + STARTUP_TIMEOUT))
    until port_open "$host" "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$what exited before listening on $host:$port; its log:"
            tail -n 40 "$5" >&2 || true
            die "$what failed to start"
        fi
        [ "$(date +%s)" -lt "$deadline" ] || die "$what not listening on $host:$port after ${STARTUP_TIMEOUT}s"
        sleep 0.2
    done
}

require_free_port() {
    if port_open "$HOST" "$1"; then
        die "port $1 is already in use on $HOST; stop whatever listens there first"
    fi
}

# ------------------------------------------------------------------ wstest

if [ "$USE_DOCKER" = auto ]; then
    if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
        USE_DOCKER=1
    else
        USE_DOCKER=0
    fi
fi
case "$USE_DOCKER" in 1 | yes | true) USE_DOCKER=1 ;; *) USE_DOCKER=0 ;; esac

command -v python3 >/dev/null 2>&1 || die "python3 is required (spec generation, compare.py)"

if [ "$USE_DOCKER" = 1 ]; then
    log "using Docker image ${DOCKER_IMAGE}"
    if ! docker image inspect "$DOCKER_IMAGE" >/dev/null 2>&1; then
        log "pulling ${DOCKER_IMAGE}"
        timeout 900 docker pull "$DOCKER_IMAGE" >&2 || die "docker pull ${DOCKER_IMAGE} failed"
    fi
    SPEC_DIR=/spec
    REPORT_ROOT=/reports
else
    WSTEST="$("${HERE}/install.sh" | tail -n 1)"
    [ -x "$WSTEST" ] || die "install.sh did not yield a wstest executable"
    log "using native ${WSTEST}"
    SPEC_DIR="$TMP"
    REPORT_ROOT="$REPORTS"
fi

# wstest_cmd NAME ARGS... -> sets WSTEST_CMD (array) to run wstest in the foreground.
wstest_cmd() {
    local name="$1"
    shift
    if [ "$USE_DOCKER" = 1 ]; then
        CONTAINERS+=("$name")
        WSTEST_CMD=(docker run --rm --name "$name" --net=host --user "$(id -u):$(id -g)"
                    -v "${TMP}:/spec:ro" -v "${REPORTS}:/reports" "$DOCKER_IMAGE" wstest "$@")
    else
        WSTEST_CMD=(env PYTHONUNBUFFERED=1 "$WSTEST" "$@")
    fi
}

# make_spec TEMPLATE OUT OUTDIR [AGENT...]
make_spec() {
    FUZZ_URL="ws://${HOST}:${FUZZ_PORT}" python3 - "$@" "$CASES" "$EXCLUDE" <<'PY'
import json, os, sys
template, out, outdir = sys.argv[1:4]
agents, cases, exclude = sys.argv[4:-2], sys.argv[-2], sys.argv[-1]
with open(template) as f:
    spec = json.load(f)
spec["outdir"] = outdir
spec["cases"] = json.loads(cases)
spec["exclude-cases"] = json.loads(exclude)
if "url" in spec:
    spec["url"] = os.environ["FUZZ_URL"]
if "servers" in spec:
    spec["servers"] = [s for s in spec["servers"] if s["agent"] in agents]
    missing = set(agents) - {s["agent"] for s in spec["servers"]}
    if missing:
        sys.exit("run.sh: no server entry for %s in %s" % (sorted(missing), template))
with open(out, "w") as f:
    json.dump(spec, f, indent=3)
PY
}

# ----------------------------------------------------------------- testees

build_examples() {
    local names=("$@") args=() n
    for n in "${names[@]}"; do args+=(--example "$n"); done
    command -v cargo >/dev/null 2>&1 || die "cargo not found"
    log "building: cargo build --release ${args[*]}"
    local t0
    t0=$(now)
    (cd "$ROOT" && timeout "$BUILD_TIMEOUT" cargo build --release "${args[@]}") >&2 \
        || die "cargo build failed"
    log "build took $(elapsed "$t0") s"
}

# testee_cmd MODE ADAPTER -> sets TESTEE_CMD (array)
testee_cmd() {
    local mode="$1" adapter="$2" override
    if [ "$mode" = server ]; then override="${AUTOBAHN_SERVER_CMD:-}"; else override="${AUTOBAHN_CLIENT_CMD:-}"; fi
    if [ -n "$override" ]; then
        TESTEE_CMD=(bash -c "$override")
    elif [ "$mode" = server ]; then
        TESTEE_CMD=(cargo run --release --example "$(example_of server "$adapter")" -- "${HOST}:$(port_of "$adapter")")
    else
        TESTEE_CMD=(cargo run --release --example autobahn_client -- "ws://${HOST}:${FUZZ_PORT}" --agent "rfc6455-${adapter}")
    fi
}

# testee_env MODE ADAPTER -> sets TESTEE_ENV (array of NAME=VALUE for env(1))
testee_env() {
    local mode="$1" adapter="$2"
    TESTEE_ENV=("RFC6455_ADAPTER=${adapter}" "AUTOBAHN_AGENT=rfc6455-${adapter}")
    if [ "$mode" = server ]; then
        TESTEE_ENV+=("AUTOBAHN_PORT=$(port_of "$adapter")" "AUTOBAHN_ADDR=${HOST}:$(port_of "$adapter")")
    else
        TESTEE_ENV+=("AUTOBAHN_URL=ws://${HOST}:${FUZZ_PORT}")
    fi
}

# ------------------------------------------------------------------- modes

T_START=$(now)
mkdir -p "$REPORTS/logs"
AGENTS=()
for a in "${ADAPTERS[@]}"; do AGENTS+=("rfc6455-$a"); done

run_server_mode() {
    local outdir="${REPORTS}/servers" a log_file port t0 rc=0
    if [ -z "${AUTOBAHN_SERVER_CMD:-}" ]; then
        local ex=()
        for a in "${ADAPTERS[@]}"; do ex+=("$(example_of server "$a")"); done
        build_examples "${ex[@]}"
    fi
    rm -rf "$outdir"
    mkdir -p "$outdir"
    declare -gA SERVER_PID=()
    for a in "${ADAPTERS[@]}"; do
        port="$(port_of "$a")"
        require_free_port "$port"
        testee_cmd server "$a"
        log_file="${REPORTS}/logs/server-${a}.log"
        log "starting ${a} server on ${HOST}:${port}: ${TESTEE_CMD[*]}"
        testee_env server "$a"
        start_bg "$ROOT" "$log_file" env "${TESTEE_ENV[@]}" "${TESTEE_CMD[@]}"
        SERVER_PID[$a]="$BG_PID"
        wait_port "$HOST" "$port" "${SERVER_PID[$a]}" "${a} server" "$log_file"
    done

    make_spec "${HERE}/fuzzingclient.json" "${TMP}/fuzzingclient.json" "${REPORT_ROOT}/servers" "${AGENTS[@]}"
    wstest_cmd "rfc6455-autobahn-fuzzingclient-$$" -m fuzzingclient -s "${SPEC_DIR}/fuzzingclient.json"
    log "running wstest -m fuzzingclient against ${AGENTS[*]} (log: ${REPORTS}/logs/wstest-fuzzingclient.log)"
    t0=$(now)
    start_bg "$TMP" "${REPORTS}/logs/wstest-fuzzingclient.log" timeout "$SUITE_TIMEOUT" "${WSTEST_CMD[@]}"
    wait_pid "$BG_PID" || rc=$?
    SUITE_TIME=$(elapsed "$t0")
    log "wstest fuzzingclient finished in ${SUITE_TIME} s (exit ${rc})"
    if [ "$rc" = 124 ]; then log "wstest hit the ${SUITE_TIMEOUT}s timeout (AUTOBAHN_TIMEOUT)"; fi
    for a in "${ADAPTERS[@]}"; do
        if ! kill -0 "${SERVER_PID[$a]}" 2>/dev/null; then
            log "WARNING: ${a} server exited during the run; tail of ${REPORTS}/logs/server-${a}.log:"
            tail -n 20 "${REPORTS}/logs/server-${a}.log" >&2 || true
        fi
        stop_pid "${SERVER_PID[$a]}"
    done
    INDEX="${outdir}/index.json"
}

run_client_mode() {
    local outdir="${REPORTS}/clients" a log_file t0 rc fuzz_pid failed=0
    if [ -z "${AUTOBAHN_CLIENT_CMD:-}" ]; then build_examples autobahn_client; fi
    rm -rf "$outdir"
    mkdir -p "$outdir"
    require_free_port "$FUZZ_PORT"
    make_spec "${HERE}/fuzzingserver.json" "${TMP}/fuzzingserver.json" "${REPORT_ROOT}/clients"
    wstest_cmd "rfc6455-autobahn-fuzzingserver-$$" -m fuzzingserver -s "${SPEC_DIR}/fuzzingserver.json" -u 0
    log "starting wstest -m fuzzingserver on ${HOST}:${FUZZ_PORT} (log: ${REPORTS}/logs/wstest-fuzzingserver.log)"
    start_bg "$TMP" "${REPORTS}/logs/wstest-fuzzingserver.log" "${WSTEST_CMD[@]}"
    fuzz_pid="$BG_PID"
    wait_port "$HOST" "$FUZZ_PORT" "$fuzz_pid" "wstest fuzzingserver" "${REPORTS}/logs/wstest-fuzzingserver.log"

    t0=$(now)
    for a in "${ADAPTERS[@]}"; do
        testee_cmd client "$a"
        log_file="${REPORTS}/logs/client-${a}.log"
        log "running ${a} client testee: ${TESTEE_CMD[*]} (log: ${log_file})"
        local t1
        t1=$(now)
        rc=0
        testee_env client "$a"
        start_bg "$ROOT" "$log_file" timeout "$SUITE_TIMEOUT" env "${TESTEE_ENV[@]}" "${TESTEE_CMD[@]}"
        wait_pid "$BG_PID" || rc=$?
        log "${a} client testee finished in $(elapsed "$t1") s (exit ${rc})"
        if [ "$rc" = 124 ]; then log "${a} client testee hit the ${SUITE_TIMEOUT}s timeout (AUTOBAHN_TIMEOUT)"; fi
        if [ "$rc" != 0 ]; then
            failed=1
            log "WARNING: ${a} client testee failed; tail of ${log_file}:"
            tail -n 20 "$log_file" >&2 || true
        fi
        kill -0 "$fuzz_pid" 2>/dev/null || die "wstest fuzzingserver died; see ${REPORTS}/logs/wstest-fuzzingserver.log"
        timeout 180 python3 "${HERE}/update_reports.py" "ws://${HOST}:${FUZZ_PORT}" "rfc6455-${a}" \
            || log "WARNING: updateReports for rfc6455-${a} failed"
    done
    SUITE_TIME=$(elapsed "$t0")
    log "client testees finished in ${SUITE_TIME} s"
    stop_pid "$fuzz_pid"
    INDEX="${outdir}/index.json"
    CLIENT_FAILED=$failed
}

CLIENT_FAILED=0
if [ "$MODE" = server ]; then run_server_mode; else run_client_mode; fi

echo
echo "=== Autobahn ${MODE} run: adapters ${ADAPTERS[*]}, cases ${CASES} minus ${EXCLUDE}"
echo "=== suite wall time ${SUITE_TIME} s, total $(elapsed "$T_START") s; report: $(dirname "$INDEX")/index.html"
if [ ! -f "$INDEX" ]; then
    log "no report index at ${INDEX}"
    exit 1
fi
CMP_ARGS=(--index "$INDEX" --expected "$EXPECTED" --cases "$CASES" --exclude "$EXCLUDE")
for a in "${AGENTS[@]}"; do CMP_ARGS+=(--agent "$a"); done
rc=0
python3 "${HERE}/compare.py" "${CMP_ARGS[@]}" || rc=$?
[ "$CLIENT_FAILED" = 0 ] || { log "a client testee exited non-zero"; [ "$rc" != 0 ] || rc=1; }
exit "$rc"
