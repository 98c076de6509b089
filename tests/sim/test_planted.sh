#!/bin/sh
# Shows that the cluster simulator catches each planted bug (src/consensus/plant.h, and one
# planted client bug) within a
# bounded number of seeds, so its checkers can fail: a checker that cannot fail is worthless.
# Usage: test_planted.sh path/to/stoa-sim [seeds per bug, default 100]
set -u
sim=${1:?usage: test_planted.sh path/to/stoa-sim [seeds]}
seeds=${2:-100}
last=$((seeds - 1))
status=0
for bug in apply-unchosen early-ack follower-read skip-promise-fsync forget-promise; do
    if out=$("$sim" --plant "$bug" --seeds "0..$last" --expect-fail --quiet 2>/dev/null); then
        echo "$out" | grep "caught by seed"
    else
        echo "FAIL: planted bug $bug was not caught within $seeds seeds" >&2
        status=1
    fi
done
# A planted client bug: a retried session write numbered as a new write (docs/simulation.md,
# "retried writes applied once").
if out=$("$sim" --retry-new-sequence --seeds "0..$last" --expect-fail --quiet 2>/dev/null); then
    echo "$out" | grep "caught by seed"
else
    echo "FAIL: planted bug retry-new-sequence was not caught within $seeds seeds" >&2
    status=1
fi
exit $status
