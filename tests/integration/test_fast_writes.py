"""Shows fast writes on a replica group (docs/replication.md, "Fast writes"): WRITEMODE FAST
makes a connection's writes acknowledged once they are durable on the leader, without a
majority (followers stopped), while a safe write waits for the majority; writes whose reply
depends on the state (INCR, pushes, pops, GETSET, SET NX) are answered from the leader's
speculative view, with the replies the group's log later gives them (the leader checks each
one when it applies it: group_speculation_mismatches stays 0); the connection reads its own
fast writes; a follower forwards fast writes; the writes reach every member once the
followers are back; and fast writes whose leader dies before any follower has them are
lost, as documented."""
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
    """With both followers stopped, fast writes are acknowledged by the leader alone, those
    whose reply depends on the state with the reply of their place in the log (after a safe
    SET that is still waiting); a safe SET and a safe read are not answered; once the
    followers continue, every member has every write, and the leader's check of each
    speculative reply against the real apply found no difference."""
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
                try:
                    safe.set("alone", "v2")
                    raise Failure("a safe SET was answered without a majority")
                except (redis.exceptions.TimeoutError, redis.exceptions.ResponseError):
                    pass
                # Answered from the leader's view, which holds the safe SET above (proposed,
                # not chosen) and each fast write before the next.
                started = time.monotonic()
                expected = [
                    ("INCR counter", lambda: fast.incr("counter"), 1),
                    ("INCRBY counter 41", lambda: fast.incrby("counter", 41), 42),
                    ("RPUSH q a b c", lambda: fast.rpush("q", "a", "b", "c"), 3),
                    ("LPOP q", lambda: fast.lpop("q"), b"a"),
                    ("GETSET alone v3", lambda: fast.getset("alone", "v3"), b"v2"),
                    ("SET alone NX", lambda: fast.set("alone", "v4", nx=True), None),
                    ("DEL q counter nothing", lambda: fast.delete("q", "counter", "nothing"), 2),
                    ("INCR counter again", lambda: fast.incr("counter"), 1),
                ]
                for label, call, want in expected:
                    got = call()
                    if got != want:
                        raise Failure(f"fast {label} answered {got!r}, not {want!r}")
                if time.monotonic() - started > 2.0:
                    raise Failure("the fast writes waited for the stopped followers")
                try:
                    connection(group, leader, 1.0).get("alone")
                    raise Failure("a safe GET was answered without a majority")
                except (redis.exceptions.TimeoutError, redis.exceptions.ResponseError):
                    pass
                info = group.info(leader)
                if info["group_fast_writes"] < 2 + len(expected):
                    raise Failure(f"group_fast_writes is {info['group_fast_writes']}")
                if info["group_fast_speculative"] < len(expected):
                    raise Failure(f"group_fast_speculative is {info['group_fast_speculative']}")
            finally:
                for i in followers:
                    group.nodes[i].process.send_signal(signal.SIGCONT)
            if fast.get("alone") != b"v3":
                raise Failure("the connection did not read its own fast writes")
            def everywhere():
                clients = [connection(group, i) for i in group.nodes]
                return all(c.get("alone") == b"v3" and c.get("counter") == b"1" and
                           c.exists("q") == 0 for c in clients)
            wait_for(everywhere, 20, "the writes on every member")
            wait_for(lambda: converged(group, list(group.nodes)), 20, "equal digests")
            info = group.info(leader)
            if info["group_speculation_mismatches"] != 0:
                raise Failure(f"{info['group_speculation_mismatches']} speculative replies "
                              "differed from the log's")
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
            # A deque too large for the leader's view to copy (over 256 KiB): its writes are
            # served safe, with the right replies.
            big = connection(group, leader)
            for start in range(0, 6000, 500):
                big.rpush("big", *[f"{n:064d}" for n in range(start, start + 500)])
            if client.rpush("big", "last") != 6001 or client.lpop("big") != f"{0:064d}".encode():
                raise Failure("a fast write on a large deque got a wrong reply")
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
            counted = client.incr("lost_counter")
            # The leader dies; so do the stopped followers, with the Accept still unread in
            # their sockets (SIGKILL works on a stopped process): no follower's journal has it.
            group.kill(leader)
            for i in followers:
                group.kill(i)
                group.start(i)
            if not acknowledged or counted != 1:
                raise Failure(f"the fast SET and INCR were not acknowledged ({acknowledged}, "
                              f"{counted})")
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
            if read(new_leader, "lost") is not None or read(new_leader, "lost_counter"):
                raise Failure("the fast write that no follower had survived (the test did not "
                              "show the loss it documents)")
            group.start(leader)
            wait_for(lambda: converged(group, list(group.nodes)), 30, "equal digests")
            if read(leader, "lost") is not None:
                raise Failure("the old leader kept the lost fast write")
        finally:
            group.stop_all()


def test_speculation_under_concurrent_clients():
    """Twelve clients, fast and safe, on the leader and through followers, increment one
    counter and push to and pop from one deque at once: every INCR reply is distinct and the
    counter ends at their number, every element popped was pushed and none twice, every member
    ends with the same state, and no speculative reply differed from the real one."""
    import threading
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            leader = group.leader()
            members = list(group.nodes)
            results = {"incr": [], "popped": [], "pushed": [], "errors": []}
            lock = threading.Lock()

            def worker(n):
                member = members[n % len(members)] if n % 3 == 0 else leader
                client = connection(group, member, timeout=10.0)
                if n % 4 != 3:
                    client.execute_command("WRITEMODE", "FAST")
                mine = {"incr": [], "popped": [], "pushed": []}
                try:
                    for i in range(150):
                        mine["incr"].append(client.incr("counter"))
                        element = f"{n}-{i}"
                        client.rpush("deque", element)
                        mine["pushed"].append(element)
                        if i % 2 == 1:
                            got = client.lpop("deque")
                            if got is not None:
                                mine["popped"].append(got.decode())
                except redis.exceptions.RedisError as error:
                    mine["error"] = str(error)
                with lock:
                    for key in ("incr", "popped", "pushed"):
                        results[key].extend(mine[key])
                    if "error" in mine:
                        results["errors"].append(mine["error"])

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            if results["errors"]:
                raise Failure(f"clients failed: {results['errors'][:3]}")
            incr = results["incr"]
            if len(incr) != 12 * 150 or sorted(incr) != list(range(1, len(incr) + 1)):
                raise Failure(f"INCR replies are not 1..{len(incr)} each once")
            popped = results["popped"]
            if len(set(popped)) != len(popped) or not set(popped) <= set(results["pushed"]):
                raise Failure("an element was popped twice, or one never pushed was popped")
            wait_for(lambda: converged(group, members), 20, "equal digests")
            for i in members:
                client = connection(group, i)
                client.execute_command("READONLY")
                if int(client.get("counter")) != len(incr):
                    raise Failure(f"member {i}: counter is not {len(incr)}")
                left = [e.decode() for e in client.lrange("deque", 0, -1)]
                if sorted(left + popped) != sorted(results["pushed"]):
                    raise Failure(f"member {i}: the deque lost or gained elements")
            info = group.info(leader)
            if info["group_fast_speculative"] == 0:
                raise Failure("no write was answered from the leader's view")
            if info["group_speculation_mismatches"] != 0:
                raise Failure(f"{info['group_speculation_mismatches']} speculative replies "
                              "differed from the log's")
        finally:
            group.stop_all()


if __name__ == "__main__":
    sys.exit(main([test_writemode_command, test_fast_write_without_a_majority,
                   test_fast_write_through_a_follower, test_fast_write_lost_with_its_leader,
                   test_speculation_under_concurrent_clients]))
