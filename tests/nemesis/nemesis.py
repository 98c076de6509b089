#!/usr/bin/python3
"""The real-process nemesis (docs/nemesis.md): five `stoa start` processes, each in a network
namespace of its own joined by veth links to a bridge, under a client workload of registers
and counters, while a nemesis kills (SIGKILL) and restarts them, pauses them (SIGSTOP and
SIGCONT), partitions them (nftables rules in their namespaces: one member isolated, the group
cut in two, one-way links, a bridge member seeing both halves), drops a share of their
packets, and jumps their wall clocks (libfaketime). The run stops by itself after --duration
seconds, heals every fault, reads every key through the leader, waits for the members to
converge, and checks the histories with stoa-check; the healed group must also acknowledge
writes again (liveness). Exit status: 0 all checks passed, 1 a check failed, 2 bad usage or
the run itself failed, 77 this machine cannot make network namespaces (not root, or
ip/nft/libfaketime missing): skipped.

    tests/nemesis/nemesis.py --stoa build/release/stoa --duration 600 --dir /tmp/nemesis
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import redis

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
SECRET = "nemesis-secret-0123456789abcdef"
RESP_PORT = 7379
PEER_PORT = 7382
SKIP = 77
MODELS = ("register", "counter", "deque")
FAULT_KINDS = ("kill", "pause", "isolate", "halves", "one-way", "bridge", "loss", "clock")


def sh(*args, check=True):
    """Runs a command (no shell); raises with its output if it fails and check is set."""
    result = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.returncode} {result.stderr.strip()}")
    return result


def preflight():
    """Why this machine cannot run the nemesis, or None."""
    if os.geteuid() != 0:
        return "not root: network namespaces need CAP_NET_ADMIN"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/deps.sh installs iproute2 and nftables)"
    if not os.path.exists(FAKETIME_LIB):
        return f"{FAKETIME_LIB} is missing (scripts/deps.sh installs faketime)"
    probe = f"stoa-probe-{os.getpid()}"
    if sh("ip", "netns", "add", probe, check=False).returncode != 0:
        return "ip netns add fails here"
    sh("ip", "netns", "del", probe, check=False)
    return None


class Log:
    """The nemesis's own event log (JSON lines) and a copy of each event on stdout."""

    def __init__(self, path, quiet):
        self.file = open(path, "w", encoding="utf-8")
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.quiet = quiet

    def event(self, what, **fields):
        fields = {"t": round(time.monotonic() - self.started, 3), "event": what, **fields}
        line = json.dumps(fields)
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()
            if not self.quiet:
                print(line, flush=True)

    def close(self):
        self.file.close()


class Network:
    """A bridge in this namespace and one namespace per member, joined by veth pairs; each
    member's namespace has an nftables table "nemesis" whose rules make the faults."""

    def __init__(self, count):
        tag = os.getpid() % 10000
        self.subnet = f"10.231.{os.getpid() % 250}"
        self.bridge = f"snb{tag}"
        self.names = {i: f"stoa-nem{tag}-{i}" for i in range(1, count + 1)}
        self.veths = {i: f"sn{tag}h{i}" for i in range(1, count + 1)}
        self.count = count

    def address(self, i):
        return f"{self.subnet}.{i}"

    @property
    def host(self):
        return f"{self.subnet}.254"

    def up(self):
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.host}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for i, ns in self.names.items():
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", self.veths[i], "type", "veth", "peer", "name", "eth0",
               "netns", ns)
            sh("ip", "link", "set", self.veths[i], "master", self.bridge)
            sh("ip", "link", "set", self.veths[i], "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.address(i)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            self.nft(i, "add table inet nemesis\n"
                        "add chain inet nemesis input { type filter hook input priority 0; }\n"
                        "add chain inet nemesis output { type filter hook output priority 0; }")

    def down(self):
        for i, ns in self.names.items():
            sh("ip", "link", "del", self.veths[i], check=False)
            sh("ip", "netns", "del", ns, check=False)
        sh("ip", "link", "del", self.bridge, check=False)

    def nft(self, i, script):
        result = subprocess.run(["ip", "netns", "exec", self.names[i], "nft", "-f", "-"],
                                input=script, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"nft in {self.names[i]}: {result.stderr.strip()}")

    def drop_from(self, i, peers):
        """Member i no longer receives packets from peers (one direction)."""
        rules = "".join(f"add rule inet nemesis input ip saddr {self.address(j)} drop\n"
                        for j in peers)
        if rules:
            self.nft(i, rules)

    def lose(self, i, percent):
        """Member i loses percent % of the packets it receives from the other members."""
        self.nft(i, f"add rule inet nemesis input ip saddr != {self.host} "
                    f"numgen random mod 100 < {percent} drop\n")

    def heal(self):
        for i in self.names:
            self.nft(i, "flush chain inet nemesis input\nflush chain inet nemesis output\n")


