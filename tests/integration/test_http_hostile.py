#!/usr/bin/python3
"""Shows that malformed and hostile HTTP requests get a clear answer or a closed connection and
never hang or crash the node: huge headers (431), a wrong Content-Length (shorter: the rest is
a bad request; longer: cut off at the deadline; not a number: 400), garbage instead of a
request line, invalid UTF-8 and invalid JSON (400), bodies over the limit (413), a client that
sends one byte a second (cut off by http.requestTimeoutSeconds even though it is never idle),
a client that connects and says nothing, and pipelined requests with a write among them;
after all of it the node still answers."""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, TempDir, main  # noqa: E402
from http_client import request, start_http  # noqa: E402

NODE = None
TIMEOUT_SECONDS = 2  # http.requestTimeoutSeconds of the node under test


def equal(got, expected, what=""):
    if got != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}")


def raw(data, wait=10.0, shut=False):
    """Sends data on a new connection and returns every byte the server sends until it closes
    the connection (or wait seconds pass: then Failure)."""
    sock = socket.create_connection(("127.0.0.1", NODE.http_port), timeout=wait)
    try:
        sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        got = b""
        deadline = time.monotonic() + wait
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Failure(f"connection still open after {wait}s (read {got[:200]!r})")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return got
            if not chunk:
                return got
            got += chunk
    finally:
        sock.close()


def status_of(response):
    line = response.split(b"\r\n", 1)[0]
    return int(line.split(b" ")[1]) if line.startswith(b"HTTP/1.1 ") else None


def still_serving():
    equal(request(NODE.http_port, "GET", "/healthz").status, 200, "the node still answers")


def test_huge_headers():
    """Headers beyond the connection's memory (32 KiB) are refused and the connection closed."""
    header = b"X-Big: " + b"a" * (64 * 1024) + b"\r\n"
    got = raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n")
    if status_of(got) not in (413, 431):
        raise AssertionError(f"huge headers answered {got[:120]!r}")
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
    got = raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    if status_of(got) not in (413, 431):
        raise AssertionError(f"many headers answered {got[:120]!r}")
    still_serving()


def test_wrong_content_length():
    """A body longer than its Content-Length leaves bytes that are no request (400); a shorter
    one is waited for until the deadline; a Content-Length that is not a number is a 400."""
    body = b'{"id":"cl","value":"AA=="}'
    got = raw(b"POST /nomad/storage/put HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
              b"\r\nContent-Length: 5\r\n\r\n" + body, shut=True)
    statuses = [int(line.split(b" ")[1]) for line in got.split(b"\r\n")
                if line.startswith(b"HTTP/1.1 ")]
    if not statuses or statuses[0] != 400 or any(s == 200 for s in statuses):
        raise AssertionError(f"short Content-Length answered {statuses}: {got[:300]!r}")
    start = time.monotonic()
    got = raw(b"POST /nomad/storage/put HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
              b"\r\nContent-Length: 500\r\n\r\n" + body, wait=TIMEOUT_SECONDS + 10)
    elapsed = time.monotonic() - start
    if b"200 OK" in got or elapsed > TIMEOUT_SECONDS + 5:
        raise AssertionError(f"long Content-Length: {got[:200]!r} after {elapsed:.1f}s")
    got = raw(b"PUT /v1/kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n0123456789")
    equal(status_of(got), 400, f"non-numeric Content-Length: {got[:200]!r}")
    equal(request(NODE.http_port, "GET", "/nomad/storage/get/cl").status, 404, "nothing stored")
    still_serving()


def test_garbage():
    """Bytes that are no HTTP request are a 400 and the connection is closed."""
    got = raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
    if got and status_of(got) != 400:
        raise AssertionError(f"garbage answered {got[:200]!r}")
    got = raw(b"GET /healthz HTTP/9.9\r\n\r\n")
    if status_of(got) not in (400, 505):
        raise AssertionError(f"a bad version answered {got[:200]!r}")
    still_serving()


