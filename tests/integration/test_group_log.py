"""Shows that GROUP LOG (and stoa cli's `log`) lists a member's replicated log: on a 3-member
group every member shows the same chosen entries (slot, ballot, kind, description) for the
same slots, writes are described by command and key, a member add and remove show their
address and config entries, compacted slots are explained by the snapshot index, FROM and
COUNT bound the listing and bad ones are refused, and a single node says it is no member."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import STOA_BIN, Failure, TempDir, clean_env, main, start_resp, wait_for  # noqa: E402
from group import Group, free_ports  # noqa: E402

import redis  # noqa: E402

RETRYABLE = ("CLUSTERDOWN", "TRYAGAIN", "TIMEOUT")
NOT_MEMBER = "ERR this node is not a member of a replica group"


def check(condition, what):
    if not condition:
        raise Failure(what)


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def group_log(group, member, *options):
    """GROUP LOG on member: (header dict, [entry dicts]) with texts decoded."""
    reply = group.client(member).execute_command("GROUP", "LOG", *options)
    header = {text(reply[k]): reply[k + 1] for k in range(0, len(reply), 2)}
    entries = []
    for raw in header.pop("entries"):
        entries.append({text(raw[k]): text(raw[k + 1]) for k in range(0, len(raw), 2)})
    return header, entries


def command(group, member, *args):
    """A write through member, retried while the group says the outcome is unknown."""
    for _ in range(200):
        try:
            return group.client(member).execute_command(*args)
        except redis.exceptions.ResponseError as error:
            if not str(error).startswith(RETRYABLE):
                raise
        except redis.exceptions.ConnectionError:
            pass
        time.sleep(0.05)
    raise Failure(f"{args} through member {member} never acknowledged")


def error_of(group, member, *args):
    """The error line member answers (redis-py drops a leading "ERR ": put it back)."""
    try:
        reply = group.client(member).execute_command(*args)
    except redis.exceptions.ResponseError as error:
        return "ERR " + str(error)
    raise Failure(f"{args}: no error but {reply!r}")


def chosen_through(group, members, slot):
    """Waits until every member's commit index reaches slot."""
    wait_for(lambda: all(group_log(group, i, "COUNT", "1")[0]["commit_index"] >= slot
                         for i in members), 20, f"every member committed slot {slot}")


def same_entries(group, members, first, last):
    """The chosen entries of slots first..last, equal on every member; returns them."""
    views = {}
    for i in members:
        _, entries = group_log(group, i, "FROM", str(first), "COUNT", str(last - first + 1))
        views[i] = [(e["slot"], e["ballot"], e["kind"], e["value"]) for e in entries
                    if e["chosen"] == 1]
    reference = views[members[0]]
    check([slot for slot, *_ in reference] == list(range(first, last + 1)),
          f"slots {first}..{last} chosen and held on member {members[0]}: {reference}")
    for i in members[1:]:
        check(views[i] == reference, f"member {i} differs: {views[i]} vs {reference}")
    return reference