class Member:
    """One `stoa start` in its namespace, with its wall clock under libfaketime's control."""

    def __init__(self, args, network, i, root):
        self.args, self.network, self.i = args, network, i
        self.dir = os.path.join(root, f"n{i}")
        self.clock = os.path.join(root, f"clock{i}")
        self.log_path = os.path.join(root, f"n{i}.log")
        self.process = None
        self.paused = False
        os.makedirs(self.dir, exist_ok=True)
        self.set_clock(0)

    def set_clock(self, offset_s):
        with open(self.clock + ".tmp", "w", encoding="ascii") as f:
            f.write(f"{offset_s:+d}s\n")
        os.replace(self.clock + ".tmp", self.clock)

    def start(self):
        members = ",".join(f"{j}={self.network.address(j)}:{PEER_PORT}"
                           for j in self.network.names)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STOA_", "LD_"))}
        env.update({"LD_PRELOAD": FAKETIME_LIB, "FAKETIME_TIMESTAMP_FILE": self.clock,
                    "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_CACHE_DURATION": "1"})
        # An AddressSanitizer build wants its runtime first among the libraries; with
        # libfaketime preloaded it is second, which is harmless here.
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                     "verify_asan_link_order=0"]))
        command = ["ip", "netns", "exec", self.network.names[self.i], self.args.stoa, "start",
                   f"--data-dir={self.dir}", f"--listen.host={self.network.address(self.i)}",
                   f"--listen.resp.port={RESP_PORT}", f"--listen.peer.port={PEER_PORT}",
                   "--listen.http.port=0", "--listen.geomys.port=0",
                   "--listen.multiverse9.port=0", f"--cluster.members={members}",
                   f"--cluster.self={self.i}", f"--cluster.secret={SECRET}",
                   "--resp.debugCommands=true", "--data.durability=always"]
        with open(self.log_path, "a", encoding="utf-8") as log:
            # `ip netns exec` execs stoa in place: the pid is stoa's, signals reach it.
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        self.paused = False

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        self.paused = False

    def pause(self):
        if self.alive:
            self.process.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.alive and self.paused:
            self.process.send_signal(signal.SIGCONT)
        self.paused = False


class Histories:
    """One Jepsen-shaped history per model (docs/checking.md), in real-time order."""

    def __init__(self, root):
        self.files = {m: open(os.path.join(root, f"history.{m}.jsonl"), "w", encoding="utf-8")
                      for m in MODELS}
        self.lock = threading.Lock()
        self.ops = {m: 0 for m in MODELS}
        self.outcomes = {"ok": 0, "fail": 0, "info": 0}
        self.keys = {m: set() for m in MODELS}
        self.ok_writes = 0  # acknowledged writes and increments: the liveness check

    def event(self, model, kind, process, f, key, value):
        line = json.dumps({"type": kind, "process": process, "f": f, "key": key,
                           "value": value, "time": time.monotonic_ns()})
        with self.lock:
            self.files[model].write(line + "\n")
            if kind == "invoke":
                self.ops[model] += 1
                self.keys[model].add(key)
            else:
                self.outcomes[kind] += 1
                self.ok_writes += kind == "ok" and f in ("write", "incr", "push-back")

    def nemesis(self, what):
        line = json.dumps({"type": "info", "process": "nemesis", "f": what, "value": None})
        with self.lock:
            for f in self.files.values():
                f.write(line + "\n")

    def close(self):
        for f in self.files.values():
            f.close()


