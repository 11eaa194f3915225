"""The Fetcher against real servers on loopback: limits, retries, codings, cookies, proxy, TLS."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import math
import os
import socket
import ssl
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import brotli
import pytest
import trustme

import preserve
from preserve.errors import BadInput
from preserve.fetch import Cancelled, Fetcher
from preserve.models import CaptureOptions

from .conftest import Server, _make_handler

MakeFetcher = Callable[..., Fetcher]


class FakeSleep:
    """Records the pauses asked for instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    @property
    def total(self) -> float:
        return math.fsum(self.calls)


@pytest.fixture
def tmp_dir(tmp_path: Path) -> Path:
    path = tmp_path / "tmp"
    path.mkdir()
    return path


@pytest.fixture
def make_fetcher(tmp_dir: Path) -> Iterator[MakeFetcher]:
    fetchers: list[Fetcher] = []

    def make(options: CaptureOptions | None = None, **kwargs: Any) -> Fetcher:
        fetcher = Fetcher(options or CaptureOptions(), tmp_dir, **kwargs)
        fetchers.append(fetcher)
        return fetcher

    yield make
    for fetcher in fetchers:
        fetcher.close()


def send_chunk(request: BaseHTTPRequestHandler, data: bytes) -> None:
    request.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


def start_chunked(request: BaseHTTPRequestHandler, headers: dict[str, str] | None = None) -> None:
    # The client may give up mid-body: read no further request from this connection.
    request.close_connection = True
    request.send_response(200)
    request.send_header("Transfer-Encoding", "chunked")
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()


