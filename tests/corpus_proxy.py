"""A loopback HTTP(S) proxy that answers from the WARC records of `../shared/corpus/`.

It serves every response recorded in `warcs/` (revisit records resolved by payload digest,
or by `WARC-Refers-To-Target-URI`), and the single pages of `pages/` at their original URLs,
to a client that uses it as its proxy: plain http in absolute form, https through `CONNECT`
with a certificate for the requested host issued at test time by a `trustme` CA. Anything
not recorded answers 404. It never resolves a name nor opens a connection anywhere: every
answer comes from memory.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import trustme
from warcio.archiveiterator import ArchiveIterator

# Single pages of the corpus, with the URLs they were captured from (corpus README).
PAGES = {
    "http://xkcd.com/1/": "xkcd.com_1.html",
    "http://www.geocities.jp/gamehouse_grindcrusher2/videogame_top.htm": (
        "geocities.jp_videogame_top.htm"
    ),
}
# Hop-by-hop headers and those that described the body as it was sent: the proxy sends the
# decoded body with a Content-Length of its own.
_DROPPED = frozenset(
    {"transfer-encoding", "content-encoding", "content-length", "connection", "keep-alive"}
)
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Recorded:
    """One recorded answer: status, headers (as recorded, minus the body framing) and body."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return the first header called `name` (case-insensitive), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Archive:
    """Every recorded answer of the corpus, by URL; the first record of a URL wins."""

    answers: dict[str, Recorded] = field(default_factory=dict)

    @classmethod
    def load(cls, corpus: Path) -> Archive:
        """Read every WARC under `corpus/warcs` and the pages under `corpus/pages`."""
        archive = cls()
        by_digest: dict[str, bytes] = {}
        by_url: dict[str, bytes] = {}
        revisits: list[tuple[str, int, str, tuple[tuple[str, str], ...], str, str]] = []
        for path in sorted((corpus / "warcs").iterdir()):
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    if record.rec_type not in ("response", "revisit") or not record.http_headers:
                        continue
                    url = record.rec_headers.get_header("WARC-Target-URI") or ""
                    if urlsplit(url).scheme not in ("http", "https"):
                        continue
                    status = int(record.http_headers.get_statuscode())
                    reason = record.http_headers.statusline.partition(" ")[2]
                    # Names as recorded, node-warc's with spaces for dashes included: the
                    # capture must read heads as real servers send them.
                    headers = tuple(
                        (k, v) for k, v in record.http_headers.headers if k.lower() not in _DROPPED
                    )
                    digest = record.rec_headers.get_header("WARC-Payload-Digest") or ""
                    if record.rec_type == "revisit":
                        refers = record.rec_headers.get_header("WARC-Refers-To-Target-URI") or ""
                        revisits.append((url, status, reason, headers, digest, refers))
                        continue
                    body = record.content_stream().read()
                    by_digest.setdefault(digest, body)
                    by_url.setdefault(url, body)
                    archive.answers.setdefault(url, Recorded(status, reason, headers, body))
        for url, status, reason, headers, digest, refers in revisits:
            body = by_digest.get(digest, by_url.get(refers))
            if body is not None:
                archive.answers.setdefault(url, Recorded(status, reason, headers, body))
        for url, name in PAGES.items():
            body = (corpus / "pages" / name).read_bytes()
            # As an old server would: bare text/html, no charset.
            archive.answers.setdefault(
                url, Recorded(200, "OK", (("Content-Type", "text/html"),), body)
            )
        return archive

    def final(self, url: str, hops: int = 10) -> Recorded | None:
        """Return the answer `url` ends at after following recorded redirects, or None."""
        answer = self.answers.get(url)
        while answer is not None and answer.status in REDIRECTS and hops > 0:
            location = answer.header("Location")
            if location is None:
                break
            url = urljoin(url, location)
            answer = self.answers.get(url)
            hops -= 1
        return answer


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, archive: Archive, ca: trustme.CA) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.archive = archive
        self.ca = ca
        self.contexts: dict[str, ssl.SSLContext] = {}
        self.lock = threading.Lock()
        self.seen: list[str] = []

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client drops a kept-alive connection; it is not a failure."""

    def tls_context(self, host: str) -> ssl.SSLContext:
        """Return a server TLS context with a certificate for `host`, made on first use."""
        with self.lock:
            context = self.contexts.get(host)
            if context is None:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                self.ca.issue_cert(host).configure_cert(context)
                self.contexts[host] = context
            return context


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer
    origin: str | None = None
    tls: ssl.SSLSocket | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        context = self.server.tls_context(host.strip("[]"))
        try:
            tls = context.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        # From here the same handler reads requests from inside the tunnel.
        self.tls = tls
        self.connection = tls
        self.rfile = tls.makefile("rb")
        self.wfile = tls.makefile("wb")
        self.origin = "https://" + host + ("" if port == "443" else f":{port}")
        self.close_connection = False

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self.tls is not None:
                self.tls.close()

    def do_GET(self) -> None:
        if self.path.startswith(("http://", "https://")):
            url = self.path
        else:
            origin = self.origin or ("http://" + (self.headers.get("Host") or "invalid"))
            url = origin + self.path
        self.server.seen.append(url)
        answer = self.server.archive.answers.get(url)
        if answer is None:
            answer = Recorded(
                404, "Not Found", (("Content-Type", "text/plain"),), b"not in the corpus"
            )
        self.send_response(answer.status, answer.reason or None)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)


@dataclass
class CorpusProxy:
    """A running proxy: its URL, the CA bundle that trusts it, and what it was asked."""

    url: str
    ca_bundle: Path
    archive: Archive
    seen: list[str]


@contextmanager
def corpus_proxy(corpus: Path, workdir: Path) -> Iterator[CorpusProxy]:
    """Run the corpus proxy on 127.0.0.1 until the block ends."""
    archive = Archive.load(corpus)
    ca = trustme.CA()
    bundle = workdir / "corpus-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    server = _ProxyServer(archive, ca)
    host, port = server.server_address[:2]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield CorpusProxy(f"http://{host!s}:{port}", bundle, archive, server.seen)
    finally:
        server.shutdown()
        server.server_close()


def loopback_only(host: object) -> bool:
    """Return True for the names and addresses the corpus tests may reach."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return host in ("127.0.0.1", "localhost", "::1") or (
        isinstance(host, str) and host.startswith("127.")
    )


_real_getaddrinfo = socket.getaddrinfo


def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    """socket.getaddrinfo that refuses every name but loopback: nothing may leave the host."""
    if not loopback_only(host):
        raise socket.gaierror(socket.EAI_NONAME, f"corpus tests stay on loopback: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]