DEFINITE = ("TRYAGAIN", "CLUSTERDOWN")  # docs/replication.md: the write was not applied


def attempt(client, command):
    """Runs one command: ("ok", reply), ("fail", None) for a definite refusal, or ("info",
    None) when the outcome is unknown."""
    try:
        return "ok", client.execute_command(*command)
    except redis.exceptions.ResponseError as error:
        return ("fail" if str(error).startswith(DEFINITE) else "info"), None
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as error:
        # redis-py says "connecting to" when the connection could not be made: the request
        # never left, so it certainly did not take effect.
        return ("fail" if "connecting to" in str(error) else "info"), None


def client_loop(network, histories, process, stop, seed, args, began):
    """One client: registers (SET/GET), counters (INCRBY/GET) and deques (RPUSH/LPOP/LRANGE)
    through random members, one operation at a time; after an indeterminate one it takes a
    new process number. The keys change every --key-seconds (Jepsen's independent keys): an
    indeterminate operation stays open forever, and a key's search grows with the open
    operations it has to place."""
    rng = random.Random(seed)
    keys = args.keys
    clients = {}
    avoid = {}  # member -> monotonic time until which this client does not use it
    written = 0
    while not stop.is_set():
        now = time.monotonic()
        usable = [j for j in sorted(network.names) if avoid.get(j, 0) <= now]
        i = rng.choice(usable or sorted(network.names))
        if i not in clients:
            clients[i] = redis.Redis(host=network.address(i), port=RESP_PORT,
                                     socket_timeout=3, socket_connect_timeout=1)
        client = clients[i]
        generation = int((time.monotonic() - began) / args.key_seconds)
        pick = rng.random()
        if pick < 0.3:
            model, key = "deque", f"d{generation}.{rng.randrange(keys)}"
            roll = rng.random()
            if roll < 0.5:
                written += 1
                value = process * 1000000 + written
                histories.event(model, "invoke", process, "push-back", key, value)
                outcome, _ = attempt(client, ("RPUSH", key, value))
                histories.event(model, outcome, process, "push-back", key, value)
            elif roll < 0.85:
                histories.event(model, "invoke", process, "pop-front", key, None)
                outcome, reply = attempt(client, ("LPOP", key))
                result = int(reply) if outcome == "ok" and reply is not None else None
                histories.event(model, outcome, process, "pop-front", key, result)
            else:
                histories.event(model, "invoke", process, "read", key, None)
                outcome, reply = attempt(client, ("LRANGE", key, 0, -1))
                result = [int(v) for v in reply] if outcome == "ok" else None
                histories.event(model, outcome, process, "read", key, result)
        elif pick < 0.65:
            model, key = "register", f"r{generation}.{rng.randrange(keys)}"
            if rng.random() < 0.5:
                written += 1
                value = process * 1000000 + written
                histories.event(model, "invoke", process, "write", key, value)
                outcome, _ = attempt(client, ("SET", key, value))
                histories.event(model, outcome, process, "write", key, value)
            else:
                histories.event(model, "invoke", process, "read", key, None)
                outcome, reply = attempt(client, ("GET", key))
                result = int(reply) if outcome == "ok" and reply is not None else None
                histories.event(model, outcome, process, "read", key, result)
        else:
            model, key = "counter", f"c{generation}.{rng.randrange(keys)}"
            if rng.random() < 0.6:
                delta = rng.randrange(1, 6)
                histories.event(model, "invoke", process, "incr", key, delta)
                outcome, reply = attempt(client, ("INCRBY", key, delta))
                histories.event(model, outcome, process, "incr", key,
                                int(reply) if outcome == "ok" else delta)
            else:
                histories.event(model, "invoke", process, "read", key, None)
                outcome, reply = attempt(client, ("GET", key))
                result = int(reply) if outcome == "ok" and reply is not None else None
                histories.event(model, outcome, process, "read", key, result)
        if outcome == "info":
            process += 1000
            clients.pop(i).close()
        if outcome != "ok":
            # A member that did not answer is left alone for a while (a client would fail
            # over): each indeterminate operation stays open for the checker forever.
            avoid[i] = time.monotonic() + 5.0
            stop.wait(0.05)


