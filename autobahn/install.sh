#!/usr/bin/env bash
# Native install of the Autobahn|Testsuite (wstest, Python 2.7 only) into a
# directory owned by this harness. Idempotent: a finished install is detected
# by a marker file and reused. Progress goes to stderr; the only line printed
# on stdout is the absolute path of the wstest executable.
#
# Environment:
#   AUTOBAHN_CACHE           base dir       (default: $HOME/.cache/rfc6455-autobahn)
#   AUTOBAHN_VENV            virtualenv dir (default: $AUTOBAHN_CACHE/venv)
#   AUTOBAHN_PYTHON2         python2.7 interpreter to use (skips the apt step)
#   AUTOBAHN_BULLSEYE_MIRROR Debian mirror for the bullseye suite
#                            (default: the mirror already used by apt, else
#                            http://deb.debian.org/debian)
#   AUTOBAHN_NO_ACCEL=1      do not build the wsaccel C extension (no gcc or
#                            python2.7-dev needed; wstest gets slower)
set -euo pipefail

CACHE="${AUTOBAHN_CACHE:-${HOME}/.cache/rfc6455-autobahn}"
VENV="${AUTOBAHN_VENV:-${CACHE}/venv}"
NO_ACCEL="${AUTOBAHN_NO_ACCEL:-0}"

# Bootstrap wheels (pure python, py2.py3), pinned by version and sha256.
BOOT_WHEELS=(
    "pip-20.3.4-py2.py3-none-any.whl 217ae5161a0e08c0fb873858806e3478c9775caffce5168b50ec885e358c199d"
    "setuptools-44.1.1-py2.py3-none-any.whl 27a714c09253134e60a6fa68130f78c7037e5562c4f21f8f318f2ae900d152d5"
    "wheel-0.37.1-py2.py3-none-any.whl 4bdcd7d840138086126cd09254dc6195fb4fc6f01c050a1d7236f2630db1d22a"
)

# virtualenv 20.15.1 is the last line that still creates Python 2.7
# environments; its dependencies are pinned to the last py2-compatible
# releases so that the resolver never has to guess.
BOOT_REQS="virtualenv==20.15.1
configparser==4.0.2
contextlib2==0.6.0.post1
distlib==0.4.4
filelock==3.2.1
importlib-metadata==2.1.3
importlib-resources==3.3.1
pathlib2==2.3.7.post1
platformdirs==2.0.2
scandir==1.10.0
singledispatch==3.7.0
six==1.17.0
typing==3.10.0.0
zipp==1.2.0"

# Full, closed dependency set of autobahntestsuite 25.10.1 on Python 2.7,
# installed with --no-deps. Versions are the last releases that support
# Python 2.7 (or the exact pins autobahntestsuite itself declares).
SUITE_REQS="autobahntestsuite==25.10.1
autobahn==0.10.9
Twisted==19.10.0
zope.interface==4.6.0
txaio==2.1.0
incremental==16.10.1
constantly==15.1.0
Automat==22.10.0
attrs==21.4.0
hyperlink==21.0.0
idna==2.10
PyHamcrest==1.10.1
pyOpenSSL==19.1.0
cryptography==3.3.2
cffi==1.15.1
pycparser==2.21
enum34==1.1.10
ipaddress==1.0.23
service-identity==18.1.0
pyasn1==0.5.1
pyasn1-modules==0.3.0
Jinja2==2.11.3
MarkupSafe==1.1.1
Werkzeug==1.0.1
klein==17.10.0
unittest2==1.1.0
linecache2==1.0.0
traceback2==1.4.0
six==1.16.0
typing==3.10.0.0
setuptools==44.0.0"
ACCEL_REQS="wsaccel==0.6.6
ujson==2.0.3"

log() { printf '[autobahn/install] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Fingerprint of everything that determines the venv content.
FINGERPRINT="$(printf '%s\n' "${BOOT_WHEELS[@]}" "$BOOT_REQS" "$SUITE_REQS" "accel=${NO_ACCEL}" "python2=${AUTOBAHN_PYTHON2:-}" \
    "$( [ "$NO_ACCEL" = 1 ] || printf '%s' "$ACCEL_REQS" )" | sha256sum | cut -c1-16)"
MARKER="${VENV}/.rfc6455-autobahn"

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "done ${FINGERPRINT}" ] && [ -x "${VENV}/bin/wstest" ]; then
    log "already installed in ${VENV}"
    printf '%s\n' "${VENV}/bin/wstest"
    exit 0
fi

START=$(date +%s)

SUDO=()
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); fi
fi

APT_OPTS=(-o Acquire::http::Timeout=30 -o Acquire::https::Timeout=30 -o Acquire::Retries=3
          -o DPkg::Lock::Timeout=300)

apt_update() {
    log "apt-get update"
    timeout 600 "${SUDO[@]}" apt-get "${APT_OPTS[@]}" update -q >&2 \
        || die "apt-get update failed"
}

