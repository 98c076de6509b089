"""Helpers for integration tests: start real stoa processes, read their JSON log lines,
wait for conditions with a bound (never a bare sleep), and stop them.

The binary is $STOA_BIN (ctest sets it), else build/asan/stoa."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STOA_BIN = os.environ.get("STOA_BIN", os.path.join(ROOT, "build", "asan", "stoa"))
WAIT_SECONDS_DEFAULT = 20.0


class Failure(Exception):
    pass


def wait_for(condition, timeout=WAIT_SECONDS_DEFAULT, what="condition"):
    """Polls condition() until it returns a true value, which is returned; raises Failure
    after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def clean_env(extra=None):
    """The environment for a child: ours, without any variable that would set a config key
    by accident, plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NODE_", "SCHEDULE_", "BOOTSTRAP_", "LISTEN_", "DATA_",
                                "LOG_", "STOA_"))}
    env.update(extra or {})
    return env


def run(args, env=None, timeout=60):
    """Runs stoa to completion; returns (exit code, stdout, stderr)."""
    result = subprocess.run([STOA_BIN] + args, capture_output=True, text=True,
                            env=clean_env(env), timeout=timeout, check=False)
    return result.returncode, result.stdout, result.stderr


class Node:
    """A running `stoa start` process whose stderr JSON lines are collected."""

    # Every listener on a free port, unless the test sets one: tests never depend on (or
    # collide over) the default ports.
    FREE_PORTS = ("--listen.resp.port=0", "--listen.geomys.port=0", "--listen.http.port=0",
                  "--listen.multiverse9.port=0")

    def __init__(self, args, env=None):
        args = list(args)
        for flag in self.FREE_PORTS:
            if not any(a.startswith(flag.split("=")[0]) for a in args):
                args.append(flag)
        self.process = subprocess.Popen([STOA_BIN, "start"] + args, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True,
                                        env=clean_env(env))
        self.lines = []
        self.raw = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stderr:
            with self.lock:
                self.raw.append(line)
                try:
                    self.lines.append(json.loads(line))
                except ValueError:
                    pass

    def find(self, msg, module=None):
        with self.lock:
            for line in self.lines:
                if line.get("msg") == msg and (module is None or line.get("module") == module):
                    return line
        return None

    def wait_log(self, msg, timeout=WAIT_SECONDS_DEFAULT, module=None):
        return wait_for(lambda: self.find(msg, module), timeout,
                        f"log line {msg!r}\n{self.output()}")

    def output(self):
        with self.lock:
            return "".join(self.raw)

    def signal(self, number):
        self.process.send_signal(number)

    def wait_exit(self, timeout=WAIT_SECONDS_DEFAULT):
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"process did not exit within {timeout}s\n{self.output()}")
        self.reader.join(timeout=5)
        return code

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_resp(data_dir, args=(), env=None):
    """Starts `stoa start` on data_dir with the RESP port picked by the system, waits for its
    "started" line, and returns the Node with its RESP port in node.port."""
    node = Node([f"--data-dir={data_dir}", "--listen.resp.port=0", "--listen.geomys.port=0"]
                + list(args), env)
    try:
        started = node.wait_log("started")
        node.port = int(started["resp"].rsplit(":", 1)[1])
    except Exception:
        node.kill()
        raise
    return node


def encode(*args):
    """One RESP request (an array of bulk strings) from str, bytes or int arguments."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, int):
            arg = str(arg)
        if isinstance(arg, str):
            arg = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class RespError:
    """An error reply as it came: text is the line after the '-' (or RESP3's '!')."""

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, RespError) and other.text == self.text

    def __repr__(self):
        return f"RespError({self.text!r})"


class RespClient:
    """A client on a raw socket, for tests of the exact bytes: it sends whatever it is given
    and reads replies with a bound. read_reply parses RESP2 and RESP3: bulk strings are bytes,
    simple strings str, errors RespError, nulls None, maps dict (keys as parsed)."""

    def __init__(self, port, timeout=WAIT_SECONDS_DEFAULT, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data)

    def call(self, *args):
        """Sends one request and returns its parsed reply."""
        self.send(encode(*args))
        return self.read_reply()

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Failure(f"timed out after {self.timeout}s reading a reply "
                          f"(have {self.buffer[:200]!r})")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            raise Failure(f"timed out after {self.timeout}s reading a reply "
                          f"(have {self.buffer[:200]!r})") from None
        if not data:
            raise Failure(f"connection closed by the server (have {self.buffer[:200]!r})")
        self.buffer += data

    def read_exact(self, count, deadline=None):
        deadline = deadline or time.monotonic() + self.timeout
        while len(self.buffer) < count:
            self._fill(deadline)
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def expect(self, expected):
        """Reads exactly len(expected) bytes and checks they are expected."""
        got = self.read_exact(len(expected))
        if got != expected:
            raise Failure(f"expected {expected[:300]!r}, got {got[:300]!r}")

    def _line(self, deadline):
        while b"\r\n" not in self.buffer:
            self._fill(deadline)
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def read_reply(self, deadline=None):
        deadline = deadline or time.monotonic() + self.timeout
        line = self._line(deadline)
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind in (b"-", b"!"):
            if kind == b"!":
                rest = self.read_exact(int(rest) + 2, deadline)[:-2]
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"="):
            length = int(rest)
            if length < 0:
                return None
            return self.read_exact(length + 2, deadline)[:-2]
        if kind in (b"*", b"~", b">"):
            length = int(rest)
            if length < 0:
                return None
            return [self.read_reply(deadline) for _ in range(length)]
        if kind == b"%":
            items = [self.read_reply(deadline) for _ in range(2 * int(rest))]
            return {self._hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}
        if kind == b"_":
            return None
        if kind == b",":
            return float(rest)
        if kind == b"#":
            return rest == b"t"
        raise Failure(f"not a RESP reply: {line[:200]!r}")

    @staticmethod
    def _hashable(value):
        return tuple(value) if isinstance(value, list) else value

    def pending(self, wait=0.0):
        """Whether any reply byte is waiting (or the connection closed), looking for at most
        wait seconds."""
        if self.buffer:
            return True
        self.sock.settimeout(wait if wait > 0 else 0.001)
        try:
            self.sock.recv(1, socket.MSG_PEEK)
        except (socket.timeout, BlockingIOError):
            return False
        return True  # a byte, or the end of the stream

    def wait_closed(self, timeout=WAIT_SECONDS_DEFAULT):
        """Reads until the server closes the connection, within timeout; returns what was
        read before the close."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Failure(f"connection still open after {timeout}s "
                              f"(read {self.buffer[:200]!r})")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                got, self.buffer = self.buffer, b""
                return got
            self.buffer += data

    def close(self):
        self.sock.close()


def redis_cli(port, args, stdin=None, timeout=60):
    """Runs Debian's redis-cli against port; returns (exit code, stdout, stderr) as bytes."""
    result = subprocess.run(["redis-cli", "-p", str(port)] + list(args), input=stdin,
                            capture_output=True, timeout=timeout, check=False)
    return result.returncode, result.stdout, result.stderr


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="stoa-it-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def main(tests):
    """Runs each test function; prints a result line per test and the closing
    'N passed, N failed' line; returns the exit code."""
    passed = failed = 0
    for test in tests:
        try:
            test()
            passed += 1
            print(f"ok   {test.__name__}")
        except Exception as error:  # a failing test must not stop the others
            failed += 1
            print(f"FAIL {test.__name__}: {error!r}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1
