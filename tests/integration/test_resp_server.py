#!/usr/bin/python3
"""Shows that a real stoa node serves blocking pops (at once, after a timeout, by a later push
from another client, in arrival order), the connection and server commands (PING, ECHO,
SELECT, HELLO 2/3, CLIENT, COMMAND, INFO, CONFIG, TIME, SAVE, BGSAVE, LASTSAVE, QUIT), AUTH
with a configured password, and Debian's redis-cli, one-shot and with --pipe."""
import os
import signal
import sys
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (RespClient, RespError, TempDir, encode, main, redis_cli,  # noqa: E402
                     start_resp, wait_for)

NODE = None  # one node for the whole file, started in __main__


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def equal(got, expected, what=""):
    if got != expected:
        raise AssertionError(f"{what}: expected {repr(expected)[:300]}, got {repr(got)[:300]}")


def client():
    """A redis-py client on an emptied keyspace."""
    r = redis.Redis(host="127.0.0.1", port=NODE.port, socket_timeout=20)
    r.flushall()
    return r


def blocked_count(r):
    return r.info("clients")["blocked_clients"]


def test_blocking_pop_served_at_once():
    """BLPOP, BRPOP and BLMOVE with data present answer at once, from the first non-empty key."""
    r = client()
    r.rpush("b", "1", "2", "3")
    equal(r.blpop(["empty", "b"], timeout=5), (b"b", b"1"), "BLPOP")
    equal(r.brpop(["empty", "b"], timeout=5), (b"b", b"3"), "BRPOP")
    equal(r.blmove("b", "dst", 5, "LEFT", "RIGHT"), b"2", "BLMOVE")
    equal(r.lrange("dst", 0, -1), [b"2"], "BLMOVE pushed")
    equal(r.exists("b"), 0, "the source is empty and gone")


def test_blocking_pop_timeout():
    """A blocking pop on empty keys answers nil after its timeout: not before it, and within a
    bound after it; BLPOP's nil is Redis's null array, BLMOVE's is Redis's null array too."""
    r = client()
    for timeout in (0.3, 1):
        start = time.monotonic()
        equal(r.blpop(["e1", "e2"], timeout=timeout), None, f"BLPOP {timeout}")
        took = time.monotonic() - start
        check(timeout - 0.05 <= took < timeout + 5, f"BLPOP {timeout} took {took:.3f}s")
    start = time.monotonic()
    equal(r.brpop(["e1"], timeout=0.2), None, "BRPOP timeout")
    equal(r.blmove("e1", "d", 0.2, "LEFT", "LEFT"), None, "BLMOVE timeout")
    check(time.monotonic() - start >= 0.35, "BRPOP and BLMOVE waited")
    equal(blocked_count(r), 0, "nobody is left blocked")
    c = RespClient(NODE.port)
    c.send(encode("BLPOP", "e1", "0.1"))
    c.expect(b"*-1\r\n")
    c.send(encode("BLMOVE", "e1", "d", "LEFT", "LEFT", "0.1"))
    c.expect(b"*-1\r\n")  # Redis 7.0's reply to a BLMOVE that timed out in RESP2
    c.close()


def test_blocking_pop_served_by_later_push():
    """A BLPOP parked in one client is answered by a push from another client, and the pushed
    element is consumed (the list stays empty)."""
    r = client()
    parked = RespClient(NODE.port)
    parked.send(encode("BLPOP", "q", "0"))
    wait_for(lambda: blocked_count(r) == 1, 20, "the BLPOP to park")
    check(not parked.pending(0.05), "a parked BLPOP has no reply yet")
    equal(r.rpush("q", "hello"), 1, "the push sees one element")
    equal(parked.read_reply(), [b"q", b"hello"], "the parked client gets the element")
    equal(r.llen("q"), 0, "the element was consumed")
    equal(blocked_count(r), 0, "unparked")
    parked.send(encode("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"))
    wait_for(lambda: blocked_count(r) == 1, 20, "the BLMOVE to park")
    r.lpush("src", "a", "b")
    equal(parked.read_reply(), b"a", "BLMOVE served by a later push")
    equal(r.lrange("dst", 0, -1), [b"a"], "BLMOVE moved it")
    equal(r.lrange("src", 0, -1), [b"b"], "the rest stays")
    equal(parked.call("PING"), "PONG", "the connection goes on after a served pop")
    parked.close()


