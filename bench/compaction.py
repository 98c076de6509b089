#!/usr/bin/python3
"""Journal compaction pauses on a replica group (docs/replication.md, "compaction"): starts a
3-member group of STOA (default build/release/stoa) on loopback, sends it
`redis-benchmark -t set -n 600000 -c 8 -d 100 -r 100000` through the leader, and prints how
long each member's compactions took (the `journal compacted` log lines, `usec`): count, min,
median and max. Usage: bench/compaction.py [STOA]."""
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("STOA_BIN", sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(ROOT, "build", "release", "stoa"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import TempDir  # noqa: E402
from group import Group  # noqa: E402


def main():
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            leader = group.leader()
            subprocess.run(["redis-benchmark", "-p", str(group.ports[leader]), "-t", "set",
                            "-n", "600000", "-c", "8", "-d", "100", "-r", "100000", "-q"],
                           check=True, stdout=subprocess.DEVNULL)
            usecs = sorted(int(line["usec"]) for node in group.nodes.values()
                           for line in list(node.lines)
                           if line.get("msg") == "journal compacted")
        finally:
            group.stop_all()
    if not usecs:
        print("no compaction happened")
        return 1
    print(f"compactions {len(usecs)}: min {usecs[0] / 1000:.1f} ms, median "
          f"{statistics.median(usecs) / 1000:.1f} ms, max {usecs[-1] / 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
