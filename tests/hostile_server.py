"""A hostile HTTP server on loopback: one named route per fault a capture must survive.

It speaks HTTP/1.1 over raw sockets, so it can do what a well-behaved server library will not:
reset a connection mid-body, promise more bytes than it sends, break chunked encoding, stall,
answer nothing at all. The route is the first segment of the path without its extension, so
`/reset` (a seed) and `/reset.gif` (a requisite) are the same fault. Every connection is
closed after one exchange, so each request is a new connection the client must open.

| route | what the server does |
|---|---|
| `ok` | 200, a small GIF |
| `large` | 200, 24 MiB of zeros with a correct Content-Length |
| `reset` | 200 promising 100,000 bytes, sends 4,000, then resets the connection (RST) |
| `reset-early` | reads the request, resets the connection before answering |
| `short` | 200 promising 100,000 bytes, sends 4,000, closes cleanly |
| `terabyte` | 200 with `Content-Length: 1099511627776`, then 64 KiB and a close |
| `bad-chunked` | chunked body whose second chunk size is not hexadecimal |
| `slow` | headers and 10 bytes, then silence longer than any test's `--timeout` |
| `silent` | accepts the connection, reads the request, never answers |
| `error` | 500 |
| `busy` | 503 with `Retry-After: 1` on the first request for a path, then 200 |
| `loop` | `/loop/a` → `/loop/b` → `/loop/a` |
| `chain` | `/chain/N` → `/chain/N+1` … up to `/chain/20`, which answers 200 |
| `ftp` | 302 to `ftp://files.example.org/pub/x.gif` |
| `bomb` | gzip (chunked) expanding to 64 MiB of zeros from about 64 KiB |
| `bad-coding` | `Content-Encoding: br` on bytes that are not brotli |
| `wrong-type` | an HTML page (naming `/ok.gif`) labelled `image/png` |
| `no-type` | an HTML page (naming `/ok.gif`) with no Content-Type at all |
| `garbage` | 64 KiB of random bytes labelled `text/html` |
| `empty` | 200 with an empty `text/html` body |
| `many-headers` | 200 with 150 headers (more than the client reads) |
| `fat-headers` | 200 with 8 headers of 60 KiB each (480 KiB of headers) |

A server made with `tls=True` speaks TLS with a certificate from a CA nobody trusts. `page`
adds fixed routes (for pages that embed a fault); `fallback`, if set, answers any other path.
`hits` counts requests per path, `requests`
lists them in order, `connections` counts the connections accepted (a TLS handshake that
fails never becomes a request).
"""

from __future__ import annotations

import contextlib
import fcntl
import random
import socket
import ssl
import struct
import termios
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import trustme

GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
GIF += b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
PROMISED = 100_000
SENT = 4_000
TERABYTE = 1024**4
BOMB_SIZE = 64 * 1024 * 1024
LARGE = 24 * 1024 * 1024
PAGE_WITH_GIF = (
    b'<html><head><title>mislabelled</title></head><body><img src="/ok.gif"></body></html>'
)


