#!/usr/bin/python3
"""The multiverse9 front door with real processes: the README's netcat examples verbatim,
many framed requests on one connection, every bad input answered (the node carries on),
two nodes aggregating from each other, every permission allowed and refused, down and slow
remote nodes, the node key, `stoa setup --redis-uri` and `stoa start --threads`."""
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(__file__))
from harness import Failure, Node, TempDir, main, run, wait_for  # noqa: E402

CREATE, REMOVE, AGGREGATE, METADATA, HELLO, AUTH = 1, 2, 3, 4, 5, 6
FRAMED = 0x80
AUTH_CONTEXT = b"stoa multiverse9 auth v1"

# The README's examples, as written there (only the <...> placeholders are filled in).
README_CREATE = 'echo -n -e "\\x00\\x01Hello, World!" | nc <node_address> <node_port>'
README_REMOVE = 'echo -n -e "\\x00\\x02<ULID>" | nc <node_address> <node_port>'
README_AGGREGATE = 'echo -n -e "\\x00\\x03<ULID1>\\x00<ULID2>" | nc <node_address> <node_port>'


def start(data_dir, *args):
    """A node with every port free; returns it with .mv9 (its multiverse9 port) and .key."""
    node = Node([f"--data-dir={data_dir}", "--data.durability=none", *args])
    try:
        line = node.wait_log("multiverse9 listening")
    except Exception:
        node.kill()
        raise
    node.mv9 = int(line["address"].rsplit(":", 1)[1])
    node.key = line["public_key"]
    node.resp = int(node.wait_log("started")["resp"].rsplit(":", 1)[1])
    return node


def stop(node):
    node.signal(2)
    code = node.wait_exit()
    if code != 0:
        raise Failure(f"exit code {code}\n{node.output()}")


def netcat(template, port, **values):
    """Runs one README command line with bash (the README's echo -e is bash's)."""
    command = template.replace("<node_address>", "127.0.0.1").replace("<node_port>", str(port))
    for name, value in values.items():
        command = command.replace(f"<{name}>", value)
    result = subprocess.run(["bash", "-c", command], capture_output=True, timeout=20, check=False)
    return result.stdout


def new_key(data_dir):
    """Writes a node key into data_dir (as stoa would make it) and returns its public hex."""
    os.makedirs(data_dir, exist_ok=True)
    seed = os.urandom(32)
    with open(os.path.join(data_dir, "node.key"), "w") as f:
        f.write(seed.hex() + "\n")
    os.chmod(os.path.join(data_dir, "node.key"), 0o600)
    return public_hex(Ed25519PrivateKey.from_private_bytes(seed))


def public_hex(private):
    return private.public_key().public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw).hex()


class Client:
    """A framed multiverse9 client on one connection."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buffer = b""

    def send(self, opcode, payload=b"", two_byte=False):
        prefix = b"\x00" if two_byte else b""
        self.sock.sendall(prefix + bytes([opcode | FRAMED]) + struct.pack(">I", len(payload))
                          + payload)

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise Failure(f"connection closed (have {self.buffer[:100]!r})")
        self.buffer += data

    def reply(self):
        """(status, payload) of the next framed reply."""
        while len(self.buffer) < 5:
            self._fill()
        status, length = self.buffer[0], struct.unpack(">I", self.buffer[1:5])[0]
        while len(self.buffer) < 5 + length:
            self._fill()
        payload, self.buffer = self.buffer[5:5 + length], self.buffer[5 + length:]
        return status, payload

    def call(self, opcode, payload=b""):
        self.send(opcode, payload)
        return self.reply()

    def authenticate(self, private):
        status, payload = self.call(HELLO)
        assert status == 0 and len(payload) == 64, (status, payload)
        challenge, server_key = payload[:32], payload[32:]
        signature = private.sign(AUTH_CONTEXT + challenge + server_key)
        public = bytes.fromhex(public_hex(private))
        return self.call(AUTH, public + signature)

    def closed(self, timeout=10):
        """Whether the server closes the connection (after any bytes still coming)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(1 << 16):
                pass
            return True
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.sock.close()


