#!/usr/bin/python3
"""Shows that a real stoa node answers Debian's python3-redis client as Redis 7 would: strings,
counters, deques, keys, expiry, binary-safe keys and values up to 1 MiB, a pipeline of 10,000
commands, and every class of error reply with Redis's exact text."""
import os
import signal
import sys
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RespClient, RespError, TempDir, main, start_resp, wait_for  # noqa: E402

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


def raw():
    return RespClient(NODE.port)


def test_set_options():
    """SET with EX, PX, EXAT, PXAT, NX, XX, KEEPTTL and GET sets, keeps and reports as Redis."""
    r = client()
    equal(r.set("k", "v"), True, "SET")
    equal(r.get("k"), b"v", "GET")
    equal(r.set("k", "w", nx=True), None, "SET NX on an existing key")
    equal(r.set("k2", "w", xx=True), None, "SET XX on a missing key")
    equal(r.exists("k2"), 0, "SET XX did not create")
    equal(r.set("k", "w", xx=True), True, "SET XX on an existing key")
    equal(r.set("k", "x", get=True), b"w", "SET GET returns the old value")
    equal(r.set("nokey", "x", get=True), None, "SET GET on a missing key")
    r.set("k", "v", ex=100)
    check(95 <= r.ttl("k") <= 100, f"EX 100 gives TTL {r.ttl('k')}")
    r.set("k", "v", px=100000)
    check(95000 <= r.pttl("k") <= 100000, f"PX gives PTTL {r.pttl('k')}")
    r.set("k", "v2", keepttl=True)
    check(95000 <= r.pttl("k") <= 100000, "KEEPTTL keeps the expiry")
    equal(r.get("k"), b"v2", "KEEPTTL still writes")
    r.set("k", "v3")
    equal(r.ttl("k"), -1, "a plain SET drops the expiry")
    now = int(time.time())
    r.set("k", "v", exat=now + 1000)
    check(990 <= r.ttl("k") <= 1000, f"EXAT: TTL {r.ttl('k')}")
    r.set("k", "v", pxat=(now + 2000) * 1000)
    check(1990 <= r.ttl("k") <= 2000, f"PXAT: TTL {r.ttl('k')}")
    r.set("k", "v", exat=1)
    equal(r.get("k"), None, "EXAT in the past expires at once")
    equal(r.setnx("k", "a"), True, "SETNX on a missing key")
    equal(r.setnx("k", "b"), False, "SETNX on an existing key")
    r.setex("se", 100, "v")
    check(95 <= r.ttl("se") <= 100, "SETEX")
    r.psetex("pse", 100000, "v")
    check(95000 <= r.pttl("pse") <= 100000, "PSETEX")


def test_string_commands():
    """GETSET, GETDEL, GETEX, MGET/MSET/MSETNX, APPEND, STRLEN, GETRANGE, SETRANGE."""
    r = client()
    equal(r.getset("k", "a"), None, "GETSET on a missing key")
    equal(r.getset("k", "b"), b"a", "GETSET returns the old value")
    equal(r.getdel("k"), b"b", "GETDEL")
    equal(r.getdel("k"), None, "GETDEL on a missing key")
    r.set("k", "v")
    equal(r.getex("k", ex=100), b"v", "GETEX EX")
    check(95 <= r.ttl("k") <= 100, "GETEX EX sets the expiry")
    equal(r.getex("k", persist=True), b"v", "GETEX PERSIST")
    equal(r.ttl("k"), -1, "GETEX PERSIST drops the expiry")
    equal(r.getex("k", px=50000), b"v", "GETEX PX")
    check(45000 <= r.pttl("k") <= 50000, "GETEX PX sets the expiry")
    equal(r.getex("nokey"), None, "GETEX on a missing key")
    equal(r.mset({"a": "1", "b": "2", "c": "3"}), True, "MSET")
    equal(r.mget("a", "b", "nokey", "c"), [b"1", b"2", None, b"3"], "MGET")
    equal(r.msetnx({"a": "9", "d": "4"}), False, "MSETNX with one key existing")
    equal(r.exists("d"), 0, "MSETNX set nothing")
    equal(r.msetnx({"d": "4", "e": "5"}), True, "MSETNX with no key existing")
    equal(r.mget("d", "e"), [b"4", b"5"], "MSETNX set all")
    equal(r.append("s", "Hello"), 5, "APPEND creates")
    equal(r.append("s", " World"), 11, "APPEND extends")
    equal(r.strlen("s"), 11, "STRLEN")
    equal(r.strlen("nokey"), 0, "STRLEN of a missing key")
    equal(r.getrange("s", 0, 4), b"Hello", "GETRANGE")
    equal(r.getrange("s", -5, -1), b"World", "GETRANGE with negative indexes")
    equal(r.getrange("s", 5, 2), b"", "GETRANGE with start after end")
    equal(r.getrange("s", 0, 1000), b"Hello World", "GETRANGE past the end")
    equal(r.setrange("s", 6, "Redis"), 11, "SETRANGE")
    equal(r.get("s"), b"Hello Redis", "SETRANGE overwrote")
    equal(r.setrange("s", 13, "!"), 14, "SETRANGE past the end")
    equal(r.get("s"), b"Hello Redis\x00\x00!", "SETRANGE pads with zero bytes")
    equal(r.setrange("z", 2, "ab"), 4, "SETRANGE on a missing key")
    equal(r.get("z"), b"\x00\x00ab", "SETRANGE on a missing key pads")
    equal(r.setrange("empty", 0, ""), 0, "SETRANGE of nothing on a missing key")
    equal(r.exists("empty"), 0, "SETRANGE of nothing creates no key")


