"""Shows fast writes on a replica group (docs/replication.md, "Fast writes"): WRITEMODE FAST
makes a connection's SET acknowledged once it is durable on the leader, without a majority
(followers stopped), while a safe write and a fast INCR (whose reply needs the state) wait
for the majority; the connection reads its own fast writes; a follower forwards fast writes;
the fast write reaches every member once the followers are back; and a fast write whose
leader dies before any follower has it is lost, as documented."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDir, Failure, main, wait_for  # noqa: E402
from group import Group, converged  # noqa: E402

import redis  # noqa: E402

# Long election timeouts (3-4 s): a leader whose followers are stopped stays leader long
# enough for the test to see what it acknowledges alone.
SLOW_ELECTIONS = ["--cluster.electionTicksMin=300", "--cluster.electionTicksMax=400"]


def connection(group, member, timeout=5.0):
    return redis.Redis(host="127.0.0.1", port=group.ports[member], socket_timeout=timeout)


def test_writemode_command():
    """WRITEMODE reports and sets the connection's mode; bad arguments are refused."""
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            client = connection(group, group.leader())
            if client.execute_command("WRITEMODE") != b"safe":
                raise Failure("a connection does not start in the node's storageMode (safe)")
            if client.execute_command("WRITEMODE", "fast") != b"OK":
                raise Failure("WRITEMODE fast was not accepted")
            if client.execute_command("WRITEMODE") != b"fast":
                raise Failure("WRITEMODE did not report fast")
            for bad in (["slow"], ["fast", "safe"]):
                try:
                    client.execute_command("WRITEMODE", *bad)
                    raise Failure(f"WRITEMODE {bad} was accepted")
                except redis.exceptions.ResponseError as error:
                    if "syntax error" not in str(error):
                        raise Failure(f"WRITEMODE {bad}: {error}")
        finally:
            group.stop_all()


def test_fast_write_without_a_majority():
    """With both followers stopped, a fast SET is acknowledged by the leader alone; a safe SET
    and a fast INCR are not, and neither is a safe read (the write is not chosen yet); once
    the followers continue, the connection reads its write and every member has it."""
    with TempDir() as root:
        group = Group(root, 3, extra=SLOW_ELECTIONS)
        try:
            group.start_all()
            leader = group.leader()
            followers = [i for i in group.nodes if i != leader]
            fast = connection(group, leader, timeout=2.0)
            fast.execute_command("WRITEMODE", "FAST")
            if not fast.set("warm", "1"):
                raise Failure("a fast SET with every member up was not acknowledged")
            for i in followers:
                group.nodes[i].process.send_signal(signal.SIGSTOP)
            try:
                started = time.monotonic()
                if not fast.set("alone", "v1"):
                    raise Failure("the fast SET was refused")
                if time.monotonic() - started > 1.0:
                    raise Failure("the fast SET waited for the stopped followers")
                # Not chosen yet, so not applied: a fast read does not see it, and a safe
                # read (which must not show a write that may still be lost) waits for it.
                stale = connection(group, leader, timeout=1.0)
                stale.execute_command("READONLY")
                if stale.get("alone") is not None:
                    raise Failure("a fast write was applied before it was chosen")
                safe = connection(group, leader, timeout=1.0)
                incr = connection(group, leader, timeout=1.0)
                incr.execute_command("WRITEMODE", "FAST")
                for label, call in (("safe SET", lambda: safe.set("alone", "v2")),
                                    ("fast INCR", lambda: incr.incr("counter")),
                                    ("safe GET", lambda: connection(group, leader, 1.0)
                                     .get("alone"))):
                    try:
                        call()
                        raise Failure(f"a {label} was answered without a majority")
                    except (redis.exceptions.TimeoutError, redis.exceptions.ResponseError):
                        pass
                info = group.info(leader)
                if info["group_fast_writes"] < 2:
                    raise Failure(f"group_fast_writes is {info['group_fast_writes']}")
            finally:
                for i in followers:
                    group.nodes[i].process.send_signal(signal.SIGCONT)
            if fast.get("alone") not in (b"v1", b"v2"):
                raise Failure("the connection did not read its own fast write")
            # The SET and INCR that waited are applied once the majority is back; the fast
            # write was chosen before them, so the safe SET's value wins.
            wait_for(lambda: all(connection(group, i).get("alone") == b"v2"
                                 for i in group.nodes), 20, "the writes on every member")
            wait_for(lambda: converged(group, list(group.nodes)), 20, "equal digests")
        finally:
            group.stop_all()


def test_fast_write_through_a_follower():
    """A follower forwards a fast write; the leader's safe read sees it at once."""
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            leader = group.leader()
            follower = next(i for i in group.nodes if i != leader)
            client = connection(group, follower)
            client.execute_command("WRITEMODE", "FAST")
            for n in range(50):
                if not client.set(f"f{n}", n):
                    raise Failure(f"fast SET {n} through a follower was not acknowledged")
                if connection(group, leader).get(f"f{n}") != str(n).encode():
                    raise Failure(f"the leader's safe read missed fast write {n}")
            if client.mset({"m1": "a", "m2": "b"}) is not True:
                raise Failure("a fast MSET was not acknowledged")
            wait_for(lambda: converged(group, list(group.nodes)), 20, "equal digests")
        finally:
            group.stop_all()


def test_fast_write_lost_with_its_leader():
    """The documented price of fast writes: acknowledged by a leader whose followers never
    got it (they were stopped, and die with the Accept unread), then the leader dies; the
    group the followers form again does not have it, nor does the old leader once back."""
    with TempDir() as root:
        group = Group(root, 3, extra=SLOW_ELECTIONS)
        try:
            group.start_all()
            leader = group.leader()
            followers = [i for i in group.nodes if i != leader]
            client = connection(group, leader, timeout=2.0)
            client.set("kept", "safe")
            client.execute_command("WRITEMODE", "FAST")
            for i in followers:
                group.nodes[i].process.send_signal(signal.SIGSTOP)
            acknowledged = client.set("lost", "fast")
            # The leader dies; so do the stopped followers, with the Accept still unread in
            # their sockets (SIGKILL works on a stopped process): no follower's journal has it.
            group.kill(leader)
            for i in followers:
                group.kill(i)
                group.start(i)
            if not acknowledged:
                raise Failure("the fast SET was not acknowledged")
            def read(member, key):
                """A safe GET, retried while the group elects (or hands over) a leader."""
                def attempt():
                    try:
                        return [connection(group, member).get(key)]
                    except redis.exceptions.ResponseError as error:
                        if str(error).startswith(("CLUSTERDOWN", "TRYAGAIN", "TIMEOUT")):
                            return None
                        raise
                return wait_for(attempt, 30, f"a safe read of {key}")[0]

            new_leader = group.leader()
            if read(new_leader, "kept") != b"safe":
                raise Failure("a safe write was lost with its leader")
            if read(new_leader, "lost") is not None:
                raise Failure("the fast write that no follower had survived (the test did not "
                              "show the loss it documents)")
            group.start(leader)
            wait_for(lambda: converged(group, list(group.nodes)), 30, "equal digests")
            if read(leader, "lost") is not None:
                raise Failure("the old leader kept the lost fast write")
        finally:
            group.stop_all()


if __name__ == "__main__":
    sys.exit(main([test_writemode_command, test_fast_write_without_a_majority,
                   test_fast_write_through_a_follower, test_fast_write_lost_with_its_leader]))