def ok(reply):
    status, payload = reply
    if status != 0:
        raise Failure(f"expected OK, got error {payload!r}")
    return payload


def error(reply, code):
    status, payload = reply
    if status != 1 or payload[:1] != bytes([code]):
        raise Failure(f"expected error 0x{code:02x}, got {status} {payload!r}")
    return payload[1:].decode()


def entries(payload):
    """AGGREGATE's entries as [(target, value)]; values here never hold a NUL."""
    assert payload.endswith(b"\x00"), payload
    out = []
    for entry in payload[:-1].split(b"\x00"):
        ulid, rest = entry[:26], entry[26:]
        if rest.startswith(b"@"):
            address, value = rest[1:].split(b":", 2)[:2], rest[1:].split(b":", 2)[2]
            out.append((ulid + b"@" + b":".join(address), value))
        else:
            assert rest[:1] == b":", entry
            out.append((ulid, rest[1:]))
    return out


def test_readme_netcat_examples():
    """The README's CREATE, AGGREGATE and REMOVE lines work unchanged through netcat, and so
    does the one-byte opcode form multiverse9's code reads."""
    with TempDir() as d:
        node = start(d)
        try:
            created = netcat(README_CREATE, node.mv9)
            if len(created) != 27 or created[:1] != b"\x00":
                raise Failure(f"CREATE answered {created!r}\n{node.output()}")
            first = created[1:].decode()
            second = netcat('echo -n -e "\\x01Second value" | nc <node_address> <node_port>',
                            node.mv9)[1:].decode()
            got = netcat(README_AGGREGATE, node.mv9, ULID1=first, ULID2=second)
            expected = (b"\x00" + first.encode() + b":Hello, World!\x00" + second.encode()
                        + b":Second value\x00")
            if got != expected:
                raise Failure(f"AGGREGATE answered {got!r}, expected {expected!r}")
            if netcat(README_REMOVE, node.mv9, ULID=first) != b"\x00":
                raise Failure("REMOVE did not answer 0x00")
            got = netcat(README_AGGREGATE, node.mv9, ULID1=first, ULID2=second)
            if got != b"\x00" + first.encode() + b":Unknown key\x00" + second.encode() + \
                    b":Second value\x00":
                raise Failure(f"AGGREGATE after REMOVE answered {got!r}")
            # The same keys through the RESP door: one engine.
            from harness import RespClient
            resp = RespClient(node.resp)
            if resp.call("GET", second) != b"Second value":
                raise Failure("the value is not visible through RESP")
            stop(node)
        finally:
            node.kill()


def test_framed_requests_on_one_connection():
    """Framed requests pipelined in one write are answered in order on one connection, in
    both opcode forms, and the connection stays open."""
    with TempDir() as d:
        node = start(d, "--multiverse9.openMetadata=true")
        try:
            client = Client(node.mv9)
            client.send(CREATE, b"one")
            client.send(CREATE, b"two\x00with a NUL", two_byte=True)
            first, second = ok(client.reply()).decode(), ok(client.reply()).decode()
            if not (first < second and len(first) == 26):
                raise Failure(f"ULIDs {first} {second} are not increasing")
            client.send(AGGREGATE, f"{first}\x00{second}\x00".encode())
            client.send(REMOVE, first.encode())
            client.send(AGGREGATE, first.encode())
            client.send(METADATA)
            if ok(client.reply()) != f"{first}:one\x00{second}:two\x00with a NUL\x00".encode():
                raise Failure("AGGREGATE of two keys")
            ok(client.reply())
            if ok(client.reply()) != f"{first}:Unknown key\x00".encode():
                raise Failure("REMOVE did not remove")
            metadata = ok(client.reply()).decode()
            for part in ('"name":"multiverse9_', '"version":', '"address":"127.0.0.1:',
                         f'"public_key":"{node.key}"', '"nodes":[]'):
                if part not in metadata:
                    raise Failure(f"METADATA {metadata} lacks {part}")
            ok(client.call(AGGREGATE, second.encode()))  # still open
            client.close()
            stop(node)
        finally:
            node.kill()