def test_blocking_pops_served_in_arrival_order():
    """Two clients parked on the same key are served first come, first served, one element
    each, and a pop parked on several keys is served by whichever key gets data."""
    r = client()
    first = RespClient(NODE.port)
    second = RespClient(NODE.port)
    first.send(encode("BRPOP", "q", "0"))
    wait_for(lambda: blocked_count(r) == 1, 20, "the first pop to park")
    second.send(encode("BRPOP", "q", "0"))
    wait_for(lambda: blocked_count(r) == 2, 20, "the second pop to park")
    r.rpush("q", "one")
    equal(first.read_reply(), [b"q", b"one"], "the first parked is served first")
    check(not second.pending(0.05), "the second waits for more")
    r.rpush("q", "two")
    equal(second.read_reply(), [b"q", b"two"], "then the second")
    first.send(encode("BLPOP", "x", "y", "z", "0"))
    wait_for(lambda: blocked_count(r) == 1, 20, "the multi-key pop to park")
    r.rpush("z", "zz")
    equal(first.read_reply(), [b"z", b"zz"], "served by the key that got data")
    first.close()
    second.close()


def test_blocked_client_closed():
    """A parked client that disconnects is forgotten: a later push stays in the list."""
    r = client()
    parked = RespClient(NODE.port)
    parked.send(encode("BLPOP", "q", "0"))
    wait_for(lambda: blocked_count(r) == 1, 20, "the pop to park")
    parked.close()
    wait_for(lambda: blocked_count(r) == 0, 20, "the closed client to be unparked")
    r.rpush("q", "kept")
    equal(r.lrange("q", 0, -1), [b"kept"], "nobody took the element")


def test_parked_pop_waits_through_other_types():
    """A parked BLPOP stays parked when a key it waits on is set to a string (as in Redis 7,
    which answers WRONGTYPE only when the key has the wrong type at the call), and is served
    once that key holds a list again, or when another of its keys gets data."""
    r = client()
    parked = RespClient(NODE.port)
    parked.send(encode("BLPOP", "s", "0"))
    wait_for(lambda: blocked_count(r) == 1, 20, "the pop to park")
    equal(r.set("s", "a string"), True, "SET of a watched key")
    check(not parked.pending(0.2), "no reply while the key holds a string")
    r.delete("s")
    r.rpush("s", "z")
    equal(parked.read_reply(), [b"s", b"z"], "served once the key is a list")
    parked.send(encode("BLPOP", "t", "other", "0"))
    wait_for(lambda: blocked_count(r) == 1, 20, "the two-key pop to park")
    r.set("t", "a string")
    r.rpush("other", "o")
    equal(parked.read_reply(), [b"other", b"o"], "served by the other key")
    parked.send(encode("BLPOP", "t", "0"))
    equal(parked.read_reply(),
          RespError("WRONGTYPE Operation against a key holding the wrong kind of value"),
          "a BLPOP on a string at the call is WRONGTYPE at once")
    parked.close()


def test_ping_echo_select_quit():
    """PING, ECHO, SELECT 0 and 1, and QUIT (which answers +OK, then closes)."""
    c = RespClient(NODE.port)
    equal(c.call("PING"), "PONG", "PING")
    equal(c.call("PING", "hi"), b"hi", "PING with a message")
    equal(c.call("ECHO", b"\x00x\xff"), b"\x00x\xff", "ECHO")
    equal(c.call("SELECT", "0"), "OK", "SELECT 0")
    equal(c.call("SELECT", "1"), RespError("ERR DB index is out of range"), "SELECT 1 (one db)")
    c.send(encode("QUIT"))
    equal(c.wait_closed(), b"+OK\r\n", "QUIT answers then closes")
    c.close()
    c = RespClient(NODE.port)
    c.send(b"PING\r\nECHO inline\r\n")
    c.expect(b"+PONG\r\n$6\r\ninline\r\n")
    c.close()


