#!/usr/bin/env bash
# Generates and checks many histories: SEEDS seeds (default 200) for each (model, plant) pair,
# none included, and prints per pair how many verdicts were wrong and how many unknown.
# A wrong verdict is a bug in the checker or the generator; unknowns are the search limit.
#   tests/check/sweep.sh [BUILD_DIR] [SEEDS]        (BUILD_DIR default build/release)
# Shapes vary with the seed: 2,000 operations on 1-5 keys, 2-8 processes, 0-6% info, 2% fail.
set -uo pipefail
build=${1:-build/release}
seeds=${2:-200}
history=$(mktemp)
trap 'rm -f "$history"' EXIT
total_wrong=0
for pair in register:none register:stale-read register:lost-write register:future-read \
            counter:none counter:stale-read counter:lost-write counter:duplicate-incr \
            deque:none deque:lost-write deque:phantom-pop deque:future-read; do
  model=${pair%:*}
  plant=${pair#*:}
  expected=1
  [ "$plant" = none ] && expected=0
  wrong=0
  unknown=0
  for seed in $(seq 1 "$seeds"); do
    "$build/stoa-check-gen" --model "$model" --seed "$seed" --ops 2000 --keys $((1 + seed % 5)) \
      --processes $((2 + seed % 7)) --info $((seed * 7 % 60)) --fail 20 --plant "$plant" \
      > "$history" 2>/dev/null
    timeout 60 "$build/stoa-check" --memory-mb 512 "$history" > /dev/null
    status=$?
    if [ "$status" = 2 ]; then
      unknown=$((unknown + 1))
      echo "  $pair seed $seed: unknown"
    elif [ "$status" != "$expected" ]; then
      wrong=$((wrong + 1))
      echo "  $pair seed $seed: WRONG (exit $status)"
    fi
  done
  total_wrong=$((total_wrong + wrong))
  echo "$pair: $wrong wrong, $unknown unknown of $seeds"
done
[ "$total_wrong" = 0 ]
