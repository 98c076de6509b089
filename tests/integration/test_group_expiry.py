#!/usr/bin/python3
"""Shows expiry on a replica group, where it follows the log's clock (docs/replication.md,
"Determinism"): a key with a TTL disappears from reads on every member when it expires, and
leaves memory (DBSIZE, which counts keys not yet reclaimed as Redis's does) on every member
within about a second on an idle group, because the leader proposes a stamped no-op that
moves every member's log clock; the members end with equal digests."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, TempDir, main, wait_for  # noqa: E402
from group import Group, converged  # noqa: E402


def test_expired_keys_leave_an_idle_group():
    """SET with PX 300 and a key without expiry, then no more writes: every member stops
    showing the key, then stops counting it, and the leader says it proposed a clock entry."""
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            leader = group.leader()
            client = group.client(leader)
            client.set("short", "v", px=300)
            client.set("kept", "v")
            wait_for(lambda: all(group.client(i).dbsize() == 2 for i in group.nodes), 10,
                     "both keys on every member")
            started = time.monotonic()
            wait_for(lambda: client.get("short") is None, 10, "the key to expire")
            if time.monotonic() - started > 5:
                raise Failure("the PX 300 key was visible for seconds")
            wait_for(lambda: all(group.client(i).dbsize() == 1 for i in group.nodes), 15,
                     "the expired key to leave every member's memory (DBSIZE 1)")
            info = group.client(leader).info("replication")
            if int(info.get("group_clock_entries", 0)) < 1:
                raise Failure(f"no clock entry was proposed: {info.get('group_clock_entries')}")
            for i in group.nodes:
                if group.client(i).get("kept") != b"v":
                    raise Failure(f"member {i} lost the key without expiry")
            wait_for(lambda: converged(group, list(group.nodes)), 20, "equal digests")
        finally:
            group.stop_all()


if __name__ == "__main__":
    sys.exit(main([test_expired_keys_leave_an_idle_group]))
