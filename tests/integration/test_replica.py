"""Shows that stoa nodes form a replica group over real sockets: they elect one leader, a
write sent to any member is applied on every member (followers forward it to the leader),
safe reads see every acknowledged write, a leader killed with SIGKILL is replaced and its
acknowledged writes survive, a restarted member catches up, a member that fell behind the
compacted log catches up by a snapshot, and at the end every member has the same state."""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import STOA_BIN, Node, TempDir, Failure, main, wait_for  # noqa: E402
from group import SECRET, Group, converged, free_ports  # noqa: E402

import redis  # noqa: E402

RETRYABLE = ("CLUSTERDOWN", "TRYAGAIN", "TIMEOUT")


def write(group, member, key, value, attempts=200):
    """SET through member, retrying answers that say the outcome is unknown or refused;
    returns True once acknowledged."""
    for _ in range(attempts):
        try:
            if group.client(member).set(key, value):
                return True
        except redis.exceptions.ResponseError as error:
            if not str(error).startswith(RETRYABLE):
                raise
        except redis.exceptions.ConnectionError:
            pass
        time.sleep(0.05)
    raise Failure(f"SET {key} through member {member} never acknowledged")


def incr(group, member, key, attempts=200):
    """INCR through member, retrying only answers that say it was not applied (TRYAGAIN,
    CLUSTERDOWN); an unknown outcome (TIMEOUT) fails the test, since a retry could count
    twice."""
    for _ in range(attempts):
        try:
            return group.client(member).incr(key)
        except redis.exceptions.ResponseError as error:
            if not str(error).startswith(("TRYAGAIN", "CLUSTERDOWN")):
                raise
        time.sleep(0.05)
    raise Failure(f"INCR {key} through member {member} never acknowledged")


def test_three_members_agree():
    """Writes through every member land everywhere; reads are consistent."""
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            leader = group.leader()
            for i in (1, 2, 3):
                for k in range(20):
                    write(group, i, f"k{i}-{k}", f"v{i}-{k}")
            for i in (1, 2, 3):
                c = group.client(i)
                values = c.mget([f"k{j}-{k}" for j in (1, 2, 3) for k in range(20)])
                expected = [f"v{j}-{k}".encode() for j in (1, 2, 3) for k in range(20)]
                if values != expected:
                    raise Failure(f"member {i} (leader {leader}) safe reads: {values}")
            for i in (1, 2, 3):
                if incr(group, i, "counter") != i:
                    raise Failure(f"INCR through member {i}")
            wait_for(lambda: converged(group, (1, 2, 3)), 20, "equal digests")
            follower = next(i for i in (1, 2, 3) if i != leader)
            fast = group.client(follower)
            fast.execute_command("READONLY")
            wait_for(lambda: fast.get("counter") == b"3", 20, "a fast read on a follower")
            info = group.client(leader).info("replication")
            if info["role"] != "leader" or info["group_proposals"] == 0:
                raise Failure(f"INFO replication on the leader: {info}")
        finally:
            group.stop_all()


def test_leader_killed_and_restarted():
    """SIGKILL the leader under writes: a new leader is elected, every acknowledged write
    survives on every member, and the old leader catches up after its restart."""
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            acknowledged = {}
            for round_number in range(3):
                leader = group.leader()
                follower = next(i for i in group.nodes if i != leader)
                for k in range(30):
                    key = f"r{round_number}-{k}"
                    if write(group, follower, key, key):
                        acknowledged[key] = key
                group.kill(leader)
                new_leader = group.leader()
                if new_leader == leader:
                    raise Failure("the killed leader is still the leader")
                for k in range(10):
                    key = f"after{round_number}-{k}"
                    if write(group, new_leader, key, key):
                        acknowledged[key] = key
                group.start(leader)
            group.leader()
            wait_for(lambda: converged(group, (1, 2, 3)), 30, "equal digests after restarts")
            for i in (1, 2, 3):
                c = group.client(i)
                c.execute_command("READONLY")
                keys = sorted(acknowledged)
                values = c.mget(keys)
                missing = [k for k, v in zip(keys, values) if v != acknowledged[k].encode()]
                if missing:
                    raise Failure(f"member {i} lost acknowledged writes: {missing[:10]}")
        finally:
            group.stop_all()


def test_lagging_member_catches_up_by_snapshot():
    """A member down while the others write and compact their log is sent a snapshot."""
    with TempDir() as root:
        group = Group(root, 3, ["--data.snapshotLogBytes=20000"])
        try:
            group.start_all()
            leader = group.leader()
            lagging = next(i for i in (1, 2, 3) if i != leader)
            group.kill(lagging)
            others = [i for i in (1, 2, 3) if i != lagging]
            value = "x" * 200
            for k in range(600):
                write(group, leader, f"s{k}", value)
            wait_for(lambda: group.client(leader).info("replication")["group_snapshot_index"] > 0,
                     30, "a snapshot on the leader")
            node = group.start(lagging)
            node.wait_log("installed a snapshot from the leader", timeout=60)
            wait_for(lambda: converged(group, (1, 2, 3)), 30, "equal digests after the snapshot")
            c = group.client(lagging)
            c.execute_command("READONLY")
            assert c.dbsize() == 600, c.dbsize()
            assert others
        finally:
            group.stop_all()