def test_counters():
    """INCR, INCRBY, DECR, DECRBY and INCRBYFLOAT count, and refuse overflow and non-numbers."""
    r = client()
    equal(r.incr("c"), 1, "INCR creates at 0")
    equal(r.incrby("c", 10), 11, "INCRBY")
    equal(r.decr("c"), 10, "DECR")
    equal(r.decrby("c", 15), -5, "DECRBY")
    equal(r.get("c"), b"-5", "counters are strings")
    equal(r.incrbyfloat("f", 1.5), 1.5, "INCRBYFLOAT creates")
    equal(r.incrbyfloat("f", -0.25), 1.25, "INCRBYFLOAT")
    equal(r.get("f"), b"1.25", "INCRBYFLOAT stores the text")
    r.set("f", "5.0e3")
    equal(r.incrbyfloat("f", 200), 5200.0, "INCRBYFLOAT reads an exponent")
    equal(r.get("f"), b"5200", "INCRBYFLOAT writes no trailing zeros")
    c = raw()
    c.call("SET", "max", "9223372036854775807")
    equal(c.call("INCR", "max"), RespError("ERR increment or decrement would overflow"),
          "INCR past INT64_MAX")
    c.call("SET", "min", "-9223372036854775808")
    equal(c.call("DECR", "min"), RespError("ERR increment or decrement would overflow"),
          "DECR past INT64_MIN")
    equal(c.call("DECRBY", "c", "-9223372036854775808"), RespError("ERR decrement would overflow"),
          "DECRBY of INT64_MIN")
    equal(c.call("GET", "max"), b"9223372036854775807", "a refused INCR changes nothing")
    c.call("SET", "s", "abc")
    equal(c.call("INCR", "s"), RespError("ERR value is not an integer or out of range"),
          "INCR of a non-integer")
    equal(c.call("INCRBY", "c", "1.5"), RespError("ERR value is not an integer or out of range"),
          "INCRBY by a non-integer")
    c.call("SET", "sp", " 1")
    equal(c.call("INCR", "sp"), RespError("ERR value is not an integer or out of range"),
          "INCR of an integer with a space")
    equal(c.call("INCRBYFLOAT", "s", "1"), RespError("ERR value is not a valid float"),
          "INCRBYFLOAT of a non-number")
    equal(c.call("INCRBYFLOAT", "f", "inf"),
          RespError("ERR increment would produce NaN or Infinity"), "INCRBYFLOAT by inf")
    c.close()