apt_install() {
    log "apt-get install $*"
    timeout 900 "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends "$@" >&2 \
        || die "apt-get install $* failed"
}

apt_has_candidate() {
    local cand
    cand=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [ -n "$cand" ] && [ "$cand" != "(none)" ]
}

is_py27() {
    [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (2, 7) else 1)' >/dev/null 2>&1
}

# The mirror URI apt already uses for this release's main Debian archive:
# the first source whose suite is the OS codename and which has "main".
current_debian_mirror() {
    local codename f
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || return 0
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v c="$codename" '
            $1 == "deb" {
                n = 0
                for (i = 2; i <= NF; i++) {
                    if (inopt) { if ($i ~ /\]$/) inopt = 0; continue }
                    if ($i ~ /^\[/) { if ($i !~ /\]$/) inopt = 1; continue }
                    w[++n] = $i
                }
                if (n >= 3 && w[2] == c) for (i = 3; i <= n; i++) if (w[i] == "main") { print w[1]; break }
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" }
            {
                uris = ""; suite = 0; main = 0; deb = 0
                for (i = 1; i <= NF; i++) {
                    split($i, kv, ":[ \t]*"); k = tolower(kv[1]); v = substr($i, length(kv[1]) + 2)
                    nw = split(v, ws, /[ \t]+/)
                    for (j = 1; j <= nw; j++) {
                        if (k == "types" && ws[j] == "deb") deb = 1
                        if (k == "suites" && ws[j] == c) suite = 1
                        if (k == "components" && ws[j] == "main") main = 1
                        if (k == "uris" && ws[j] != "" && uris == "") uris = ws[j]
                    }
                }
                if (deb && suite && main && uris != "") print uris
            }' "$f"
    done
}

add_bullseye_suite() {
    local mirror src pref keyring
    mirror="${AUTOBAHN_BULLSEYE_MIRROR:-}"
    if [ -z "$mirror" ]; then
        mirror=$(current_debian_mirror | head -n1)
        case "$mirror" in
            *debian*) ;;
            *) mirror="" ;;
        esac
    fi
    mirror="${mirror:-http://deb.debian.org/debian}"
    src=/etc/apt/sources.list.d/rfc6455-autobahn-bullseye.sources
    pref=/etc/apt/preferences.d/rfc6455-autobahn-bullseye
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    log "adding Debian bullseye (for python2.7) from ${mirror} as ${src} (pin priority 100)"
    {
        printf 'Types: deb\nURIs: %s\nSuites: bullseye\nComponents: main\n' "$mirror"
        [ -f "$keyring" ] && printf 'Signed-By: %s\n' "$keyring"
    } | "${SUDO[@]}" tee "$src" >/dev/null
    printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' \
        | "${SUDO[@]}" tee "$pref" >/dev/null
}

ensure_python2() {
    local cand
    for cand in "${AUTOBAHN_PYTHON2:-}" /usr/bin/python2.7 "$(command -v python2.7 2>/dev/null || true)"; do
        if is_py27 "$cand"; then PY2="$cand"; return; fi
    done
    [ -n "${AUTOBAHN_PYTHON2:-}" ] && die "AUTOBAHN_PYTHON2=${AUTOBAHN_PYTHON2} is not a working python2.7"
    command -v apt-get >/dev/null 2>&1 || die "no python2.7 found and no apt-get; set AUTOBAHN_PYTHON2"
    apt_update
    if ! apt_has_candidate python2.7; then
        # shellcheck disable=SC1091
        if [ "$(. /etc/os-release && printf '%s' "${ID:-}")" != debian ]; then
            die "python2.7 is not installable via apt on this system; set AUTOBAHN_PYTHON2 or use Docker"
        fi
        add_bullseye_suite
        apt_update
        apt_has_candidate python2.7 || die "python2.7 still has no apt candidate after adding bullseye"
    fi
    apt_install python2.7
    is_py27 /usr/bin/python2.7 || die "python2.7 install did not produce /usr/bin/python2.7"
    PY2=/usr/bin/python2.7
}

# gcc + Python.h are needed to build the wsaccel C extension.
ensure_build_deps() {
    [ "$NO_ACCEL" = 1 ] && return
    local inc pkgs=()
    inc=$("$PY2" -c 'import sysconfig; print(sysconfig.get_config_var("INCLUDEPY"))')
    [ -f "${inc}/Python.h" ] || pkgs+=(python2.7-dev)
    command -v gcc >/dev/null 2>&1 || pkgs+=(gcc libc6-dev)
    [ "${#pkgs[@]}" -eq 0 ] && return
    if [ "$PY2" != /usr/bin/python2.7 ] && [[ " ${pkgs[*]} " == *" python2.7-dev "* ]]; then
        die "${PY2} has no Python.h; install its headers or set AUTOBAHN_NO_ACCEL=1"
    fi
    command -v apt-get >/dev/null 2>&1 || die "need ${pkgs[*]} (or set AUTOBAHN_NO_ACCEL=1)"
    apt_has_candidate "${pkgs[0]}" || apt_update
    apt_install "${pkgs[@]}"
}