def test_five_members_lose_two_then_three():
    """Five members serve writes with two of them dead; with three dead there is no majority
    and writes are refused (never acknowledged); once one returns, service resumes."""
    with TempDir() as root:
        group = Group(root, 5)
        try:
            group.start_all()
            leader = group.leader()
            followers = [i for i in range(1, 6) if i != leader]
            for i in followers[:2]:
                group.kill(i)
            for k in range(20):
                write(group, leader, f"two-down-{k}", "v")
            group.kill(followers[2])
            c = group.client(leader)
            try:
                c.set("no-quorum", "v")
                raise Failure("a write was acknowledged without a majority")
            except redis.exceptions.ResponseError as error:
                if not str(error).startswith(RETRYABLE):
                    raise
            group.start(followers[2])
            group.leader()
            write(group, followers[2], "back", "v")
            live = [i for i in range(1, 6) if i in group.nodes]
            wait_for(lambda: converged(group, live), 30, "equal digests on the live members")
        finally:
            group.stop_all()


def test_follower_stopped_for_100000_writes():
    """A follower stopped (SIGSTOP) while 100,000 writes go through the leader catches up by
    a snapshot once it runs again, and every member ends with the same state."""
    with TempDir() as root:
        group = Group(root, 3, ["--data.snapshotLogBytes=1000000"])
        try:
            group.start_all()
            leader = group.leader()
            stopped = next(i for i in (1, 2, 3) if i != leader)
            group.nodes[stopped].signal(signal.SIGSTOP)
            result = subprocess.run(
                ["redis-benchmark", "-p", str(group.ports[leader]), "-t", "set", "-n", "100000",
                 "-c", "64", "-r", "1000000", "-q"], capture_output=True, text=True, timeout=300)
            if result.returncode != 0:
                raise Failure(f"redis-benchmark: {result.stdout} {result.stderr}")
            group.nodes[stopped].signal(signal.SIGCONT)
            group.nodes[stopped].wait_log("installed a snapshot from the leader", timeout=120)
            wait_for(lambda: converged(group, (1, 2, 3)), 60, "equal digests after catch-up")
            # Whoever leads by now sent it: the first leader may have handed over to a higher
            # id in the meantime (docs/consensus.md, "Stepping aside").
            sent = {i: group.info(i)["group_snapshots_sent"] for i in (1, 2, 3)}
            if sum(sent.values()) < 1:
                raise Failure(f"no snapshot was sent: {sent}")
        finally:
            for node in group.nodes.values():
                node.signal(signal.SIGCONT)
            group.stop_all()


def test_member_joins_and_is_removed():
    """A fourth node joins a running group with --join (added through the log, caught up, then
    counted in the majority), and is removed again with GROUP REMOVE through a follower."""
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            leader = group.leader()
            for k in range(50):
                write(group, leader, f"before-{k}", "v")
            peer_port = free_ports(1)[0]
            node = Node([f"--data-dir={root}/n4", "--cluster.self=4",
                         f"--cluster.secret={SECRET}", f"--listen.peer.port={peer_port}",
                         f"--join=127.0.0.1:{group.ports[1]}", "--resp.debugCommands=true"])
            group.adopt(4, node)

            def voters():
                members = group.status(group.leader())["members"]
                return sorted(int(m.split()[0][3:]) for m in (x.decode() for x in members)
                              if "voter=1" in m)
            wait_for(lambda: voters() == [1, 2, 3, 4], 30, "four voters")
            wait_for(lambda: converged(group, (1, 2, 3, 4)), 30, "the new member caught up")
            # With four voters a majority is three: the new member must be one of them.
            victim = next(i for i in (1, 2, 3) if i != group.leader())
            group.kill(victim)
            for k in range(20):
                write(group, 4, f"with-four-{k}", "v")
            follower = next(i for i in group.nodes if i != group.leader() and i != 4)
            reply = group.client(follower).execute_command("GROUP", "REMOVE", "4")
            if reply not in (b"OK", "OK", True):
                raise Failure(f"GROUP REMOVE: {reply}")
            wait_for(lambda: 4 not in voters(), 30, "the fourth member removed")
            write(group, group.leader(), "after-remove", "v")
        finally:
            group.stop_all()


def test_forwarded_safe_reads_without_a_lease():
    """Safe reads forwarded by a follower are answered after a read-index round when the
    leader holds no lease (a drift bound one tick short of the election timeout leaves the
    lease valid for one tick per heartbeat): the leader keeps each read until its index is
    applied (it answered "OOM cannot keep the read" when the forwarded request had no buffer
    to keep it in)."""
    with TempDir() as root:
        group = Group(root, 3, extra=["--cluster.driftTicks=29"])
        try:
            group.start_all()
            leader = group.leader()
            follower = next(i for i in group.nodes if i != leader)
            group.client(leader).set("k", "v")
            # Reads go on until one met no lease (at least 50; a fast machine may fit many
            # into the tick the lease is valid).
            for n in range(5000):
                if group.client(follower).get("k") != b"v":
                    raise Failure(f"forwarded safe read {n} did not see the write")
                if n >= 50 and n % 50 == 0 and group.info(leader)["group_index_reads"] > 0:
                    break
            if group.info(leader)["group_index_reads"] == 0:
                raise Failure("no read went through a read-index round: the test shows nothing")
        finally:
            group.stop_all()


