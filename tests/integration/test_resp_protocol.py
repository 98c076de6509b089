#!/usr/bin/python3
"""Shows, over raw sockets to a real stoa node, that RESP framing is robust: requests split
anywhere or many in one send work, malformed bytes (oversized, negative and non-numeric
lengths, garbage) get Redis's "-ERR Protocol error: ..." and a close without harming other
clients, and the limits hold: a client that never reads is disconnected at
resp.outputBufferBytes (and the log says why), idle clients are closed after
resp.idleTimeoutSeconds, and connections past resp.maxClients are refused."""
import os
import random
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Failure, RespClient, TempDir, encode, main,  # noqa: E402
                     start_resp, wait_for)

NODE = None  # the default-configured node, started in __main__


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def equal(got, expected, what=""):
    if got != expected:
        raise AssertionError(f"{what}: expected {repr(expected)[:300]}, got {repr(got)[:300]}")


def fresh():
    c = RespClient(NODE.port)
    equal(c.call("FLUSHALL"), "OK", "FLUSHALL")
    return c


def info_field(port, section, field):
    c = RespClient(port)
    try:
        text = c.call("INFO", section).decode()
    finally:
        c.close()
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    raise Failure(f"INFO {section} has no {field}: {text}")


def test_truncated_frames_wait():
    """A request cut anywhere (even byte by byte) is answered only once it is complete, and
    the answer is the same as for the whole request."""
    c = fresh()
    request = encode("SET", "split", b"a\r\nb")
    get = encode("GET", "split")
    for cut in (1, 3, 4, 8, 13, 20, 30, len(request) - 1):
        c.send(request[:cut])
        probe = RespClient(NODE.port)
        equal(probe.call("PING"), "PONG", "another client is served meanwhile")
        probe.close()
        check(not c.pending(0.05), f"no reply to a request cut at byte {cut}")
        c.send(request[cut:] + get)
        c.expect(b"+OK\r\n$4\r\na\r\nb\r\n")
    for byte in request + get:
        c.send(bytes([byte]))
    c.expect(b"+OK\r\n$4\r\na\r\nb\r\n")
    c.send(b"*1\r\n$4\r\nPI")
    check(not c.pending(0.05), "no reply to half a command name")
    c.send(b"NG\r\n")
    c.expect(b"+PONG\r\n")
    c.send(b"PI")
    check(not c.pending(0.05), "no reply to half an inline command")
    c.send(b"NG\r\n")
    c.expect(b"+PONG\r\n")
    c.close()


def test_many_requests_in_one_send():
    """Thousands of requests in one send (array and inline forms mixed) get their replies in
    order, exactly."""
    c = fresh()
    requests, replies = [], []
    for i in range(3000):
        requests.append(encode("SET", f"k{i}", f"v{i}"))
        replies.append(b"+OK\r\n")
        requests.append(encode("INCR", "n"))
        replies.append(b":%d\r\n" % (i + 1))
        requests.append(b"GET k%d\r\n" % i)
        value = b"v%d" % i
        replies.append(b"$%d\r\n%s\r\n" % (len(value), value))
    requests.append(encode("GET", "nokey") + b"*0\r\n*-1\r\n" + encode("PING"))
    replies.append(b"$-1\r\n+PONG\r\n")  # empty requests get no reply, as in Redis
    c.send(b"".join(requests))
    c.expect(b"".join(replies))
    check(not c.pending(0.05), "nothing more")
    c.close()


def protocol_error(data, reply):
    """Sends data on a new connection; checks that the reply is exactly reply and that the
    server then closes the connection."""
    c = RespClient(NODE.port)
    c.send(data)
    equal(c.wait_closed(), reply, f"reply to {data[:60]!r}")
    c.close()


