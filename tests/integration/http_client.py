"""A small HTTP client for the HTTP door's tests: one request per call on a fresh or kept
connection (Python's http.client), with a bound on every wait, and the start of a node with
its HTTP port picked by the system."""
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node  # noqa: E402

TIMEOUT = 20.0


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Response({self.status}, {self.body[:200]!r})"


def request(port, method, path, body=None, headers=None, content_type=None, chunked=False):
    """Sends one request on a new connection and returns its Response."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        connection.request(method, path, body=body, headers=all_headers, encode_chunked=chunked)
        response = connection.getresponse()
        data = response.read()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def start_http(data_dir, args=(), env=None):
    """Starts a node with every port picked by the system; returns it with node.http_port
    and node.port (RESP)."""
    node = Node([f"--data-dir={data_dir}"] + list(args), env)
    try:
        started = node.wait_log("started")
        node.http_port = int(started["http"].rsplit(":", 1)[1])
        node.port = int(started["resp"].rsplit(":", 1)[1])
    except Exception:
        node.kill()
        raise
    return node