def test_group_log_agrees_and_describes():
    """Writes, a member add and a remove show as the same chosen entries on every member;
    FROM and COUNT bound the listing; compaction is explained by the snapshot index."""
    with TempDir() as root:
        group = Group(root, 3, ["--cluster.logSlots=1024"])
        try:
            group.start_all()
            leader = group.leader()
            members = [1, 2, 3]
            start = group_log(group, leader)[0]["last_slot"]
            command(group, leader, "SET", "k1", "v1")
            command(group, leader, "INCRBY", "counter", "5")
            command(group, leader, "DEL", "a", "b", "c")
            last = group_log(group, leader)[0]["last_slot"]
            chosen_through(group, members, last)
            entries = same_entries(group, members, start + 1, last)
            values = [value for _, _, _, value in entries]
            proposer = f"from proposer {leader}: "
            for expected in ("SET k1", "INCRBY counter", "DEL a (+2 keys)"):
                check(any(value.startswith("1 command " + proposer) and value.endswith(expected)
                          for value in values), f"{expected!r} described: {values}")
            check(all(kind == "normal" for _, _, kind, _ in entries), f"kinds: {entries}")

            # A member added through the log: its address entry, then the config entry.
            peer_port = free_ports(1)[0]
            check(text(command(group, leader, "GROUP", "ADD", "4", f"127.0.0.1:{peer_port}"))
                  == "OK", "GROUP ADD")
            wait_for(lambda: any(e["value"] == "add member 4" and e["chosen"] == 1
                                 for e in group_log(group, leader)[1]), 20, "add member 4")
            check(text(command(group, leader, "GROUP", "REMOVE", "4")) == "OK", "GROUP REMOVE")
            wait_for(lambda: any(e["value"] == "remove member 4" and e["chosen"] == 1
                                 for e in group_log(group, leader)[1]), 20, "remove member 4")
            last_change = group_log(group, leader)[0]["last_slot"]
            chosen_through(group, members, last_change)
            changes = same_entries(group, members, last + 1, last_change)
            described = [(kind, value) for _, _, kind, value in changes]
            check(("normal", f"address of member 4: 127.0.0.1:{peer_port}") in described and
                  ("config", "add member 4") in described and
                  ("config", "remove member 4") in described, f"member changes: {described}")

            # COUNT alone lists the last slots; FROM pages forward; past the end is empty.
            header, entries = group_log(group, 2, "count", "2")
            check([e["slot"] for e in entries] == [header["last_slot"] - 1, header["last_slot"]],
                  f"COUNT 2: {header} {entries}")
            header, entries = group_log(group, 3, "FROM", str(start + 1), "COUNT", "2")
            check([e["slot"] for e in entries] == [start + 1, start + 2], f"FROM: {entries}")
            header, entries = group_log(group, 1, "FROM", "1000000", "COUNT", "1000")
            check(entries == [] and header["last_slot"] < 1000000, f"past the end: {entries}")
            header, entries = group_log(group, 1)
            check(0 < len(entries) <= 20 and entries[-1]["slot"] == header["last_slot"],
                  f"default listing: {len(entries)}")

            # Bad options are refused with a clear error.
            for options, expected in [
                    (("COUNT", "0"), "ERR COUNT must be an integer from 1 to 1000"),
                    (("COUNT", "1001"), "ERR COUNT must be an integer from 1 to 1000"),
                    (("COUNT", "many"), "ERR COUNT must be an integer from 1 to 1000"),
                    (("FROM", "-1"), "ERR FROM must be a slot number (an integer, 0 or more)"),
                    (("FROM",), "ERR syntax error: GROUP LOG [FROM slot] [COUNT n]"),
                    (("FROM", "1", "FROM", "2"), "ERR syntax error: GROUP LOG [FROM slot] "
                                                 "[COUNT n]"),
                    (("BOGUS", "1"), "ERR syntax error: GROUP LOG [FROM slot] [COUNT n]")]:
                got = error_of(group, 2, "GROUP", "LOG", *options)
                check(got == expected, f"GROUP LOG {options}: {got!r}")
            help_lines = [text(line) for line in
                          group.client(1).execute_command("GROUP", "HELP")]
            check(any(line.startswith("LOG [FROM") for line in help_lines),
                  f"GROUP HELP: {help_lines}")

            # Past a quarter of the 1024-slot ring a member snapshots and compacts: the
            # snapshot index says why FROM 1 starts above it.
            client = group.client(leader)
            for k in range(300):
                client.set(f"fill-{k}", "v")
            for i in members:
                wait_for(lambda i=i: group_log(group, i)[0]["snapshot_index"] > 0, 20,
                         f"member {i} compacted")
                header, entries = group_log(group, i, "FROM", "1", "COUNT", "3")
                check(entries and entries[0]["slot"] == header["snapshot_index"] + 1,
                      f"member {i}: FROM 1 after compaction: {header} {entries}")

            # stoa cli's `log` is GROUP LOG on a member.
            result = subprocess.run([STOA_BIN, "cli", "-p", str(group.ports[1]), "log", "COUNT",
                                     "1"], capture_output=True, text=True, env=clean_env(),
                                    timeout=20, check=False)
            check(result.returncode == 0 and "snapshot_index" in result.stdout and
                  "ballot" in result.stdout, f"stoa cli log: {result}")
        finally:
            group.stop_all()


def test_single_node_is_no_member():
    """A node outside any group answers GROUP LOG, and stoa cli's log, with a clear error."""
    with TempDir() as root:
        node = start_resp(os.path.join(root, "single"))
        try:
            client = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=20)
            try:
                client.execute_command("GROUP", "LOG")
                raise Failure("GROUP LOG on a single node answered")
            except redis.exceptions.ResponseError as error:
                check("ERR " + str(error) == NOT_MEMBER, f"single node: {error}")
            result = subprocess.run([STOA_BIN, "cli", "-p", str(node.port), "log"],
                                    capture_output=True, text=True, env=clean_env(),
                                    timeout=20, check=False)
            check(result.returncode == 1 and result.stdout.startswith(NOT_MEMBER),
                  f"stoa cli log on a single node: {result}")
        finally:
            node.kill()


if __name__ == "__main__":
    sys.exit(main([test_group_log_agrees_and_describes, test_single_node_is_no_member]))
