#!/usr/bin/python3
"""Shows that the HTTP door works on every member of a replica group: /v1/kv writes through
any member are read back through every member (safe reads see every acknowledged write);
Nomad's put and get and the chained PUT /v1/objects work through a follower; ?consistency=fast
and Nomad's retrieval mode make a follower answer from its own state; when the leader is
killed with SIGKILL requests get a right answer, 503 (not applied: never applied) or 504
(outcome unknown), never a wrong one, and succeed again once a new leader is elected; every
member has the same state afterwards (DEBUG DIGEST); a member stopped while a request waits
for the group answers it 504 and exits cleanly; /readyz and /v1/status follow the group, and
without a majority writes get 503 with Retry-After while fast reads still answer."""
import http.client
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, TempDir, main, wait_for  # noqa: E402
from http_client import request  # noqa: E402
import group  # noqa: E402


class Group(group.Group):
    """The group, and HTTP calls to a member."""

    def call(self, i, method, path, body=None, **kw):
        return request(self.http[i], method, path, body, **kw)


def equal(got, expected, what):
    if got != expected:
        raise Failure(f"{what}: expected {expected!r}, got {got!r}")


def group_error(response):
    """Whether response is one of the group's refusals, shaped as documented."""
    if response.status == 503:
        equal(response.json()["error"]["code"], "unavailable", f"503 code of {response!r}")
        if response.headers.get("retry-after") != "1":
            raise Failure(f"503 without Retry-After: {response.headers}")
        return True
    if response.status == 504:
        equal(response.json()["error"]["code"], "timeout", f"504 code of {response!r}")
        return True
    return False


def put_kv(group, member, key, value, deadline_s=20):
    """PUT /v1/kv through member, retrying the group's refusals (a SET may be repeated)."""
    def attempt():
        r = group.call(member, "PUT", f"/v1/kv/{key}", value)
        if r.status == 200:
            equal(r.json(), {"result": True}, "PUT body")
            return True
        if not group_error(r):
            raise Failure(f"PUT {key} through {member}: {r!r}")
        return False
    wait_for(attempt, deadline_s, f"PUT {key} through member {member}")


def followers(group, leader):
    return [i for i in sorted(group.nodes) if i != leader]


def check_kv_everywhere(group):
    """Writes through every member, then safe reads of all of them through every member."""
    written = {}
    for i in sorted(group.nodes):
        for k in range(5):
            key, value = f"k{i}-{k}", f"v{i}-{k}-" + "x" * k
            put_kv(group, i, key, value)
            written[key] = value
    for i in sorted(group.nodes):
        for key, value in written.items():
            r = group.call(i, "GET", f"/v1/kv/{key}")
            equal((r.status, r.body), (200, value.encode()), f"safe GET {key} through {i}")
    # One keep-alive connection to a follower: each PUT suspends the connection until the
    # group answers, and the next request on it must still be read and answered.
    member = max(group.nodes)
    connection = http.client.HTTPConnection("127.0.0.1", group.http[member], timeout=20)
    try:
        for k in range(10):
            connection.request("PUT", f"/v1/kv/alive-{k}", body=f"a{k}".encode())
            response = connection.getresponse()
            equal((response.status, response.read()), (200, b'{"result":true}'), "keep-alive PUT")
            connection.request("GET", f"/v1/kv/alive-{k}")
            response = connection.getresponse()
            equal((response.status, response.read()), (200, f"a{k}".encode()), "keep-alive GET")
    finally:
        connection.close()
    for i in sorted(group.nodes):
        r = group.call(i, "DELETE", "/v1/kv/k1-0")
        expected = 200 if i == min(group.nodes) else 404
        equal(r.status, expected, f"DELETE k1-0 through {i}")
    return written


