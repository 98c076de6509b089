"""A replica group of real `stoa start` processes on loopback, for integration tests:
members 1..n with free peer ports, the same member list and secret, their RESP and HTTP
ports, and the group's view through GROUP STATUS (docs/replication.md)."""
import socket

import redis

from harness import Failure, Node, wait_for

SECRET = "integration-test-secret-0123456789"


def free_ports(count):
    """count ports free on 127.0.0.1 now (bound, read, released)."""
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Group:
    """Members 1..n of one group, each a real `stoa start` on its own data directory."""

    def __init__(self, root, count, extra=()):
        self.root = root
        self.count = count
        self.extra = list(extra)
        self.peer_ports = free_ports(count)
        self.members = ",".join(f"{i + 1}=127.0.0.1:{p}" for i, p in enumerate(self.peer_ports))
        self.nodes = {}
        self.ports = {}  # RESP
        self.http = {}

    @property
    def resp(self):
        return self.ports

    def adopt(self, i, node):
        """Takes a started node as member i (reads its ports from its "started" line)."""
        started = node.wait_log("started", module="bin")
        self.nodes[i] = node
        self.ports[i] = int(started["resp"].rsplit(":", 1)[1])
        if started.get("http", "-") != "-":
            self.http[i] = int(started["http"].rsplit(":", 1)[1])
        return node

    def start(self, i):
        node = Node([f"--data-dir={self.root}/n{i}", f"--cluster.members={self.members}",
                     f"--cluster.self={i}", f"--cluster.secret={SECRET}",
                     f"--listen.peer.port={self.peer_ports[i - 1]}", "--resp.debugCommands=true"]
                    + self.extra)
        return self.adopt(i, node)

    def start_all(self):
        for i in range(1, self.count + 1):
            self.start(i)

    def client(self, i):
        return redis.Redis(host="127.0.0.1", port=self.ports[i], socket_timeout=20)

    def status(self, i):
        reply = self.client(i).execute_command("GROUP", "STATUS")
        return {reply[k].decode(): reply[k + 1] for k in range(0, len(reply), 2)}

    def leader(self, among=None):
        """The member every live member (or those of among) agrees leads, once it is ready."""
        def agreed():
            statuses = {i: self.status(i) for i in (among or list(self.nodes))}
            leaders = {status["leader"] for status in statuses.values()}
            if len(leaders) != 1:
                return None
            leader = leaders.pop()
            if leader not in statuses or statuses[leader]["role"] != b"leader" or \
                    not statuses[leader]["leader_ready"]:
                return None
            return leader
        return wait_for(agreed, 30, "one leader agreed by every member")

    def info(self, i):
        return self.client(i).info("replication")

    def digest(self, i):
        return self.client(i).execute_command("DEBUG", "DIGEST")

    def kill(self, i):
        self.nodes.pop(i).kill()

    def stop_all(self):
        for node in self.nodes.values():
            node.kill()
        self.nodes.clear()


def converged(group, members):
    """Whether members have the same state (DEBUG DIGEST)."""
    return len({group.digest(i) for i in members}) == 1


__all__ = ["SECRET", "Failure", "Group", "converged", "free_ports"]
