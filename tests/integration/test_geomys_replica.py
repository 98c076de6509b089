#!/usr/bin/python3
"""Shows that the Geomys door works on every member of a 3-member replica group: a SET sent to
a follower is read by GET on another member, INCRs through different members all count,
PUSH and LPOP through different members form one queue, pipelined requests are answered in
order, a Geomys client on a surviving member keeps working after the leader is killed with
SIGKILL and a new one is elected, a client that hangs up while its write waits for a group
without a quorum leaves the node serving (the group's refusal then comes as an ERROR map), and
a member stopped while a Geomys write waits exits cleanly."""
import os
import signal
import sys
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, TempDir, main, wait_for  # noqa: E402
from group import Group  # noqa: E402
from test_geomys import GeomysClient, equal  # noqa: E402

# Answers that say the group did not run the request (or, TIMEOUT, does not know).
RETRYABLE = ("CLUSTERDOWN", "TRYAGAIN", "TIMEOUT")


def geomys_port(group, i):
    started = group.nodes[i].wait_log("started", module="bin")
    return int(started["geomys"].rsplit(":", 1)[1])


def client(group, i):
    return GeomysClient(geomys_port(group, i))


def followers(group, leader):
    return [i for i in sorted(group.nodes) if i != leader]


def call_retrying(connection, what, **fields):
    """Sends fields until the answer is not one of the group's refusals; returns it."""
    def attempt():
        response = connection.call(**fields)
        if response["status"] == "ERROR" and response["message"].startswith(RETRYABLE):
            time.sleep(0.05)
            return None
        return response
    return wait_for(attempt, 20, what)


def call(connection, **fields):
    """One request; a refusal that says it was not run (a leader change on a loaded machine)
    is retried, never TIMEOUT (whose write may have been applied: INCR would count twice)."""
    for _ in range(100):
        response = connection.call(**fields)
        if response["status"] != "ERROR" or \
                not response["message"].startswith(("CLUSTERDOWN", "TRYAGAIN")):
            return response
        time.sleep(0.05)
    raise Failure(f"{fields!r} refused 100 times")


def test_writes_and_reads_through_every_member():
    """SET on a follower, GET elsewhere; INCR and PUSH/LPOP through every member."""
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            leader = group.leader()
            first, second = followers(group, leader)
            on_first, on_second, on_leader = client(group, first), client(group, second), \
                client(group, leader)

            equal(call(on_first, command="SET", key="k", value="from a follower"),
                  {"status": "OK"}, "SET on a follower")
            equal(call(on_second, command="GET", key="k"),
                  {"status": "OK", "value": "from a follower"}, "GET on the other follower")
            equal(call(on_leader, command="GET", key="k"),
                  {"status": "OK", "value": "from a follower"}, "GET on the leader")
            equal(group.client(second).get("k"), b"from a follower", "RESP GET on a member")
            equal(call(on_second, command="GET", key="missing"),
                  {"status": "NOT_FOUND", "message": "Get failed: key not found"},
                  "GET of a missing key through the group")

            connections = [on_first, on_second, on_leader]
            for n in range(30):
                response = call(connections[n % 3], command="INCR", key="counter")
                equal(response, {"status": "OK", "value": n + 1}, f"INCR number {n + 1}")
            equal(call(on_leader, command="INCR", key="counter", offset="-10"),
                  {"status": "OK", "value": 20}, "INCRBY through the leader")
            equal(call(on_first, command="INCR", key="k"),
                  {"status": "ERROR", "message": "value is not an integer or out of range"},
                  "INCR of a string through a follower")

            for n, connection in enumerate(connections):
                equal(call(connection, command="PUSH", key="queue", value=f"item{n}"),
                      {"status": "OK", "value": n + 1}, f"PUSH number {n + 1}")
            for n, connection in enumerate(reversed(connections)):
                equal(call(connection, command="LPOP", key="queue"),
                      {"status": "OK", "value": f"item{n}"}, f"LPOP number {n + 1}")
            equal(call(on_second, command="LPOP", key="queue"),
                  {"status": "NOT_FOUND", "message": "Lpop failed: list does not exist"},
                  "LPOP of the emptied queue")

            # Pipelined through a follower: every write waits for the group, in order.
            on_first.send(b"".join(msgpack.packb({"command": "PUSH", "key": "pipe",
                                                  "value": str(n)}) for n in range(20))
                          + msgpack.packb({"command": "RPOP", "key": "pipe"})
                          + msgpack.packb({"command": "PING"}))
            for n in range(20):
                equal(on_first.read(), {"status": "OK", "value": n + 1}, f"pipelined PUSH {n}")
            equal(on_first.read(), {"status": "OK", "value": "19"}, "pipelined RPOP")
            equal(on_first.read(), {"status": "OK", "message": "PONG"}, "pipelined PING")

            wait_for(lambda: len({group.digest(i) for i in group.nodes}) == 1, 20,
                     "every member has the same state")
        finally:
            group.stop_all()