def test_malformed_requests_closed():
    """Oversized, negative and non-numeric lengths and garbage get Redis's protocol error and
    a close, replies to the requests before them still come, and other clients are unaffected
    (an open connection goes on, and INFO counts the errors)."""
    other = fresh()
    other.call("SET", "k", "v")
    before = int(info_field(NODE.port, "stats", "protocol_errors"))
    cases = [
        (b"*1\r\n$999999999999\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$536870913\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$-1\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*99999999999\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*2\r\nfoo\r\n", b"-ERR Protocol error: expected '$', got 'f'\r\n"),
        (b"*1\r\n:5\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
        (b'SET "unbalanced\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
        (b"*1\r\n$4\r\nPING\r\n*1\r\n$-3\r\n",
         b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n" + b"$" + b"9" * 70000, b"-ERR Protocol error: too big bulk count string\r\n"),
        (b"x" * 70000, b"-ERR Protocol error: too big inline request\r\n"),
    ]
    for data, reply in cases:
        protocol_error(data, reply)
    equal(other.call("GET", "k"), b"v", "an open connection is unaffected")
    after = int(info_field(NODE.port, "stats", "protocol_errors"))
    equal(after - before, len(cases), "INFO stats counts each protocol error")
    other.close()


def test_garbage_never_crashes():
    """Hundreds of random byte strings, each on its own connection, never crash or hang the
    node: each connection gets well-formed replies or is closed, and the node serves after."""
    generator = random.Random(20241122)
    pieces = [b"*", b"$", b"\r\n", b"-1", b"0", b"3", b"999999", b"PING", b"SET", b"GET", b"k",
              b"\x00", b"\xff", b'"', b"'", b"\\x", b" ", b"+", b":"]
    for _ in range(300):
        if generator.random() < 0.5:
            data = bytes(generator.randrange(256) for _ in range(generator.randrange(1, 64)))
        else:
            data = b"".join(generator.choice(pieces) for _ in range(generator.randrange(1, 30)))
        c = RespClient(NODE.port)
        c.send(data)
        c.close()
    c = RespClient(NODE.port)
    equal(c.call("PING"), "PONG", "still serving")
    c.close()
    check(NODE.process.poll() is None, "still running")


def test_large_request_in_pieces():
    """A 4 MiB value sent in 1,000 uneven pieces is stored whole."""
    c = fresh()
    value = bytes((i * 13) % 251 for i in range(4 << 20))
    request = encode("SET", "big", value)
    position, generator = 0, random.Random(7)
    while position < len(request):
        size = generator.randrange(1, 8400)
        c.send(request[position:position + size])
        position += size
    c.expect(b"+OK\r\n")
    equal(c.call("STRLEN", "big"), len(value), "STRLEN")
    equal(c.call("GET", "big"), value, "GET")
    c.close()


def test_output_buffer_limit():
    """A client that pipelines many GETs of a 64 KiB value and never reads is disconnected
    once its unread replies pass resp.outputBufferBytes (1 MiB here), the log says why, and a
    client that reads gets the same value."""
    with TempDir() as data:
        node = start_resp(data, ["--resp.outputBufferBytes=1048576"])
        try:
            setup = RespClient(node.port)
            value = b"x" * 65536
            equal(setup.call("SET", "v", value), "OK", "SET")
            hog = socket.create_connection(("127.0.0.1", node.port), timeout=20)
            hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            requests = encode("GET", "v") * 2000  # 128 MiB of replies
            sent = 0
            try:
                hog.sendall(requests)
                sent = len(requests)
            except OSError:
                pass  # the server closed it while we were still sending: also fine
            line = node.wait_log(
                "output buffer limit: closing a client that does not read its replies")
            equal(line["limit"], 1048576, "the log names the limit")
            equal(line["level"], "warn", "logged as a warning")
            check("peer" in line and "client" in line, f"the log names the client: {line}")
            equal(setup.call("GET", "v"), value, "a reading client still gets 64 KiB")
            equal(setup.call("INFO", "clients").count(b"connected_clients:1\r\n"), 1,
                  "the hog is gone")
            hog.settimeout(20)
            received = 0
            try:
                while True:
                    chunk = hog.recv(1 << 20)
                    if not chunk:
                        break
                    received += len(chunk)
            except ConnectionResetError:
                pass
            check(received < 2000 * 65536, f"the hog did not get all replies ({received}, "
                  f"sent {sent})")
            hog.close()
            setup.close()
            node.signal(signal.SIGTERM)
            equal(node.wait_exit(), 0, f"clean exit\n{node.output()[-2000:]}")
        finally:
            node.kill()


def test_idle_timeout():
    """With resp.idleTimeoutSeconds=1 an idle connection is closed within a few seconds, while
    a client parked in a blocking pop is not, and is still served."""
    with TempDir() as data:
        node = start_resp(data, ["--resp.idleTimeoutSeconds=1"])
        try:
            parked = RespClient(node.port)
            parked.send(encode("BLPOP", "q", "0"))
            idle = RespClient(node.port)
            equal(idle.call("PING"), "PONG", "a fresh connection is served")
            equal(idle.wait_closed(timeout=10), b"", "the idle connection is closed")
            idle.close()
            check(not parked.pending(0.01), "the parked client is not closed")
            pusher = RespClient(node.port)
            equal(pusher.call("RPUSH", "q", "x"), 1, "RPUSH")
            equal(parked.read_reply(), [b"q", b"x"], "the parked client is served")
            pusher.close()
            parked.close()
            node.signal(signal.SIGTERM)
            equal(node.wait_exit(), 0, f"clean exit\n{node.output()[-2000:]}")
        finally:
            node.kill()


def test_max_clients():
    """With resp.maxClients=2 a third connection gets "-ERR max number of clients reached"
    and is closed; the first two go on, and once one leaves a new one is accepted."""
    with TempDir() as data:
        node = start_resp(data, ["--resp.maxClients=2"])
        try:
            first = RespClient(node.port)
            second = RespClient(node.port)
            equal(first.call("PING"), "PONG", "first")
            equal(second.call("PING"), "PONG", "second")
            third = RespClient(node.port)
            equal(third.wait_closed(), b"-ERR max number of clients reached\r\n", "third")
            third.close()
            node.wait_log("refused a connection")  # the refusal is logged (read asynchronously)
            equal(first.call("SET", "k", "v"), "OK", "the first goes on")
            equal(second.call("GET", "k"), b"v", "the second goes on")
            second.close()

            def accepted():
                c = RespClient(node.port)
                try:
                    c.send(encode("PING"))
                    reply = c.read_reply()
                except Failure:
                    reply = None
                c.close()
                return reply == "PONG"
            wait_for(accepted, 20, "a connection to be accepted after one left")
            first.close()
            node.signal(signal.SIGTERM)
            equal(node.wait_exit(), 0, f"clean exit\n{node.output()[-2000:]}")
        finally:
            node.kill()


def test_stops_cleanly():
    """The node stops on SIGTERM with exit code 0 (so the sanitizers found nothing)."""
    NODE.signal(signal.SIGTERM)
    equal(NODE.wait_exit(), 0, f"exit code\n{NODE.output()[-3000:]}")


if __name__ == "__main__":
    with TempDir() as data:
        NODE = start_resp(data)
        try:
            code = main([test_truncated_frames_wait, test_many_requests_in_one_send,
                         test_malformed_requests_closed, test_garbage_never_crashes,
                         test_large_request_in_pieces, test_output_buffer_limit,
                         test_idle_timeout, test_max_clients, test_stops_cleanly])
        finally:
            NODE.kill()
    sys.exit(code)