def test_deque_push_pop():
    """LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP and RPOP (with a count), LLEN and LRANGE."""
    r = client()
    equal(r.rpush("l", "a", "b", "c"), 3, "RPUSH")
    equal(r.lpush("l", "z", "y"), 5, "LPUSH")
    equal(r.lrange("l", 0, -1), [b"y", b"z", b"a", b"b", b"c"], "LRANGE")
    equal(r.lpushx("nol", "a"), 0, "LPUSHX on a missing key")
    equal(r.rpushx("nol", "a"), 0, "RPUSHX on a missing key")
    equal(r.exists("nol"), 0, "PUSHX created nothing")
    equal(r.lpushx("l", "x"), 6, "LPUSHX")
    equal(r.rpushx("l", "w"), 7, "RPUSHX")
    equal(r.llen("l"), 7, "LLEN")
    equal(r.llen("nol"), 0, "LLEN of a missing key")
    equal(r.lpop("l"), b"x", "LPOP")
    equal(r.rpop("l"), b"w", "RPOP")
    equal(r.lpop("l", 2), [b"y", b"z"], "LPOP with a count")
    equal(r.rpop("l", 2), [b"c", b"b"], "RPOP with a count")
    equal(r.lpop("nol"), None, "LPOP of a missing key")
    equal(r.lpop("nol", 2), None, "LPOP with a count of a missing key")
    equal(r.rpop("l", 100), [b"a"], "RPOP with a count past the length")
    equal(r.exists("l"), 0, "an emptied list is deleted")
    equal(r.lrange("nol", 0, -1), [], "LRANGE of a missing key")
    r.rpush("l", *"abcdef")
    equal(r.lrange("l", -100, 100), [bytes([c]) for c in b"abcdef"], "LRANGE clamps")
    equal(r.lrange("l", 4, 1), [], "LRANGE with start after stop")
    equal(r.lrange("l", -2, -1), [b"e", b"f"], "LRANGE with negative indexes")


def test_deque_edit():
    """LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS and LMOVE."""
    r = client()
    r.rpush("l", *"abcdef")
    equal(r.lindex("l", 0), b"a", "LINDEX 0")
    equal(r.lindex("l", -1), b"f", "LINDEX -1")
    equal(r.lindex("l", 100), None, "LINDEX past the end")
    equal(r.lset("l", 0, "A"), True, "LSET")
    equal(r.linsert("l", "BEFORE", "c", "X"), 7, "LINSERT BEFORE")
    equal(r.linsert("l", "AFTER", "c", "Y"), 8, "LINSERT AFTER")
    equal(r.linsert("l", "AFTER", "nope", "Y"), -1, "LINSERT with no pivot")
    equal(r.linsert("nol", "AFTER", "a", "Y"), 0, "LINSERT on a missing key")
    equal(r.lrange("l", 0, -1), [b"A", b"b", b"X", b"c", b"Y", b"d", b"e", b"f"], "after edits")
    r.rpush("r", "a", "b", "a", "c", "a")
    equal(r.lrem("r", 1, "a"), 1, "LREM 1")
    equal(r.lrange("r", 0, -1), [b"b", b"a", b"c", b"a"], "LREM removed the first")
    equal(r.lrem("r", -1, "a"), 1, "LREM -1")
    equal(r.lrange("r", 0, -1), [b"b", b"a", b"c"], "LREM -1 removed the last")
    equal(r.lrem("r", 0, "a"), 1, "LREM 0")
    equal(r.lrem("nol", 0, "a"), 0, "LREM on a missing key")
    r.rpush("t", *"123456")
    equal(r.ltrim("t", 1, -2), True, "LTRIM")
    equal(r.lrange("t", 0, -1), [b"2", b"3", b"4", b"5"], "LTRIM kept the middle")
    r.ltrim("t", 5, 1)
    equal(r.exists("t"), 0, "LTRIM to nothing deletes the key")
    r.rpush("p", "a", "b", "c", "1", "2", "3", "c", "c")
    equal(r.lpos("p", "c"), 2, "LPOS")
    equal(r.lpos("p", "c", rank=2), 6, "LPOS RANK 2")
    equal(r.lpos("p", "c", rank=-1), 7, "LPOS RANK -1")
    equal(r.lpos("p", "c", count=2), [2, 6], "LPOS COUNT 2")
    equal(r.lpos("p", "c", count=0), [2, 6, 7], "LPOS COUNT 0")
    equal(r.lpos("p", "c", maxlen=3), 2, "LPOS MAXLEN 3 finds the one in range")
    equal(r.lpos("p", "c", rank=2, maxlen=3), None, "LPOS MAXLEN stops the scan")
    equal(r.lpos("p", "zz"), None, "LPOS of a missing element")
    r.rpush("m1", "a", "b", "c")
    equal(r.lmove("m1", "m2", "LEFT", "RIGHT"), b"a", "LMOVE LEFT RIGHT")
    equal(r.lmove("m1", "m2", "RIGHT", "LEFT"), b"c", "LMOVE RIGHT LEFT")
    equal(r.lrange("m1", 0, -1), [b"b"], "LMOVE source")
    equal(r.lrange("m2", 0, -1), [b"c", b"a"], "LMOVE destination")
    r.rpush("m1", "x")
    equal(r.lmove("m1", "m1", "LEFT", "RIGHT"), b"b", "LMOVE rotates a list onto itself")
    equal(r.lrange("m1", 0, -1), [b"x", b"b"], "rotated")
    equal(r.lmove("nol", "m2", "LEFT", "RIGHT"), None, "LMOVE from a missing key")
    equal(r.lmove("m1", "m1", "LEFT", "LEFT"), b"x", "LMOVE LEFT LEFT onto itself")
    equal(r.lrange("m1", 0, -1), [b"x", b"b"], "unchanged")