def test_client_survives_leader_kill():
    """A Geomys client on a follower keeps working once a new leader is elected."""
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            leader = group.leader()
            survivor = followers(group, leader)[0]
            connection = client(group, survivor)
            for n in range(20):
                equal(call(connection, command="SET", key=f"before{n}", value=str(n)),
                      {"status": "OK"}, f"SET before{n}")
            group.kill(leader)
            started = time.monotonic()
            # The same connection, straight through the election: refusals until a leader is
            # known again, then every write is acknowledged.
            for n in range(20):
                response = call_retrying(connection, f"SET after{n}", command="SET",
                                         key=f"after{n}", value=str(n))
                equal(response, {"status": "OK"}, f"SET after{n}")
            new_leader = group.leader()
            if new_leader == leader:
                raise Failure("the killed member is still the leader")
            for n in range(20):
                equal(call(connection, command="GET", key=f"before{n}"),
                      {"status": "OK", "value": str(n)}, f"GET before{n} after the kill")
                equal(call(connection, command="GET", key=f"after{n}"),
                      {"status": "OK", "value": str(n)}, f"GET after{n}")
            other = client(group, [i for i in group.nodes if i != survivor][0])
            equal(call(other, command="GET", key="after19"), {"status": "OK", "value": "19"},
                  "GET on the other survivor")
            print(f"  writes served again {time.monotonic() - started:.2f}s after the kill")
        finally:
            group.stop_all()


def test_hang_up_while_waiting_for_the_group():
    """A client that closes while its write waits (no quorum) and a member stopped while a
    write waits leave no harm (a clean exit); a member without a quorum refuses with an ERROR
    map carrying the group's refusal."""
    with TempDir() as root:
        group = Group(root, 3, ["--cluster.requestTimeout=1s"])
        try:
            group.start_all()
            leader = group.leader()
            for i in followers(group, leader):
                group.kill(i)
            hanging, stopping = client(group, leader), client(group, leader)
            hanging.send(msgpack.packb({"command": "SET", "key": "lost", "value": "x"}))
            stopping.send(msgpack.packb({"command": "SET", "key": "lost2", "value": "y"}))
            if not hanging.nothing_within(0.2):
                raise Failure(f"a write without a quorum was answered: {hanging.raw!r}")
            hanging.sock.close()  # while its write waits for the group
            # Stopped while a write waits: the door closes the connection and cancels the
            # waiter before the replica stops; the node exits cleanly (no sanitizer report).
            node = group.nodes.pop(leader)
            node.signal(signal.SIGINT)
            code = node.wait_exit()
            if code != 0 or "AddressSanitizer" in node.output():
                raise Failure(f"exit code {code}\n{node.output()}")
            if not stopping.closed_by_server(5):
                raise Failure("the waiting connection was not closed at the stop")

            # Alone again (one member of three): no leader can be elected.
            group.start(leader)
            alone = client(group, leader)
            equal(alone.call(command="PING"), {"status": "OK", "message": "PONG"},
                  "PING on a member without a quorum")
            response = alone.call(command="SET", key="refused", value="z")
            equal(response["status"], "ERROR", "a write without a quorum")
            if not response["message"].startswith(RETRYABLE):
                raise Failure(f"not the group's refusal: {response!r}")
            response = alone.call(command="GET", key="refused")
            if response["status"] != "ERROR" or \
                    not response["message"].startswith(RETRYABLE):
                raise Failure(f"a safe read without a leader: {response!r}")
        finally:
            group.stop_all()


if __name__ == "__main__":
    sys.exit(main([test_writes_and_reads_through_every_member, test_client_survives_leader_kill,
                   test_hang_up_while_waiting_for_the_group]))