def check_nomad_and_objects(group, leader):
    follower = followers(group, leader)[0]
    other = followers(group, leader)[1]
    obj = {"id": "item:99", "creationTime": 1700000000, "ttl": 4000000000,
           "value": "eyJ4IjoxfQ=="}
    r = group.call(follower, "POST", "/nomad/storage/put", obj)
    equal((r.status, r.json()), (200, {"result": True}), "Nomad put through a follower")
    r = group.call(follower, "POST", "/nomad/storage/put", obj)
    equal(r.status, 409, "a duplicate Nomad put through a follower")
    for i in (follower, leader, other):
        r = group.call(i, "GET", "/nomad/storage/get/item:99")
        equal(r.status, 200, f"Nomad get through {i}")
        equal(r.json()["value"], obj["value"], f"Nomad get value through {i}")
    r = group.call(follower, "PUT", "/nomad/storage/update", dict(obj, value="AAEC"))
    equal((r.status, r.json()), (200, {"result": True}), "Nomad update through a follower")
    r = group.call(other, "GET", "/nomad/storage/get/item:99")
    equal(r.json()["value"], "AAEC", "the update seen through the other follower")

    # The chained route: OBJUPDATE (absent), OBJPUT, OBJGET, each through the group.
    forwarded = group.info(follower)["group_forwarded_out"]
    r = group.call(follower, "PUT", "/v1/objects/chained", {"value": "AQID", "ttl": 0})
    equal(r.status, 201, f"PUT /v1/objects through a follower: {r!r}")
    equal((r.json()["id"], r.json()["value"]), ("chained", "AQID"), "the stored object")
    if group.info(follower)["group_forwarded_out"] < forwarded + 3:
        raise Failure("the chained PUT did not go through the leader three times")
    r = group.call(follower, "PUT", "/v1/objects/chained", {"value": "BAUG"})
    equal((r.status, r.json()["value"]), (200, "BAUG"), "a replace through a follower")
    r = group.call(other, "GET", "/v1/objects/chained")
    equal((r.status, r.json()["value"]), (200, "BAUG"), "the object through the other follower")
    r = group.call(follower, "DELETE", "/v1/objects/chained")
    equal(r.status, 200, "DELETE /v1/objects through a follower")
    r = group.call(leader, "GET", "/v1/objects/chained")
    equal(r.status, 404, "the deleted object through the leader")


def check_fast_reads(group, leader):
    """Fast reads on a follower answer from its state: no forwarding, and they catch up."""
    follower = followers(group, leader)[0]
    put_kv(group, leader, "fast-key", "fast-value")
    forwarded = group.info(follower)["group_forwarded_out"]

    def seen():
        r = group.call(follower, "GET", "/v1/kv/fast-key?consistency=fast")
        if r.status == 404:
            return False
        equal((r.status, r.body), (200, b"fast-value"), "a fast read on a follower")
        return True
    wait_for(seen, 10, "the fast read on a follower to see the write")
    r = group.call(follower, "POST", "/nomad/config/retrieval", {"mode": "fast"})
    equal(r.status, 200, "Nomad's retrieval mode set to fast")
    r = group.call(follower, "GET", "/nomad/storage/get/item:99")
    equal(r.status, 200, "a Nomad get in fast mode")
    r = group.call(follower, "GET", "/v1/kv/fast-key?consistency=parallel")
    equal(r.status, 200, "a parallel read")
    equal(group.info(follower)["group_forwarded_out"], forwarded, "forwarded fast reads")
    r = group.call(follower, "POST", "/nomad/config/retrieval", {"mode": "safe"})
    equal(r.status, 200, "Nomad's retrieval mode back to safe")
    r = group.call(follower, "GET", "/v1/kv/fast-key")
    equal(r.status, 200, "a safe read")
    if group.info(follower)["group_forwarded_out"] != forwarded + 1:
        raise Failure("a safe read on a follower was not forwarded to the leader")
    r = group.call(follower, "GET", "/v1/kv/fast-key?consistency=eventual")
    equal(r.status, 400, "an unknown consistency")


def check_status(group, leader):
    for i in sorted(group.nodes):
        wait_for(lambda: group.call(i, "GET", "/readyz").status == 200, 10, f"/readyz on {i}")
        status = group.call(i, "GET", "/v1/status").json()
        g = status["group"]
        equal((g["self"], g["leader"]), (i, leader), f"/v1/status group of {i}")
        equal(g["role"], "leader" if i == leader else "follower", f"role of {i}")
        if g["commitIndex"] < 1 or g["appliedIndex"] > g["commitIndex"]:
            raise Failure(f"/v1/status indexes of {i}: {g}")


def failover_client(group, members, name, old_key, old_value, outcomes, stop, errors):
    """One client of the failover: PUTs of its own keys and GETs of an acknowledged key
    through the live members in turn, until told to stop once it has had steady service."""
    n = 0
    steady = 0
    while not (stop.is_set() and steady >= 3):
        member = members[n % len(members)]
        key = f"{name}-{n}"
        n += 1
        try:
            r = group.call(member, "PUT", f"/v1/kv/{key}", key)
            if r.status != 200 and not group_error(r):
                raise Failure(f"PUT during the failover: {r!r}")
            outcomes[key] = r.status
            g = group.call(member, "GET", f"/v1/kv/{old_key}")
            if g.status == 200:
                equal(g.body, old_value.encode(), "a read during the failover")
            elif not group_error(g):
                raise Failure(f"GET during the failover: {g!r}")
        except Exception as error:  # reported by the test's thread
            errors.append(error)
            return
        steady = steady + 1 if r.status == 200 and g.status == 200 else 0
        if steady == 0:
            time.sleep(0.02)