def test_hello():
    """HELLO 3 switches to RESP3 (a map reply; nulls are '_'), HELLO 2 back to RESP2, and an
    unknown version is NOPROTO."""
    c = RespClient(NODE.port)
    c.call("FLUSHALL")
    c.send(encode("HELLO", "3"))
    c.expect(b"%7\r\n$6\r\nserver\r\n$4\r\nstoa\r\n")
    hello = {b"server": b"stoa"}
    for _ in range(6):
        key = c.read_reply()
        hello[key] = c.read_reply()
    equal(hello[b"proto"], 3, "proto 3")
    equal(hello[b"version"], b"7.0.0", "the Redis version followed")
    equal(hello[b"mode"], b"standalone", "mode")
    check(isinstance(hello[b"id"], int), "an id")
    c.send(encode("GET", "nokey"))
    c.expect(b"_\r\n")
    c.send(encode("LPOP", "nokey", "2"))
    c.expect(b"_\r\n")
    c.send(encode("CONFIG", "GET", "maxmemory"))
    c.expect(b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n")
    c.send(encode("BLPOP", "nokey", "0.05"))
    c.expect(b"_\r\n")
    equal(c.call("SET", "k", "v"), "OK", "SET in RESP3")
    equal(c.call("GET", "k"), b"v", "GET in RESP3")
    equal(c.call("HELLO", "2")[:2], [b"server", b"stoa"], "HELLO 2 answers with an array")
    c.send(encode("GET", "nokey"))
    c.expect(b"$-1\r\n")
    equal(c.call("HELLO", "4"), RespError("NOPROTO unsupported protocol version"), "HELLO 4")
    equal(c.call("HELLO", "abc"),
          RespError("ERR Protocol version is not an integer or out of range"), "HELLO abc")
    c.close()


def test_client_commands():
    """CLIENT SETNAME, GETNAME, ID, LIST and KILL, between two connections."""
    r = client()
    other = RespClient(NODE.port)
    other_id = other.call("CLIENT", "ID")
    check(isinstance(other_id, int) and other_id > 0, f"CLIENT ID {other_id!r}")
    equal(other.call("CLIENT", "GETNAME"), None, "no name at first")
    equal(other.call("CLIENT", "SETNAME", "worker-1"), "OK", "CLIENT SETNAME")
    equal(other.call("CLIENT", "GETNAME"), b"worker-1", "CLIENT GETNAME")
    equal(other.call("CLIENT", "SETNAME", "a b"),
          RespError("ERR Client names cannot contain spaces, newlines or special characters."),
          "a name with a space")
    my_id = r.client_id()
    check(my_id != other_id, "ids differ")
    listing = r.client_list()
    by_id = {int(entry["id"]): entry for entry in listing}
    check(my_id in by_id and other_id in by_id, f"CLIENT LIST shows both: {listing}")
    equal(by_id[other_id]["name"], "worker-1", "CLIENT LIST shows the name")
    equal(by_id[my_id]["cmd"], "client|list", "CLIENT LIST shows the last command")
    equal(r.execute_command("CLIENT", "KILL", "ID", "999999"), 0, "CLIENT KILL of nobody")
    equal(r.client_kill_filter(_id=other_id), 1, "CLIENT KILL ID")
    other.wait_closed()
    other.close()
    wait_for(lambda: other_id not in {int(e["id"]) for e in r.client_list()}, 20,
             "the killed client to leave CLIENT LIST")
    third = RespClient(NODE.port)
    third.call("PING")
    addr = next(e["addr"] for e in r.client_list() if e["id"] != str(my_id))
    equal(r.client_kill(addr), True, "CLIENT KILL addr (the old form)")
    third.wait_closed()
    third.close()


def test_command_and_info():
    """COMMAND COUNT, INFO and DOCS describe the table; INFO has its sections and counts."""
    r = client()
    c = RespClient(NODE.port)
    count = c.call("COMMAND", "COUNT")
    check(isinstance(count, int) and count >= 60, f"COMMAND COUNT {count!r}")
    info = c.call("COMMAND", "INFO", "get", "lpush", "nosuch")
    equal(info[0][:2], [b"get", 2], "COMMAND INFO get: name and arity")
    check("readonly" in info[0][2], f"get is readonly: {info[0][2]}")
    equal(info[0][3:6], [1, 1, 1], "get's key positions")
    equal(info[1][:2], [b"lpush", -3], "COMMAND INFO lpush")
    check("write" in info[1][2], "lpush writes")
    equal(info[2], None, "an unknown command has a nil entry")
    docs = c.call("COMMAND", "DOCS", "set")
    check(docs[0] == b"set" and isinstance(docs[1], list) and b"summary" in docs[1],
          f"COMMAND DOCS set: {docs!r}")
    c.close()
    r.set("a", "1", ex=100)
    r.set("b", "2")
    everything = r.info("everything")
    for field in ("redis_version", "uptime_in_seconds", "connected_clients", "used_memory",
                  "rdb_last_save_time", "total_commands_processed", "role"):
        check(field in everything, f"INFO has {field}")
    keyspace = r.info("keyspace")
    equal((keyspace["db0"]["keys"], keyspace["db0"]["expires"]), (2, 1), "INFO keyspace")
    clients = r.info("clients")
    check(clients["connected_clients"] >= 1, "INFO clients")
    check("used_memory" not in clients, "INFO clients has only its section")
    before = r.info("stats")["total_commands_processed"]
    r.ping()
    check(r.info("stats")["total_commands_processed"] >= before + 2, "commands are counted")


def test_config_time_persistence():
    """CONFIG GET/SET maxmemory and timeout, TIME, DBSIZE, LASTSAVE, SAVE and BGSAVE."""
    r = client()
    equal(r.config_set("maxmemory", "100mb"), True, "CONFIG SET maxmemory 100mb")
    equal(r.config_get("maxmemory"), {"maxmemory": str(100 * 1024 * 1024)}, "CONFIG GET")
    equal(r.config_set("maxmemory", "0"), True, "CONFIG SET maxmemory 0")
    equal(r.config_set("timeout", "300"), True, "CONFIG SET timeout")
    equal(r.config_get("timeout"), {"timeout": "300"}, "CONFIG GET timeout")
    equal(r.config_set("timeout", "0"), True, "CONFIG SET timeout 0")
    check({"maxmemory", "timeout", "maxclients"} <= set(r.config_get("*")), "CONFIG GET *")
    c = RespClient(NODE.port)
    equal(c.call("CONFIG", "SET", "nosuch", "1"),
          RespError("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
          "CONFIG SET of an unknown parameter")
    equal(c.call("CONFIG", "GET", "nosuch"), [], "CONFIG GET of an unknown parameter")
    c.close()
    seconds, micros = r.time()
    check(abs(seconds + micros / 1e6 - time.time()) < 5, f"TIME {seconds}.{micros}")
    check(0 <= micros < 1000000, "TIME's microseconds")
    # Microsecond resolution: among five readings, one not on a whole millisecond (the
    # chance that all five are is 1e-15).
    check(any(r.time()[1] % 1000 != 0 for _ in range(5)), "TIME has microsecond resolution")
    r.mset({"a": "1", "b": "2"})
    equal(r.dbsize(), 2, "DBSIZE")
    before = r.lastsave().timestamp()
    check(abs(before - time.time()) < 3600, f"LASTSAVE {before}")
    equal(r.save(), True, "SAVE")
    after = r.lastsave().timestamp()
    check(after >= before and abs(after - time.time()) < 5, f"LASTSAVE after SAVE: {after}")
    equal(r.bgsave(), True, "BGSAVE")
    wait_for(lambda: r.info("persistence")["rdb_bgsave_in_progress"] == 0, 20,
             "the background save to finish")
    equal(r.mget("a", "b"), [b"1", b"2"], "the data is still there")


def test_auth():
    """A node with resp.password answers NOAUTH before AUTH, WRONGPASS to a wrong password,
    and OK to the right one; redis-py and redis-cli authenticate with it."""
    with TempDir() as data:
        node = start_resp(data, ["--resp.password=s3cret pass"])
        try:
            c = RespClient(node.port)
            equal(c.call("GET", "k"), RespError("NOAUTH Authentication required."), "NOAUTH")
            equal(c.call("SET", "k", "v"), RespError("NOAUTH Authentication required."),
                  "NOAUTH for a write")
            equal(c.call("PING"), RespError("NOAUTH Authentication required."), "NOAUTH PING")
            wrong = RespError("WRONGPASS invalid username-password pair or user is disabled.")
            equal(c.call("AUTH", "nope"), wrong, "WRONGPASS")
            equal(c.call("AUTH", "other", "s3cret pass"), wrong, "WRONGPASS for another user")
            equal(c.call("GET", "k"), RespError("NOAUTH Authentication required."),
                  "still NOAUTH after a wrong AUTH")
            equal(c.call("AUTH", "s3cret pass"), "OK", "AUTH")
            equal(c.call("SET", "k", "v"), "OK", "a write after AUTH")
            equal(c.call("RESET"), "RESET", "RESET")
            equal(c.call("GET", "k"), RespError("NOAUTH Authentication required."),
                  "RESET forgets the authentication")
            equal(c.call("AUTH", "default", "s3cret pass"), "OK", "AUTH default <password>")
            c.close()
            c = RespClient(node.port)
            c.send(encode("HELLO", "3", "AUTH", "default", "s3cret pass"))
            check(isinstance(c.read_reply(), dict), "HELLO 3 AUTH answers with a map")
            equal(c.call("GET", "k"), b"v", "authenticated by HELLO")
            c.close()
            c = RespClient(node.port)
            c.send(b"*11\r\n")
            equal(c.wait_closed(), b"-ERR Protocol error: unauthenticated multibulk length\r\n",
                  "a big request before AUTH")
            c.close()
            bad = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=20, password="wrong")
            try:
                bad.ping()
                raise AssertionError("redis-py with a wrong password was let in")
            except redis.ResponseError as error:  # redis-py 4.3 has no class for WRONGPASS
                check(str(error).startswith("WRONGPASS"), f"redis-py's error: {error}")
            good = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=20, password="s3cret pass")
            equal(good.get("k"), b"v", "redis-py with the password")
            code, out, err = redis_cli(node.port, ["GET", "k"])
            equal(out, b"NOAUTH Authentication required.\n\n", f"redis-cli without -a ({err})")
            code, out, err = redis_cli(node.port, ["-a", "s3cret pass", "--no-auth-warning",
                                                   "GET", "k"])
            equal((code, out), (0, b"v\n"), f"redis-cli -a ({err})")
            node.signal(signal.SIGTERM)
            equal(node.wait_exit(), 0, f"clean exit\n{node.output()[-2000:]}")
        finally:
            node.kill()


