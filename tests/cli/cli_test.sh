#!/usr/bin/env bash
# cli_test.sh: the ipcx command end to end, as a person would use it from a shell: send and
# receive over shm:// and unix://, `ipcx ls` (messages waiting, live and stale), `ipcx rm` and
# `ipcx rm --stale`, and the exit codes. Usage: cli_test.sh BUILD_DIR
set -euo pipefail
ipcx="$1/ipcx"
name="ipcx-cli-test-$$-$RANDOM"
fail() { echo "cli_test: $*" >&2; exit 1; }
cleanup() { "$ipcx" rm "shm://$name" "shm://$name-2" "shm://$name-3" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# A sender may come first on shm://: the message waits in the mailbox.
"$ipcx" send "shm://$name" one two || fail "send over shm"
out=$("$ipcx" ls) || fail "ls exit $?"
line=$(grep -F "shm://$name " <<<"$out") || fail "ls does not list shm://$name: $out"
read -r url uid mode ring max waiting senders receivers state _ <<<"$line"
[ "$waiting" = 2 ] || fail "ls: $waiting messages waiting, want 2: $line"
[ "$state" = stale ] || fail "ls: state '$state' with no endpoint open, want stale: $line"
[ "$ring" = 4M ] || fail "ls: ring '$ring', want the default 4M: $line"
got=$("$ipcx" recv "shm://$name" -n 2 --timeout 5) || fail "recv over shm: exit $?"
[ "$got" = $'one\ntwo' ] || fail "recv printed '$got'"

# A live receiver shows as live, with one receiver.
"$ipcx" recv "shm://$name-2" -n 1 --timeout 10 >"$1/cli-test-$$.out" &
rpid=$!
for _ in $(seq 100); do
    "$ipcx" ls | grep -F "shm://$name-2 " | grep -q " live" && break
    sleep 0.05
done
"$ipcx" ls | grep -F "shm://$name-2 " | grep -q " 1  live" || fail "a waiting receiver is not shown live: $("$ipcx" ls)"
"$ipcx" send "shm://$name-2" hello || fail "send to a live receiver"
wait "$rpid" || fail "receiver exit $?"
[ "$(cat "$1/cli-test-$$.out")" = hello ] || fail "receiver printed '$(cat "$1/cli-test-$$.out")'"
rm -f "$1/cli-test-$$.out"

# A mailbox of another segment layout (as an older ipcx left it: its header's version word) is
# listed as incompatible, refused with a clear message, and removable.
"$ipcx" send "shm://$name-3" x || fail "send over shm"
printf '\003\000\000\000' | dd of="/dev/shm/ipcx.$name-3" bs=1 seek=8 conv=notrunc status=none
"$ipcx" ls | grep -F "shm://$name-3 " | grep -q " incompatible$" ||
    fail "a mailbox of layout 3 is not shown incompatible: $("$ipcx" ls)"
if msg=$("$ipcx" send "shm://$name-3" y 2>&1); then fail "send to an incompatible mailbox worked"; fi
grep -qi "incompatible" <<<"$msg" || fail "send to an incompatible mailbox said: $msg"
"$ipcx" rm "shm://$name-3" || fail "rm of an incompatible mailbox"

# rm --stale removes what nobody holds; rm of a missing mailbox is an error (exit 1).
"$ipcx" rm --stale | grep -qF "shm://$name" || fail "rm --stale did not remove shm://$name"
if "$ipcx" ls | grep -qF "shm://$name "; then fail "shm://$name still listed after rm --stale"; fi
set +e
"$ipcx" rm "shm://$name-missing" 2>/dev/null; rc=$?
"$ipcx" rm 2>/dev/null; usage=$?
"$ipcx" recv "shm://$name" --timeout 0.05 >/dev/null 2>&1; timedout=$?
set -e
[ "$rc" = 1 ] || fail "rm of a missing mailbox: exit $rc, want 1"
[ "$usage" = 2 ] || fail "rm without arguments: exit $usage, want 2"
[ "$timedout" = 3 ] || fail "recv that times out: exit $timedout, want 3"

# unix:// from the README's second example.
sock="/tmp/$name.sock"
"$ipcx" recv "unix://$sock" -n 1 --timeout 10 >"$1/cli-test-$$.out" &
rpid=$!
"$ipcx" send "unix://$sock" --timeout 10 hello || fail "send over unix"
wait "$rpid" || fail "unix receiver exit $?"
[ "$(cat "$1/cli-test-$$.out")" = hello ] || fail "unix receiver printed '$(cat "$1/cli-test-$$.out")'"
rm -f "$1/cli-test-$$.out"
echo "cli_test: ok"