def check_leader_killed(group, leader, written):
    """Clients on the other members while the leader is killed with SIGKILL and a new one
    is elected: every answer is right, 503 (then it was not applied) or 504, and service
    comes back."""
    live = [i for i in sorted(group.nodes) if i != leader]
    old_key = f"k{live[0]}-1"
    outcomes = {}
    errors = []
    stop = threading.Event()
    threads = [threading.Thread(target=failover_client,
                                args=(group, live[c % 2:] + live[:c % 2], f"c{c}", old_key,
                                      written[old_key], outcomes, stop, errors))
               for c in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(outcomes) >= 20 or errors, 20, "writes before the kill")
        group.kill(leader)
        new_leader = group.leader()
        if new_leader == leader:
            raise Failure("the killed leader still leads")
        started = len(outcomes)
        wait_for(lambda: len(outcomes) >= started + 20 or errors, 20, "writes after the kill")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    if errors:
        raise errors[0]
    if any(thread.is_alive() for thread in threads):
        raise Failure("a failover client did not get steady service back")
    for key, status in outcomes.items():
        r = group.call(new_leader, "GET", f"/v1/kv/{key}")
        if status == 200:
            equal((r.status, r.body), (200, key.encode()), f"acknowledged {key}")
        elif status == 503:
            equal(r.status, 404, f"{key} was refused (503) yet applied")
    seen = {}
    for status in outcomes.values():
        seen[status] = seen.get(status, 0) + 1
    return seen


def check_stop_while_waiting(group, leader):
    """A member stopped (SIGTERM) while a request waits for the group answers it 504 and
    exits cleanly (no leak, no crash): the leader is paused, so the forwarded write hangs."""
    member = followers(group, leader)[0]
    forwarded = group.info(member)["group_forwarded_out"]
    group.nodes[leader].signal(signal.SIGSTOP)
    answers = []
    thread = threading.Thread(
        target=lambda: answers.append(group.call(member, "PUT", "/v1/kv/hanging", "v")))
    thread.start()
    try:
        wait_for(lambda: group.info(member)["group_forwarded_out"] > forwarded, 10,
                 "the PUT forwarded to the paused leader")
        node = group.nodes.pop(member)
        node.signal(signal.SIGTERM)
        equal(node.wait_exit(), 0, f"exit status\n{node.output()[-3000:]}")
    finally:
        thread.join(timeout=20)
    r = answers[0]
    equal((r.status, r.json()["error"]["code"]), (504, "timeout"), f"the waiting PUT: {r!r}")


def check_no_majority(group, survivor):
    """With one member of three able to act, /readyz says 503, writes are refused with 503
    and Retry-After, and fast reads still answer."""
    wait_for(lambda: group.call(survivor, "GET", "/readyz").status == 503, 20,
             "/readyz 503 without a majority")

    def refused():
        r = group.call(survivor, "PUT", "/v1/kv/lonely", "v")
        if r.status == 200:
            raise Failure("a write acknowledged without a majority")
        if not group_error(r):
            raise Failure(f"PUT without a majority: {r!r}")
        return r.status == 503
    wait_for(refused, 20, "a 503 for a write without a majority")
    r = group.call(survivor, "GET", "/v1/kv/k1-1?consistency=fast")
    equal(r.status, 200, "a fast read without a majority")
    r = group.call(survivor, "GET", "/v1/kv/k1-1")
    if not group_error(r):
        raise Failure(f"a safe read without a majority: {r!r}")


def test_http_on_a_replica_group():
    """Every part above, on one group of three members."""
    with TempDir() as root:
        group = Group(root, 3, ["--cluster.requestTimeout=2s"])
        try:
            group.start_all()
            leader = group.leader()
            written = check_kv_everywhere(group)
            check_status(group, leader)
            check_nomad_and_objects(group, leader)
            check_fast_reads(group, leader)
            seen = check_leader_killed(group, leader, written)
            print(f"during the failover: {seen}")
            group.start(leader)
            group.leader()
            wait_for(lambda: len({group.digest(i) for i in (1, 2, 3)}) == 1, 30,
                     "equal digests on every member")
            for key, value in written.items():
                r = group.call(leader, "GET", f"/v1/kv/{key}")
                if key != "k1-0":
                    equal((r.status, r.body), (200, value.encode()), f"{key} on the restarted")
            leader = group.leader()
            check_stop_while_waiting(group, leader)
            check_no_majority(group, followers(group, leader)[0])
        finally:
            for node in group.nodes.values():
                node.signal(signal.SIGCONT)
            group.stop_all()


if __name__ == "__main__":
    sys.exit(main([test_http_on_a_replica_group]))