def test_redis_cli_one_shot():
    """redis-cli one-shot commands print Redis's plain output for each reply type."""
    client()
    port = NODE.port

    def cli(*args):
        code, out, err = redis_cli(port, args)
        equal(code, 0, f"redis-cli {args} exit code ({err})")
        return out
    equal(cli("PING"), b"PONG\n", "PING")
    equal(cli("SET", "k", "hello world"), b"OK\n", "SET")
    equal(cli("GET", "k"), b"hello world\n", "GET")
    equal(cli("GET", "nokey"), b"\n", "GET of a missing key (raw output)")
    equal(cli("--no-raw", "GET", "nokey"), b"(nil)\n", "GET of a missing key (--no-raw)")
    equal(cli("INCR", "n"), b"1\n", "INCR")
    equal(cli("--no-raw", "INCRBY", "n", "41"), b"(integer) 42\n", "INCRBY (--no-raw)")
    equal(cli("RPUSH", "l", "a", "b", "c"), b"3\n", "RPUSH")
    equal(cli("LRANGE", "l", "0", "-1"), b"a\nb\nc\n", "LRANGE")
    equal(cli("--no-raw", "LRANGE", "l", "0", "-1"), b'1) "a"\n2) "b"\n3) "c"\n',
          "LRANGE (--no-raw)")
    equal(cli("INCR", "k"), b"ERR value is not an integer or out of range\n\n", "an error")
    equal(cli("--no-raw", "GET", "l"),
          b"(error) WRONGTYPE Operation against a key holding the wrong kind of value\n",
          "WRONGTYPE (--no-raw)")
    equal(cli("DBSIZE"), b"3\n", "DBSIZE")
    equal(cli("-3", "GET", "nokey"), b"\n", "GET over RESP3")
    code, out, _ = redis_cli(port, [], stdin=b"SET a 1\nGET a\nLPUSH a x\n")
    equal(out, b"OK\n1\nWRONGTYPE Operation against a key holding the wrong kind of value\n\n",
          "commands on standard input")


