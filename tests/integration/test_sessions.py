#!/usr/bin/python3
"""Shows that on a single node a write in a client session (SESSION WRITE on RESP, the
Stoa-Client-Id and Stoa-Sequence headers on HTTP) is applied at most once: a retry of the last
sequence gets the recorded reply and changes nothing, an older sequence is refused as stale, an
unknown client id as expired, and the session and its recorded reply survive SIGKILL and a
restart with data.durability=always."""
import os
import sys

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TempDir, main  # noqa: E402
from http_client import request, start_http  # noqa: E402

STALE = "stale request sequence"
EXPIRED = "session expired: register again"


def equal(got, expected, what=""):
    if got != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}")


def refused(client, args, text, what):
    """The command is answered with an error that contains text."""
    try:
        reply = client.execute_command(*args)
    except redis.exceptions.ResponseError as error:
        if text not in str(error):
            raise AssertionError(f"{what}: error {error}, expected one with {text!r}")
        return
    raise AssertionError(f"{what}: expected an error with {text!r}, got {reply!r}")


def start(root):
    return start_http(root, ["--data.durability=always"])


def test_resp_retries_apply_once():
    """SESSION WRITE INCR: a retry of the same sequence is answered alike and counted once."""
    with TempDir() as root:
        node = start(root)
        try:
            client = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=20)
            client_id = client.execute_command("SESSION", "REGISTER")
            if not isinstance(client_id, int) or client_id <= 0:
                raise AssertionError(f"SESSION REGISTER: {client_id!r}")
            write = ("SESSION", "WRITE", client_id)
            equal(client.execute_command(*write, 1, "INCR", "c"), 1, "seq 1")
            equal(client.execute_command(*write, 1, "INCR", "c"), 1, "seq 1 retried")
            equal(client.get("c"), b"1", "counter after the retry")
            equal(client.execute_command(*write, 2, "INCR", "c"), 2, "seq 2")
            refused(client, write + (1, "INCR", "c"), STALE, "seq 1 after seq 2")
            refused(client, ("SESSION", "WRITE", client_id + 1000, 1, "INCR", "c"), EXPIRED,
                    "an unknown client id")
            equal(client.get("c"), b"2", "counter after the refusals")
            # An error reply is recorded too: the retry gets the same error, nothing changes.
            client.set("s", "text")
            refused(client, write + (3, "INCR", "s"), "not an integer", "seq 3")
            refused(client, write + (3, "INCR", "s"), "not an integer", "seq 3 retried")
            # Checked before anything is logged: does not use up sequence 4.
            refused(client, write + (4, "GET", "c"), "write commands only", "a read inside")
            refused(client, write + (4, "BLPOP", "l", 0), "blocking", "a blocking pop inside")
            refused(client, write + (4, "INCR"), "wrong number of arguments for 'incr'",
                    "inner arity")
            refused(client, ("SESSION", "WRITE", 0, 4, "INCR", "c"), "client id", "client id 0")
            refused(client, write + ("x", "INCR", "c"), "sequence", "sequence x")
            equal(client.execute_command(*write, 4, "INCR", "c"), 3, "seq 4")
            # An anonymous write beside the session is not deduplicated.
            equal(client.incr("c"), 4, "anonymous INCR")
            equal(client.incr("c"), 5, "anonymous INCR again")
        finally:
            node.kill()


def test_session_survives_kill():
    """After SIGKILL and a restart the session remembers its last sequence and reply."""
    with TempDir() as root:
        node = start(root)
        try:
            client = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=20)
            client_id = client.execute_command("SESSION", "REGISTER")
            write = ("SESSION", "WRITE", client_id)
            for sequence in range(1, 11):
                equal(client.execute_command(*write, sequence, "INCRBY", "c", 10),
                      10 * sequence, f"seq {sequence}")
            node.kill()
            node = start(root)
            client = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=20)
            equal(client.execute_command(*write, 10, "INCRBY", "c", 10), 100,
                  "the last write retried after the restart")
            equal(client.get("c"), b"100", "counter after the retry")
            refused(client, write + (9, "INCRBY", "c", 10), STALE, "an older one")
            equal(client.execute_command(*write, 11, "INCRBY", "c", 10), 110, "seq 11")
            refused(client, ("SESSION", "WRITE", client_id + 1, 1, "INCR", "c"), EXPIRED,
                    "a client id never registered")
        finally:
            node.kill()