def test_bad_input_gets_error_replies():
    """Empty targets, keys of the wrong length, consecutive NULs, unknown opcodes, truncated
    and oversized requests each get an error reply; framed errors keep the connection, the
    unframable ones close it after the reply, and the node serves on."""
    with TempDir() as d:
        node = start(d)
        try:
            client = Client(node.mv9)
            key = ok(client.call(CREATE, b"v")).decode()
            cases = [
                (AGGREGATE, b"", "no targets"),
                (AGGREGATE, b"\x00", "no targets"),
                (REMOVE, b"", "no targets"),
                (AGGREGATE, b"SHORTKEY", "26 characters"),
                (AGGREGATE, (key + "X").encode(), "26 characters"),
                (AGGREGATE, f"{key}\x00\x00{key}".encode(), "empty"),
                (AGGREGATE, f"\x00{key}".encode(), "empty"),
                (AGGREGATE, b"U" * 26, "ULID"),
                (AGGREGATE, f"{key}@nowhere".encode(), "address"),
                (REMOVE, f"{key}@127.0.0.1:1".encode(), "not allowed"),
                (CREATE, b"", "needs a value"),
            ]
            for opcode, payload, text in cases:
                got = error(client.call(opcode, payload), 0x01)
                if text not in got:
                    raise Failure(f"{opcode} {payload!r}: {got!r} lacks {text!r}")
            if "unknown opcode 0x7f" not in error(client.call(0x7F), 0x02):
                raise Failure("unknown opcode")
            if ok(client.call(AGGREGATE, key.encode())) != f"{key}:v\x00".encode():
                raise Failure("the connection did not go on after the errors")
            # An oversized framed request cannot be read past: error, then close.
            client.sock.sendall(bytes([CREATE | FRAMED]) + struct.pack(">I", 2 * 1024 * 1024))
            error(client.reply(), 0x04)
            if not client.closed():
                raise Failure("oversized framed request: connection not closed")
            # A framed request cut by the end of input: error, then close.
            client = Client(node.mv9)
            client.sock.sendall(bytes([AGGREGATE | FRAMED]) + struct.pack(">I", 26) + b"01")
            client.sock.shutdown(socket.SHUT_WR)
            if "truncated" not in error(client.reply(), 0x01) or not client.closed():
                raise Failure("truncated request")
            # An oversized unframed request: error, then close.
            sock = socket.create_connection(("127.0.0.1", node.mv9), timeout=20)
            try:
                sock.sendall(b"\x01" + b"x" * (1024 * 1024 + 10))
            except (BrokenPipeError, ConnectionResetError):
                pass
            got = b""
            try:
                while True:
                    data = sock.recv(1 << 16)
                    if not data:
                        break
                    got += data
            except ConnectionResetError:
                pass
            if not got.startswith(b"\x01\x04"):
                raise Failure(f"oversized unframed request answered {got[:50]!r}")
            sock.close()
            # Through netcat: a bad key and a lone 0x00 (truncated opcode).
            got = netcat('echo -n -e "\\x00\\x03SHORT\\x00\\x00" | nc <node_address> <node_port>',
                         node.mv9)
            if not got.startswith(b"\x01\x01"):
                raise Failure(f"netcat bad key answered {got!r}")
            if not netcat('echo -n -e "\\x00" | nc <node_address> <node_port>',
                          node.mv9).startswith(b"\x01\x01"):
                raise Failure("a lone 0x00")
            # The node carries on.
            created = netcat(README_CREATE, node.mv9)
            if created[:1] != b"\x00" or len(created) != 27:
                raise Failure("the node stopped serving")
            stop(node)
        finally:
            node.kill()