def test_keys():
    """DEL, UNLINK, EXISTS, TYPE, RENAME, RENAMENX, KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB,
    FLUSHALL."""
    r = client()
    r.mset({"a": "1", "b": "2", "c": "3"})
    r.rpush("l", "x")
    equal(r.delete("a", "b", "nokey"), 2, "DEL counts what it removed")
    equal(r.exists("a", "c", "c", "nokey"), 2, "EXISTS counts repeats")
    equal(r.unlink("c"), 1, "UNLINK")
    equal(r.type("l"), b"list", "TYPE list")
    r.set("s", "v")
    equal(r.type("s"), b"string", "TYPE string")
    equal(r.type("nokey"), b"none", "TYPE of a missing key")
    r.set("ttl", "v", ex=100)
    equal(r.rename("ttl", "moved"), True, "RENAME")
    equal(r.get("moved"), b"v", "RENAME moved the value")
    check(95 <= r.ttl("moved") <= 100, "RENAME keeps the expiry")
    equal(r.exists("ttl"), 0, "RENAME removed the source")
    equal(r.renamenx("moved", "l"), False, "RENAMENX onto an existing key")
    equal(r.renamenx("moved", "fresh"), True, "RENAMENX onto a missing key")
    equal(r.rename("fresh", "fresh"), True, "RENAME onto itself")
    c = raw()
    equal(c.call("RENAME", "nokey", "x"), RespError("ERR no such key"), "RENAME a missing key")
    c.close()
    r.flushall()
    names = {f"user:{i}" for i in range(300)} | {"other", "hello", "hallo", "hxllo", "heeello"}
    r.mset({name: "x" for name in names})
    equal(r.dbsize(), len(names), "DBSIZE")
    equal(set(r.keys("user:*")), {n.encode() for n in names if n.startswith("user:")}, "KEYS")
    equal(set(r.keys("h?llo")), {b"hello", b"hallo", b"hxllo"}, "KEYS with ?")
    equal(set(r.keys("h[ae]llo")), {b"hello", b"hallo"}, "KEYS with a class")
    equal(set(r.keys("h*llo")), {b"hello", b"hallo", b"hxllo", b"heeello"}, "KEYS with *")
    seen = set()
    cursor, rounds = 0, 0
    while True:
        cursor, batch = r.scan(cursor, count=17)
        seen.update(batch)
        rounds += 1
        check(rounds < 10000, "SCAN ends")
        if cursor == 0:
            break
    equal(seen, {n.encode() for n in names}, "SCAN visits every key")
    equal(set(r.scan_iter(match="user:1?")), {f"user:1{i}".encode() for i in range(10)},
          "SCAN MATCH")
    r.rpush("alist", "x")
    equal(list(r.scan_iter(_type="list")), [b"alist"], "SCAN TYPE")
    check(r.randomkey().decode() in names | {"alist"}, "RANDOMKEY returns a key")
    equal(r.flushdb(), True, "FLUSHDB")
    equal(r.dbsize(), 0, "FLUSHDB emptied")
    equal(r.randomkey(), None, "RANDOMKEY of an empty keyspace")
    r.set("a", "1")
    equal(r.flushall(asynchronous=True), True, "FLUSHALL ASYNC")
    equal(r.dbsize(), 0, "FLUSHALL emptied")