class FastTally:
    """What the fast clients saw (their keys are apart and not checked for linearizability:
    a fast write may be lost by design, docs/replication.md)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.outcomes = {"ok": 0, "fail": 0, "info": 0}

    def add(self, outcome):
        with self.lock:
            self.outcomes[outcome] += 1


def fast_client_loop(network, tally, stop, seed, args):
    """A fast client: WRITEMODE FAST, then INCRBY, RPUSH, LPOP, GETSET and SET NX on keys of
    its own kind, through random members. Its writes are answered from the leader's
    speculative view (docs/replication.md), in the same log as the checked clients' writes;
    the run then requires that no leader logged a speculative reply the log did not give."""
    rng = random.Random(seed)
    clients = {}
    while not stop.is_set():
        i = rng.choice(sorted(network.names))
        if i not in clients:
            try:  # a single-connection client connects here, and the member may be down
                client = redis.Redis(host=network.address(i), port=RESP_PORT, socket_timeout=3,
                                     socket_connect_timeout=1, single_connection_client=True)
            except (redis.exceptions.RedisError, OSError):
                tally.add("fail")
                stop.wait(0.05)
                continue
            outcome, _ = attempt(client, ("WRITEMODE", "FAST"))
            if outcome != "ok":
                client.close()
                tally.add(outcome)
                stop.wait(0.05)
                continue
            clients[i] = client
        key = rng.randrange(args.keys)
        roll = rng.random()
        if roll < 0.35:
            command = ("INCRBY", f"fc{key}", rng.randrange(1, 6))
        elif roll < 0.6:
            command = ("RPUSH", f"fd{key}", rng.randrange(1000))
        elif roll < 0.8:
            command = ("LPOP", f"fd{key}")
        elif roll < 0.9:
            command = ("GETSET", f"fr{key}", rng.randrange(1000))
        else:
            command = ("SET", f"fr{key}", rng.randrange(1000), "NX")
        outcome, _ = attempt(clients[i], command)
        tally.add(outcome)
        if outcome != "ok":
            clients.pop(i).close()
            stop.wait(0.05)


MISMATCH = "answered from the leader's view with a reply the log does not give"


def log_count(root, text):
    """How many lines of the members' logs (every run of each member) hold text."""
    count = 0
    for name in os.listdir(root):
        if name.endswith(".log"):
            with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
                count += sum(text in line for line in f)
    return count


