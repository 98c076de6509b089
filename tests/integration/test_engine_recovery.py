#!/usr/bin/python3
"""Shows that no acknowledged write is lost when the process is killed with SIGKILL in the
middle of a stream of writes (and of background snapshots), and that no partial record is
ever visible: each round starts a writer that acknowledges writes only after their group
commit, kills it at a random point, and checks the data directory with a fresh process.
Also shows that `stoa start` refuses a log damaged before its tail, naming the file and the
offset, and that --data.truncateCorruptLog=true starts it, keeping a copy of the segment."""
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, Node, TempDir, main  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.environ.get("STOA_ENGINE_TOOL",
                      os.path.join(ROOT, "build", "asan", "stoa-engine-tool"))
ROUNDS = 5
READ_SECONDS_MAX = 60


def write_then_kill(data, kill_after):
    """Runs a writer until it has acknowledged kill_after writes, then SIGKILLs it.
    Returns the number of writes acknowledged (they are k0 .. k<n-1>)."""
    writer = subprocess.Popen([TOOL, "write", data], stdout=subprocess.PIPE, text=True)
    acked = 0
    deadline = time.monotonic() + READ_SECONDS_MAX
    try:
        for line in writer.stdout:
            word, number = line.split()
            if word != "ack" or int(number) != acked:
                raise Failure(f"unexpected writer line {line!r} after {acked} acks")
            acked += 1
            if acked >= kill_after:
                break
            if time.monotonic() > deadline:
                raise Failure(f"writer too slow: {acked} acks in {READ_SECONDS_MAX}s")
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        # Acks printed before the kill landed count too: read what is buffered.
        for line in writer.stdout:
            if line.startswith("ack "):
                acked = max(acked, int(line.split()[1]) + 1)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    if writer.returncode != -signal.SIGKILL:
        raise Failure(f"writer ended with {writer.returncode} before the kill")
    return acked


def check(data, acked):
    result = subprocess.run([TOOL, "check", data, str(acked)], capture_output=True, text=True,
                            timeout=120, check=False)
    if result.returncode != 0 or not result.stdout.startswith("ok "):
        raise Failure(f"check after {acked} acks: {result.stdout}{result.stderr}")
    return int(result.stdout.split()[1])


def test_kill9_keeps_acknowledged_writes():
    rng = random.Random(os.getpid())
    with TempDir() as tmp:
        data = os.path.join(tmp, "data")
        acked_max = 0
        for _ in range(ROUNDS):
            acked = write_then_kill(data, rng.randint(500, 6000))
            acked_max = max(acked_max, acked)
            present = check(data, acked_max)
            print(f"  killed after {acked} acks; {present} keys recovered")
            if present < acked_max:
                raise Failure(f"{present} keys recovered, {acked_max} acknowledged")
        snapshots = os.listdir(os.path.join(data, "snapshot"))
        if not any(name.endswith(".snap") for name in snapshots):
            raise Failure("no snapshot was taken during the rounds: the test missed a path")


def test_damaged_log_stops_start():
    with TempDir() as tmp:
        data = os.path.join(tmp, "data")
        subprocess.run([TOOL, "write", data, "300"], capture_output=True, check=True, timeout=60)
        # A snapshot may cover the first segment; damage the newest segment, mid-way.
        log_dir = os.path.join(data, "log")
        segment = os.path.join(log_dir, sorted(os.listdir(log_dir))[-1])
        # Segments are preallocated with zeros: damage the records, not the free space.
        with open(segment, "rb") as f:
            size = len(f.read().rstrip(b"\0"))
        with open(segment, "r+b") as f:
            f.seek(size // 3)
            byte = f.read(1)
            f.seek(size // 3)
            f.write(bytes([byte[0] ^ 0x40]))
        node = Node([f"--data-dir={data}"])
        try:
            if node.wait_exit() != 1:
                raise Failure(f"start with a damaged log did not fail\n{node.output()}")
            line = node.find("cannot open the engine")
            if line is None or segment not in line["detail"] or "byte" not in line["detail"]:
                raise Failure(f"the error does not name the file and offset\n{node.output()}")
        finally:
            node.kill()
        node = Node([f"--data-dir={data}", "--data.truncateCorruptLog=true"])
        try:
            node.wait_log("started")
            node.signal(signal.SIGINT)
            if node.wait_exit() != 0:
                raise Failure(node.output())
        finally:
            node.kill()
        if not any(".corrupt-" in name for name in os.listdir(log_dir)):
            raise Failure(f"no copy of the damaged segment kept: {os.listdir(log_dir)}")


if __name__ == "__main__":
    sys.exit(main([test_kill9_keeps_acknowledged_writes, test_damaged_log_stops_start]))