# python3 + pip only serve to download the py2 bootstrap wheels.
ensure_py3_pip() {
    if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then return; fi
    command -v apt-get >/dev/null 2>&1 || die "need python3 with pip to download bootstrap wheels"
    apt_update
    apt_install python3 python3-pip
}

PIP_NET=(--timeout 60 --retries 3 --disable-pip-version-check)

fetch_boot_wheels() {
    local wheels="${CACHE}/wheels" entry name sum missing=()
    mkdir -p "$wheels"
    for entry in "${BOOT_WHEELS[@]}"; do
        name=${entry%% *}
        [ -f "${wheels}/${name}" ] || missing+=("$(printf '%s' "$name" | awk -F- '{print $1 "==" $2}')")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        ensure_py3_pip
        log "downloading bootstrap wheels: ${missing[*]}"
        timeout 300 python3 -m pip download "${PIP_NET[@]}" --no-deps --only-binary=:all: \
            --python-version 2.7 --implementation py --abi none --platform any \
            -d "$wheels" "${missing[@]}" >&2 || die "downloading bootstrap wheels failed"
    fi
    for entry in "${BOOT_WHEELS[@]}"; do
        name=${entry%% *}
        sum=${entry##* }
        printf '%s  %s\n' "$sum" "${wheels}/${name}" | sha256sum -c --quiet - >&2 \
            || { rm -f "${wheels}/${name}"; die "checksum mismatch for ${name}"; }
    done
}

make_bootstrap() {
    local boot="${CACHE}/bootstrap" wheels="${CACHE}/wheels" stamp
    stamp="$(printf '%s\n' "${BOOT_WHEELS[@]}" "$BOOT_REQS" "$PY2" | sha256sum | cut -c1-16)"
    if [ -f "${boot}/.stamp" ] && [ "$(cat "${boot}/.stamp")" = "$stamp" ]; then return; fi
    rm -rf "$boot"
    mkdir -p "$boot"
    log "bootstrapping pip/setuptools/virtualenv for python2.7 into ${boot}"
    timeout 300 "$PY2" "${wheels}/pip-20.3.4-py2.py3-none-any.whl/pip" install -q "${PIP_NET[@]}" \
        --no-index --find-links "$wheels" --target "$boot" \
        pip==20.3.4 setuptools==44.1.1 wheel==0.37.1 >&2 || die "bootstrap pip install failed"
    printf '%s\n' "$BOOT_REQS" >"${boot}/requirements.txt"
    timeout 600 env PYTHONPATH="$boot" "$PY2" -m pip install -q "${PIP_NET[@]}" \
        --cache-dir "${CACHE}/pip-cache" --find-links "$wheels" --target "$boot" \
        --no-deps -r "${boot}/requirements.txt" >&2 || die "bootstrap virtualenv install failed"
    printf '%s\n' "$stamp" >"${boot}/.stamp"
}

make_venv() {
    if [ -e "$VENV" ]; then
        [ -f "$MARKER" ] || die "${VENV} exists but was not created by this script; remove it or set AUTOBAHN_VENV"
        log "removing stale/incomplete ${VENV}"
        rm -rf "$VENV"
    fi
    mkdir -p "$(dirname "$VENV")"
    log "creating virtualenv ${VENV}"
    env PYTHONPATH="${CACHE}/bootstrap" "$PY2" -m virtualenv -q --no-download --no-periodic-update \
        --app-data "${CACHE}/virtualenv-app-data" "$VENV" >&2 || die "virtualenv creation failed"
    printf 'building %s\n' "$FINGERPRINT" >"$MARKER"
    local reqs="${VENV}/rfc6455-requirements.txt"
    printf '%s\n' "$SUITE_REQS" >"$reqs"
    [ "$NO_ACCEL" = 1 ] || printf '%s\n' "$ACCEL_REQS" >>"$reqs"
    log "installing autobahntestsuite into ${VENV} (takes ~30 s)"
    timeout 900 "${VENV}/bin/python" -m pip install -q "${PIP_NET[@]}" --cache-dir "${CACHE}/pip-cache" \
        --no-deps -r "$reqs" >&2 || die "pip install autobahntestsuite failed"
    if [ "$NO_ACCEL" != 1 ]; then
        "${VENV}/bin/python" -c 'import wsaccel.utf8validator, wsaccel.xormask' \
            || die "wsaccel was installed but does not import"
    fi
    "${VENV}/bin/wstest" -a >&2 || die "wstest does not run"
    printf 'done %s\n' "$FINGERPRINT" >"$MARKER"
}

mkdir -p "$CACHE"
ensure_python2
log "using ${PY2} ($("$PY2" -c 'import sys; print(sys.version.split()[0])'))"
ensure_build_deps
fetch_boot_wheels
make_bootstrap
make_venv
log "installed in $(( $(date +%s) - START )) s"
printf '%s\n' "${VENV}/bin/wstest"
