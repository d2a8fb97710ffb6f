#!/usr/bin/env bash
# hotpath.sh: instructions per 64-byte send + recv on shm:// (spinning, warm, one process),
# counted by callgrind: two runs of different lengths, the difference divided by the
# difference in iterations, so set-up and warm-up cancel out. Repeatable, unlike timings.
# hotpath = an IPCX_F_SPSC mailbox, hotpath-mpmc = the many-to-many one (both take each side's
# lock word: it is what makes an endpoint safe to share between threads).
#   scripts/hotpath.sh [BUILD_DIR]      (default: build; needs valgrind and ipcx-bench)
set -euo pipefail
build=${1:-build}
bench="$build/ipcx-bench"
[ -x "$bench" ] || { echo "hotpath.sh: $bench not found (make build)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "hotpath.sh: valgrind not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count() { # mode n toggle... -> instructions collected inside the toggled functions
    local mode=$1 n=$2
    shift 2
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "${@/#/--toggle-collect=}" \
        "$bench" "--$mode" "$n" >/dev/null 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/log"
}
for mode in hotpath hotpath-mpmc; do
    # hotpath_loop runs 1000 + n iterations. Counted twice: everything in the loop (the
    # caller's argument set-up and loop bookkeeping included), and only what the library
    # executes (ipcx_send and ipcx_recv with everything they call).
    a=$(count "$mode" 10000 hotpath_loop)
    b=$(count "$mode" 30000 hotpath_loop)
    c=$(count "$mode" 10000 ipcx_send ipcx_recv)
    d=$(count "$mode" 30000 ipcx_send ipcx_recv)
    echo "$mode: $(( (d - c) / 20000 )) instructions per 64-byte send + recv in the library," \
        "$(( (b - a) / 20000 )) with the calling loop"
done