def test_invalid_json_and_utf8():
    """Invalid UTF-8 inside a JSON string, a lone surrogate, and broken JSON are 400s."""
    for body in [b'{"id":"\xc3\x28","value":"AA=="}', b'{"id":"\xed\xa0\x80"}',
                 b'{"id":"a\\ud800","value":"AA=="}', b'{"id":"a",}', b'\xff\xfe{}',
                 b'{"id":"a","value":"AA=="} trailing', b"[" * 100000]:
        r = request(NODE.http_port, "POST", "/nomad/storage/put", body,
                    content_type="application/json")
        equal(r.status, 400, f"body {body[:30]!r}")
        equal(r.json()["error"]["code"], "bad_request")
    still_serving()


def test_body_over_limit():
    """A body over the limit is 413 from its Content-Length, before it is read."""
    big = b"x" * (256 * 1024)
    r = request(NODE.http_port, "PUT", "/v1/kv/big", big)
    equal(r.status, 413)
    got = raw(b"PUT /v1/kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")
    equal(status_of(got), 413, f"announced huge body: {got[:200]!r}")
    still_serving()


def test_one_byte_a_second():
    """A client that sends its request one byte a second is never idle, yet it is cut off once
    http.requestTimeoutSeconds has passed since its first byte."""
    sock = socket.create_connection(("127.0.0.1", NODE.http_port), timeout=20)
    request_bytes = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 100 + b"\r\n\r\n"
    start = time.monotonic()
    closed_after = None
    try:
        for byte in request_bytes:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - start
                break
            sock.settimeout(1.0)
            try:
                data = sock.recv(1024)
                if data == b"" or data.startswith(b"HTTP/1.1 "):
                    closed_after = time.monotonic() - start
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed_after = time.monotonic() - start
                break
            if time.monotonic() - start > TIMEOUT_SECONDS + 8:
                break
    finally:
        sock.close()
    if closed_after is None:
        raise AssertionError("the slow client was never cut off")
    if closed_after > TIMEOUT_SECONDS + 3:
        raise AssertionError(f"cut off only after {closed_after:.1f}s")
    still_serving()


def test_pipelined_requests():
    """Requests sent back to back on one connection, a write among them, are answered in
    order, and the read after the write sees it (the write's answer waits for the log)."""
    got = raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              b"PUT /v1/kv/pipe HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
              b"GET /v1/kv/pipe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    statuses = re.findall(rb"HTTP/1\.1 \d+", got)
    equal(statuses, [b"HTTP/1.1 200"] * 3, f"pipelined answers: {got[:400]!r}")
    if not got.endswith(b"abc") or b'{"result":true}' not in got:
        raise AssertionError(f"pipelined bodies: {got[-200:]!r}")


def test_silent_client():
    """A client that connects and sends nothing is closed after the timeout."""
    start = time.monotonic()
    got = raw(b"", wait=TIMEOUT_SECONDS + 10)
    elapsed = time.monotonic() - start
    if got or elapsed > TIMEOUT_SECONDS + 3:
        raise AssertionError(f"silent client: {got!r} after {elapsed:.1f}s")
    still_serving()


if __name__ == "__main__":
    with TempDir() as data:
        NODE = start_http(os.path.join(data, "node"),
                          [f"--http.requestTimeoutSeconds={TIMEOUT_SECONDS}",
                           "--http.maxBodyBytes=131072"])
        try:
            code = main([test_huge_headers, test_wrong_content_length, test_garbage,
                         test_invalid_json_and_utf8, test_body_over_limit,
                         test_one_byte_a_second, test_pipelined_requests,
                         test_silent_client])
            if NODE.process.poll() is not None:
                print(f"FAIL the node exited\n{NODE.output()}")
                code = 1
        finally:
            NODE.kill()
    sys.exit(code)
