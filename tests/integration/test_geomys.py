#!/usr/bin/python3
"""Shows that a real stoa node serves Geomys clients on its Geomys door: every Geomys command
(PING ECHO SET with exp, GET, INCR, PUSH, LPOP, RPOP, FLUSHDB) with Geomys's response maps; a
request written one byte at a time and several requests in one write; garbage bytes answered
with an ERROR map and the connection closed; a bad field answered without closing; writes
visible through RESP (redis-cli) and the other way round; and the password when one is set.
The client is Debian's python3-msgpack on a raw socket, as Geomys's own Python client."""
import os
import signal
import socket
import sys
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, TempDir, main, redis_cli, start_resp, wait_for  # noqa: E402

NODE = None  # one node for the whole file, started in __main__
TIMEOUT = 20.0


def equal(got, expected, what=""):
    if got != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}")


class GeomysClient:
    """Sends MessagePack maps and reads the response maps with a bound; raw=False gives str
    for str and bytes for bin, as Geomys's client sees them."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        self.raw = b""  # every byte received, for checks of the exact encoding

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed by the server")
        self.raw += data
        self.unpacker.feed(data)

    def read(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            for response in self.unpacker:
                return response
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Failure(f"no response within {timeout}s")
            self._fill(remaining)

    def call(self, **fields):
        self.send(msgpack.packb(fields))
        return self.read()

    def nothing_within(self, seconds):
        """True if no byte arrives within seconds (a bounded wait, not a sleep)."""
        try:
            self._fill(seconds)
        except socket.timeout:
            return True
        return False

    def closed_by_server(self, timeout=TIMEOUT):
        """True once the server has closed the connection (after any remaining bytes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._fill(deadline - time.monotonic())
            except EOFError:
                return True
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False
        return False

    def close(self):
        self.sock.close()


def client():
    c = GeomysClient(NODE.geomys_port)
    equal(c.call(command="FLUSHDB"), {"status": "OK"}, "FLUSHDB")
    return c


def test_ping_echo():
    """PING and ECHO answer in "message", as Geomys does."""
    c = client()
    equal(c.call(command="PING"), {"status": "OK", "message": "PONG"}, "PING")
    equal(c.call(command="ECHO", message="hello world"),
          {"status": "OK", "message": "hello world"}, "ECHO")
    equal(c.call(command="ping"), {"status": "OK", "message": "PONG"}, "lower case")
    equal(c.call(command="ECHO"),
          {"status": "ERROR", "message": "ECHO requires a 'message' field"}, "ECHO without")


def test_set_get_and_expiry():
    """SET answers {status: OK}, GET gives the value or NOT_FOUND, and exp (ms) expires."""
    c = client()
    equal(c.call(command="SET", key="k", value="v1"), {"status": "OK"}, "SET")
    equal(c.call(command="GET", key="k"), {"status": "OK", "value": "v1"}, "GET")
    equal(c.call(command="SET", key="k", value="v2"), {"status": "OK"}, "overwrite")
    equal(c.call(command="GET", key="k"), {"status": "OK", "value": "v2"}, "GET again")
    equal(c.call(command="GET", key="missing"),
          {"status": "NOT_FOUND", "message": "Get failed: key not found"}, "GET missing")
    equal(c.call(command="SET", key="t", value="x", exp=300), {"status": "OK"}, "SET exp")
    equal(c.call(command="GET", key="t"), {"status": "OK", "value": "x"}, "before expiry")
    wait_for(lambda: c.call(command="GET", key="t")["status"] == "NOT_FOUND", 5,
             "the key to expire")
    # A SET without exp clears an old expiry (Geomys kept it: a bug stoa does not copy).
    c.call(command="SET", key="t2", value="x", exp=300)
    c.call(command="SET", key="t2", value="y")
    equal(c.call(command="GET", key="t2")["value"], "y", "persisted")
    code, out, _ = redis_cli(NODE.port, ["PTTL", "t2"])
    equal((code, out.strip()), (0, b"-1"), "no expiry left")
    equal(c.call(command="SET", key="k"),
          {"status": "ERROR", "message": "SET requires 'key', 'value' fields"}, "SET without")


def test_incr():
    """INCR adds a string offset and answers the number compactly (Geomys's own test)."""
    c = client()
    c.call(command="SET", key="counter", value="10")
    equal(c.call(command="INCR", key="counter", offset="5"), {"status": "OK", "value": 15},
          "INCR")
    # 15 is a positive fixint (Go decodes it as int8), the last byte of the response.
    equal(c.raw[-1:], b"\x0f", "15 as a fixint")
    c.call(command="SET", key="counter", value="999999999999")
    equal(c.call(command="INCR", key="counter", offset="1"),
          {"status": "OK", "value": 1000000000000}, "INCR large")
    equal(c.raw[-9:], b"\xcf\x00\x00\x00\xe8\xd4\xa5\x10\x00", "uint64")
    equal(c.call(command="INCR", key="counter", offset="-1000000000000"),
          {"status": "OK", "value": 0}, "negative offset")
    equal(c.call(command="INCR", key="counter", offset=7), {"status": "OK", "value": 7},
          "an integer offset")
    equal(c.call(command="INCR", key="counter"), {"status": "OK", "value": 8}, "no offset: +1")
    c.call(command="SET", key="text", value="hello")
    equal(c.call(command="INCR", key="text", offset="1"),
          {"status": "ERROR", "message": "value is not an integer or out of range"}, "not int")
    equal(c.call(command="INCR", key="counter", offset="x")["status"], "ERROR", "bad offset")
    # stoa creates a missing counter at 0, as Redis does (Geomys said "key not found").
    equal(c.call(command="INCR", key="fresh", offset="3"), {"status": "OK", "value": 3},
          "missing key")


def test_push_pop():
    """PUSH appends at the tail: LPOP is a queue, RPOP a stack; empty is NOT_FOUND."""
    c = client()
    for item in ("1", "2", "3", "4"):
        equal(c.call(command="PUSH", key="l", value=item)["status"], "OK", "PUSH")
    equal(c.call(command="LPOP", key="l"), {"status": "OK", "value": "1"}, "LPOP")
    equal(c.call(command="RPOP", key="l"), {"status": "OK", "value": "4"}, "RPOP")
    equal(c.call(command="LPOP", key="l")["value"], "2", "LPOP 2")
    equal(c.call(command="RPOP", key="l")["value"], "3", "RPOP 3")
    equal(c.call(command="LPOP", key="l"),
          {"status": "NOT_FOUND", "message": "Lpop failed: list does not exist"}, "empty")
    equal(c.call(command="RPOP", key="none"),
          {"status": "NOT_FOUND", "message": "Rpop failed: list does not exist"}, "missing")
    c.call(command="SET", key="s", value="x")
    response = c.call(command="LPOP", key="s")
    equal(response["status"], "ERROR", "LPOP of a string")
    equal(response["message"].startswith("WRONGTYPE"), True, response)


def test_flushdb_and_unknown():
    """FLUSHDB empties the store; unknown commands and a missing command are errors."""
    c = client()
    c.call(command="SET", key="a", value="1")
    c.call(command="PUSH", key="b", value="1")
    equal(c.call(command="FLUSHDB"), {"status": "OK"}, "FLUSHDB")
    equal(c.call(command="GET", key="a")["status"], "NOT_FOUND", "flushed")
    code, out, _ = redis_cli(NODE.port, ["DBSIZE"])
    equal(out.strip(), b"0", "DBSIZE")
    equal(c.call(command="KEYS"), {"status": "ERROR", "message": "unknown command 'KEYS'"},
          "unknown")
    equal(c.call(key="a"), {"status": "ERROR", "message": "invalid or missing 'command' field"},
          "no command")


def test_request_in_one_byte_writes():
    """A request written one byte at a time is answered once, after its last byte."""
    c = client()
    data = msgpack.packb({"command": "SET", "key": "split", "value": "x" * 300, "exp": 60000})
    for i in range(len(data) - 1):
        c.send(data[i:i + 1])
    if not c.nothing_within(0.2):
        raise AssertionError("the server answered a request before its last byte")
    c.send(data[-1:])
    equal(c.read(), {"status": "OK"}, "split SET")
    equal(c.call(command="GET", key="split")["value"], "x" * 300, "GET")


def test_several_requests_in_one_write():
    """Requests written together are answered in order, one response each."""
    c = client()
    batch = b"".join(msgpack.packb(r) for r in (
        {"command": "SET", "key": "a", "value": "1"},
        {"command": "PUSH", "key": "q", "value": "x"},
        {"command": "INCR", "key": "a", "offset": "41"},
        {"command": "GET", "key": "a"},
        {"command": "LPOP", "key": "q"},
        {"command": "PING"}))
    c.send(batch + msgpack.packb({"command": "ECHO", "message": "tail"})[:5])
    got = [c.read() for _ in range(6)]
    equal(got, [{"status": "OK"}, {"status": "OK", "value": 1}, {"status": "OK", "value": 42},
                {"status": "OK", "value": "42"}, {"status": "OK", "value": "x"},
                {"status": "OK", "message": "PONG"}], "batch")
    c.send(msgpack.packb({"command": "ECHO", "message": "tail"})[5:])
    equal(c.read(), {"status": "OK", "message": "tail"}, "the request cut across writes")


def expect_error_and_close(data, message):
    c = GeomysClient(NODE.geomys_port)
    c.send(data)
    equal(c.read(), {"status": "ERROR", "message": message}, f"answer to {data[:16]!r}")
    if not c.closed_by_server():
        raise AssertionError(f"the connection stayed open after {data[:16]!r}")


def test_garbage_is_answered_and_closed():
    """Bytes that cannot be a request get an ERROR map, then the server closes."""
    expect_error_and_close(b"GET k\r\n", "a request must be a MessagePack map")
    expect_error_and_close(b"\x81\xc1", "malformed MessagePack: reserved byte 0xc1")
    expect_error_and_close(b"\x81\xa1k\xdb\x7f\xff\xff\xff", "request too large")
    expect_error_and_close(b"\xdf\xff\xff\xff\xff", "request has too many MessagePack objects")
    # The node is unharmed.
    equal(client().call(command="PING")["message"], "PONG", "PING after garbage")


def test_bad_field_keeps_connection():
    """A well-formed map with a wrong field type is an ERROR, and the connection goes on."""
    c = client()
    equal(c.call(command="SET", key="k", value="v", exp="500"),
          {"status": "ERROR", "message": "field 'exp' must be an integer (milliseconds)"}, "exp")
    equal(c.call(command="GET", key=5),
          {"status": "ERROR", "message": "field 'key' must be a string"}, "key")
    equal(c.call(command="PING")["message"], "PONG", "still open")


def test_visible_through_resp():
    """Both doors share one store: Geomys writes are RESP reads and the other way round."""
    c = client()
    c.call(command="SET", key="shared", value="from geomys")
    code, out, _ = redis_cli(NODE.port, ["GET", "shared"])
    equal((code, out), (0, b"from geomys\n"), "redis-cli GET")
    c.call(command="PUSH", key="list", value="a")
    c.call(command="PUSH", key="list", value="b")
    code, out, _ = redis_cli(NODE.port, ["LRANGE", "list", "0", "-1"])
    equal(out, b"a\nb\n", "redis-cli LRANGE")
    redis_cli(NODE.port, ["RPUSH", "list", "c"])
    equal(c.call(command="RPOP", key="list")["value"], "c", "RESP push, Geomys pop")
    # A value that is not UTF-8 comes back as MessagePack bin (bytes), byte for byte.
    c.call(command="SET", key="bin", value=b"\xff\x00\xfe")
    code, out, _ = redis_cli(NODE.port, ["--no-raw", "GET", "bin"])
    equal(out, b'"\\xff\\x00\\xfe"\n', "binary through RESP")
    equal(c.call(command="GET", key="bin"), {"status": "OK", "value": b"\xff\x00\xfe"}, "bin")


def test_password():
    """With a password, a Geomys request must carry it in "password"."""
    with TempDir() as data:
        node = start_resp(data, ["--resp.password=s3cret"])
        try:
            port = int(node.wait_log("started")["geomys"].rsplit(":", 1)[1])
            c = GeomysClient(port)
            equal(c.call(command="PING"),
                  {"status": "ERROR", "message": "NOAUTH Authentication required."}, "none")
            equal(c.call(command="PING", password="wrong")["status"], "ERROR", "wrong")
            equal(c.call(command="PING", password="s3cret")["message"], "PONG", "right")
        finally:
            node.kill()


def test_stops_cleanly():
    """SIGINT with a Geomys client connected stops the node with exit code 0 (last test)."""
    c = client()
    c.call(command="SET", key="last", value="x")
    NODE.signal(signal.SIGINT)
    equal(NODE.wait_exit(), 0, f"exit code\n{NODE.output()[-2000:]}")
    if not c.closed_by_server():
        raise AssertionError("the Geomys connection stayed open")


if __name__ == "__main__":
    with TempDir() as data_dir:
        NODE = start_resp(data_dir)
        try:
            NODE.geomys_port = int(NODE.wait_log("started")["geomys"].rsplit(":", 1)[1])
            code = main([test_ping_echo, test_set_get_and_expiry, test_incr, test_push_pop,
                         test_flushdb_and_unknown, test_request_in_one_byte_writes,
                         test_several_requests_in_one_write, test_garbage_is_answered_and_closed,
                         test_bad_field_keeps_connection, test_visible_through_resp,
                         test_password, test_stops_cleanly])
        finally:
            NODE.kill()
    sys.exit(code)
