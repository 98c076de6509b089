"""Helpers for integration tests: start real stoa processes, read their JSON log lines,
wait for conditions with a bound (never a bare sleep), and stop them.

The binary is $STOA_BIN (ctest sets it), else build/asan/stoa."""
import json
import os
import shutil
import signal
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

    def __init__(self, args, env=None):
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

    def find(self, msg):
        with self.lock:
            for line in self.lines:
                if line.get("msg") == msg:
                    return line
        return None

    def wait_log(self, msg, timeout=WAIT_SECONDS_DEFAULT):
        return wait_for(lambda: self.find(msg), timeout, f"log line {msg!r}\n{self.output()}")

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
