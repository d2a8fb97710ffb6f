#!/usr/bin/env bash
# hotpath.sh: instructions per 64-byte send + recv on shm:// (spinning, warm, one process),
# counted by callgrind: two runs of different lengths, the difference divided by the
# difference in iterations, so set-up and warm-up cancel out. Repeatable, unlike timings.
#   scripts/hotpath.sh [BUILD_DIR]      (default: build; needs valgrind and ipcx-bench)
set -euo pipefail
build=${1:-build}
bench="$build/ipcx-bench"
[ -x "$bench" ] || { echo "hotpath.sh: $bench not found (make build)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "hotpath.sh: valgrind not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count() { # mode n -> instructions inside hotpath_loop
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" --toggle-collect=hotpath_loop \
        "$bench" "--$1" "$2" >/dev/null 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/log"
}
for mode in hotpath hotpath-mpmc; do
    a=$(count "$mode" 10000)
    b=$(count "$mode" 30000)
    # hotpath_loop runs 1000 + n iterations; the loop's own bookkeeping is included (~10).
    echo "$mode: $(( (b - a) / 20000 )) instructions per 64-byte send + recv"
done
