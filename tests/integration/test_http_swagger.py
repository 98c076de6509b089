#!/usr/bin/python3
"""Shows that a running node serves Swagger UI at /swagger/index.html from the assets the build
installed (npm's swagger-ui-dist) and that headless Chromium renders the API from /openapi.json:
the rendered page holds the document's title and operation paths. Skips, saying so, only when
Chromium is not installed (scripts/deps.sh installs it)."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TempDir, main  # noqa: E402
from http_client import request, start_http  # noqa: E402

NODE = None
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_assets_served():
    """The page and its three assets are served; an unknown file is a 404, /swagger redirects."""
    r = request(NODE.http_port, "GET", "/swagger/index.html")
    if r.status != 200 or b"swagger-ui-bundle.js" not in r.body:
        raise AssertionError(f"index.html: {r!r}")
    for name, kind in [("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css"),
                       ("swagger-ui-standalone-preset.js", "javascript")]:
        r = request(NODE.http_port, "GET", "/swagger/" + name)
        if r.status != 200 or kind not in r.headers["content-type"] or len(r.body) < 1000:
            raise AssertionError(f"{name}: {r.status} {r.headers.get('content-type')}")
    r = request(NODE.http_port, "GET", "/swagger/../../etc/passwd")
    if r.status not in (400, 404):
        raise AssertionError(f"a path outside the assets answered {r.status}")
    r = request(NODE.http_port, "GET", "/swagger/package.json")
    if r.status != 404:
        raise AssertionError(f"a file that is not an asset answered {r.status}")
    r = request(NODE.http_port, "GET", "/swagger/")
    if r.status != 302 or r.headers.get("location") != "/swagger/index.html":
        raise AssertionError(f"/swagger/ answered {r.status} {r.headers}")


def test_chromium_renders_the_api():
    """Headless Chromium loads the page, runs Swagger UI, and the DOM shows the operations."""
    if CHROMIUM is None:
        print("SKIP test_chromium_renders_the_api: chromium is not installed "
              "(scripts/deps.sh installs Debian's chromium)")
        return
    profile = tempfile.mkdtemp(prefix="stoa-chromium-")
    try:
        result = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
             "--virtual-time-budget=15000", "--dump-dom",
             f"http://127.0.0.1:{NODE.http_port}/swagger/index.html"],
            capture_output=True, text=True, timeout=120, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    dom = result.stdout
    for needle in ["stoa HTTP API", "/nomad/storage/put", "/v1/kv/{key}", "/metrics",
                   "opblock"]:
        if needle not in dom:
            raise AssertionError(f"{needle!r} not in the rendered page (exit {result.returncode},"
                                 f" {len(dom)} bytes of DOM; stderr {result.stderr[-500:]!r})")


if __name__ == "__main__":
    with TempDir() as data:
        NODE = start_http(os.path.join(data, "node"))
        try:
            code = main([test_assets_served, test_chromium_renders_the_api])
        finally:
            NODE.kill()
    sys.exit(code)
