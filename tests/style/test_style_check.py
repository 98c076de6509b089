#!/usr/bin/python3
"""Shows that the style check catches each kind of violation it claims to catch, and passes
clean code: a checker that cannot fail is worse than none.

Builds a throwaway tree (the real CMakeLists.txt for the layer graph, plus source files with
one planted violation each), runs scripts/style_check.py on it, and compares the reported
file:line: rule triples with the planted ones exactly."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CHECKER = os.path.join(ROOT, "scripts", "style_check.py")

CLEAN = """\
#include "util/alloc.h"
/* A comment may name malloc(), sprintf() and time() freely. */
static const char *text = "strcpy(a, b) in a string is fine";
int stoa_clean_thing(void) {
    char *p = stoa_alloc(8);
    stoa_free(p);
    return snprintf_like(text) + stoa_env_close(0) + stoa_random(1);
}
"""

# (relative path, source, expected [(line, rule)])
PLANTED = [
    ("src/engine/long_line.c", "int x;\n// " + "x" * 120 + "\n", [(2, "line-length")]),
    ("src/engine/banned.c", "void f(char *a) {\n    strcpy(a, \"b\");\n    int n = atoi(a);\n}\n",
     [(2, "banned-call"), (3, "banned-call")]),
    ("src/engine/sprintf.c", "void f(char *a) {\n    sprintf(a, \"%d\", 1);\n}\n",
     [(2, "banned-call")]),
    ("src/consensus/rand.c", "int f(void) {\n    return rand();\n}\n",
     [(2, "banned-call")]),
    ("src/engine/raw_alloc.c", "void f(void) {\n    void *p = malloc(4);\n    free(p);\n}\n",
     [(2, "raw-alloc"), (3, "raw-alloc")]),
    ("src/engine/clock.c", "long f(void) {\n    return time(0);\n}\n", [(2, "io-call")]),
    ("src/cluster/file.c", "int f(void) {\n    return open(\"x\", 0);\n}\n", [(2, "io-call")]),
    ("src/engine/print.c", "void f(void) {\n    printf(\"hi\");\n}\n", [(2, "print-call")]),
    ("src/engine/up.c", "#include \"util/err.h\"\n#include \"consensus/paxos.h\"\n",
     [(2, "layer")]),
    ("src/overlay/sideways.c", "#include \"engine/engine.h\"\n", [(1, "layer")]),
    ("src/consensus/os.c", "#include \"os/env_uv.h\"\n", [(1, "layer")]),
    ("src/engine/clean.c", CLEAN, []),
    # The real homes of these calls are allowed.
    ("src/os/clock.c", "long f(void) {\n    return time(0) + open(\"x\", 0);\n}\n", []),
    ("src/bin/print.c", "void f(void) {\n    printf(\"hi\");\n}\n", []),
]


def main():
    with tempfile.TemporaryDirectory(prefix="stoa-style-") as tree:
        shutil.copy(os.path.join(ROOT, "CMakeLists.txt"), tree)
        expected = set()
        for relative, source, violations in PLANTED:
            path = os.path.join(tree, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(source)
            expected |= {(relative, line, rule) for line, rule in violations}
        run = subprocess.run([sys.executable, CHECKER, "--root", tree],
                             capture_output=True, text=True, check=False)
        reported = set()
        for line in run.stdout.splitlines():
            if line.startswith("style:"):
                continue
            relative, number, rule = line.split(":")[:3]
            reported.add((relative, int(number), rule.strip()))
        missed = expected - reported
        spurious = reported - expected
        for item in sorted(missed):
            print("MISSED  %s:%d: %s" % item)
        for item in sorted(spurious):
            print("SPURIOUS %s:%d: %s" % item)
        if run.returncode != 1:
            print(f"checker exit code {run.returncode}, expected 1")
        ok = not missed and not spurious and run.returncode == 1
        print(f"{len(expected) - len(missed)} passed, {len(missed) + len(spurious)} failed")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
