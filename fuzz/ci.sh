#!/usr/bin/env bash
# Builds the fuzz targets and runs each for FUZZ_SECONDS (default 20) from the committed
# seeds; any crash fails the script (the crashing input is left in fuzz/artifacts/).
#
#   fuzz/ci.sh                      # every target, 20 s each
#   FUZZ_SECONDS=600 fuzz/ci.sh utf8 mask
#
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 enables them on stable.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-20}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(handshake_request handshake_response frame_header connection_server
        connection_client utf8 mask roundtrip inflate reader http_request
        stomp_codec stomp_session stomp_relay sockjs_frames sockjs_endpoint)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# One build for all targets (release + debug assertions, ASan, coverage instrumentation).
cargo fuzz build -O

for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
    echo "=== fuzz $t for ${seconds}s ==="
    log="$(mktemp)"
    # -rss_limit_mb / -malloc_limit_mb: a run that needs more than 512 MiB is a bug here
    # (the connection targets configure at most 64 KiB messages).
    if ! cargo fuzz run -O "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=512 \
        -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" >&2
        echo "fuzz target $t failed; the input is in fuzz/artifacts/$t/" >&2
        rm -f "$log"
        exit 1
    fi
    grep -E '^#[0-9]+[[:space:]]+DONE|^Done|^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log"
    rm -f "$log"
done
