#!/bin/sh
# Shows that a seed replays bit for bit (two runs write the same histories), that the histories
# it writes are valid input for stoa-check and linearizable, that a failing seed prints the
# command that replays it, and that bad usage is an error with exit status 2.
# Usage: test_sim_cli.sh path/to/stoa-sim path/to/stoa-check
set -u
sim=${1:?usage: test_sim_cli.sh path/to/stoa-sim path/to/stoa-check}
check=${2:?usage: test_sim_cli.sh path/to/stoa-sim path/to/stoa-check}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$sim" --seed 7 --history "$dir/a.jsonl" --quiet || fail "seed 7 failed"
"$sim" --seed 7 --history "$dir/b.jsonl" --quiet || fail "seed 7 failed the second time"
for model in register counter deque; do
    cmp -s "$dir/a.$model.jsonl" "$dir/b.$model.jsonl" || fail "seed 7 did not replay ($model)"
    test -s "$dir/a.$model.jsonl" || fail "the $model history is empty"
    "$check" --model "$model" "$dir/a.$model.jsonl" >/dev/null ||
        fail "stoa-check rejects the $model history of seed 7"
done
"$sim" --seed 8 --history "$dir/c.jsonl" --quiet || fail "seed 8 failed"
cmp -s "$dir/a.register.jsonl" "$dir/c.register.jsonl" && fail "seeds 7 and 8 gave one history"

out=$("$sim" --seeds 0..5 --plant follower-read --expect-fail 2>&1) ||
    fail "the follower-read plant was not caught in seeds 0..5"
echo "$out" | grep -q "replay: stoa-sim --seed [0-9]* .*--plant follower-read" ||
    fail "a failing seed does not print its replay command: $out"

for bad in "--seed" "--seed x" "--seeds 5..2" "--nodes 4 --seed 1" "--faults bogus --seed 1" \
    "--plant bogus --seed 1" "--ticks 0 --seed 1" "--seeds 1..2 --history $dir/x" ""; do
    # shellcheck disable=SC2086
    "$sim" $bad >/dev/null 2>&1
    test $? -eq 2 || fail "'stoa-sim $bad' did not exit 2"
done
echo "ok"
