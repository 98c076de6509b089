#!/usr/bin/python3
"""Shows that `stoa cli` talks to a real node: one-shot commands print raw values when
standard output is not a terminal and typed replies when it is (the same bytes as redis-cli's,
where redis-cli is installed), exit 1 on an error reply or a connection failure and 2 on a
usage error; Nomos's words work as aliases; and the interactive mode, driven through a
pseudo-terminal, edits lines, quotes as redis-cli does, prints round-trip times, keeps
~/.stoa_history and reconnects once after the node dropped the connection."""
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (STOA_BIN, Failure, Node, TempDir, clean_env, main,  # noqa: E402
                     wait_for)

WAIT_SECONDS = 20.0


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def start_node(data_dir, args=()):
    """A node on data_dir with system-picked ports; returns (node, resp port)."""
    node = Node([f"--data-dir={data_dir}", "--listen.resp.port=0", "--listen.geomys.port=0"]
                + list(args))
    try:
        started = node.wait_log("started")
        return node, int(started["resp"].rsplit(":", 1)[1])
    except Exception:
        node.kill()
        raise


def cli(port, *args, env=None):
    """Runs `stoa cli -p PORT ARGS...` with pipes; returns (code, stdout, stderr)."""
    result = subprocess.run([STOA_BIN, "cli", "-p", str(port)] + list(args),
                            capture_output=True, text=True, env=clean_env(env),
                            timeout=WAIT_SECONDS, check=False)
    return result.returncode, result.stdout, result.stderr


