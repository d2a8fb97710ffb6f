#!/usr/bin/env bash
# deps.sh: installs what ipcx's build, tests and tooling need on Debian 12, and nothing else.
# Idempotent: if every package is already installed it does nothing (no apt-get update). As
# non-root with packages missing it prints the command to run and exits 1.
#
# Usage: scripts/deps.sh            build and test dependencies
#        scripts/deps.sh --bench    also the optional benchmark peers (ZeroMQ, nng, iceoryx with
#                                   its RouDi daemon); a peer that cannot be installed is
#                                   reported, never an error (ipcx-bench then skips it)
set -euo pipefail

# liburing-dev: optional to the build (IPCX_WITH_URING, on when found), installed by default.
required=(build-essential cmake pkg-config clang libclang-rt-14-dev libcriterion-dev
    liburing-dev valgrind gnuplot-nox clang-format python3)
optional=()

for arg in "$@"; do
    case $arg in
    --bench) optional+=(libzmq3-dev libnng-dev libiceoryx-binding-c-dev iceoryx) ;;
    -h | --help)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "deps.sh: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

# Prints the packages among "$@" that are not fully installed.
missing_of() {
    local p
    for p in "$@"; do
        if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != "ii " ]; then
            printf '%s\n' "$p"
        fi
    done
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: not a Debian system; install by hand: ${required[*]} ${optional[*]}" >&2
    exit 1
fi

mapfile -t need < <(missing_of "${required[@]}")
mapfile -t want < <(missing_of "${optional[@]+"${optional[@]}"}")

if [ ${#need[@]} -eq 0 ] && [ ${#want[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if [ ${#need[@]} -gt 0 ]; then
        echo "deps.sh: missing packages; as root run:" >&2
        echo "  apt-get install -y --no-install-recommends ${need[*]} ${want[*]}" >&2
        exit 1
    fi
    echo "deps.sh: optional packages not installed (benchmarks skip these peers): ${want[*]}" >&2
    echo "  to add them, as root: apt-get install -y --no-install-recommends ${want[*]}" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt_quiet=(-y -q -o Dpkg::Use-Pty=0 --no-install-recommends)
updated=0

# apt-get update only when the package lists are absent, or once after an install failed
# (stale lists on an old image).
apt_update() {
    echo "deps.sh: apt-get update" >&2
    apt-get update -qq
    updated=1
}
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt_update
fi

apt_install() {
    apt-get install "${apt_quiet[@]}" "$@" >/dev/null
}

if [ ${#need[@]} -gt 0 ]; then
    echo "deps.sh: installing ${need[*]}" >&2
    if ! apt_install "${need[@]}"; then
        if [ "$updated" = 1 ] || ! apt_update || ! apt_install "${need[@]}"; then
            echo "deps.sh: failed to install: ${need[*]}" >&2
            exit 1
        fi
    fi
fi

# Optional peers one at a time, so one that the archive lacks does not block the others.
for p in "${want[@]+"${want[@]}"}"; do
    echo "deps.sh: installing optional $p" >&2
    if ! apt_install "$p"; then
        if [ "$updated" = 0 ]; then
            apt_update || true
        fi
        apt_install "$p" || echo "deps.sh: optional $p is unavailable; skipping it" >&2
    fi
done

mapfile -t still < <(missing_of "${required[@]}")
if [ ${#still[@]} -gt 0 ]; then
    echo "deps.sh: still missing after install: ${still[*]}" >&2
    exit 1
fi