def open_body_file(tmp_dir: Path, size: int, timeout: float = 5.0) -> int | None:
    """Open the fetcher's temp file once it holds `size` bytes; return its descriptor.

    Holding the descriptor lets a test measure what was written even after the file is removed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in tmp_dir.glob("body-*"):
            try:
                if path.stat().st_size >= size:
                    return os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
        time.sleep(0.005)
    return None


# Redirects


def redirect_chain(http: Server, hops: int) -> None:
    statuses = [301, 302, 307, 308, 303]
    for n in range(1, hops + 1):
        target = f"/r{n + 1}" if n < hops else "/final"
        http.route(f"/r{n}", status=statuses[n - 1], headers={"Location": target})
    http.route("/final", body=b"arrived", headers={"Content-Type": "text/plain"})


def test_more_redirects_than_allowed_fail_and_keep_every_hop(
    http: Server, make_fetcher: MakeFetcher, tmp_dir: Path
) -> None:
    redirect_chain(http, 3)
    result = make_fetcher(CaptureOptions(max_redirects=2)).fetch(http.url("/r1"))
    assert result.error == "more than 2 redirects"
    assert result.body is None
    assert [(e.url, e.status) for e in result.exchanges] == [
        (http.url("/r1"), 301),
        (http.url("/r2"), 302),
        (http.url("/r3"), 307),
    ]
    assert [path for path, _ in http.requests] == ["/r1", "/r2", "/r3"]
    assert list(tmp_dir.iterdir()) == []


def test_redirects_up_to_the_limit_are_followed(http: Server, make_fetcher: MakeFetcher) -> None:
    redirect_chain(http, 3)
    result = make_fetcher(CaptureOptions(max_redirects=3)).fetch(http.url("/r1"))
    assert result.error is None
    assert [e.status for e in result.exchanges] == [301, 302, 307, 200]
    assert result.exchanges[1].header("Location") == "/r3"
    assert result.final_url == http.url("/final")
    assert result.body is not None
    assert result.body.path.read_bytes() == b"arrived"


def test_redirect_to_an_unsupported_scheme_fails_clearly(
    http: Server, make_fetcher: MakeFetcher
) -> None:
    http.route("/", status=302, headers={"Location": "ftp://files.example.org/pub/x.gif"})
    result = make_fetcher().fetch(http.url("/"))
    assert result.error == "redirect to an unsupported URL: ftp://files.example.org/pub/x.gif"
    assert [e.status for e in result.exchanges] == [302]
    assert len(http.requests) == 1


# --max-size against the decoded bytes, while reading


def test_chunked_body_over_max_size_stops_while_streaming(
    http: Server, make_fetcher: MakeFetcher, tmp_dir: Path
) -> None:
    piece = b"x" * 30_000
    held: list[int | None] = []

    def chunked(request: BaseHTTPRequestHandler) -> None:
        start_chunked(request, {"Content-Type": "application/octet-stream"})
        try:
            for _ in range(3):
                send_chunk(request, piece)
            # The first 90,000 bytes are under the limit: they must already be on disk.
            held.append(open_body_file(tmp_dir, 90_000))
            for _ in range(10):
                send_chunk(request, piece)
            request.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass

    http.routes["/big"] = chunked
    result = make_fetcher(CaptureOptions(max_size=100_000)).fetch(http.url("/big"))
    assert result.error == "body exceeds --max-size 100000"
    assert result.truncated
    assert result.body is None
    assert 100_000 < result.received_bytes <= 13 * 30_000
    assert list(tmp_dir.iterdir()) == []
    (fd,) = held
    assert fd is not None, "the body was not streamed to disk as it arrived"
    try:
        # Written before the file was removed: what arrived, never more than --max-size.
        assert 90_000 <= os.fstat(fd).st_size <= 100_000
    finally:
        os.close(fd)


def test_gzip_bomb_is_stopped_at_max_size_of_decoded_bytes(
    http: Server, make_fetcher: MakeFetcher, tmp_dir: Path
) -> None:
    max_size = 1024 * 1024
    packer = zlib.compressobj(wbits=31)
    first = packer.compress(b"\0" * 900_000) + packer.flush(zlib.Z_SYNC_FLUSH)
    rest = packer.compress(b"\0" * 4_100_000) + packer.flush()
    assert len(first) + len(rest) < 10_000
    held: list[int | None] = []

    def bomb(request: BaseHTTPRequestHandler) -> None:
        start_chunked(request, {"Content-Type": "image/gif", "Content-Encoding": "gzip"})
        try:
            send_chunk(request, first)
            held.append(open_body_file(tmp_dir, 900_000))
            send_chunk(request, rest)
            request.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass

    http.routes["/bomb.gif"] = bomb
    result = make_fetcher(CaptureOptions(max_size=max_size)).fetch(http.url("/bomb.gif"))
    assert result.error == f"body exceeds --max-size {max_size}"
    assert result.truncated
    assert result.received_bytes == len(first) + len(rest)
    assert list(tmp_dir.iterdir()) == []
    (fd,) = held
    assert fd is not None, "the decoded body was not streamed to disk"
    try:
        # Written before the file was removed: never more than --max-size.
        assert 900_000 <= os.fstat(fd).st_size <= max_size
    finally:
        os.close(fd)


# A body cut short, a server too slow


def short_body(request: BaseHTTPRequestHandler) -> None:
    """Promise 10,000 bytes of GIF, send 100, and close the connection."""
    request.send_response(200)
    request.send_header("Content-Type", "image/gif")
    request.send_header("Content-Length", "10000")
    request.end_headers()
    request.wfile.write(b"G" * 100)
    request.close_connection = True


def test_body_cut_short_is_an_error_and_leaves_no_file(
    http: Server, make_fetcher: MakeFetcher, tmp_dir: Path
) -> None:
    http.routes["/short.gif"] = short_body
    result = make_fetcher(CaptureOptions(retries=0)).fetch(http.url("/short.gif"))
    assert result.error is not None
    assert result.error.startswith("body cut short")
    assert result.received_bytes == 100
    assert result.truncated
    assert result.body is None
    assert result.status == 200
    assert list(tmp_dir.iterdir()) == []


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event slow handlers wait on, set when the test ends so no handler lingers."""
    event = threading.Event()
    yield event
    event.set()


def test_server_slower_than_the_timeout_fails_fast(
    http: Server, make_fetcher: MakeFetcher, release: threading.Event
) -> None:
    def slow(request: BaseHTTPRequestHandler) -> None:
        release.wait(3)
        try:
            request.send_response(204)
            request.end_headers()
        except OSError:
            pass

    http.routes["/slow"] = slow
    fetcher = make_fetcher(CaptureOptions(timeout=0.5, retries=0))
    began = time.monotonic()
    result = fetcher.fetch(http.url("/slow"))
    elapsed = time.monotonic() - began
    assert result.error == "timed out waiting for the server"
    assert result.exchanges == ()
    assert elapsed < 2.5