def free_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Terminal:
    """A process whose standard input, output and error are a pseudo-terminal. Output is read
    with bounded waits; CR LF becomes LF."""

    def __init__(self, argv, env=None):
        master, slave = pty.openpty()
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                        env=clean_env(env), start_new_session=True)
        os.close(slave)
        self.fd = master
        self.output = ""
        self.mark = 0
        self.eof = False

    def _read(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self.eof:
            return False
        ready, _, _ = select.select([self.fd], [], [], min(remaining, 0.5))
        if ready:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: every holder of the terminal's other side is gone
                data = b""
            if not data:
                self.eof = True
                return False
            self.output += data.decode("utf-8", "replace").replace("\r\n", "\n")
        return True

    def expect(self, text, timeout=WAIT_SECONDS):
        """Waits for text after the last match; returns what came before it."""
        deadline = time.monotonic() + timeout
        while text not in self.output[self.mark:]:
            if not self._read(deadline):
                if text in self.output[self.mark:]:
                    break
                raise Failure(f"timed out or ended waiting for {text!r}; got "
                              f"{self.output[self.mark:]!r}")
        index = self.output.index(text, self.mark)
        before = self.output[self.mark:index]
        self.mark = index + len(text)
        return before

    def type(self, line):
        os.write(self.fd, line.encode() + b"\r")

    def finish(self, timeout=WAIT_SECONDS):
        """Reads to the end and returns (exit code, everything printed)."""
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        try:
            code = self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise Failure(f"did not exit; printed {self.output!r}")
        os.close(self.fd)
        return code, self.output

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def on_terminal(argv, env=None):
    """Runs argv on a pseudo-terminal to the end; returns (exit code, output)."""
    terminal = Terminal(argv, env)
    try:
        return terminal.finish()
    finally:
        terminal.kill()


def test_one_shot_raw():
    """Piped output is raw: values one per line, nil as an empty line, errors exit 1."""
    with TempDir() as tmp:
        node, port = start_node(tmp)
        try:
            check(cli(port, "SET", "k", "v") == (0, "OK\n", ""), "SET")
            check(cli(port, "GET", "k") == (0, "v\n", ""), "GET")
            check(cli(port, "GET", "missing") == (0, "\n", ""), "nil is an empty line")
            check(cli(port, "SET", "spaced key", "a b\nc") == (0, "OK\n", ""), "binary-safe")
            check(cli(port, "GET", "spaced key")[1] == "a b\nc\n", "value with a newline")
            check(cli(port, "RPUSH", "l", "a", "b", "c d") == (0, "3\n", ""), "integer")
            check(cli(port, "LRANGE", "l", "0", "-1") == (0, "a\nb\nc d\n", ""), "array")
            check(cli(port, "LRANGE", "none", "0", "-1") == (0, "\n", ""), "empty array")
            code, out, _ = cli(port, "FROB", "x")
            check(code == 1 and out.startswith("ERR unknown command 'FROB'") and
                  out.endswith("\n\n"), f"unknown command: {code} {out!r}")
            code, out, _ = cli(port, "GET")
            check(code == 1 and "wrong number of arguments" in out, f"arity: {code} {out!r}")
            code, out, _ = cli(port, "INCR", "k")
            check(code == 1 and "not an integer" in out, f"type error: {out!r}")
        finally:
            node.kill()


def test_one_shot_typed_on_a_terminal():
    """On a terminal replies are typed as redis-cli types them, and so is every type here."""
    with TempDir() as tmp:
        node, port = start_node(tmp)
        try:
            base = [STOA_BIN, "cli", "-p", str(port)]
            cases = [
                (["SET", "k", "v"], 0, "OK\n"),
                (["GET", "k"], 0, '"v"\n'),
                (["GET", "missing"], 0, "(nil)\n"),
                (["INCR", "n"], 0, "(integer) 1\n"),
                (["RPUSH", "l", "a", 'q"q', "x\ny"], 0, "(integer) 3\n"),
                (["LRANGE", "l", "0", "-1"], 0, '1) "a"\n2) "q\\"q"\n3) "x\\ny"\n'),
                (["LRANGE", "none", "0", "-1"], 0, "(empty array)\n"),
                (["FROB"], 1, "(error) ERR unknown command 'FROB', with args beginning with: \n"),
            ]
            for args, code, expected in cases:
                got = on_terminal(base + args)
                check(got == (code, expected), f"{args}: {got!r}")
            code, out = on_terminal(base + ["-3", "HELLO", "3"])
            check(code == 0 and '1# "server" => "stoa"' in out and
                  '3# "proto" => (integer) 3' in out, f"RESP3 map: {out!r}")
        finally:
            node.kill()


def test_same_bytes_as_redis_cli():
    """Where redis-cli is installed, stoa cli prints exactly what it prints, raw and typed."""
    redis_cli = shutil.which("redis-cli")
    if redis_cli is None:
        print("     (redis-cli not installed: comparison skipped)")
        return
    with TempDir() as tmp:
        node, port = start_node(tmp)
        try:
            check(cli(port, "RPUSH", "l", "a", "b c", "\x01")[0] == 0, "a list")
            check(cli(port, "SET", "s", "1")[0] == 0, "a string")
            # Read-only commands: each runs once per client and mode, and must see the same.
            commands = [["LRANGE", "l", "0", "-1"], ["GET", "nothing"], ["GET", "s"], ["NOPE"],
                        ["COMMAND", "DOCS", "get"], ["-3", "COMMAND", "DOCS", "get"],
                        ["-3", "GET", "nothing"], ["LRANGE", "x", "0", "1"], ["TYPE", "l"],
                        ["EXISTS", "s", "l"], ["ECHO", "a\"b\\c"]]
            for args in commands:
                ours = [STOA_BIN, "cli", "-p", str(port)] + args
                theirs = [redis_cli, "-p", str(port)] + args
                ours_raw = subprocess.run(ours, capture_output=True, timeout=WAIT_SECONDS)
                theirs_raw = subprocess.run(theirs, capture_output=True, timeout=WAIT_SECONDS)
                check(ours_raw.stdout == theirs_raw.stdout, f"raw {args}: {ours_raw.stdout!r} "
                      f"vs {theirs_raw.stdout!r}")
                ours_tty = on_terminal(ours)[1]
                theirs_tty = on_terminal(theirs)[1]
                check(ours_tty == theirs_tty, f"typed {args}: {ours_tty!r} vs {theirs_tty!r}")
        finally:
            node.kill()


def test_aliases_and_kv():
    """Nomos's words: put is SET, get GET, status INFO, log GROUP LOG (on a single node, the
    error that says it is no group member), kv every key."""
    with TempDir() as tmp:
        node, port = start_node(tmp)
        try:
            check(cli(port, "put", "k1", "v1") == (0, "OK\n", ""), "put")
            check(cli(port, "get", "k1") == (0, "v1\n", ""), "get")
            check(cli(port, "put", "k2", "two words") == (0, "OK\n", ""), "put 2")
            check(cli(port, "RPUSH", "list", "x")[0] == 0, "a list")
            code, out, _ = cli(port, "status")
            check(code == 0 and "# Server" in out and "# Keyspace" in out, f"status: {out!r}")
            code, out, _ = cli(port, "log")
            check(code == 1 and out.startswith("ERR this node is not a member of a replica group"),
                  f"log on a single node: {code} {out!r}")
            check(cli(port, "ping") == (0, "PONG\n", ""), "ping")
            code, out, _ = cli(port, "kv")
            check(code == 0 and sorted(out.splitlines()) ==
                  ["k1=v1", "k2=two words", "list (list)"], f"kv: {out!r}")
            code, out, _ = cli(port, "help")
            check(code == 0 and "Commands (COMMAND DOCS):" in out and "GET " in out and
                  "stoa cli words:" in out and "put KEY VALUE" in out, f"help: {out!r}")
            code, out, _ = cli(port, "help", "get")
            check(code == 0 and out.strip().startswith("GET") and "value" in out,
                  f"help get: {out!r}")
        finally:
            node.kill()


def test_failures_and_usage():
    """No node: exit 1 and redis-cli's message; bad options: exit 2; AUTH is sent with -a."""
    port = free_port()
    code, out, err = cli(port, "PING")
    check(code == 1 and out == "" and
          err == f"Could not connect to stoa at 127.0.0.1:{port}: Connection refused\n",
          f"refused: {code} {err!r}")
    for args in (["-p", "0"], ["-p", "x"], ["-x"], ["-h"]):
        result = subprocess.run([STOA_BIN, "cli"] + args, capture_output=True, text=True,
                                env=clean_env(), timeout=WAIT_SECONDS)
        check(result.returncode == 2 and "usage: stoa cli" in result.stderr,
              f"{args}: {result.returncode} {result.stderr!r}")
    with TempDir() as tmp:
        node, port = start_node(tmp, ["--resp.password=sesame"])
        try:
            code, out, _ = cli(port, "GET", "k")
            check(code == 1 and out.startswith("NOAUTH"), f"without -a: {out!r}")
            check(cli(port, "-a", "sesame", "SET", "k", "v") == (0, "OK\n", ""), "-a")
            code, out, err = cli(port, "-a", "wrong", "GET", "k")
            check(code == 1 and out == "" and err.startswith("AUTH failed: WRONGPASS"),
                  f"wrong password: {code} {out!r} {err!r}")
        finally:
            node.kill()


def client_count(port):
    code, out, _ = cli(port, "CLIENT", "LIST")
    return len([line for line in out.splitlines() if line.startswith("id=")]) if code == 0 else -1


def test_interactive():
    """Through a pseudo-terminal: prompt, quoting, typed replies with round-trip times,
    aliases, refused lines, help, history in ~/.stoa_history, a reconnect after the node
    dropped the connection, and quit."""
    with TempDir() as tmp:
        node, port = start_node(os.path.join(tmp, "data"), ["--resp.idleTimeoutSeconds=1"])
        home = os.path.join(tmp, "home")
        os.mkdir(home)
        terminal = Terminal([STOA_BIN, "cli", "-p", str(port)], {"HOME": home, "TERM": "dumb"})
        try:
            prompt = f"127.0.0.1:{port}> "
            terminal.expect(prompt)
            terminal.type('set "a key" "hello world"')
            out = terminal.expect(prompt)
            check(re.search(r"\nOK\n\(\d+\.\d\d ms\)\n$", out), f"SET: {out!r}")
            terminal.type("get 'a key'")
            out = terminal.expect(prompt)
            check('\n"hello world"\n(' in out and " ms)" in out, f"GET: {out!r}")
            terminal.type('put p "x\\ty"')
            check("\nOK\n" in terminal.expect(prompt), "put")
            terminal.type("get p")
            check('"x\\ty"' in terminal.expect(prompt), "get shows the escape")
            terminal.type("status")
            check("# Server" in terminal.expect(prompt), "status")
            terminal.type('get "unclosed')
            check("Invalid argument(s)" in terminal.expect(prompt), "bad quoting")
            terminal.type("incr p")
            check("(error) ERR value is not an integer" in terminal.expect(prompt), "error")
            terminal.type("help")
            out = terminal.expect(prompt)
            check("COMMAND DOCS" in out and "stoa cli words:" in out, f"help: {out!r}")
            # The node drops idle connections after a second: wait until ours is gone, then
            # the next command reconnects and runs.
            wait_for(lambda: client_count(port) == 1, WAIT_SECONDS, "the idle client dropped")
            terminal.type("get p")
            out = terminal.expect(prompt)
            check('"x\\ty"' in out, f"after reconnect: {out!r}")
            terminal.type("quit")
            code, _ = terminal.finish()
            check(code == 0, f"quit exits 0: {code}")
            with open(os.path.join(home, ".stoa_history"), encoding="utf-8") as f:
                history = f.read()
            check("get\\040'a\\040key'" in history and "status" in history and
                  "unclosed" not in history, f"history: {history!r}")
        finally:
            terminal.kill()
            node.kill()


def test_interactive_not_connected_and_piped():
    """With no node the prompt says so and each command says why; lines piped in run one
    by one with raw output."""
    port = free_port()
    terminal = Terminal([STOA_BIN, "cli", "-p", str(port)], {"TERM": "dumb", "HOME": "/"})
    try:
        terminal.expect("not connected> ")
        terminal.type("ping")
        out = terminal.expect("not connected> ")
        check("Could not connect to stoa" in out, f"not connected: {out!r}")
        terminal.type("exit")
        check(terminal.finish()[0] == 0, "exit")
    finally:
        terminal.kill()
    with TempDir() as tmp:
        node, port = start_node(tmp)
        try:
            result = subprocess.run([STOA_BIN, "cli", "-p", str(port)],
                                    input='set a "b c"\nget a\nput d e\nkv\n',
                                    capture_output=True, text=True, env=clean_env(),
                                    timeout=WAIT_SECONDS)
            lines = result.stdout.splitlines()
            check(result.returncode == 0 and lines[:3] == ["OK", "b c", "OK"] and
                  sorted(lines[3:]) == ["a=b c", "d=e"], f"piped: {result!r}")
        finally:
            node.kill()


if __name__ == "__main__":
    sys.exit(main([test_one_shot_raw, test_one_shot_typed_on_a_terminal,
                   test_same_bytes_as_redis_cli, test_aliases_and_kv, test_failures_and_usage,
                   test_interactive, test_interactive_not_connected_and_piped]))