def test_two_nodes_aggregate_from_each_other():
    """Two closed nodes (openInteractions false) that acknowledge each other's key: a client
    acknowledged by both asks A for a key of B and B for a key of A (ULID@host:port), mixed
    with local and missing keys; each node proves its key to the other, and the entries come
    in request order."""
    with TempDir() as a_dir, TempDir() as b_dir:
        client_key = Ed25519PrivateKey.generate()
        client_hex = public_hex(client_key)
        a_key, b_key = new_key(a_dir), new_key(b_dir)
        closed = ("--multiverse9.openInteractions=false",)
        a = start(a_dir, *closed, f"--multiverse9.nodes={b_key},{client_hex}")
        b = None
        try:
            b = start(b_dir, *closed, f"--multiverse9.nodes={a_key}@127.0.0.1:{a.mv9},{client_hex}")
            if (a.key, b.key) != (a_key, b_key):
                raise Failure("the nodes did not load the keys written for them")
            to_a, to_b = Client(a.mv9), Client(b.mv9)
            ok(to_a.authenticate(client_key))
            ok(to_b.authenticate(client_key))
            on_a = ok(to_a.call(CREATE, b"kept on A")).decode()
            on_b = ok(to_b.call(CREATE, b"kept on B")).decode()
            missing = "01ARZ3NDEKTSV4RRFFQ69G5FAW"
            at_a, at_b = f"@127.0.0.1:{a.mv9}", f"@127.0.0.1:{b.mv9}"
            got = entries(ok(to_b.call(
                AGGREGATE, f"{on_b}\x00{on_a}{at_a}\x00{missing}{at_a}".encode())))
            expected = [(on_b.encode(), b"kept on B"), ((on_a + at_a).encode(), b"kept on A"),
                        ((missing + at_a).encode(), b"Unknown key")]
            if got != expected:
                raise Failure(f"B aggregating from A: {got!r}\n{a.output()}")
            got = entries(ok(to_a.call(AGGREGATE, f"{on_b}{at_b}\x00{on_a}".encode())))
            if got != [((on_b + at_b).encode(), b"kept on B"), (on_a.encode(), b"kept on A")]:
                raise Failure(f"A aggregating from B: {got!r}\n{b.output()}")
            stop(b)
            b = None
            stop(a)
        finally:
            a.kill()
            if b is not None:
                b.kill()


def test_two_open_nodes_aggregate_each_other():
    """Two open nodes: a netcat AGGREGATE on A reads B's key and one on B reads A's, in one
    request each, with the README's command shape."""
    with TempDir() as a_dir, TempDir() as b_dir:
        a = start(a_dir)
        b = start(b_dir)
        try:
            on_a = netcat(README_CREATE, a.mv9)[1:].decode()
            on_b = netcat('echo -n -e "\\x00\\x01Bonjour" | nc <node_address> <node_port>',
                          b.mv9)[1:].decode()
            got = netcat(README_AGGREGATE, a.mv9, ULID1=on_a, ULID2=f"{on_b}@127.0.0.1:{b.mv9}")
            expected = (f"\x00{on_a}:Hello, World!\x00{on_b}@127.0.0.1:{b.mv9}:Bonjour\x00"
                        .encode())
            if got != expected:
                raise Failure(f"A from B: {got!r}, expected {expected!r}")
            got = netcat(README_AGGREGATE, b.mv9, ULID1=f"{on_a}@127.0.0.1:{a.mv9}", ULID2=on_b)
            expected = (f"\x00{on_a}@127.0.0.1:{a.mv9}:Hello, World!\x00{on_b}:Bonjour\x00"
                        .encode())
            if got != expected:
                raise Failure(f"B from A: {got!r}, expected {expected!r}")
            stop(a)
            stop(b)
        finally:
            a.kill()
            b.kill()


