"""A loopback server that answers each path with bytes given exactly: heads no library writes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field


@dataclass
class RawServer:
    """Answers `GET path` with `answers[path]` as raw bytes, then closes the connection."""

    port: int = 0
    answers: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        """Return the absolute URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, head: bytes, body: bytes = b"") -> None:
        """Answer `path` with `head` (status line and header lines, CRLF-ended) and `body`."""
        self.answers[path] = head + b"\r\n" + body


def _serve(server: RawServer, listener: socket.socket, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        with sock:
            sock.settimeout(5)
            data = b""
            with suppress(OSError):
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            line = data.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            path = parts[1] if len(parts) > 1 else "/"
            server.requests.append(path)
            reply = server.answers.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            with suppress(OSError):
                sock.sendall(reply)
                sock.shutdown(socket.SHUT_WR)


@contextmanager
def raw_server() -> Iterator[RawServer]:
    """Run a RawServer on 127.0.0.1 at a free port until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    server = RawServer(port=listener.getsockname()[1])
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(server, listener, stop), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        # shutdown wakes the thread blocked in accept(); close alone would not.
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=5)
