#!/usr/bin/python3
"""Shows that the stoa-check tool gives each history in tests/check/histories/ its expected
verdict and exit status (ok-*: 0, bad-*: 1, malformed-*: 2 with the line named), in text and
in --json, and that it rejects a generated history with a planted violation.

usage: test_stoa_check.py STOA_CHECK STOA_CHECK_GEN
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HISTORIES = os.path.join(HERE, "histories")
EXPECTED = {"ok": (0, "linearizable"), "bad": (1, "not linearizable"), "malformed": (2, None)}


def run(arguments, stdin=None):
    return subprocess.run(arguments, input=stdin, capture_output=True, timeout=60)


def check_file(tool, path):
    kind = os.path.basename(path).split("-")[0]
    status, verdict = EXPECTED[kind]
    text = run([tool, path])
    assert text.returncode == status, (path, text.returncode, text.stdout, text.stderr)
    document = json.loads(run([tool, "--json", path]).stdout)
    if verdict is None:
        assert document["verdict"] == "bad input", (path, document)
        assert document["error"].startswith("line "), (path, document)
        assert b": line " in text.stderr, (path, text.stderr)
        return
    assert document["verdict"] == verdict, (path, document)
    overall = text.stdout.decode().splitlines()[-1]
    assert overall.startswith("overall: " + verdict + " ("), (path, overall)
    assert document["operations"] > 0 and document["keys"] >= 1, document
    bad = [r for r in document["results"] if r["verdict"] == "not linearizable"]
    assert (len(bad) > 0) == (kind == "bad"), (path, document)
    for result in bad:
        explanation = result["explanation"]
        assert explanation["blocked"]["line"] > 0, explanation


def main():
    tool, generator = sys.argv[1], sys.argv[2]
    files = sorted(f for f in os.listdir(HISTORIES) if f.endswith(".jsonl"))
    kinds = {f.split("-")[0] for f in files}
    assert kinds == set(EXPECTED), kinds
    for name in files:
        check_file(tool, os.path.join(HISTORIES, name))
    # A generated history read from standard input: clean, then with a planted lost write.
    for plant, status in (("none", 0), ("lost-write", 1)):
        history = run([generator, "--model", "register", "--seed", "5", "--ops", "500",
                       "--keys", "3", "--processes", "5", "--plant", plant])
        assert history.returncode == 0, history.stderr
        checked = run([tool, "--model", "register", "-"], stdin=history.stdout)
        assert checked.returncode == status, (plant, checked.stdout, checked.stderr)
    # Usage errors and a missing file are status 2.
    assert run([tool]).returncode == 2
    assert run([tool, "--model", "queue", "x"]).returncode == 2
    assert run([tool, os.path.join(HISTORIES, "no-such-file")]).returncode == 2
    print(f"stoa-check: {len(files)} histories and 2 generated ones gave the expected verdicts")


if __name__ == "__main__":
    main()