def test_permissions():
    """On a node with openInteractions and openMetadata false: anonymous CREATE, REMOVE,
    AGGREGATE and METADATA are refused; an acknowledged key that signs the challenge gets all
    four; an unknown key, a bad signature and AUTH without HELLO are refused; an acknowledged
    node aggregates through it and an unacknowledged node is refused; openMetadata and
    openInteractions each open their part to anonymous clients."""
    with TempDir() as a_dir, TempDir() as b_dir, TempDir() as c_dir:
        client_key = Ed25519PrivateKey.generate()
        stranger_key = Ed25519PrivateKey.generate()
        b_key = new_key(b_dir)
        new_key(c_dir)
        nodes = f"{public_hex(client_key)}, {b_key}"
        a = start(a_dir, "--multiverse9.openInteractions=false",
                  "--multiverse9.openMetadata=false", f"--multiverse9.nodes={nodes}")
        b = c = None
        try:
            anonymous = Client(a.mv9)
            for opcode, payload in ((CREATE, b"x"), (REMOVE, b"01ARZ3NDEKTSV4RRFFQ69G5FAV"),
                                    (AGGREGATE, b"01ARZ3NDEKTSV4RRFFQ69G5FAV"), (METADATA, b"")):
                if "permission denied" not in error(anonymous.call(opcode, payload), 0x03):
                    raise Failure(f"anonymous opcode {opcode} was not refused")
            if "send HELLO first" not in error(anonymous.call(AUTH, b"k" * 96), 0x06):
                raise Failure("AUTH without HELLO")
            stranger = Client(a.mv9)
            if "not an acknowledged node" not in error(stranger.authenticate(stranger_key), 0x06):
                raise Failure("an unknown key was accepted")
            error(stranger.call(CREATE, b"x"), 0x03)
            forger = Client(a.mv9)
            status, payload = forger.call(HELLO)
            forged = bytes.fromhex(public_hex(client_key)) + stranger_key.sign(
                AUTH_CONTEXT + payload[:32] + payload[32:])
            if "signature" not in error(forger.call(AUTH, forged), 0x06):
                raise Failure("a bad signature was accepted")
            error(forger.call(METADATA), 0x03)
            friend = Client(a.mv9)
            ok(friend.authenticate(client_key))
            key = ok(friend.call(CREATE, b"for friends")).decode()
            if ok(friend.call(AGGREGATE, key.encode())) != f"{key}:for friends\x00".encode():
                raise Failure("acknowledged AGGREGATE")
            metadata = ok(friend.call(METADATA)).decode()
            if public_hex(client_key) not in metadata or b_key not in metadata:
                raise Failure(f"METADATA does not list the nodes: {metadata}")
            # Node to node: B is acknowledged by A, C is not.
            b = start(b_dir)
            c = start(c_dir)
            target = f"{key}@127.0.0.1:{a.mv9}"
            got = entries(ok(Client(b.mv9).call(AGGREGATE, target.encode())))
            if got != [(target.encode(), b"for friends")]:
                raise Failure(f"acknowledged node B: {got!r}\n{b.output()}")
            got = entries(ok(Client(c.mv9).call(AGGREGATE, target.encode())))
            if not (got[0][1].startswith(b"Error: node 127.0.0.1:") and
                    b"permission denied" in got[0][1]):
                raise Failure(f"unacknowledged node C: {got!r}")
            ok(friend.call(REMOVE, key.encode()))
            for node in (a, b, c):
                stop(node)
        finally:
            for node in (a, b, c):
                if node is not None:
                    node.kill()
    with TempDir() as d:
        node = start(d, "--multiverse9.openInteractions=false",
                     "--multiverse9.openMetadata=true")
        try:
            client = Client(node.mv9)
            if '"open_metadata":true' not in ok(client.call(METADATA)).decode():
                raise Failure("openMetadata=true: METADATA for anyone")
            error(client.call(CREATE, b"x"), 0x03)
            stop(node)
        finally:
            node.kill()