def test_redis_cli_pipe():
    """redis-cli --pipe sends 10,000 generated requests (with binary values) and reports
    10,000 replies and no errors; the data is all there."""
    r = client()
    requests = []
    for i in range(10000):
        requests.append(encode("SET", f"pipe:{i}", b"v\x00\r\n%d" % i))
    requests.append(encode("RPUSH", "pipelist", *[str(i) for i in range(100)]))
    requests.append(encode("INCR", "pipe:0"))  # an error reply: counted, not fatal
    code, out, err = redis_cli(NODE.port, ["--pipe"], stdin=b"".join(requests))
    text = out.decode(errors="replace")
    check("errors: 1, replies: 10002" in text, f"redis-cli --pipe summary: {text} {err!r}")
    equal(code, 1, "redis-cli --pipe exits 1 when a reply was an error")
    equal(r.dbsize(), 10001, "every key was set")
    equal(r.get("pipe:9999"), b"v\x00\r\n9999", "binary values through --pipe")
    equal(r.llen("pipelist"), 100, "the RPUSH")


def test_stops_cleanly():
    """The node stops on SIGTERM with exit code 0 (so the sanitizers found nothing)."""
    NODE.signal(signal.SIGTERM)
    equal(NODE.wait_exit(), 0, f"exit code\n{NODE.output()[-3000:]}")


if __name__ == "__main__":
    with TempDir() as data:
        NODE = start_resp(data)
        try:
            code = main([test_blocking_pop_served_at_once, test_blocking_pop_timeout,
                         test_blocking_pop_served_by_later_push,
                         test_blocking_pops_served_in_arrival_order, test_blocked_client_closed,
                         test_parked_pop_waits_through_other_types,
                         test_ping_echo_select_quit, test_hello, test_client_commands,
                         test_command_and_info, test_config_time_persistence, test_auth,
                         test_redis_cli_one_shot, test_redis_cli_pipe, test_stops_cleanly])
        finally:
            NODE.kill()
    sys.exit(code)
