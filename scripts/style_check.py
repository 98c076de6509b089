#!/usr/bin/python3
"""stoa's style check: the rules of STYLE.md that a machine can check.

Checks every .c and .h file under <root>/src:
  line-length   no line longer than 100 columns
  banned-call   calls that stoa never makes: strcpy, strcat, sprintf, vsprintf, gets,
                atoi, atol, atoll, atof, rand, srand
  raw-alloc     malloc, calloc, realloc, free outside the allocation seam (src/util/alloc.c)
  io-call       clocks, randomness, sockets, files, environment and libuv outside src/os
                (and the few places listed in IO_ALLOWED with the reason)
  print-call    printing outside src/os, src/bin and src/cli: the cores log through the
                injected logger
  layer         an #include "<layer>/..." of a layer the file's layer may not use; the layer
                graph is read from the STOA_USES_<layer> lines of <root>/CMakeLists.txt

Comments and string literals are blanked before calls are matched, so a comment that names
malloc is fine. Prints one line per violation (file:line: rule: detail) and exits 1 if there
is any, 0 otherwise.
"""
import argparse
import os
import re
import sys

LINE_COLUMNS_MAX = 100

BANNED = ["strcpy", "strcat", "sprintf", "vsprintf", "gets", "atoi", "atol", "atoll",
          "atof", "rand", "srand"]
RAW_ALLOC = ["malloc", "calloc", "realloc", "free"]
IO_CALLS = ["time", "clock_gettime", "gettimeofday", "getrandom", "random", "srandom",
            "socket", "bind", "listen", "accept", "connect", "send", "recv", "sendto",
            "recvfrom", "open", "openat", "fopen", "close", "read", "write", "pread",
            "pwrite", "fsync", "fdatasync", "opendir", "mkdir", "unlink", "rename",
            "getenv", "setenv", "system", "popen", "fork", "exec", "execv", "execvp"]
PRINT_CALLS = ["printf", "fprintf", "vfprintf", "puts", "fputs", "fputc", "putchar",
               "perror"]

# Files outside their rule's home that may make these calls, and why.
RAW_ALLOC_ALLOWED = {
    "src/util/alloc.c": "the allocation seam itself",
}
IO_ALLOWED = {}
PRINT_ALLOWED = {
    "src/util/assert.c": "the assertion failure path must print even when the logger broke",
}
# src/cli is a client, not a core: it talks to a node over blocking sockets, times round
# trips and keeps a history file, with no event loop or simulation to route them through.
IO_HOMES = ("src/os/", "src/cli/")
PRINT_HOMES = ("src/os/", "src/bin/", "src/cli/")


def read_layer_graph(root):
    """Returns {layer: set(layers it may include)} from CMakeLists.txt."""
    graph = {}
    with open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*set\(STOA_USES_(\w+)\s*(.*?)\)", line)
            if m:
                uses = m.group(2).replace('"', " ").split()
                graph[m.group(1)] = set(uses) | {m.group(1)}
    if not graph:
        sys.exit("style_check: no STOA_USES_<layer> lines in CMakeLists.txt")
    return graph


def blank_comments_and_strings(text):
    """Replaces comments and string/char literals with spaces, keeping newlines, so line
    numbers still match. #include lines are kept as they are."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            line_start = text.rfind("\n", 0, i) + 1
            if text[line_start:i].lstrip().startswith("#include"):
                out.append(c)
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def call_pattern(names):
    # A call is the name, not preceded by an identifier character, '.' or '->', then '('.
    return re.compile(r"(?<![\w.>])(" + "|".join(names) + r")\s*\(")


BANNED_RE = call_pattern(BANNED)
RAW_ALLOC_RE = call_pattern(RAW_ALLOC)
IO_RE = call_pattern(IO_CALLS)
PRINT_RE = call_pattern(PRINT_CALLS)
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"(\w+)/')


def layer_of(relative):
    parts = relative.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "src" else None


def check_file(root, relative, graph, report):
    with open(os.path.join(root, relative), encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if len(line) > LINE_COLUMNS_MAX:
            report(relative, number, "line-length", f"{len(line)} columns > {LINE_COLUMNS_MAX}")
    code_lines = blank_comments_and_strings(text).split("\n")
    layer = layer_of(relative)
    for number, line in enumerate(code_lines, 1):
        if line.lstrip().startswith("#") and not line.lstrip().startswith("#include"):
            continue  # macro definitions are checked where they are used
        for m in BANNED_RE.finditer(line):
            report(relative, number, "banned-call", m.group(1))
        if relative not in RAW_ALLOC_ALLOWED:
            for m in RAW_ALLOC_RE.finditer(line):
                report(relative, number, "raw-alloc", f"{m.group(1)} (use stoa_alloc)")
        if not relative.startswith(IO_HOMES) and relative not in IO_ALLOWED:
            for m in IO_RE.finditer(line):
                report(relative, number, "io-call", f"{m.group(1)} outside src/os (use env)")
        if not relative.startswith(PRINT_HOMES) and relative not in PRINT_ALLOWED:
            for m in PRINT_RE.finditer(line):
                report(relative, number, "print-call", f"{m.group(1)} (use the logger)")
        m = INCLUDE_RE.match(line)
        if m and layer in graph and m.group(1) not in graph[layer]:
            report(relative, number, "layer", f"{layer} may not include {m.group(1)}/")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    graph = read_layer_graph(root)
    violations = []

    def report(relative, number, rule, detail):
        violations.append(f"{relative}:{number}: {rule}: {detail}")

    checked = 0
    for directory, _, files in sorted(os.walk(os.path.join(root, "src"))):
        for name in sorted(files):
            if name.endswith((".c", ".h")):
                relative = os.path.relpath(os.path.join(directory, name), root)
                check_file(root, relative, graph, report)
                checked += 1
    for line in violations:
        print(line)
    print(f"style: {checked} files checked, {len(violations)} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
