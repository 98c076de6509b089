#!/usr/bin/python3
"""Shows that the real stoa binary starts, reports itself in JSON log lines, stops cleanly on
SIGINT and SIGTERM, keeps its node id and its data directory to itself, resolves config with
flags > environment > file > defaults, and refuses bad configuration naming the key and
where it came from."""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node, TempDir, main, run  # noqa: E402


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def test_version_and_help():
    code, out, _ = run(["version"])
    check(code == 0 and out.startswith("stoa "), f"version: {code} {out!r}")
    code, out, _ = run(["help"])
    check(code == 0 and all(c in out for c in ("start", "setup", "cli", "version")),
          f"help lists the commands: {out!r}")
    code, out, _ = run(["help", "start"])
    check(code == 0 and "--config" in out, f"help start: {out!r}")
    code, _, err = run(["frobnicate"])
    check(code == 2 and "unknown command 'frobnicate'" in err, f"unknown command: {err!r}")
    code, _, err = run([])
    check(code == 2, "no command is a usage error")


def test_start_and_sigint():
    with TempDir() as tmp:
        data = os.path.join(tmp, "data", "nested")
        node = Node([f"--data-dir={data}"])
        try:
            started = node.wait_log("started")
            check(started["level"] == "info" and started["module"] == "bin", started)
            check(started["data_dir"] == data and started["pid"] == node.process.pid, started)
            check(len(started["node"]) == 26, f"node id is a ULID: {started}")
            check(os.path.isdir(data), "data directory created with its parents")
            node.signal(signal.SIGINT)
            check(node.wait_exit() == 0, f"clean exit\n{node.output()}")
            check(node.find("stopping")["reason"] == "SIGINT", node.output())
            check(node.find("stopped") is not None, node.output())
            for line in node.raw:
                json.loads(line)  # every line on stderr is JSON
        finally:
            node.kill()


def test_sigterm_and_node_id_kept():
    with TempDir() as tmp:
        first = Node([f"--data-dir={tmp}"])
        try:
            node_id = first.wait_log("started")["node"]
            check(first.find("created node id") is not None, first.output())
            first.signal(signal.SIGTERM)
            check(first.wait_exit() == 0, first.output())
        finally:
            first.kill()
        second = Node([f"--data-dir={tmp}"])
        try:
            check(second.wait_log("started")["node"] == node_id, "same id after restart")
            check(second.find("created node id") is None, "id not made twice")
            second.signal(signal.SIGTERM)
            check(second.wait_exit() == 0, second.output())
        finally:
            second.kill()


def test_data_dir_locked():
    with TempDir() as tmp:
        first = Node([f"--data-dir={tmp}"])
        try:
            first.wait_log("started")
            second = Node([f"--data-dir={tmp}"])
            try:
                check(second.wait_exit() == 1, second.output())
                refused = second.find("the data directory is in use by another process")
                check(refused is not None, second.output())
                check(refused["holder_pid"] == first.process.pid, refused)
            finally:
                second.kill()
            first.signal(signal.SIGINT)
            check(first.wait_exit() == 0, first.output())
        finally:
            first.kill()


def test_corrupt_node_id_refused():
    with TempDir() as tmp:
        with open(os.path.join(tmp, "node.id"), "w") as f:
            f.write("not a valid id!\n")
        node = Node([f"--data-dir={tmp}"])
        try:
            check(node.wait_exit() == 1, node.output())
            line = node.find("cannot read or create the node id")
            check(line is not None and line["error"] == "CORRUPT", node.output())
        finally:
            node.kill()
        with open(os.path.join(tmp, "node.id")) as f:
            check(f.read() == "not a valid id!\n", "a corrupt id file is left as it was")


def effective(args, env=None):
    code, out, err = run(["start", "--check-config"] + args, env=env)
    check(code == 0, f"check-config failed: {err}")
    return out


def test_precedence():
    with TempDir() as tmp:
        path = os.path.join(tmp, "stoa.yaml")
        with open(path, "w") as f:
            f.write("node:\n  maxPeers: 7\n  storage:\n    storageMode: fast\n")
        check("maxPeers: 5" in effective([]), "default")
        check("maxPeers: 7" in effective(["--config", path]), "file beats default")
        out = effective(["--config", path], {"NODE_MAXPEERS": "8"})
        check("maxPeers: 8" in out and "storageMode: fast" in out, "env beats file")
        out = effective(["--config", path], {"NODE_MAXPEERS": "8", "STOA_NODE_MAXPEERS": "11"})
        check("maxPeers: 11" in out, "STOA_ prefix beats the plain name")
        out = effective(["--config", path, "--node.maxPeers=9"], {"NODE_MAXPEERS": "8"})
        check("maxPeers: 9" in out, "flag beats env")
        out = effective(["-c", path, "--node.maxPeers", "10", "--type", "super-peer"])
        check("maxPeers: 10" in out and "type: super-peer" in out, "separate flag values")


def test_setup_output_starts_a_node():
    code, out, _ = run(["setup"])
    check(code == 0 and "node:" in out and "# " in out, "setup prints a commented config")
    with TempDir() as tmp:
        path = os.path.join(tmp, "stoa.yaml")
        with open(path, "w") as f:
            f.write(out)
        check(effective(["--config", path]) == effective([]), "setup's file is the defaults")


def expect_refusal(args, env, *needles):
    code, out, err = run(["start", "--check-config"] + args, env=env)
    check(code == 2, f"expected exit 2 for {args} {env}: {code} {err}")
    check(out == "", "nothing printed on stdout")
    for needle in needles:
        check(needle in err, f"{needle!r} not in {err!r}")


def test_config_errors():
    with TempDir() as tmp:
        path = os.path.join(tmp, "bad.yaml")
        with open(path, "w") as f:
            f.write("node:\n  storage:\n    replicationFactor: 3\n  maxPeer: 4\n")
        expect_refusal(["--config", path], None, "bad.yaml:4", "node.maxPeer")
        with open(path, "w") as f:
            f.write("node:\n  maxPeers: many\n")
        expect_refusal(["--config", path], None, "bad.yaml:2", "node.maxPeers", "many")
        with open(path, "w") as f:
            f.write("node:\n  maxPeers: 5000\n")
        expect_refusal(["--config", path], None, "bad.yaml:2", "1..1000")
        expect_refusal([], {"NODE_STORAGE_STORAGEMODE": "quick"}, "NODE_STORAGE_STORAGEMODE",
                       "quick")
        expect_refusal(["--node.maxPeers=0"], None, "--node.maxPeers")
        expect_refusal(["--bogus.key=1"], None, "bogus.key")
        expect_refusal(["--type", "overlord"], None, "node.type", "overlord")
        expect_refusal(["--config", os.path.join(tmp, "missing.yaml")], None,
                       "missing.yaml", "not found")
        expect_refusal(["stray"], None, "stray")
        expect_refusal(["--config"], None, "missing value")


if __name__ == "__main__":
    sys.exit(main([test_version_and_help, test_start_and_sigint, test_sigterm_and_node_id_kept,
                   test_data_dir_locked, test_corrupt_node_id_refused, test_precedence,
                   test_setup_output_starts_a_node, test_config_errors]))
