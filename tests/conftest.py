"""Shared fixtures: a real HTTP server on 127.0.0.1, and a clean proxy environment."""

from __future__ import annotations

import mimetypes
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import settings

# The same examples on every run (seeded from each test): a property test that finds a
# failing input fails the run that changed the code, not a later run by chance.
settings.register_profile("preserve", derandomize=True, deadline=None)
settings.load_profile("preserve")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SITE = ROOT / "examples" / "site-2001"
SHARED = ROOT.parent / "shared"

# What each part of ../shared adds to the tests. A user's clone has no ../shared: the tests
# that need it skip, naming the part. CI has it and sets PRESERVE_TESTS_REQUIRE_SHARED=1, so
# there a missing part fails those tests instead of skipping them.
SHARED_PARTS = {
    "xsd": "the official DC, OAI-DC and PREMIS schemas the metadata records are checked against",
    "bagit-conformance-suite": "the Library of Congress BagIt conformance bags",
    "corpus": "real captured websites and pages",
}
REQUIRE_SHARED = os.environ.get("PRESERVE_TESTS_REQUIRE_SHARED") == "1"


def need_shared(part: str) -> Path:
    """Return `../shared/<part>`; skip the test when it is absent (fail it when CI needs it)."""
    path = SHARED / part
    if path.is_dir():
        return path
    reason = f"../shared/{part} is not here ({SHARED_PARTS[part]}); CI runs this test"
    if REQUIRE_SHARED:
        pytest.fail(f"{reason}, and PRESERVE_TESTS_REQUIRE_SHARED=1 requires it", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply `@pytest.mark.shared(part)`: the test needs that part of ../shared."""
    for mark in item.iter_markers("shared"):
        need_shared(*mark.args)


PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the caller's proxies and PRESERVE_* settings out of every test."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("PRESERVE_"):
            monkeypatch.delenv(name, raising=False)


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Server:
    """A threaded HTTP server on loopback: files from `root`, plus named routes."""

    root: Path | None
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base: str = ""

    def url(self, path: str = "/") -> str:
        """Return the absolute URL of `path` on this server."""
        return self.base + path

    def route(
        self, path: str, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        """Answer `path` with a fixed status, headers and body."""

        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(status)
            for name, value in (headers or {}).items():
                request.send_header(name, value)
            if not any(k.lower() == "content-length" for k in (headers or {})):
                request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)

        self.routes[path] = handler


def _make_handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            server.requests.append((self.path, dict(self.headers.items())))
            path = urlsplit(self.path).path
            handler = server.routes.get(self.path) or server.routes.get(path)
            if handler is not None:
                handler(self)
                return
            if server.root is not None:
                target = (server.root / unquote(path).lstrip("/")).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if target.is_file() and target.is_relative_to(server.root.resolve()):
                    body = target.read_bytes()
                    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                    if kind.startswith("text/"):
                        kind += "; charset=utf-8" if kind != "text/html" else ""
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
            body = b"<h1>Not Found</h1>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return RequestHandler


class QuietHTTPServer(ThreadingHTTPServer):
    """A threaded server that does not print a client's dropped connection to stderr."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore errors: a client closing early is normal, and stderr belongs to the test."""


def serve(root: Path | None) -> Iterator[Server]:
    """Run a Server on 127.0.0.1 at a free port until the generator is closed."""
    server = Server(root)
    httpd = QuietHTTPServer(("127.0.0.1", 0), _make_handler(server))
    server.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def site() -> Iterator[Server]:
    """The example 2001 site served over HTTP on loopback."""
    yield from serve(EXAMPLE_SITE)


@pytest.fixture
def http() -> Iterator[Server]:
    """An empty loopback server; tests add the routes they need."""
    yield from serve(None)


def free_port() -> int:
    """Return a loopback port nothing listens on now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def refused_url() -> str:
    """Return a loopback URL on a port where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/"
