#!/usr/bin/python3
"""Shows that in a 3-member replica group a client that retries every SESSION WRITE with the
same sequence (against another member after a timeout, an error or a dead connection) gets
each write applied exactly once while the leader is killed with SIGKILL and restarted three
times: after N increments the counter is exactly N on every member; and that a retry of an
acknowledged write sent to a new leader gets the recorded reply and changes nothing."""
import os
import sys
import threading
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, TempDir, main, wait_for  # noqa: E402
from group import Group, converged  # noqa: E402
from http_client import request  # noqa: E402

WRITES = 200
KILL_AT = (30, 90, 150)  # acknowledged writes before each leader kill
RESTART_AFTER = 15  # acknowledged writes after a kill before the member is restarted
ATTEMPT_SECONDS = 3.0
WRITE_SECONDS_MAX = 30.0
# Retry answers that mean "not applied" or "outcome unknown": the same sequence goes again.
RETRYABLE = ("CLUSTERDOWN", "TRYAGAIN", "TIMEOUT")
EXTRA = ["--cluster.requestTimeout=1s"]


class Client:
    """One session's client: sends each write to a member, and on anything but an answer
    moves to the next member and sends the same sequence again."""

    def __init__(self, group):
        self.group = group
        self.member = 1
        self.retries = 0
        self.acknowledged = 0

    def call(self, *args):
        deadline = time.monotonic() + WRITE_SECONDS_MAX
        while time.monotonic() < deadline:
            member = self.member
            try:
                client = redis.Redis(host="127.0.0.1", port=self.group.ports[member],
                                     socket_timeout=ATTEMPT_SECONDS,
                                     socket_connect_timeout=ATTEMPT_SECONDS)
                try:
                    return client.execute_command(*args)
                finally:
                    client.close()
            except redis.exceptions.ResponseError as error:
                if not str(error).startswith(RETRYABLE):
                    raise Failure(f"{args}: {error}")
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                pass
            self.retries += 1
            self.member = member % self.group.count + 1
            time.sleep(0.02)
        raise Failure(f"{args}: no answer within {WRITE_SECONDS_MAX}s")


def current_leader(group):
    """The leader a live member names, without waiting for every member to agree."""
    for i in list(group.nodes):
        try:
            leader = group.status(i)["leader"]
        except (redis.exceptions.RedisError, KeyError):
            continue
        if leader in group.nodes:
            return leader
    return None


class Killer(threading.Thread):
    """Kills the leader with SIGKILL when the client has KILL_AT[k] acknowledged writes, and
    restarts it RESTART_AFTER acknowledged writes later."""

    def __init__(self, group, client):
        super().__init__(daemon=True)
        self.group = group
        self.client = client
        self.kills = []
        self.error = None
        self.stop = False

    def wait_progress(self, count):
        while self.client.acknowledged < count and not self.stop:
            time.sleep(0.005)
        return not self.stop

    def run(self):
        try:
            for at in KILL_AT:
                if not self.wait_progress(at):
                    return
                leader = wait_for(lambda: current_leader(self.group), 20, "a leader to kill")
                self.group.kill(leader)
                self.kills.append((at, leader))
                if not self.wait_progress(at + RESTART_AFTER):
                    return
                self.group.start(leader)
        except Exception as error:  # reported by the test
            self.error = error


def test_retried_writes_apply_once_across_leader_kills():
    """N session increments, each retried until answered, under three leader kills: the
    counter is N on every member, and every answer is the counter after its own write."""
    with TempDir() as root:
        group = Group(root, 3, EXTRA)
        killer = None
        try:
            group.start_all()
            group.leader()
            client = Client(group)
            client_id = client.call("SESSION", "REGISTER")
            killer = Killer(group, client)
            killer.start()
            for sequence in range(1, WRITES + 1):
                reply = client.call("SESSION", "WRITE", client_id, sequence, "INCRBY", "k", 1)
                if reply != sequence:
                    raise Failure(f"write {sequence} answered {reply!r} (applied twice or lost)")
                client.acknowledged = sequence
                if sequence in KILL_AT:
                    # The writes may outrun the killer: the next one goes only once this
                    # kill has happened (bounded: a dead killer ends the wait).
                    wanted = KILL_AT.index(sequence) + 1
                    wait_for(lambda: len(killer.kills) >= wanted or not killer.is_alive(), 30,
                             f"leader kill {wanted}")
            killer.stop = True
            killer.join(timeout=60)
            if killer.error is not None:
                raise killer.error
            if len(killer.kills) != len(KILL_AT):
                raise Failure(f"only {len(killer.kills)} leader kills happened")
            if client.retries == 0:
                raise Failure("no write was retried: the test did not exercise retries")
            for i in range(1, group.count + 1):
                if i not in group.nodes:
                    group.start(i)
            leader = group.leader()

            # A retry of the last acknowledged write, to the leader elected after the kills:
            # the recorded reply, and the counter unchanged.
            retried = group.client(leader).execute_command("SESSION", "WRITE", client_id,
                                                           WRITES, "INCRBY", "k", 1)
            if retried != WRITES:
                raise Failure(f"the retry of write {WRITES} on the new leader: {retried!r}")
            try:
                group.client(leader).execute_command("SESSION", "WRITE", client_id,
                                                     WRITES - 1, "INCRBY", "k", 1)
                raise Failure("an older sequence was accepted")
            except redis.exceptions.ResponseError as error:
                if "stale request sequence" not in str(error):
                    raise

            members = range(1, group.count + 1)
            wait_for(lambda: converged(group, members), 30, "equal digests on every member")
            for i in members:
                fast = group.client(i)
                fast.execute_command("READONLY")
                value = fast.get("k")
                if value != str(WRITES).encode():
                    raise Failure(f"member {i}: k = {value!r}, expected {WRITES}")
            print(f"     {WRITES} writes, {client.retries} retries, kills {killer.kills}")

            # The HTTP door registers through the group too (a follower forwards it).
            follower = next(i for i in members if i != leader and i in group.http)
            created = request(group.http[follower], "POST", "/v1/sessions")
            if created.status != 201 or created.json()["clientId"] <= 0:
                raise Failure(f"POST /v1/sessions on a follower: {created}")
        finally:
            if killer is not None:
                killer.stop = True
            group.stop_all()


if __name__ == "__main__":
    sys.exit(main([test_retried_writes_apply_once_across_leader_kills]))