def test_expiry():
    """EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT, TTL, PTTL, EXPIRETIME,
    PEXPIRETIME and PERSIST."""
    r = client()
    equal(r.expire("nokey", 10), False, "EXPIRE of a missing key")
    equal(r.ttl("nokey"), -2, "TTL of a missing key")
    equal(r.pttl("nokey"), -2, "PTTL of a missing key")
    equal(r.execute_command("EXPIRETIME", "nokey"), -2, "EXPIRETIME of a missing key")
    r.set("k", "v")
    equal(r.ttl("k"), -1, "TTL without expiry")
    equal(r.execute_command("EXPIRETIME", "k"), -1, "EXPIRETIME without expiry")
    equal(r.expire("k", 100, xx=True), False, "EXPIRE XX without an expiry")
    equal(r.expire("k", 100, gt=True), False, "EXPIRE GT without an expiry (no ttl is infinite)")
    equal(r.expire("k", 100, lt=True), True, "EXPIRE LT without an expiry")
    equal(r.expire("k", 50, nx=True), False, "EXPIRE NX with an expiry")
    equal(r.expire("k", 50, xx=True), True, "EXPIRE XX with an expiry")
    check(45 <= r.ttl("k") <= 50, "XX set it")
    equal(r.expire("k", 10, gt=True), False, "EXPIRE GT with a smaller time")
    equal(r.expire("k", 200, gt=True), True, "EXPIRE GT with a larger time")
    equal(r.expire("k", 300, lt=True), False, "EXPIRE LT with a larger time")
    equal(r.expire("k", 10, lt=True), True, "EXPIRE LT with a smaller time")
    check(5 <= r.ttl("k") <= 10, "LT set it")
    equal(r.persist("k"), True, "PERSIST")
    equal(r.persist("k"), False, "PERSIST without an expiry")
    equal(r.expire("k", 10, nx=True), True, "EXPIRE NX without an expiry")
    equal(r.pexpire("k", 100000), True, "PEXPIRE")
    check(95000 <= r.pttl("k") <= 100000, "PTTL")
    equal(r.expireat("k", 99999999999), True, "EXPIREAT")
    equal(r.execute_command("EXPIRETIME", "k"), 99999999999, "EXPIRETIME")
    equal(r.execute_command("PEXPIRETIME", "k"), 99999999999000, "PEXPIRETIME")
    equal(r.pexpireat("k", 99999999999123), True, "PEXPIREAT")
    equal(r.execute_command("PEXPIRETIME", "k"), 99999999999123, "PEXPIREAT is exact to the ms")
    equal(r.expire("k", -1), True, "EXPIRE with a negative time")
    equal(r.exists("k"), 0, "a negative EXPIRE deletes")
    r.set("k", "v")
    r.expireat("k", 1)
    equal(r.get("k"), None, "EXPIREAT in the past deletes")
    c = raw()
    c.call("SET", "k", "v")
    equal(c.call("EXPIRE", "k", "10", "NX", "XX"),
          RespError("ERR NX and XX, GT or LT options at the same time are not compatible"),
          "EXPIRE NX XX")
    equal(c.call("EXPIRE", "k", "10", "GT", "LT"),
          RespError("ERR GT and LT options at the same time are not compatible"), "EXPIRE GT LT")
    equal(c.call("EXPIRE", "k", "10", "FOO"), RespError("ERR Unsupported option FOO"),
          "EXPIRE with an unknown option")
    equal(c.call("EXPIRE", "k", "9223372036854775807"),
          RespError("ERR invalid expire time in 'expire' command"), "EXPIRE overflowing")
    c.close()


def test_short_expiry_happens():
    """A key set with PX 200 is readable at first, then gone: its TTL runs out on the server's
    clock (waited for with a bound), and DBSIZE stops counting it."""
    r = client()
    r.set("short", "v", px=200)
    r.set("long", "v")
    check(r.get("short") in (b"v", None), "the short key is there or already gone")
    wait_for(lambda: r.get("short") is None, 10, "the PX 200 key to expire")
    equal(r.pttl("short"), -2, "PTTL after expiry")
    equal(r.exists("short"), 0, "EXISTS after expiry")
    wait_for(lambda: r.dbsize() == 1, 10, "DBSIZE to stop counting the expired key")
    equal(r.get("long"), b"v", "the key without expiry stays")


