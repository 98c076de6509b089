#!/usr/bin/python3
"""Shows that the multiverse9 door works on every member of a 3-member replica group: a
CREATE on one member is read by AGGREGATE on the others (the ULID made by the member that
received it travels in the group's log), framed and unframed requests alike; REMOVE on a
third member removes it everywhere; pipelined requests wait for the group in order; and a
member without a quorum answers CREATE with the group's error codes (0x07 or 0x08) and
AGGREGATE with "Error: ..." entries."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, TempDir, main, wait_for  # noqa: E402
from group import Group  # noqa: E402
from test_multiverse9 import AGGREGATE, CREATE, REMOVE, Client, entries, error, ok  # noqa: E402

UNAVAILABLE, TIMEOUT = 0x07, 0x08


def mv9_port(group, i):
    line = group.nodes[i].wait_log("multiverse9 listening")
    return int(line["address"].rsplit(":", 1)[1])


def client(group, i):
    return Client(mv9_port(group, i))


def unframed(port, opcode, payload):
    """One unframed request (half-closed after it, as `nc -N` does); returns the raw reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"\x00" + bytes([opcode]) + payload)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk


def value_of(reply):
    got = entries(ok(reply))
    if len(got) != 1:
        raise Failure(f"expected one entry, got {got!r}")
    return got[0][1]


def call(connection, opcode, payload=b""):
    """One framed request; error 0x07 (not run: a leader change on a loaded machine) is
    retried, 0x08 (outcome unknown) is not."""
    for _ in range(100):
        reply = connection.call(opcode, payload)
        if reply[0] != 1 or reply[1][:1] != bytes([UNAVAILABLE]):
            return reply
        time.sleep(0.05)
    raise Failure(f"opcode {opcode} refused 100 times")


def test_create_aggregate_remove_across_members():
    """CREATE on a follower, AGGREGATE on the others, REMOVE on a third member."""
    with TempDir() as root:
        group = Group(root, 3)
        try:
            group.start_all()
            leader = group.leader()
            first, second = [i for i in sorted(group.nodes) if i != leader]
            on_first, on_second, on_leader = client(group, first), client(group, second), \
                client(group, leader)

            key = ok(call(on_first, CREATE, b"Hello, group!"))
            if len(key) != 26:
                raise Failure(f"CREATE's key is not a ULID: {key!r}")
            for name, connection in (("the other follower", on_second),
                                     ("the leader", on_leader)):
                got = value_of(call(connection, AGGREGATE, key))
                if got != b"Hello, group!":
                    raise Failure(f"AGGREGATE on {name}: {got!r}")
            if group.client(second).get(key.decode()) != b"Hello, group!":
                raise Failure("the created key is not visible through RESP")

            # Unframed, as netcat sends it: CREATE on the leader, AGGREGATE of both keys on a
            # follower (one entry per target, in order).
            reply = unframed(mv9_port(group, leader), CREATE, b"Bonjour")
            if reply[:1] != b"\x00" or len(reply) != 27:
                raise Failure(f"unframed CREATE: {reply!r}")
            key2 = reply[1:]
            reply = unframed(mv9_port(group, second), AGGREGATE, key + b"\x00" + key2)
            if reply != b"\x00" + key + b":Hello, group!\x00" + key2 + b":Bonjour\x00":
                raise Failure(f"unframed AGGREGATE of two keys: {reply!r}")

            ok(call(on_leader, REMOVE, key + b"\x00" + key2))
            for connection in (on_first, on_second):
                got = entries(ok(call(connection, AGGREGATE, key + b"\x00" + key2)))
                if [value for _, value in got] != [b"Unknown key", b"Unknown key"]:
                    raise Failure(f"AGGREGATE after REMOVE: {got!r}")

            # Pipelined on a follower: ten CREATEs, then an AGGREGATE of a key they cannot
            # know, all answered in order.
            for n in range(10):
                on_second.send(CREATE, f"value {n}".encode())
            on_second.send(AGGREGATE, key)
            keys = [ok(on_second.reply()) for _ in range(10)]
            if value_of(on_second.reply()) != b"Unknown key":
                raise Failure("the pipelined AGGREGATE")
            got = entries(ok(call(on_first, AGGREGATE, b"\x00".join(keys))))
            if [value for _, value in got] != [f"value {n}".encode() for n in range(10)]:
                raise Failure(f"the pipelined CREATEs read on another member: {got!r}")

            wait_for(lambda: len({group.digest(i) for i in group.nodes}) == 1, 20,
                     "every member has the same state")
        finally:
            group.stop_all()


def test_refusals_without_a_quorum():
    """A member alone (one of three) cannot write or read safely: error codes and entries."""
    with TempDir() as root:
        group = Group(root, 3, ["--cluster.requestTimeout=1s"])
        try:
            group.start_all()
            leader = group.leader()
            key = ok(client(group, leader).call(CREATE, b"kept"))
            for i in [i for i in sorted(group.nodes) if i != leader]:
                group.kill(i)
            connection = client(group, leader)
            started = time.monotonic()
            status, payload = connection.call(CREATE, b"refused")
            if status != 1 or payload[:1] not in (bytes([UNAVAILABLE]), bytes([TIMEOUT])):
                raise Failure(f"CREATE without a quorum: {status} {payload!r}")
            text = payload[1:].decode()
            if not text.startswith(("Error: CLUSTERDOWN", "Error: TRYAGAIN", "Error: TIMEOUT")):
                raise Failure(f"the refusal's text: {text!r}")
            if time.monotonic() - started > 10:
                raise Failure("the refusal took longer than the request timeout allows")
            # Once the member knows it leads no quorum, reads are refused as entries.
            def refused_entry():
                got = value_of(connection.call(AGGREGATE, key))
                return got if got.startswith(b"Error: ") else None
            got = wait_for(refused_entry, 10, "a safe read refused without a quorum")
            if not got.startswith((b"Error: CLUSTERDOWN", b"Error: TRYAGAIN", b"Error: TIMEOUT")):
                raise Failure(f"the refused entry: {got!r}")
            # Then CREATE is refused at once with 0x07: not run, retry.
            error(connection.call(CREATE, b"refused again"), UNAVAILABLE)
        finally:
            group.stop_all()


if __name__ == "__main__":
    sys.exit(main([test_create_aggregate_remove_across_members,
                   test_refusals_without_a_quorum]))
