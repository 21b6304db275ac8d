#!/usr/bin/env bash
# Idempotent installer for the interop peers used by tests/interop/run.sh.
#
# Installs:
#   * Debian packages: chromium, nginx, tinyproxy, openssl (+ fonts, python3-venv / nodejs if missing)
#   * a Python virtualenv with `websockets`   -> $INTEROP_HOME/venv
#   * node_modules with `ws`, `puppeteer-core` -> $INTEROP_HOME/node/node_modules
#
# Nothing is written into the repository. Re-running is cheap: every step is
# skipped when its result is already present and up to date.
#
# Env:
#   INTEROP_HOME            default: ${XDG_CACHE_HOME:-$HOME/.cache}/rfc6455-interop
#   INTEROP_SKIP_APT=1      never call apt-get (fail if chromium/nginx are missing)
#   INTEROP_NET_TIMEOUT     seconds allowed for each network step (default 600)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTEROP_HOME="${INTEROP_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/rfc6455-interop}"
NET_TIMEOUT="${INTEROP_NET_TIMEOUT:-600}"

log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$INTEROP_HOME"

# ---------------------------------------------------------------- apt ------
have_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }
have_tinyproxy() { command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ]; }
have_chromium() { [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; }
have_venv() { command -v python3 >/dev/null 2>&1 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }
have_node() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
        [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ]
}

pkgs=()
have_chromium || pkgs+=(chromium)
have_nginx || pkgs+=(nginx)
# The HTTP CONNECT proxy of the echo-client-proxy check, and the test CA's openssl.
have_tinyproxy || pkgs+=(tinyproxy)
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
# Fonts only matter for readable screenshots; cheap, so ensure one is there.
[ -d /usr/share/fonts/truetype/dejavu ] || pkgs+=(fonts-dejavu-core)
have_venv || pkgs+=(python3 python3-venv)
have_node || pkgs+=(nodejs npm)

if [ "${#pkgs[@]}" -gt 0 ]; then
    [ "${INTEROP_SKIP_APT:-0}" = 1 ] && die "missing packages (${pkgs[*]}) and INTEROP_SKIP_APT=1"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "need root or sudo to apt-get install ${pkgs[*]}"
        SUDO="sudo"
    fi
    log "apt-get install ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout "$NET_TIMEOUT" $SUDO apt-get update -q -o Acquire::http::Timeout=30 -o Acquire::Retries=2 >&2 ||
        die "apt-get update failed or timed out"
    # --no-install-recommends keeps chromium lean; nginx's postinst may try to
    # start the system service on :80, which is harmless and not used by us.
    timeout "$NET_TIMEOUT" $SUDO apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        -o Acquire::http::Timeout=30 -o Acquire::Retries=2 "${pkgs[@]}" >&2 ||
        die "apt-get install ${pkgs[*]} failed or timed out"
else
    log "apt packages present (chromium, nginx, python3-venv, node)"
fi
have_chromium || die "chromium not found at ${CHROMIUM:-/usr/bin/chromium}"
have_nginx || die "nginx not found"
have_tinyproxy || die "tinyproxy not found"
command -v openssl >/dev/null 2>&1 || die "openssl not found"
have_node || die "node >= 18 and npm are required"

# ---------------------------------------------------------------- python ---
VENV="$INTEROP_HOME/venv"
REQ="$HERE/requirements.txt"
REQ_STAMP="$VENV/.interop-requirements.sha256"
req_sum="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$REQ_STAMP" 2>/dev/null)" = "$req_sum" ] &&
    "$VENV/bin/python" -c 'import websockets' >/dev/null 2>&1; then
    log "python venv up to date ($VENV)"
else
    log "creating python venv in $VENV"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    timeout "$NET_TIMEOUT" "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        --timeout 60 --retries 2 -r "$REQ" >&2 || die "pip install failed or timed out"
    echo "$req_sum" >"$REQ_STAMP"
fi
"$VENV/bin/python" -c 'import websockets, sys; print("[install] websockets", websockets.__version__, "python", sys.version.split()[0], file=sys.stderr)'

# ---------------------------------------------------------------- node -----
NODE_DIR="$INTEROP_HOME/node"
NODE_STAMP="$NODE_DIR/.interop-package.sha256"
mkdir -p "$NODE_DIR"
pkg_sum="$( (cat "$HERE/package.json"; [ ! -f "$HERE/package-lock.json" ] || cat "$HERE/package-lock.json") | sha256sum | cut -d' ' -f1)"
if [ -d "$NODE_DIR/node_modules/ws" ] && [ -d "$NODE_DIR/node_modules/puppeteer-core" ] &&
    [ "$(cat "$NODE_STAMP" 2>/dev/null)" = "$pkg_sum" ]; then
    log "node_modules up to date ($NODE_DIR/node_modules)"
else
    log "installing node modules into $NODE_DIR"
    cp "$HERE/package.json" "$NODE_DIR/package.json"
    npm_flags=(--no-audit --no-fund --omit=dev --fetch-timeout=60000 --fetch-retries=2 --loglevel=error)
    # puppeteer-core never downloads a browser, but make sure nothing else tries.
    export PUPPETEER_SKIP_DOWNLOAD=1
    if [ -f "$HERE/package-lock.json" ]; then
        cp "$HERE/package-lock.json" "$NODE_DIR/package-lock.json"
        (cd "$NODE_DIR" && timeout "$NET_TIMEOUT" npm ci "${npm_flags[@]}") >&2 ||
            die "npm ci failed or timed out"
    else
        rm -f "$NODE_DIR/package-lock.json"
        (cd "$NODE_DIR" && timeout "$NET_TIMEOUT" npm install "${npm_flags[@]}") >&2 ||
            die "npm install failed or timed out"
    fi
    echo "$pkg_sum" >"$NODE_STAMP"
fi
NODE_PATH="$NODE_DIR/node_modules" node -e '
  const v = (m) => require(m + "/package.json").version;
  console.error("[install] node", process.version, "ws", v("ws"), "puppeteer-core", v("puppeteer-core"));'

log "chromium: $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null || echo '?')"
log "nginx: $( (nginx -v || /usr/sbin/nginx -v) 2>&1)"
log "tinyproxy: $( (tinyproxy -v || /usr/bin/tinyproxy -v) 2>&1)"
log "done (INTEROP_HOME=$INTEROP_HOME)"