def test_small_batches_past_the_log_ring():
    """Writes one at a time (one slot each) well past the members' log ring: members take
    snapshots by slot count and compact, so the leader never runs out of slots (the nemesis
    found a group that stopped after 65,536 slots because nothing took a snapshot)."""
    with TempDir() as root:
        group = Group(root, 3, extra=["--cluster.logSlots=1024"])
        try:
            group.start_all()
            leader = group.leader()
            client = group.client(leader)
            for n in range(3000):  # sequential: each write is its own slot
                if not client.set(f"k{n % 50}", n):
                    raise Failure(f"write {n} not acknowledged")
            info = group.info(leader)
            if info["group_snapshots_started"] < 2 or info["group_applied_index"] < 3000:
                raise Failure(f"no snapshots by slot count: {info}")
            wait_for(lambda: converged(group, list(group.nodes)), 30, "equal digests")
        finally:
            group.stop_all()


class History:
    """A Jepsen-shaped history (docs/checking.md), in real-time order: an invoke is written
    before its request leaves, a completion after its reply arrived."""

    def __init__(self, path):
        self.file = open(path, "w")
        self.lock = threading.Lock()
        self.ops = 0

    def event(self, kind, process, f, key, value):
        line = json.dumps({"type": kind, "process": process, "f": f, "key": key,
                           "value": value})
        with self.lock:
            self.file.write(line + "\n")
            self.ops += kind == "invoke"

    def close(self):
        self.file.close()


def register_client(group, history, process, stop, seed):
    """One client: reads and writes of a few registers through random live members."""
    rng = random.Random(seed)
    sequence = 0
    while not stop.is_set():
        member = rng.choice(sorted(group.nodes))
        try:
            client = redis.Redis(host="127.0.0.1", port=group.ports[member], socket_timeout=8)
        except KeyError:
            continue
        key = f"r{rng.randrange(4)}"
        if rng.random() < 0.5:
            sequence += 1
            value = process * 1000000 + sequence
            history.event("invoke", process, "write", key, value)
            outcome = "info"
            try:
                client.set(key, value)
                outcome = "ok"
            except redis.exceptions.ResponseError as error:
                outcome = "fail" if str(error).startswith(("TRYAGAIN", "CLUSTERDOWN")) else "info"
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                outcome = "info"
            history.event(outcome, process, "write", key, value)
        else:
            history.event("invoke", process, "read", key, None)
            outcome, result = "info", None
            try:
                raw = client.get(key)
                outcome, result = "ok", (int(raw) if raw is not None else None)
            except redis.exceptions.ResponseError as error:
                outcome = "fail" if str(error).startswith(("TRYAGAIN", "CLUSTERDOWN")) else "info"
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                outcome = "info"
            history.event(outcome, process, "read", key, result)
        if outcome == "info":
            # Jepsen's convention: a process whose operation is indeterminate is retired.
            process += 1000
        client.close()


def test_histories_linearizable_under_leader_kills():
    """Clients read and write registers through every member while the leader is killed
    with SIGKILL and restarted twice; stoa-check finds the history linearizable."""
    checker = os.path.join(os.path.dirname(STOA_BIN), "stoa-check")
    with TempDir() as root:
        group = Group(root, 3)
        history = History(os.path.join(root, "history.jsonl"))
        stop = threading.Event()
        threads = []
        try:
            group.start_all()
            group.leader()
            for process in range(6):
                thread = threading.Thread(target=register_client,
                                          args=(group, history, process, stop, process))
                thread.start()
                threads.append(thread)
            for _ in range(2):
                time.sleep(1.5)  # let the clients run against this leader: the workload
                leader = group.leader()
                group.kill(leader)
                group.leader()
                time.sleep(1.0)
                group.start(leader)
            time.sleep(1.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            history.close()
            group.stop_all()
        if history.ops < 200:
            raise Failure(f"only {history.ops} operations in the history")
        result = subprocess.run([checker, "--model", "register", history.file.name],
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise Failure(f"stoa-check: {result.returncode}\n{result.stdout}{result.stderr}")


if __name__ == "__main__":
    sys.exit(main([test_three_members_agree, test_leader_killed_and_restarted,
                   test_lagging_member_catches_up_by_snapshot,
                   test_five_members_lose_two_then_three, test_follower_stopped_for_100000_writes,
                   test_member_joins_and_is_removed, test_small_batches_past_the_log_ring,
                   test_forwarded_safe_reads_without_a_lease,
                   test_histories_linearizable_under_leader_kills]))