class Nemesis:
    """Injects one fault (sometimes two) at a time, holds it, heals it, rests."""

    def __init__(self, args, network, members, histories, log, rng):
        self.args, self.network, self.members = args, network, members
        self.histories, self.log, self.rng = histories, log, rng
        self.counts = {kind: 0 for kind in FAULT_KINDS}
        self.kinds = [k for k in FAULT_KINDS if k in args.faults]

    def leader(self):
        """The member the live members name as leader, or None."""
        for i, member in self.members.items():
            if not member.alive or member.paused:
                continue
            try:
                client = redis.Redis(host=self.network.address(i), port=RESP_PORT,
                                     socket_timeout=1, socket_connect_timeout=1)
                reply = client.execute_command("GROUP", "STATUS")
                client.close()
                status = {reply[k].decode(): reply[k + 1] for k in range(0, len(reply), 2)}
                if status.get("leader") in self.members:
                    return status["leader"]
            except (redis.exceptions.RedisError, OSError):
                continue
        return None

    def target(self):
        """The leader half the time (where faults hurt most), else any member."""
        leader = self.leader() if self.rng.random() < 0.5 else None
        return leader or self.rng.choice(sorted(self.members))

    def inject(self, kind):
        ids = sorted(self.members)
        if kind == "kill":
            i = self.target()
            self.members[i].kill()
            return {"member": i}, lambda: self.members[i].start()
        if kind == "pause":
            i = self.target()
            self.members[i].pause()
            return {"member": i}, lambda: self.members[i].resume()
        if kind == "isolate":
            i = self.target()
            others = [j for j in ids if j != i]
            self.network.drop_from(i, others)
            for j in others:
                self.network.drop_from(j, [i])
            return {"member": i}, None
        if kind == "halves":
            shuffled = self.rng.sample(ids, len(ids))
            small, large = shuffled[:len(ids) // 2], shuffled[len(ids) // 2:]
            for i in small:
                self.network.drop_from(i, large)
            for i in large:
                self.network.drop_from(i, small)
            return {"minority": sorted(small), "majority": sorted(large)}, None
        if kind == "one-way":
            i = self.target()
            j = self.rng.choice([x for x in ids if x != i])
            self.network.drop_from(j, [i])  # j hears nothing from i; i still hears j
            return {"from": i, "to": j}, None
        if kind == "bridge":
            shuffled = self.rng.sample(ids, len(ids))
            middle, rest = shuffled[0], shuffled[1:]
            left, right = rest[:len(rest) // 2], rest[len(rest) // 2:]
            for i in left:
                self.network.drop_from(i, right)
            for i in right:
                self.network.drop_from(i, left)
            return {"bridge": middle, "left": sorted(left), "right": sorted(right)}, None
        if kind == "loss":
            chosen = self.rng.sample(ids, self.rng.randrange(1, len(ids) + 1))
            percent = self.rng.randrange(5, 40)
            for i in chosen:
                self.network.lose(i, percent)
            return {"members": sorted(chosen), "percent": percent}, None
        if kind == "clock":
            i = self.rng.choice(ids)
            offset = self.rng.choice([-1, 1]) * self.rng.randrange(1, 600)
            self.members[i].set_clock(offset)
            return {"member": i, "offset_s": offset}, lambda: self.members[i].set_clock(0)
        raise ValueError(kind)

    def run(self, stop):
        while not stop.is_set():
            stop.wait(self.rng.uniform(1.0, 4.0))
            if stop.is_set():
                break
            chosen = [self.rng.choice(self.kinds)]
            if self.rng.random() < 0.25:
                second = self.rng.choice(self.kinds)
                if second != chosen[0] and {second, chosen[0]} & {"kill", "pause"} != \
                        {second, chosen[0]}:
                    chosen.append(second)
            undo = []
            for kind in chosen:
                detail, heal = self.inject(kind)
                self.counts[kind] += 1
                self.log.event("fault", kind=kind, **detail)
                self.histories.nemesis(f"start-{kind}")
                undo.append((kind, heal))
            stop.wait(self.rng.uniform(2.0, 10.0))
            self.heal(undo)

    def heal(self, undo):
        self.network.heal()
        for kind, heal in undo:
            if heal is not None:
                heal()
            self.histories.nemesis(f"stop-{kind}")
        self.log.event("heal", kinds=[kind for kind, _ in undo])

    def heal_all(self):
        self.network.heal()
        for member in self.members.values():
            member.set_clock(0)
            if member.paused:
                member.resume()
            if not member.alive:
                member.start()
        self.log.event("heal-all")


def group_status(network, i):
    client = redis.Redis(host=network.address(i), port=RESP_PORT, socket_timeout=2,
                         socket_connect_timeout=1)
    try:
        reply = client.execute_command("GROUP", "STATUS")
        return {reply[k].decode(): reply[k + 1] for k in range(0, len(reply), 2)}
    finally:
        client.close()


def speculation_counts(network, members):
    """The members' speculation counters (INFO replication; since each one's last start)."""
    total = {}
    for i in members:
        client = redis.Redis(host=network.address(i), port=RESP_PORT, socket_timeout=2,
                             socket_connect_timeout=1)
        try:
            info = client.info("replication")
        except redis.exceptions.RedisError:
            continue
        finally:
            client.close()
        for name in ("group_fast_writes", "group_fast_speculative", "group_speculation_starts",
                     "group_speculation_stops", "group_speculation_mismatches",
                     "group_fast_writes_lost"):
            total[name] = total.get(name, 0) + int(info.get(name, 0))
    return total


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (redis.exceptions.RedisError, OSError):
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {seconds}s waiting for {what}")


def agreed_leader(network, members):
    statuses = {i: group_status(network, i) for i in members}
    leaders = {s["leader"] for s in statuses.values()}
    if len(leaders) != 1:
        return None
    leader = leaders.pop()
    if leader in statuses and statuses[leader]["role"] == b"leader" and \
            statuses[leader]["leader_ready"]:
        return leader
    return None


def final_reads(network, members, histories):
    """Every key read once more through the leader: a write acknowledged and then lost shows
    as a read the checker cannot explain. A read refused (the leader handing over to a higher
    id, say) is recorded as such and tried again through the leader of the moment."""
    process = 9_000_000
    for model in MODELS:
        for key in sorted(histories.keys[model]):
            deadline = time.monotonic() + 60
            while True:
                leader = wait_for(lambda: agreed_leader(network, members), 60, "a leader")
                client = redis.Redis(host=network.address(leader), port=RESP_PORT,
                                     socket_timeout=10)
                histories.event(model, "invoke", process, "read", key, None)
                if model == "deque":
                    outcome, reply = attempt(client, ("LRANGE", key, 0, -1))
                    result = [int(v) for v in reply] if outcome == "ok" else None
                else:
                    outcome, reply = attempt(client, ("GET", key))
                    result = int(reply) if outcome == "ok" and reply is not None else None
                histories.event(model, outcome, process, "read", key, result)
                client.close()
                process += 1
                if outcome == "ok":
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"final read of {key}: {outcome} for 60 s")


def converged(network, members):
    """The members' applied indexes and state digests, once all are equal."""
    applied = {i: group_status(network, i)["applied_index"] for i in members}
    if len(set(applied.values())) != 1:
        return None
    digests = {}
    for i in members:
        client = redis.Redis(host=network.address(i), port=RESP_PORT, socket_timeout=5)
        digests[i] = client.execute_command("DEBUG", "DIGEST")
        client.close()
    if len(set(digests.values())) != 1:
        return None
    return {"applied_index": applied[members[0]], "digest": digests[members[0]].decode()}


def check(args, root, model):
    started = time.monotonic()
    result = subprocess.run([args.checker, "--model", model,
                             os.path.join(root, f"history.{model}.jsonl")],
                            capture_output=True, text=True, check=False)
    return {"model": model, "exit": result.returncode,
            "seconds": round(time.monotonic() - started, 2),
            "output": (result.stdout + result.stderr).strip()[-2000:]}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stoa", required=True, help="the stoa binary (a Release build)")
    parser.add_argument("--checker", help="stoa-check (default: beside --stoa)")
    parser.add_argument("--duration", type=float, default=600, help="seconds of faults")
    parser.add_argument("--dir", help="where data, logs and histories go (default: a new "
                                      "temporary directory, kept)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--fast-clients", type=int, default=2,
                        help="clients writing in fast mode on keys of their own (unchecked "
                             "histories; speculative replies are checked by the leaders)")
    parser.add_argument("--keys", type=int, default=4, help="keys per model")
    parser.add_argument("--key-seconds", type=float, default=10,
                        help="a new set of keys every this many seconds")
    parser.add_argument("--faults", default=",".join(FAULT_KINDS),
                        help="comma list of " + ", ".join(FAULT_KINDS))
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    args = parser.parse_args()
    args.faults = set(args.faults.split(","))
    unknown = args.faults - set(FAULT_KINDS)
    if unknown or not args.faults:
        parser.error(f"unknown fault kinds: {sorted(unknown)}")
    args.checker = args.checker or os.path.join(os.path.dirname(args.stoa), "stoa-check")
    for binary in (args.stoa, args.checker):
        if not os.access(binary, os.X_OK):
            parser.error(f"{binary} is not an executable")
    why = preflight()
    if why:
        print(f"nemesis: skipped: {why}", file=sys.stderr)
        return SKIP
    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")  # the cleanup below still runs

    signal.signal(signal.SIGTERM, interrupted)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    root = args.dir or tempfile.mkdtemp(prefix="stoa-nemesis-")
    os.makedirs(root, exist_ok=True)
    log = Log(os.path.join(root, "nemesis.jsonl"), args.quiet)
    log.event("begin", seed=seed, duration_s=args.duration, dir=root,
              faults=sorted(args.faults))
    network = Network(5)
    members = {}
    histories = Histories(root)
    tally = FastTally()
    stop = threading.Event()
    threads = []
    summary = {"seed": seed, "dir": root, "duration_s": args.duration}
    status = 2
    try:
        network.up()
        members = {i: Member(args, network, i, root) for i in network.names}
        for member in members.values():
            member.start()
        wait_for(lambda: agreed_leader(network, list(members)), 60, "a first leader")
        began = time.monotonic()
        for process in range(args.clients):
            thread = threading.Thread(target=client_loop, daemon=True,
                                      args=(network, histories, process, stop,
                                            seed * 131 + process, args, began))
            thread.start()
            threads.append(thread)
        for n in range(args.fast_clients):
            thread = threading.Thread(target=fast_client_loop, daemon=True,
                                      args=(network, tally, stop, seed * 137 + n, args))
            thread.start()
            threads.append(thread)
        nemesis = Nemesis(args, network, members, histories, log, random.Random(seed))
        nemesis_stop = threading.Event()
        nemesis_thread = threading.Thread(target=nemesis.run, args=(nemesis_stop,), daemon=True)
        nemesis_thread.start()
        stalls = 0
        while time.monotonic() - began < args.duration:
            writes_before = histories.ok_writes
            time.sleep(min(30.0, args.duration - (time.monotonic() - began)))
            log.event("progress", ops=dict(histories.ops), outcomes=dict(histories.outcomes),
                      faults={k: v for k, v in nemesis.counts.items() if v})
            if histories.ok_writes == writes_before:
                stalls += 1  # reported; a group still stuck after healing fails the run
                log.event("stall", verdict="no write acknowledged in the last 30 s")
        summary["stalls_30s"] = stalls
        nemesis_stop.set()
        nemesis_thread.join()
        nemesis.heal_all()
        # The healed group must serve again: a leader, then some more workload.
        wait_for(lambda: agreed_leader(network, list(members)), 60, "a leader after healing")
        # The workload runs against the healed group for a while, and must get writes through
        # (liveness: a group that is safe but stuck fails the run).
        writes_before = histories.ok_writes
        time.sleep(5.0)
        healed_writes = histories.ok_writes - writes_before
        summary["writes_after_healing"] = healed_writes
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        final_reads(network, list(members), histories)
        histories.close()
        state = wait_for(lambda: converged(network, sorted(members)), 120,
                         "every member at the same applied index and digest")
        checks = [check(args, root, model) for model in MODELS]
        mismatches = log_count(root, MISMATCH)
        summary["fast"] = {"outcomes": dict(tally.outcomes), "speculation_mismatches": mismatches,
                           "lost_warnings": log_count(root, "fast writes lost"),
                           "counters_since_last_starts": speculation_counts(network,
                                                                            sorted(members))}
        summary.update({
            "operations": dict(histories.ops), "outcomes": dict(histories.outcomes),
            "keys": {m: len(k) for m, k in histories.keys.items()},
            "faults": nemesis.counts, "converged": state,
            "checks": [{k: c[k] for k in ("model", "exit", "seconds")} for c in checks]})
        for c in checks:
            log.event("check", **c)
        live = healed_writes >= 100
        if not live:
            log.event("liveness", writes_after_healing=healed_writes,
                      verdict="the healed group acknowledged almost no writes in 5 s")
        if mismatches:
            log.event("speculation", verdict=f"{mismatches} speculative replies differed from "
                                             "the log's (member logs)")
        status = 0 if all(c["exit"] == 0 for c in checks) and live and not mismatches else 1
        summary["result"] = "pass" if status == 0 else "FAIL"
    except Exception as error:  # the run itself failed: say so, keep the evidence
        summary["result"] = f"error: {error}"
        status = 2
    finally:
        stop.set()
        for member in members.values():
            member.resume()
            member.kill()
        network.down()
        log.event("end", **summary)
        log.close()
    print(json.dumps(summary, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
