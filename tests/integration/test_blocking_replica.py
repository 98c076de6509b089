#!/usr/bin/python3
"""Shows that blocking pops (BLPOP, BRPOP, BLMOVE) work on the members of a three-member
replica group: a timeout answers nil, a push on another member serves a client parked on a
follower, the pop goes through the group so an element is delivered once and removed on
every member, two clients parked on different members share pushes one each, and a client
that goes away while parked pops nothing."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RespClient, RespError, TempDir, encode, main, wait_for  # noqa: E402
from group import Group, converged  # noqa: E402

GROUP = None  # one group for the whole file, started in __main__
LEADER = None
FOLLOWERS = ()


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def equal(got, expected, what=""):
    if got != expected:
        raise AssertionError(f"{what}: expected {repr(expected)[:300]}, got {repr(got)[:300]}")


def blocked_count(member):
    return GROUP.client(member).info("clients")["blocked_clients"]


def parked_on(member, *command):
    """A raw client on member that sent command and is parked there (INFO says so)."""
    before = blocked_count(member)
    parked = RespClient(GROUP.ports[member])
    parked.send(encode(*command))
    wait_for(lambda: blocked_count(member) == before + 1, 10, f"{command[0]} to park")
    check(not parked.pending(0.05), f"a parked {command[0]} has no reply yet")
    return parked


def everywhere(what, probe, expected):
    """Waits until probe(member) == expected on every member (followers apply shortly after
    the leader answers)."""
    members = list(GROUP.nodes)
    wait_for(lambda: all(probe(i) == expected for i in members), 10, what)


def settled():
    """Waits until every member has the same state."""
    wait_for(lambda: converged(GROUP, list(GROUP.nodes)), 10, "every member's digest equal")


def test_timeout_on_a_follower():
    """BLPOP with timeout 0.5 on an empty key of a follower answers nil after about 0.5 s, and
    a parked pop sends nothing to the group while its keys stay empty."""
    follower = FOLLOWERS[0]
    r = GROUP.client(follower)
    start = time.monotonic()
    equal(r.blpop(["t-empty"], timeout=0.5), None, "BLPOP 0.5")
    took = time.monotonic() - start
    check(0.45 <= took < 3, f"BLPOP 0.5 took {took:.3f}s")
    equal(r.brpop(["t-empty", "t-empty2"], timeout=0.2), None, "BRPOP 0.2")
    equal(blocked_count(follower), 0, "nobody parked after the timeouts")
    # Parked, the client costs the group nothing: no pop is retried while no key has data.
    parked = parked_on(follower, "BLPOP", "t-empty", "t-empty2", "3")
    before = GROUP.status(LEADER)["applied_index"]
    check(not parked.pending(0.3), "still parked")
    after = GROUP.status(LEADER)["applied_index"]
    check(after == before, f"the log grew from {before} to {after} while nothing was pushed")
    parked.close()


def test_push_on_another_member_serves_a_follower():
    """A BLPOP parked on a follower is served by an RPUSH on the other follower; the element
    is gone on every member."""
    parked = parked_on(FOLLOWERS[0], "BLPOP", "q1", "5")
    equal(GROUP.client(FOLLOWERS[1]).rpush("q1", "hello"), 1, "the push")
    equal(parked.read_reply(), [b"q1", b"hello"], "the parked client gets [key, element]")
    everywhere("q1 empty on every member", lambda i: GROUP.client(i).llen("q1"), 0)
    settled()
    equal(parked.call("PING"), "PONG", "the connection goes on after a served pop")
    parked.close()


def test_one_push_serves_exactly_one_of_two_members():
    """Two clients parked on the same key on different members: one push serves exactly one of
    them, the other keeps waiting and gets the next push."""
    first = parked_on(FOLLOWERS[0], "BLPOP", "q2", "8")
    second = parked_on(FOLLOWERS[1], "BLPOP", "q2", "8")
    GROUP.client(LEADER).rpush("q2", "one")
    wait_for(lambda: first.pending() or second.pending(), 5, "one client to be served")
    winner, loser = (first, second) if first.pending() else (second, first)
    equal(winner.read_reply(), [b"q2", b"one"], "the winner's element")
    check(not loser.pending(0.3), "the other client keeps waiting")
    everywhere("q2 empty after the first push", lambda i: GROUP.client(i).llen("q2"), 0)
    GROUP.client(LEADER).rpush("q2", "two")
    equal(loser.read_reply(), [b"q2", b"two"], "the other client gets the next push")
    check(not winner.pending(0.1), "the winner got nothing more")
    everywhere("q2 empty on every member", lambda i: GROUP.client(i).llen("q2"), 0)
    settled()
    first.close()
    second.close()


def test_blmove_from_a_follower():
    """BLMOVE parked on a follower moves the element pushed on the leader, on every member."""
    parked = parked_on(FOLLOWERS[1], "BLMOVE", "src", "dst", "LEFT", "RIGHT", "5")
    GROUP.client(LEADER).rpush("src", "a", "b")
    equal(parked.read_reply(), b"a", "BLMOVE's element")
    everywhere("dst holds a", lambda i: GROUP.client(i).lrange("dst", 0, -1), [b"a"])
    everywhere("src holds b", lambda i: GROUP.client(i).lrange("src", 0, -1), [b"b"])
    settled()
    parked.close()


def test_brpop_with_several_keys():
    """BRPOP on several keys answers at once from the first key with data (tried through the
    group in order), and when parked is served by whichever key gets data."""
    follower = FOLLOWERS[0]
    GROUP.client(LEADER).rpush("k2", "x", "y")
    r = GROUP.client(follower)
    equal(r.brpop(["k1", "k2", "k3"], timeout=5), (b"k2", b"y"), "served at once from k2")
    everywhere("k2 holds x", lambda i: GROUP.client(i).lrange("k2", 0, -1), [b"x"])
    parked = parked_on(follower, "BRPOP", "k1", "k3", "k4", "5")
    GROUP.client(FOLLOWERS[1]).lpush("k4", "z")
    equal(parked.read_reply(), [b"k4", b"z"], "served from the key that got data")
    everywhere("k4 empty", lambda i: GROUP.client(i).exists("k4"), 0)
    settled()
    parked.close()


def test_errors_and_a_client_gone_while_parked():
    """A key of another type is WRONGTYPE at arrival; a client that closes while parked pops
    nothing, and the member goes on serving."""
    follower = FOLLOWERS[1]
    GROUP.client(LEADER).set("s", "string")
    c = RespClient(GROUP.ports[follower])
    reply = c.call("BLPOP", "s", "1")
    check(isinstance(reply, RespError) and "WRONGTYPE" in str(reply.text),
          f"BLPOP on a string: {reply!r}")
    c.close()
    gone = parked_on(follower, "BLPOP", "q3", "0")
    gone.close()
    wait_for(lambda: blocked_count(follower) == 0, 10, "the closed client to be unparked")
    GROUP.client(LEADER).rpush("q3", "kept")
    # A second push applied after the first on the follower: a pop the closed client's
    # request had left behind would have run by then.
    GROUP.client(follower).rpush("q3", "marker")
    everywhere("the element stays", lambda i: GROUP.client(i).lrange("q3", 0, -1),
               [b"kept", b"marker"])
    equal(GROUP.client(follower).blpop(["q3"], timeout=1), (b"q3", b"kept"), "still served")
    everywhere("q3 holds the marker", lambda i: GROUP.client(i).lrange("q3", 0, -1), [b"marker"])
    settled()


TESTS = [test_timeout_on_a_follower, test_push_on_another_member_serves_a_follower,
         test_one_push_serves_exactly_one_of_two_members, test_blmove_from_a_follower,
         test_brpop_with_several_keys, test_errors_and_a_client_gone_while_parked]

if __name__ == "__main__":
    with TempDir() as root:
        GROUP = Group(root, 3)
        try:
            GROUP.start_all()
            LEADER = GROUP.leader()
            FOLLOWERS = tuple(i for i in GROUP.nodes if i != LEADER)
            code = main(TESTS)
        finally:
            GROUP.stop_all()
    sys.exit(code)