def _bomb() -> list[bytes]:
    """Return the gzip member of BOMB_SIZE zeros, in pieces of a few KiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1024 * 1024)
    pieces = [packer.compress(zeros) for _ in range(BOMB_SIZE // len(zeros))]
    pieces.append(packer.flush())
    joined = b"".join(pieces)
    return [joined[i : i + 8192] for i in range(0, len(joined), 8192)]


BOMB = _bomb()


@dataclass
class Request:
    """The request line and headers the client sent."""

    method: str
    path: str
    headers: dict[str, str]


Route = Callable[["HostileServer", socket.socket, Request], None]


def head(status: str, headers: list[tuple[str, str]]) -> bytes:
    """Return a response head: status line, headers, `Connection: close`, blank line."""
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def answer(
    sock: socket.socket, status: str, body: bytes = b"", headers: list[tuple[str, str]] = ()
) -> None:
    """Send a whole response with a correct Content-Length."""
    sock.sendall(head(status, [*headers, ("Content-Length", str(len(body)))]) + body)


def reset(sock: socket.socket) -> None:
    """Close `sock` with a TCP reset instead of an orderly close, once the client has our bytes."""
    with contextlib.suppress(OSError):
        _wait_until_sent(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _wait_until_sent(sock: socket.socket, timeout: float = 5.0) -> None:
    """Wait until the kernel's send queue is empty: the client's kernel holds what we sent."""
    deadline = time.monotonic() + timeout
    buffer = bytearray(4)
    while time.monotonic() < deadline:
        fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, buffer)
        if struct.unpack("i", buffer)[0] == 0:
            return
        time.sleep(0.005)


def _ok(server: HostileServer, sock: socket.socket, request: Request) -> None:
    answer(sock, "200 OK", GIF, [("Content-Type", "image/gif")])


def _large(server: HostileServer, sock: socket.socket, request: Request) -> None:
    sock.sendall(head("200 OK", [("Content-Type", "video/mp4"), ("Content-Length", str(LARGE))]))
    block = bytes(1024 * 1024)
    for _ in range(LARGE // len(block)):
        sock.sendall(block)


def _reset(server: HostileServer, sock: socket.socket, request: Request) -> None:
    sock.sendall(head("200 OK", [("Content-Type", "image/gif"), ("Content-Length", str(PROMISED))]))
    sock.sendall(b"G" * SENT)
    reset(sock)


def _reset_early(server: HostileServer, sock: socket.socket, request: Request) -> None:
    reset(sock)


def _short(server: HostileServer, sock: socket.socket, request: Request) -> None:
    sock.sendall(head("200 OK", [("Content-Type", "image/gif"), ("Content-Length", str(PROMISED))]))
    sock.sendall(b"G" * SENT)


def _terabyte(server: HostileServer, sock: socket.socket, request: Request) -> None:
    headers = [("Content-Type", "video/mp4"), ("Content-Length", str(TERABYTE))]
    sock.sendall(head("200 OK", headers))
    with contextlib.suppress(OSError):
        sock.sendall(bytes(64 * 1024))


def _bad_chunked(server: HostileServer, sock: socket.socket, request: Request) -> None:
    headers = [("Content-Type", "image/gif"), ("Transfer-Encoding", "chunked")]
    sock.sendall(head("200 OK", headers) + b"6\r\nGIF89a\r\nZZZ-not-hex\r\nrest\r\n0\r\n\r\n")


def _slow(server: HostileServer, sock: socket.socket, request: Request) -> None:
    headers = [("Content-Type", "image/gif"), ("Content-Length", "1000")]
    sock.sendall(head("200 OK", headers) + b"GIF89a....")
    server.release.wait(30)


def _silent(server: HostileServer, sock: socket.socket, request: Request) -> None:
    server.release.wait(30)


def _error(server: HostileServer, sock: socket.socket, request: Request) -> None:
    answer(sock, "500 Internal Server Error", b"oops", [("Content-Type", "text/plain")])


def _busy(server: HostileServer, sock: socket.socket, request: Request) -> None:
    if server.hits[request.path] == 1:
        answer(sock, "503 Service Unavailable", b"busy", [("Retry-After", "1")])
    else:
        _ok(server, sock, request)


def _loop(server: HostileServer, sock: socket.socket, request: Request) -> None:
    target = "/loop/b" if request.path.endswith("/a") else "/loop/a"
    answer(sock, "302 Found", headers=[("Location", target)])


def _chain(server: HostileServer, sock: socket.socket, request: Request) -> None:
    tail = request.path.rsplit("/", 1)[-1]
    step = int(tail) if tail.isdigit() else 0
    if step >= 20:
        _ok(server, sock, request)
    else:
        answer(sock, "302 Found", headers=[("Location", f"/chain/{step + 1}")])


def _ftp(server: HostileServer, sock: socket.socket, request: Request) -> None:
    answer(sock, "302 Found", headers=[("Location", "ftp://files.example.org/pub/x.gif")])


def _bomb_route(server: HostileServer, sock: socket.socket, request: Request) -> None:
    headers = [
        ("Content-Type", "image/gif"),
        ("Content-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
    ]
    sock.sendall(head("200 OK", headers))
    with contextlib.suppress(OSError):
        for piece in BOMB:
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n\r\n")


def _bad_coding(server: HostileServer, sock: socket.socket, request: Request) -> None:
    headers = [("Content-Type", "image/gif"), ("Content-Encoding", "br")]
    answer(sock, "200 OK", b"\xff\xfe this is not brotli at all" * 10, headers)


def _wrong_type(server: HostileServer, sock: socket.socket, request: Request) -> None:
    answer(sock, "200 OK", PAGE_WITH_GIF, [("Content-Type", "image/png")])


def _no_type(server: HostileServer, sock: socket.socket, request: Request) -> None:
    answer(sock, "200 OK", PAGE_WITH_GIF)


def _garbage(server: HostileServer, sock: socket.socket, request: Request) -> None:
    noise = random.Random(request.path).randbytes(64 * 1024)
    answer(sock, "200 OK", noise, [("Content-Type", "text/html")])


def _empty(server: HostileServer, sock: socket.socket, request: Request) -> None:
    answer(sock, "200 OK", b"", [("Content-Type", "text/html")])


def _many_headers(server: HostileServer, sock: socket.socket, request: Request) -> None:
    answer(sock, "200 OK", GIF, [(f"X-Junk-{n}", "x") for n in range(150)])


def _fat_headers(server: HostileServer, sock: socket.socket, request: Request) -> None:
    answer(sock, "200 OK", GIF, [(f"X-Fat-{n}", "x" * 60_000) for n in range(8)])


ROUTES: dict[str, Route] = {
    "ok": _ok,
    "large": _large,
    "reset": _reset,
    "reset-early": _reset_early,
    "short": _short,
    "terabyte": _terabyte,
    "bad-chunked": _bad_chunked,
    "slow": _slow,
    "silent": _silent,
    "error": _error,
    "busy": _busy,
    "loop": _loop,
    "chain": _chain,
    "ftp": _ftp,
    "bomb": _bomb_route,
    "bad-coding": _bad_coding,
    "wrong-type": _wrong_type,
    "no-type": _no_type,
    "garbage": _garbage,
    "empty": _empty,
    "many-headers": _many_headers,
    "fat-headers": _fat_headers,
}


def route_name(path: str) -> str:
    """Return the route a path asks for: its first segment, without extension or query."""
    return path.split("?", 1)[0].lstrip("/").split("/", 1)[0].split(".", 1)[0]


class HostileServer:
    """The server: `with HostileServer() as server: server.url("/reset")`."""

    def __init__(self, *, tls: bool = False) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.fallback: Route | None = None
        self.hits: Counter[str] = Counter()
        self.connections = 0
        self.requests: list[Request] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._context: ssl.SSLContext | None = None
        if tls:
            ca = trustme.CA()
            self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(self._context)
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/") -> str:
        """Return the absolute URL of `path` on this server."""
        return self.base + path

    def page(self, path: str, html: str | bytes, content_type: str = "text/html") -> None:
        """Serve `html` at `path` (exactly), with a correct length."""
        body = html.encode("utf-8") if isinstance(html, str) else html
        self.pages[path] = (content_type, body)

    def __enter__(self) -> HostileServer:
        """Start accepting connections; return the server."""
        self._accepter.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop: release every stalled route, close the listener."""
        self.release.set()
        # shutdown wakes the thread blocked in accept(); close alone does not on Linux.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._accepter.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                sock, _peer = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            sock.settimeout(30)
            if self._context is not None:
                sock = self._context.wrap_socket(sock, server_side=True)
            request = _read_request(sock)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
                self.hits[request.path] += 1
            self._dispatch(sock, request)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _dispatch(self, sock: socket.socket, request: Request) -> None:
        page = self.pages.get(request.path)
        if page is not None:
            answer(sock, "200 OK", page[1], [("Content-Type", page[0])])
            return
        route = ROUTES.get(route_name(request.path)) or self.fallback
        if route is None:
            answer(sock, "404 Not Found", b"not found", [("Content-Type", "text/plain")])
            return
        route(self, sock, request)


def _read_request(sock: socket.socket) -> Request | None:
    """Read one request head; return None if the client sent nothing usable."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > 64 * 1024:
            return None
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(parts[0], parts[1], headers)


@contextlib.contextmanager
def hostile_server(*, tls: bool = False) -> Iterator[HostileServer]:
    """Run a HostileServer for the length of the block."""
    with HostileServer(tls=tls) as server:
        yield server