def test_binary_safe():
    """Keys and values holding NUL, 0xff and every other byte, and a 1 MiB value, round-trip
    unchanged through SET, GET, APPEND, GETRANGE, lists and KEYS."""
    r = client()
    key = b"k\x00\xff\r\n\x01 end"
    value = bytes(range(256)) * 4
    equal(r.set(key, value), True, "SET of binary")
    equal(r.get(key), value, "GET of binary")
    equal(r.get(b"k"), None, "a key is not cut at its NUL")
    equal(r.strlen(key), 1024, "STRLEN counts every byte")
    equal(r.append(key, b"\x00\x00"), 1026, "APPEND of NULs")
    equal(r.getrange(key, 254, 257), b"\xfe\xff\x00\x01", "GETRANGE across 0xff")
    equal(r.keys(b"k\x00*"), [key], "KEYS matches past a NUL")
    r.rpush(b"\xff\xfelist", b"\x00", b"\r\n", b"")
    equal(r.lrange(b"\xff\xfelist", 0, -1), [b"\x00", b"\r\n", b""], "binary list elements")
    big = bytes((i * 7 + 3) % 256 for i in range(1 << 20))
    equal(r.set("big", big), True, "SET of 1 MiB")
    equal(r.get("big"), big, "GET of 1 MiB")
    equal(r.strlen("big"), 1 << 20, "STRLEN of 1 MiB")
    equal(r.getrange("big", (1 << 20) - 3, -1), big[-3:], "GETRANGE at the end of 1 MiB")
    r.rpush("biglist", big, b"small")
    equal(r.lpop("biglist"), big, "1 MiB through a list")
    equal(r.set(b"", b""), True, "the empty key and value")
    equal(r.get(b""), b"", "GET of the empty key")


def test_pipeline_10000():
    """A redis-py pipeline of 10,000 commands gets its 10,000 replies, in order."""
    r = client()
    pipe = r.pipeline(transaction=False)
    for i in range(2500):
        pipe.set(f"p:{i}", i)
        pipe.incr("counter")
        pipe.rpush("plist", i)
        pipe.get(f"p:{i}")
    results = pipe.execute()
    equal(len(results), 10000, "one reply per command")
    for i in range(2500):
        got = results[4 * i:4 * i + 4]
        equal(got, [True, i + 1, i + 1, str(i).encode()], f"replies of round {i}")
    equal(r.get("counter"), b"2500", "every INCR applied")
    equal(r.llen("plist"), 2500, "every RPUSH applied")
    equal(r.lrange("plist", 0, 2), [b"0", b"1", b"2"], "in order")