def test_remote_down_or_slow():
    """A remote node that is down gets "unreachable" and one that accepts but never answers
    gets "did not answer" after multiverse9.remoteTimeout; meanwhile other clients are
    served at once, and the node carries on."""
    with TempDir() as d:
        node = start(d, "--multiverse9.remoteTimeout=700ms")
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        down = socket.socket()
        down.bind(("127.0.0.1", 0))
        down_port = down.getsockname()[1]
        down.close()  # nothing listens there now
        try:
            key = ok(Client(node.mv9).call(CREATE, b"local")).decode()
            got = entries(ok(Client(node.mv9).call(
                AGGREGATE, f"{key}\x00{key}@127.0.0.1:{down_port}".encode())))
            if got[0][1] != b"local" or b"unreachable" not in got[1][1]:
                raise Failure(f"down node: {got!r}")
            slow = Client(node.mv9)
            started = time.monotonic()
            slow.send(AGGREGATE, f"{key}@127.0.0.1:{silent.getsockname()[1]}".encode())
            slow.send(AGGREGATE, key.encode())  # waits behind the slow one, in order
            other = Client(node.mv9)
            if ok(other.call(AGGREGATE, key.encode())) != f"{key}:local\x00".encode():
                raise Failure("another client was not served")
            if time.monotonic() - started > 0.5:
                raise Failure("another client waited for the slow node")
            got = entries(ok(slow.reply()))
            elapsed = time.monotonic() - started
            if b"did not answer within 700 ms" not in got[0][1] or not 0.6 < elapsed < 5:
                raise Failure(f"slow node: {got!r} after {elapsed:.2f}s")
            if ok(slow.reply()) != f"{key}:local\x00".encode():
                raise Failure("the request behind the slow one")
            stop(node)
        finally:
            silent.close()
            node.kill()


def test_node_key_is_kept():
    """The node key is made at first start with mode 0600 and the same key is used after a
    restart; a damaged key file stops the start."""
    with TempDir() as d:
        node = start(d)
        try:
            first = node.key
            stop(node)
        finally:
            node.kill()
        path = os.path.join(d, "node.key")
        if stat.S_IMODE(os.stat(path).st_mode) != 0o600:
            raise Failure(f"node.key mode {oct(os.stat(path).st_mode)}")
        node = start(d)
        try:
            if node.key != first:
                raise Failure("the key changed across a restart")
            stop(node)
        finally:
            node.kill()
        with open(path, "w") as f:
            f.write("not a key\n")
        node = Node([f"--data-dir={d}"])
        try:
            if node.wait_exit() == 0:
                raise Failure("started with a damaged key")
            node.wait_log("cannot read or create the node key")
        finally:
            node.kill()


def test_setup_and_threads():
    """`stoa setup --redis-uri=URI` prints a config that selects the Redis backend and names
    the node, which `stoa start --config` accepts; --threads is checked and shown."""
    code, out, err = run(["setup", "--redis-uri=redis://127.0.0.1:6390/2"])
    if code != 0:
        raise Failure(f"setup: {code} {err}")
    for part in ("backend: redis", "redisUri: \"redis://127.0.0.1:6390/2\"",
                 "name: \"multiverse9_"):
        if part not in out:
            raise Failure(f"setup output lacks {part!r}:\n{out}")
    with TempDir() as d:
        path = os.path.join(d, "settings.yaml")
        with open(path, "w") as f:
            f.write(out)
        code, checked, err = run(["start", "--config", path, "--threads", "8", "--check-config"])
        if code != 0 or "threads: 8" not in checked or "backend: redis" not in checked:
            raise Failure(f"start --config: {code} {err}\n{checked}")
    code, _, err = run(["start", "--threads", "0", "--check-config"])
    if code != 2 or "multiverse9.threads" not in err:
        raise Failure(f"--threads 0: {code} {err}")
    code, _, err = run(["setup", "--redis-uri=http://nope"])
    if code != 2:
        raise Failure(f"setup with a bad URI: {code} {err}")


if __name__ == "__main__":
    sys.exit(main([test_readme_netcat_examples, test_framed_requests_on_one_connection,
                   test_bad_input_gets_error_replies, test_two_nodes_aggregate_from_each_other,
                   test_two_open_nodes_aggregate_each_other, test_permissions,
                   test_remote_down_or_slow, test_node_key_is_kept, test_setup_and_threads]))