def test_http_sessions():
    """POST /v1/sessions, then PUT and DELETE /v1/kv with the session headers: retries are
    answered alike and applied once; stale 409, expired 410, bad headers 400."""
    with TempDir() as root:
        node = start(root)
        try:
            created = request(node.http_port, "POST", "/v1/sessions")
            equal(created.status, 201, f"POST /v1/sessions {created}")
            client_id = created.json()["clientId"]

            def kv(method, key, sequence, body=None, client=client_id):
                headers = {"Stoa-Client-Id": str(client), "Stoa-Sequence": str(sequence)}
                return request(node.http_port, method, f"/v1/kv/{key}", body=body,
                               headers=headers)

            equal(kv("PUT", "k", 1, b"one").status, 200, "PUT seq 1")
            resp = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=20)
            resp.set("k", "changed by another client")
            # A retry of seq 1 is answered OK and does not write "one" again.
            equal(kv("PUT", "k", 1, b"one").status, 200, "PUT seq 1 retried")
            equal(resp.get("k"), b"changed by another client", "k after the retry")
            deleted = kv("DELETE", "k", 2)
            equal((deleted.status, deleted.json()), (200, {"deleted": True}), "DELETE seq 2")
            # Retried after the key is gone: the recorded answer, not 404.
            deleted = kv("DELETE", "k", 2)
            equal((deleted.status, deleted.json()), (200, {"deleted": True}), "DELETE retried")
            stale = kv("PUT", "k", 1, b"old")
            equal((stale.status, stale.json()["error"]["code"]), (409, "stale_sequence"),
                  "an older sequence")
            expired = kv("PUT", "k", 1, b"x", client=client_id + 1000)
            equal((expired.status, expired.json()["error"]["code"]), (410, "session_expired"),
                  "an unknown client id")
            equal(resp.get("k"), None, "k after the refusals")
            lone = request(node.http_port, "PUT", "/v1/kv/k", body=b"x",
                           headers={"Stoa-Client-Id": str(client_id)})
            equal(lone.status, 400, "Stoa-Client-Id without Stoa-Sequence")
            equal(kv("PUT", "k", "0", b"x").status, 400, "sequence 0")
            equal(kv("PUT", "k", 3, b"x", client="abc").status, 400, "a client id not a number")
            equal(resp.get("k"), None, "k after the 400s")
            # The same session on RESP: HTTP used sequences 1 and 2.
            # Sequence 2 again is a retry whatever command it carries: the DELETE's recorded
            # reply, and INCR is not run.
            equal(resp.execute_command("SESSION", "WRITE", client_id, 2, "INCR", "n"), 1,
                  "seq 2 on RESP")
            equal(resp.get("n"), None, "n after the retry of seq 2")
            equal(resp.execute_command("SESSION", "WRITE", client_id, 3, "INCR", "n"), 1,
                  "seq 3 on RESP")
            # Nomad's put: a retry is answered {"result": true} instead of 409 "id exists".
            body = {"id": "item:1", "value": ""}
            headers = {"Stoa-Client-Id": str(client_id), "Stoa-Sequence": "4"}
            for attempt in range(2):
                put = request(node.http_port, "POST", "/nomad/storage/put", body=body,
                              headers=headers)
                equal((put.status, put.json()), (200, {"result": True}), f"Nomad put {attempt}")
            again = request(node.http_port, "POST", "/nomad/storage/put", body=body)
            equal(again.status, 409, "an anonymous Nomad put of the same id")
            # A recorded error is answered again, with its status.
            headers = {"Stoa-Client-Id": str(client_id), "Stoa-Sequence": "5"}
            for attempt in range(2):
                put = request(node.http_port, "POST", "/nomad/storage/put", body=body,
                              headers=headers)
                equal((put.status, put.json()["error"]["code"]), (409, "conflict"),
                      f"Nomad put of an existing id in a session {attempt}")
            multi = request(node.http_port, "PUT", "/v1/objects/o", body={"value": ""},
                            headers=headers)
            equal(multi.status, 400, "PUT /v1/objects refuses the session headers")
        finally:
            node.kill()


if __name__ == "__main__":
    sys.exit(main([test_resp_retries_apply_once, test_session_survives_kill,
                   test_http_sessions]))