def test_error_replies():
    """Every class of error gets Redis's exact reply line: unknown command and subcommand,
    wrong arity, WRONGTYPE, not an integer, not a float, syntax error, out of range,
    no such key, invalid expire time, OOM."""
    c = raw()
    c.call("FLUSHALL")
    cases = [
        (("NOSUCH", "a", "b"), "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' "),
        (("nosuch",), "ERR unknown command 'nosuch', with args beginning with: "),
        (("CLIENT", "FOO"), "ERR unknown subcommand 'FOO'. Try CLIENT HELP."),
        (("GET",), "ERR wrong number of arguments for 'get' command"),
        (("GET", "a", "b"), "ERR wrong number of arguments for 'get' command"),
        (("SET", "k"), "ERR wrong number of arguments for 'set' command"),
        (("MSET", "a"), "ERR wrong number of arguments for 'mset' command"),
        (("LPUSH", "l"), "ERR wrong number of arguments for 'lpush' command"),
        (("SET", "k", "v", "EX", "abc"), "ERR value is not an integer or out of range"),
        (("SET", "k", "v", "EX", "0"), "ERR invalid expire time in 'set' command"),
        (("SETEX", "k", "-5", "v"), "ERR invalid expire time in 'setex' command"),
        (("SET", "k", "v", "NX", "XX"), "ERR syntax error"),
        (("SET", "k", "v", "FOO"), "ERR syntax error"),
        (("SET", "k", "v", "EX", "10", "PX", "100"), "ERR syntax error"),
        (("LINSERT", "l", "MIDDLE", "a", "b"), "ERR syntax error"),
        (("LMOVE", "a", "b", "UP", "DOWN"), "ERR syntax error"),
        (("GETRANGE", "k", "abc", "1"), "ERR value is not an integer or out of range"),
        (("SETRANGE", "k", "-1", "x"), "ERR offset is out of range"),
        (("LPOP", "l", "-1"), "ERR value is out of range, must be positive"),
        (("LPOS", "l", "a", "RANK", "0"),
         "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
         "or use negative to start from the end of the list"),
        (("LPOS", "l", "a", "COUNT", "-1"), "ERR COUNT can't be negative"),
        (("LSET", "nol", "0", "x"), "ERR no such key"),
        (("SELECT", "abc"), "ERR value is not an integer or out of range"),
        (("SCAN", "abc"), "ERR invalid cursor"),
        (("BLPOP", "l", "-1"), "ERR timeout is negative"),
        (("BLPOP", "l", "abc"), "ERR timeout is not a float or out of range"),
    ]
    for args, text in cases:
        equal(c.call(*args), RespError(text), " ".join(args))
    c.call("RPUSH", "l", "a")
    equal(c.call("LSET", "l", "5", "x"), RespError("ERR index out of range"), "LSET past the end")
    wrongtype = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")
    for args in (("GET", "l"), ("APPEND", "l", "x"), ("INCR", "l"), ("STRLEN", "l"),
                 ("SET", "l", "x", "GET"), ("GETDEL", "l"), ("INCRBYFLOAT", "l", "1")):
        equal(c.call(*args), wrongtype, " ".join(args))
    c.call("SET", "s", "x")
    for args in (("LPUSH", "s", "a"), ("LPOP", "s"), ("LRANGE", "s", "0", "1"),
                 ("LMOVE", "l", "s", "LEFT", "RIGHT"), ("BLPOP", "s", "0.01")):
        equal(c.call(*args), wrongtype, " ".join(args))
    equal(c.call("LRANGE", "l", "0", "-1"), [b"a"], "a refused LMOVE left the source alone")
    equal(c.call("CONFIG", "SET", "maxmemory", "1"), "OK", "CONFIG SET maxmemory 1")
    try:
        equal(c.call("SET", "x", "y"),
              RespError("OOM command not allowed when used memory > 'maxmemory'."),
              "a write past maxmemory")
        equal(c.call("GET", "s"), b"x", "reads still work past maxmemory")
    finally:
        equal(c.call("CONFIG", "SET", "maxmemory", "0"), "OK", "CONFIG SET maxmemory 0")
    r = client()
    try:
        r.lpush("s2", "a")
        r.get("s2")
        raise AssertionError("redis-py did not raise on WRONGTYPE")
    except redis.ResponseError as error:
        check(str(error).startswith("WRONGTYPE"), f"redis-py sees WRONGTYPE: {error}")
    c.close()


def test_rare_replies():
    """Rarer replies match Redis 7 too: the size limit of SETRANGE, CONFIG SET of a bad memory
    value, and AUTH with a user name on a node without a password (which Redis's default user
    accepts, and refuses for any other user); every mismatch is listed."""
    c = raw()
    c.call("FLUSHALL")
    cases = [
        (("SETRANGE", "k", "536870912", "x"),
         RespError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")),
        (("CONFIG", "SET", "maxmemory", "lots"),
         RespError("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument "
                   "must be a memory value")),
        (("AUTH", "onlypassword"),
         RespError("ERR AUTH <password> called without any password configured for the default "
                   "user. Are you sure your configuration is correct?")),
        (("AUTH", "default", "anything"), "OK"),
        (("AUTH", "someone", "anything"),
         RespError("WRONGPASS invalid username-password pair or user is disabled.")),
    ]
    wrong = []
    for args, expected in cases:
        got = c.call(*args)
        if got != expected:
            wrong.append(f"{' '.join(args)}: expected {expected!r}, got {got!r}")
    c.close()
    check(not wrong, "; ".join(wrong))


def test_stops_cleanly():
    """The node stops on SIGTERM with exit code 0 (so the sanitizers found nothing)."""
    NODE.signal(signal.SIGTERM)
    equal(NODE.wait_exit(), 0, f"exit code\n{NODE.output()[-3000:]}")


if __name__ == "__main__":
    with TempDir() as data:
        NODE = start_resp(data)
        try:
            code = main([test_set_options, test_string_commands, test_counters,
                         test_deque_push_pop, test_deque_edit, test_keys, test_expiry,
                         test_short_expiry_happens, test_binary_safe, test_pipeline_10000,
                         test_error_replies, test_rare_replies, test_stops_cleanly])
        finally:
            NODE.kill()
    sys.exit(code)