def test_body_that_stalls_times_out_as_cut_short(
    http: Server, make_fetcher: MakeFetcher, tmp_dir: Path, release: threading.Event
) -> None:
    def stall(request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True
        request.send_response(200)
        request.send_header("Content-Length", "1000")
        request.end_headers()
        request.wfile.write(b"x" * 10)
        release.wait(3)

    http.routes["/stall"] = stall
    fetcher = make_fetcher(CaptureOptions(timeout=0.5, retries=0))
    began = time.monotonic()
    result = fetcher.fetch(http.url("/stall"))
    assert time.monotonic() - began < 2.5
    assert result.error == "body cut short: timed out waiting for the server"
    assert result.truncated
    assert list(tmp_dir.iterdir()) == []


# Retries


def flaky(responses: list[tuple[int, dict[str, str]]], calls: list[str]) -> Callable[..., None]:
    """Answer with each (status, headers) in turn, then 200 with body b'ok'."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        calls.append(request.path)
        status, headers = responses[len(calls) - 1] if len(calls) <= len(responses) else (200, {})
        body = b"ok" if status == 200 else b"busy"
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handler


def test_429_waits_as_long_as_retry_after_says(http: Server, make_fetcher: MakeFetcher) -> None:
    calls: list[str] = []
    http.routes["/"] = flaky([(429, {"Retry-After": "1"})], calls)
    sleep = FakeSleep()
    result = make_fetcher(sleep=sleep).fetch(http.url("/"))
    assert result.error is None
    assert result.status == 200
    assert len(calls) == 2
    assert sleep.total == pytest.approx(1.0, abs=0.05)


def test_answers_that_were_retried_are_kept_for_the_warc_not_as_hops(
    http: Server, make_fetcher: MakeFetcher
) -> None:
    calls: list[str] = []
    http.routes["/"] = flaky([(503, {}), (500, {})], calls)
    result = make_fetcher(sleep=FakeSleep(), keep_received=True).fetch(http.url("/"))
    assert result.error is None
    assert [ex.status for ex in result.exchanges] == [200]
    assert [ex.status for ex in result.retried] == [503, 500]
    for answer in result.retried:
        assert answer.received is not None
        assert answer.received.path is not None
        assert answer.received.path.read_bytes() == b"busy"
    # Without a WARC to feed, nothing of them is read or kept.
    calls.clear()
    plain = make_fetcher(sleep=FakeSleep()).fetch(http.url("/"))
    assert plain.retried == ()
    assert len(calls) == 3


def test_retry_after_holds_back_every_request_to_that_host(
    http: Server, make_fetcher: MakeFetcher
) -> None:
    calls: list[str] = []
    http.routes["/busy"] = flaky([(429, {"Retry-After": "2"})], calls)
    http.route("/other", body=b"ok", headers={"Content-Type": "text/plain"})
    sleep = FakeSleep()
    fetcher = make_fetcher(sleep=sleep)
    assert fetcher.fetch(http.url("/busy")).status == 200
    after_busy = sleep.total
    assert after_busy == pytest.approx(2.0, abs=0.1)
    # No real time passed (the sleep is fake), so the host is still to be left alone.
    assert fetcher.fetch(http.url("/other")).status == 200
    assert sleep.total - after_busy == pytest.approx(2.0, abs=0.1)


def test_retry_after_is_capped_at_60_seconds(http: Server, make_fetcher: MakeFetcher) -> None:
    calls: list[str] = []
    http.routes["/"] = flaky([(503, {"Retry-After": "86400"})], calls)
    sleep = FakeSleep()
    began = time.monotonic()
    result = make_fetcher(sleep=sleep).fetch(http.url("/"))
    assert time.monotonic() - began < 5
    assert result.status == 200
    assert len(calls) == 2
    assert 59 <= sleep.total <= 60 + 1e-6


def test_retries_exhausted_on_server_errors(http: Server, make_fetcher: MakeFetcher) -> None:
    calls: list[str] = []
    http.routes["/"] = flaky([(500, {})] * 10, calls)
    sleep = FakeSleep()
    result = make_fetcher(CaptureOptions(retries=2), sleep=sleep).fetch(http.url("/"))
    assert result.error == "HTTP 500 Internal Server Error"
    assert result.status == 500
    assert len(calls) == 3
    # Exponential back-off from --retry-backoff 0.5: 0.5 s, then 1 s.
    assert sleep.total == pytest.approx(1.5)


@pytest.mark.parametrize(("retries", "backoff"), [(0, 0.0), (3, 0.5 + 1 + 2)])
def test_refused_connection_is_retried(
    refused_url: str, make_fetcher: MakeFetcher, retries: int, backoff: float
) -> None:
    sleep = FakeSleep()
    result = make_fetcher(CaptureOptions(retries=retries), sleep=sleep).fetch(refused_url)
    assert result.error == "connection refused"
    assert result.exchanges == ()
    assert sleep.total == pytest.approx(backoff)


# Content codings and digests

TEXT = b"<p>The quick brown fox jumps over the lazy dog.</p>\n" * 200


@pytest.mark.parametrize(
    ("coding", "packed"),
    [
        ("gzip", gzip.compress(TEXT, mtime=0)),
        ("gzip", gzip.compress(TEXT[:5000], mtime=0) + gzip.compress(TEXT[5000:], mtime=0)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", zlib.compress(TEXT, wbits=-15)),
        ("br", brotli.compress(TEXT)),
        ("gzip, br", brotli.compress(gzip.compress(TEXT, mtime=0))),
    ],
    ids=["gzip", "gzip-members", "deflate-zlib", "deflate-raw", "br", "gzip-then-br"],
)
def test_content_codings_are_removed(
    http: Server, make_fetcher: MakeFetcher, coding: str, packed: bytes
) -> None:
    http.route("/p", body=packed, headers={"Content-Encoding": coding})
    result = make_fetcher().fetch(http.url("/p"))
    assert result.body is not None
    assert result.body.path.read_bytes() == TEXT
    assert result.body.size == len(TEXT)
    assert result.body.content_encoding == coding
    assert result.body.received_size == len(packed)
    assert result.body.digests["sha256"] == hashlib.sha256(TEXT).hexdigest()
    assert result.body.received_digests == {"sha256": hashlib.sha256(packed).hexdigest()}
    assert http.requests[0][1]["Accept-Encoding"] == "gzip, deflate, br"


def test_unknown_content_coding_is_stored_as_received(
    http: Server, make_fetcher: MakeFetcher
) -> None:
    sent = b"\x00\x01opaque bytes \xff" * 10
    http.route("/u", body=sent, headers={"Content-Encoding": "x-unknown"})
    result = make_fetcher().fetch(http.url("/u"))
    assert result.error is None
    assert result.body is not None
    assert result.body.path.read_bytes() == sent
    assert result.body.content_encoding == "x-unknown"
    assert result.body.digests["sha512"] == hashlib.sha512(sent).hexdigest()


def test_corrupt_gzip_is_an_error_not_a_payload(
    http: Server, make_fetcher: MakeFetcher, tmp_dir: Path
) -> None:
    http.route(
        "/c",
        body=b"\x1f\x8b\x08\x00garbage that is not deflate",
        headers={"Content-Encoding": "gzip"},
    )
    result = make_fetcher().fetch(http.url("/c"))
    assert result.error == "content coding gzip could not be decoded"
    assert result.body is None
    assert list(tmp_dir.iterdir()) == []


def test_keep_received_keeps_the_exact_bytes_sent(http: Server, make_fetcher: MakeFetcher) -> None:
    packed = gzip.compress(TEXT, mtime=0)
    http.route("/k", body=packed, headers={"Content-Encoding": "gzip"})
    result = make_fetcher(keep_received=True).fetch(http.url("/k"))
    assert result.body is not None
    assert result.body.received_path is not None
    assert result.body.received_path.name.endswith(".received")
    assert result.body.received_path.read_bytes() == packed
    assert result.body.path.read_bytes() == TEXT


def test_digests_use_the_requested_algorithms(http: Server, make_fetcher: MakeFetcher) -> None:
    data = os.urandom(70_000)
    http.route("/d", body=data)
    result = make_fetcher(CaptureOptions(checksums=("md5", "sha1"))).fetch(http.url("/d"))
    assert result.body is not None
    assert result.body.digests == {
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
    }
    assert result.body.received_digests == {}


def test_big_bodies_fetched_together_are_hashed_right_on_threads_or_not(
    http: Server, make_fetcher: MakeFetcher
) -> None:
    from preserve.fetch import PARALLEL_AFTER

    bodies = {f"/big{n}": os.urandom(PARALLEL_AFTER + 1_000_000 * n + 17) for n in range(3)}
    for path, data in bodies.items():
        http.route(path, body=data, headers={"Content-Type": "video/mp4"})
    fetcher = make_fetcher(CaptureOptions(payload="both"), keep_received=True)
    with ThreadPoolExecutor(3) as pool:
        results = dict(zip(bodies, pool.map(fetcher.fetch, map(http.url, bodies)), strict=True))
    for path, data in bodies.items():
        result = results[path]
        assert result.body is not None
        assert result.body.digests == {
            "sha512": hashlib.sha512(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        received = result.exchanges[-1].received
        assert received is not None
        assert received.sha256 == hashlib.sha256(data).hexdigest()
        assert received.block_sha256 == hashlib.sha256(received.head + data).hexdigest()
    assert not [t for t in threading.enumerate() if t.name == "preserve-hash"]


# Cookies, proxy

CURL_COOKIES = """\
# Netscape HTTP Cookie File
# https://curl.se/docs/http-cookies.html
# This file was generated by libcurl! Edit at your own risk.

127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tabc
#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\ttoken\txyz
127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tlasting\tyes
127.0.0.1\tFALSE\t/private\tFALSE\t0\telsewhere\tno
127.0.0.1\tFALSE\t/\tFALSE\t1000000000\tstale\tno
"""


def test_cookies_file_is_sent_to_an_ip_host(
    http: Server, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(CURL_COOKIES, encoding="utf-8")
    http.route("/page", body=b"hi")
    result = make_fetcher(CaptureOptions(cookies=cookies)).fetch(http.url("/page"))
    assert result.error is None
    sent = http.requests[0][1].get("Cookie", "")
    pairs = dict(item.split("=", 1) for item in sent.split("; ") if item)
    # Session cookies (expiry 0, as curl and wget write them) are sent; expired ones are not.
    assert pairs == {"session": "abc", "token": "xyz", "lasting": "yes"}


def test_unreadable_cookies_file_is_bad_input(tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("this is not a cookies file\n", encoding="utf-8")
    with pytest.raises(BadInput, match="cookies"):
        Fetcher(CaptureOptions(cookies=cookies), tmp_path)


def test_proxy_receives_the_absolute_url_and_no_dns_lookup_happens(
    http: Server, make_fetcher: MakeFetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[object] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: object, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(host)
        if host != "127.0.0.1":
            raise socket.gaierror(socket.EAI_NONAME, "no lookups in this test")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    http.route("/x.gif", body=b"GIF89a-via-proxy", headers={"Content-Type": "image/gif"})
    fetcher = make_fetcher(CaptureOptions(proxy=http.url("")))
    result = fetcher.fetch("http://example.invalid/x.gif")
    assert result.error is None
    assert result.body is not None
    assert result.body.path.read_bytes() == b"GIF89a-via-proxy"
    assert result.final_url == "http://example.invalid/x.gif"
    [(target, headers)] = http.requests
    assert target == "http://example.invalid/x.gif"
    assert headers["Host"] == "example.invalid"
    assert "example.invalid" not in looked_up


def test_environment_proxies_and_no_proxy_are_honoured_as_requests_reads_them(
    http: Server, make_fetcher: MakeFetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    http.route("/x.gif", body=b"GIF89a-direct", headers={"Content-Type": "image/gif"})
    # HTTP_PROXY names the test server; NO_PROXY exempts 127.0.0.1, which is then reached
    # directly, and example.invalid goes through the proxy.
    monkeypatch.setenv("HTTP_PROXY", http.url(""))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    fetcher = make_fetcher()
    direct = fetcher.fetch(http.url("/x.gif"))
    assert direct.error is None
    via_proxy = fetcher.fetch("http://example.invalid/x.gif")
    assert via_proxy.error is None
    assert [target for target, _ in http.requests] == ["/x.gif", "http://example.invalid/x.gif"]
    # Read when the fetcher was made: a change afterwards does not reach this capture.
    monkeypatch.setenv("NO_PROXY", "")
    again = fetcher.fetch(http.url("/x.gif"))
    assert again.error is None
    assert http.requests[-1][0] == "/x.gif"
    # Without NO_PROXY even the loopback server is asked through the proxy.
    fresh = make_fetcher()
    fresh.fetch(http.url("/x.gif"))
    assert http.requests[-1][0] == http.url("/x.gif")


# TLS


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet: failed handshakes are what some tests are about."""


@pytest.fixture
def https(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """A loopback HTTPS server with a certificate from a throwaway CA, and that CA's PEM."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    server = Server(None)
    httpd = _QuietServer(("127.0.0.1", 0), _make_handler(server))
    # The handshake happens in the handler's thread, so a refused one cannot stall the server.
    httpd.socket = context.wrap_socket(
        httpd.socket, server_side=True, do_handshake_on_connect=False
    )
    server.base = f"https://127.0.0.1:{httpd.server_address[1]}"
    server.route("/secure", body=b"over tls", headers={"Content-Type": "text/plain"})
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, ca_pem
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_untrusted_certificate_fails_with_a_tls_error(
    https: tuple[Server, Path], make_fetcher: MakeFetcher
) -> None:
    server, _ca = https
    sleep = FakeSleep()
    result = make_fetcher(sleep=sleep).fetch(server.url("/secure"))
    assert result.error is not None
    assert "TLS" in result.error
    assert "certificate" in result.error
    assert result.body is None
    assert sleep.calls == []


def test_ca_bundle_makes_the_certificate_trusted(
    https: tuple[Server, Path], make_fetcher: MakeFetcher
) -> None:
    server, ca = https
    result = make_fetcher(CaptureOptions(ca_bundle=ca)).fetch(server.url("/secure"))
    assert result.error is None
    assert result.body is not None
    assert result.body.path.read_bytes() == b"over tls"


def test_insecure_fetches_without_verifying_and_without_warnings(
    https: tuple[Server, Path], make_fetcher: MakeFetcher
) -> None:
    server, _ca = https
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fetcher = make_fetcher(CaptureOptions(insecure=True))
        result = fetcher.fetch(server.url("/secure"))
    assert result.error is None
    assert result.body is not None
    assert result.body.path.read_bytes() == b"over tls"
    assert [str(w.message) for w in caught] == []


# Politeness: --host-workers and --wait


class ConcurrencyProbe:
    """A handler that holds each request for a while, counting how many overlap."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.active = 0
        self.peak = 0
        self.starts: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.starts.append(time.monotonic())
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            # Headers first, body later: the request is still running while the body is due.
            request.send_response(200)
            request.send_header("Content-Length", "2")
            request.end_headers()
            time.sleep(self.hold)
        finally:
            with self._lock:
                self.active -= 1
        request.wfile.write(b"ok")


def fetch_all(fetcher: Fetcher, urls: list[str]) -> list[str | None]:
    with ThreadPoolExecutor(len(urls)) as pool:
        return [r.error for r in pool.map(fetcher.fetch, urls)]


@pytest.mark.parametrize(("host_workers", "most"), [(1, 1), (3, 3)])
def test_host_workers_bounds_concurrent_requests_to_one_host(
    http: Server, make_fetcher: MakeFetcher, host_workers: int, most: int
) -> None:
    probe = ConcurrencyProbe(hold=0.2)
    http.routes["/slow"] = probe
    fetcher = make_fetcher(CaptureOptions(host_workers=host_workers, retries=0))
    urls = [http.url(f"/slow?n={n}") for n in range(4)]
    assert fetch_all(fetcher, urls) == [None] * 4
    assert len(probe.starts) == 4
    assert probe.peak <= most
    if most > 1:
        assert probe.peak > 1


def test_wait_spaces_requests_to_one_host(http: Server, make_fetcher: MakeFetcher) -> None:
    probe = ConcurrencyProbe(hold=0.0)
    http.routes["/w"] = probe
    fetcher = make_fetcher(CaptureOptions(wait=0.3, retries=0))
    urls = [http.url(f"/w?n={n}") for n in range(3)]
    assert fetch_all(fetcher, urls) == [None] * 3
    starts = sorted(probe.starts)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(gaps) == 2
    assert all(gap >= 0.25 for gap in gaps), gaps


def test_wait_uses_the_injected_sleep(http: Server, make_fetcher: MakeFetcher) -> None:
    http.route("/a", body=b"a")
    sleep = FakeSleep()
    fetcher = make_fetcher(CaptureOptions(wait=5.0), sleep=sleep)
    began = time.monotonic()
    for _ in range(2):
        assert fetcher.fetch(http.url("/a")).error is None
    assert time.monotonic() - began < 2
    assert len(sleep.calls) >= 1
    assert 4 < sleep.total <= 5


# Cancel


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_cancel_while_a_slow_body_streams(
    http: Server,
    make_fetcher: MakeFetcher,
    tmp_dir: Path,
    release: threading.Event,
    framing: str,
) -> None:
    def trickle(request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True
        request.send_response(200)
        if framing == "chunked":
            request.send_header("Transfer-Encoding", "chunked")
        else:
            request.send_header("Content-Length", str(1000 * 100))
        request.end_headers()
        try:
            for _ in range(100):
                if framing == "chunked":
                    send_chunk(request, b"t" * 1000)
                else:
                    request.wfile.write(b"t" * 1000)
                if release.wait(0.05):
                    return
        except OSError:
            pass

    http.routes["/trickle"] = trickle
    cancel = threading.Event()
    fetcher = make_fetcher(CaptureOptions(timeout=10), cancel=cancel)
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    began = time.monotonic()
    try:
        with pytest.raises(Cancelled):
            fetcher.fetch(http.url("/trickle"))
    finally:
        timer.cancel()
    assert time.monotonic() - began < 2
    assert list(tmp_dir.iterdir()) == []


def test_cancel_before_fetching_sends_nothing(http: Server, make_fetcher: MakeFetcher) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        make_fetcher(cancel=cancel).fetch(http.url("/"))
    assert http.requests == []


def test_cancel_during_back_off_stops_retrying(http: Server, make_fetcher: MakeFetcher) -> None:
    calls: list[str] = []
    http.routes["/"] = flaky([(503, {"Retry-After": "30"})] * 5, calls)
    cancel = threading.Event()

    def sleep(seconds: float) -> None:
        cancel.set()

    with pytest.raises(Cancelled):
        make_fetcher(cancel=cancel, sleep=sleep).fetch(http.url("/"))
    assert len(calls) == 1


# End to end


def test_capture_records_a_requisite_cut_short(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b'<img src="/short.gif">', headers={"Content-Type": "text/html"})
    http.routes["/short.gif"] = short_body
    result = preserve.capture(http.url("/"), tmp_path, CaptureOptions(retries=0))
    record = next(r for r in result.records if r.url == http.url("/short.gif"))
    assert record.outcome == "failed"
    assert record.error is not None
    assert record.error.startswith("body cut short")
    assert record.received_bytes == 100
    assert not any(p.name == "short.gif" for p in result.bag_path.rglob("*"))


def test_insecure_is_recorded_in_the_capture_log(
    https: tuple[Server, Path], tmp_path: Path
) -> None:
    server, ca = https
    server.route("/", body=b"<title>tls</title>", headers={"Content-Type": "text/html"})
    insecure = preserve.capture(server.url("/"), tmp_path / "a", CaptureOptions(insecure=True))
    assert [r.tls_unverified for r in insecure.records] == [True]
    log = (insecure.bag_path / "data/logs/capture-log.jsonl").read_text(encoding="utf-8")
    assert '"tls_unverified": true' in log
    verified = preserve.capture(server.url("/"), tmp_path / "b", CaptureOptions(ca_bundle=ca))
    assert [r.tls_unverified for r in verified.records] == [False]


def test_each_failure_has_a_kind_a_program_can_test(
    http: Server, make_fetcher: MakeFetcher, refused_url: str, tmp_path: Path
) -> None:
    http.route("/missing", status=404)
    http.route("/loop", status=302, headers={"Location": "/loop"})
    http.route("/ftp", status=302, headers={"Location": "ftp://example.org/x"})
    http.route("/big", body=b"x" * 2048)
    http.route("/coding", body=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    fetcher = make_fetcher(CaptureOptions(max_size=1024, retries=0))
    kinds = {
        path: fetcher.fetch(http.url(path)).failure
        for path in ("/missing", "/loop", "/ftp", "/big", "/coding")
    }
    assert {path: f.kind for path, f in kinds.items() if f is not None} == {
        "/missing": "status",
        "/loop": "redirect",
        "/ftp": "redirect",
        "/big": "too-large",
        "/coding": "coding",
    }
    assert kinds["/missing"] is not None and kinds["/missing"].message == "HTTP 404 Not Found"
    refused = fetcher.fetch(refused_url)
    assert refused.failure is not None
    assert (refused.failure.kind, refused.error) == ("network", "connection refused")
    guarded = make_fetcher(CaptureOptions(retries=0), seed="http://example.org/")
    private = guarded.fetch(http.url("/missing"))
    assert private.failure is not None and private.failure.kind == "refused"
