#!/usr/bin/python3
"""Shows that with data.durability=always every write a RESP client saw acknowledged through
redis-py is there after the node is killed with SIGKILL mid-stream and restarted on the same
data directory, with no partial value visible; and that SHUTDOWN stops the node cleanly
(exit code 0) with its data kept."""
import os
import signal
import sys
import threading

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RespClient, TempDir, encode, main, start_resp, wait_for  # noqa: E402

ACKED_BEFORE_KILL = 5000
WRITERS = 4


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def equal(got, expected, what=""):
    if got != expected:
        raise AssertionError(f"{what}: expected {repr(expected)[:300]}, got {repr(got)[:300]}")


def value_of(writer, i):
    return b"w%d-%d-" % (writer, i) + bytes([i % 256]) * (i % 300)


class Writer(threading.Thread):
    """Writes w<n>:<i> = value_of(n, i), INCRs c<n> and RPUSHes l<n> in order, each batch
    through a redis-py pipeline, and records how many were acknowledged, until the node dies."""

    def __init__(self, port, number):
        super().__init__(daemon=True)
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=20)
        self.number = number
        self.acked = 0
        self.error = None

    def run(self):
        try:
            i = 0
            while True:
                if i % 7 == 0:  # some single round trips among the pipelines
                    self.client.set(f"w{self.number}:{i}", value_of(self.number, i))
                    self.client.incr(f"c{self.number}")
                    self.client.rpush(f"l{self.number}", i)
                    i += 1
                else:
                    pipe = self.client.pipeline(transaction=False)
                    for j in range(i, i + 10):
                        pipe.set(f"w{self.number}:{j}", value_of(self.number, j))
                        pipe.incr(f"c{self.number}")
                        pipe.rpush(f"l{self.number}", j)
                    pipe.execute()
                    i += 10
                self.acked = i
        except (redis.ConnectionError, redis.TimeoutError) as error:
            self.error = error


def test_acknowledged_writes_survive_kill9():
    """Writes acknowledged by a durability=always node before a SIGKILL are all there after a
    restart: every SET value exact, every counter and list at least as far as acknowledged,
    and nothing beyond what was sent."""
    with TempDir() as data:
        node = start_resp(data, ["--data.durability=always"])
        try:
            writers = [Writer(node.port, n) for n in range(WRITERS)]
            for writer in writers:
                writer.start()
            wait_for(lambda: sum(w.acked for w in writers) >= ACKED_BEFORE_KILL, 120,
                     f"{ACKED_BEFORE_KILL} acknowledged writes")
            node.signal(signal.SIGKILL)
            equal(node.wait_exit(), -signal.SIGKILL, "killed")
            for writer in writers:
                writer.join(timeout=30)
                check(not writer.is_alive(), "a writer did not stop after the kill")
            acked = [writer.acked for writer in writers]
        finally:
            node.kill()
        node = start_resp(data, ["--data.durability=always"])
        try:
            r = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=20)
            for n, count in enumerate(acked):
                pipe = r.pipeline(transaction=False)
                for i in range(count):
                    pipe.get(f"w{n}:{i}")
                values = pipe.execute()
                for i, value in enumerate(values):
                    equal(value, value_of(n, i), f"w{n}:{i} after the restart")
                counter = int(r.get(f"c{n}") or 0)
                check(count <= counter <= count + 10,
                      f"c{n} is {counter}, acknowledged {count}")
                items = r.lrange(f"l{n}", 0, -1)
                check(counter - 1 <= len(items) <= counter,
                      f"l{n} has {len(items)} elements for {counter} INCRs (a log prefix)")
                equal(items, [str(i).encode() for i in range(len(items))], f"l{n} in order")
                for i in range(count, count + 11):
                    extra = r.get(f"w{n}:{i}")
                    check(extra is None or extra == value_of(n, i),
                          f"an unacknowledged write present is whole: w{n}:{i} = {extra!r}")
            check(sum(acked) >= ACKED_BEFORE_KILL, f"acknowledged {acked}")
            node.signal(signal.SIGTERM)
            equal(node.wait_exit(), 0, f"clean exit\n{node.output()[-2000:]}")
        finally:
            node.kill()


def test_shutdown_command():
    """SHUTDOWN closes the client's connection without a reply, closes a parked client and one
    with half a request, the node exits with code 0 after logging why, and its data is there
    at the next start."""
    with TempDir() as data:
        node = start_resp(data)
        try:
            r = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=20)
            r.set("kept", "yes")
            r.rpush("list", "a", "b")
            parked = RespClient(node.port)
            parked.send(encode("BLPOP", "empty", "0"))
            wait_for(lambda: r.info("clients")["blocked_clients"] == 1, 20, "the pop to park")
            half = RespClient(node.port)
            half.send(encode("SET", "half", "x") + b"*2\r\n$3\r\nGET\r\n$4\r\nha")
            equal(half.read_reply(), "OK", "the whole request before the half one")
            r.shutdown()  # redis-py returns when the connection closes, raises on a reply
            equal(node.wait_exit(), 0, f"exit code after SHUTDOWN\n{node.output()[-2000:]}")
            equal(parked.wait_closed(), b"", "the parked client is closed without a reply")
            equal(half.wait_closed(), b"", "the client with half a request is closed")
            parked.close()
            half.close()
            check(node.find("SHUTDOWN asked by a client") is not None, node.output())
            check(node.find("stopped") is not None, node.output())
        finally:
            node.kill()
        node = start_resp(data)
        try:
            r = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=20)
            equal(r.get("kept"), b"yes", "a key after SHUTDOWN and restart")
            equal(r.lrange("list", 0, -1), [b"a", b"b"], "a list after SHUTDOWN and restart")
            equal(r.get("half"), b"x", "a write answered before SHUTDOWN")
            r.shutdown()
            equal(node.wait_exit(), 0, "second SHUTDOWN")
        finally:
            node.kill()


if __name__ == "__main__":
    sys.exit(main([test_acknowledged_writes_survive_kill9, test_shutdown_command]))
