#!/usr/bin/python3
"""The Redis backend against a real redis-server started here: RESP and multiverse9 commands
keep their data in Redis (strings and lists, expiry included), data already in Redis (as
multiverse9 left it) is read, a restart of stoa neither loses nor re-applies writes, a key of
a type stoa does not map is WRONGTYPE, and a Redis outage is an error reply, not a crash."""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Failure, Node, RespClient, RespError, TempDir, main, wait_for  # noqa: E402


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class Redis:
    """A redis-server on a free port, with no persistence, in a temporary directory."""

    def __init__(self, directory, port=None):
        self.port = port or free_port()
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", directory],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._ready, what="redis-server to answer PING")

    def _ready(self):
        try:
            return self.cli("PING") == b"PONG"
        except (OSError, Failure):
            return False

    def cli(self, *args):
        result = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                                timeout=10, check=False)
        if result.returncode != 0:
            raise Failure(f"redis-cli {args}: {result.stderr!r}")
        return result.stdout.rstrip(b"\n")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def start_stoa(data_dir, redis):
    node = Node([f"--data-dir={data_dir}", "--data.backend=redis",
                 f"--data.redisUri=redis://127.0.0.1:{redis.port}"])
    try:
        started = node.wait_log("started")
        node.port = int(started["resp"].rsplit(":", 1)[1])
        node.mv9 = int(node.wait_log("multiverse9 listening")["address"].rsplit(":", 1)[1])
    except Exception:
        node.kill()
        raise
    return node


def stop(node):
    node.signal(2)
    if node.wait_exit() != 0:
        raise Failure(f"stoa did not exit cleanly\n{node.output()}")


def check(got, expected, what):
    if got != expected:
        raise Failure(f"{what}: got {got!r}, expected {expected!r}")


def test_commands_keep_data_in_redis():
    """Strings, counters and lists written through stoa are Redis strings and lists that
    redis-cli reads; expiry is Redis's; a multiverse9 CREATE is a Redis string."""
    with TempDir() as d:
        redis = Redis(d)
        node = None
        try:
            node = start_stoa(os.path.join(d, "stoa"), redis)
            c = RespClient(node.port)
            check(c.call("SET", "greeting", "hello"), "OK", "SET")
            check(redis.cli("GET", "greeting"), b"hello", "the string in Redis")
            check(c.call("APPEND", "greeting", " world"), 11, "APPEND")
            check(redis.cli("GET", "greeting"), b"hello world", "APPEND in Redis")
            check(c.call("INCRBY", "counter", "5"), 5, "INCRBY")
            check(c.call("INCR", "counter"), 6, "INCR")
            check(c.call("RPUSH", "queue", "a", "b", "c"), 3, "RPUSH")
            check(c.call("LPOP", "queue"), b"a", "LPOP")
            check(redis.cli("LRANGE", "queue", "0", "-1"), b"b\nc", "the list in Redis")
            check(redis.cli("TYPE", "queue"), b"list", "a deque is a Redis list")
            check(c.call("PEXPIRE", "greeting", "100000"), 1, "PEXPIRE")
            ttl = int(redis.cli("PTTL", "greeting"))
            if not 0 < ttl <= 100000:
                raise Failure(f"the expiry is not Redis's: PTTL {ttl}")
            check(c.call("SET", "short", "x", "PX", "150"), "OK", "SET PX")
            wait_for(lambda: c.call("GET", "short") is None, what="the key to expire")
            check(c.call("DEL", "queue", "nothing"), 1, "DEL")
            check(redis.cli("EXISTS", "queue"), b"0", "DEL in Redis")
            created = subprocess.run(
                ["bash", "-c", f'echo -n -e "\\x00\\x01Hello, World!" | nc 127.0.0.1 {node.mv9}'],
                capture_output=True, timeout=20, check=False).stdout
            check(redis.cli("GET", created[1:].decode()), b"Hello, World!", "CREATE in Redis")
            check(c.call("DBSIZE"), int(redis.cli("DBSIZE")), "DBSIZE is Redis's")
            stop(node)
            node = None
        finally:
            if node is not None:
                node.kill()
            redis.stop()


def test_existing_data_restart_and_types():
    """Data put in Redis by another client (as multiverse9 stored it) is read; after a restart
    of stoa every write is there exactly once (no log replayed into Redis); a Redis hash is
    WRONGTYPE."""
    with TempDir() as d:
        redis = Redis(d)
        node = None
        try:
            redis.cli("SET", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "left by multiverse9")
            redis.cli("HSET", "a-hash", "field", "value")
            node = start_stoa(os.path.join(d, "stoa"), redis)
            sock = socket.create_connection(("127.0.0.1", node.mv9), timeout=20)
            sock.sendall(b"\x83\x00\x00\x00\x1a01ARZ3NDEKTSV4RRFFQ69G5FAV")
            expected = b"01ARZ3NDEKTSV4RRFFQ69G5FAV:left by multiverse9\x00"
            got = b""
            while len(got) < 5 + len(expected):
                got += sock.recv(4096)
            check(got[5:], expected, "AGGREGATE of a key multiverse9 left in Redis")
            sock.close()
            c = RespClient(node.port)
            for _ in range(10):
                c.call("INCR", "hits")
            got = c.call("GET", "a-hash")
            if not (isinstance(got, RespError) and got.text.startswith("WRONGTYPE")):
                raise Failure(f"GET of a Redis hash: {got!r}")
            stop(node)
            node = start_stoa(os.path.join(d, "stoa"), redis)
            c = RespClient(node.port)
            check(c.call("GET", "hits"), b"10", "INCR after a restart (applied exactly once)")
            check(c.call("INCR", "hits"), 11, "INCR goes on")
            stop(node)
            node = None
        finally:
            if node is not None:
                node.kill()
            redis.stop()


def test_redis_outage():
    """With Redis gone a command gets an error reply and the node stays up; once Redis is
    back the next command reconnects. stoa refuses to start without its Redis."""
    with TempDir() as d:
        redis = Redis(d)
        node = None
        try:
            node = start_stoa(os.path.join(d, "stoa"), redis)
            c = RespClient(node.port)
            check(c.call("SET", "k", "v"), "OK", "SET")
            port = redis.port
            redis.stop()
            got = c.call("GET", "k")
            if not (isinstance(got, RespError) and "external store" in got.text):
                raise Failure(f"GET with Redis down: {got!r}")
            check(c.call("PING"), "PONG", "the node is still up")
            redis = Redis(d, port)
            check(c.call("SET", "k", "again"), "OK", "SET after Redis came back")
            check(redis.cli("GET", "k"), b"again", "the value in the new Redis")
            stop(node)
            node = None
            redis.stop()
            bad = Node([f"--data-dir={os.path.join(d, 'stoa')}", "--data.backend=redis",
                        f"--data.redisUri=redis://127.0.0.1:{port}"])
            try:
                if bad.wait_exit() == 0:
                    raise Failure("started without its Redis")
                bad.wait_log("cannot open the Redis backend")
            finally:
                bad.kill()
        finally:
            if node is not None:
                node.kill()
            redis.stop()


if __name__ == "__main__":
    sys.exit(main([test_commands_keep_data_in_redis, test_existing_data_restart_and_types,
                   test_redis_outage]))
