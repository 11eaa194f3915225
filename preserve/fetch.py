"""Fetching: the only module that talks HTTP. Streams bodies to disk, hashing as they arrive."""

from __future__ import annotations

import hashlib
import http.cookiejar
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from preserve import netsafety
from preserve._version import __version__
from preserve.codings import DecodeError, Identity, decoder_for
from preserve.digests import Digests
from preserve.errors import BadInput
from preserve.models import Body, CaptureOptions, Exchange, FetchResult, Received
from preserve.netsafety import AddressGuard, Network, PrivateAddress
from preserve.pausepoint import pause_point
from preserve.urls import WEB_SCHEMES, resolve

CHUNK = 256 * 1024
# Past this size a body may be hashed on threads, one per algorithm (see Fetcher).
PARALLEL_AFTER = 8 * 1024 * 1024
# Response heads larger than this are refused: http.client alone allows 100 lines of 64 KiB.
MAX_HEADER_BYTES = 256 * 1024
_HEADERS_TOO_LARGE = re.compile(r"got more than \d+ (?:headers|bytes when reading [a-z ]+)")
# Redirect and error bodies are kept for the WARC up to this size, the rest marked truncated.
ERROR_BODY_LIMIT = 1024 * 1024
RETRY_AFTER_CAP = 60.0
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PROJECT_URL = "https://github.com/preserve-archive/preserve"


def default_user_agent() -> str:
    """Return the User-Agent preserve sends unless told otherwise."""
    return f"preserve/{__version__} (+{PROJECT_URL})"


class Cancelled(Exception):
    """Raised inside a fetch when the capture is being stopped."""


def _guarded_socket(conn: HTTPConnection, guard: AddressGuard) -> socket.socket:
    """Return `conn`'s new socket, opened through `guard`; raise as urllib3's own would.

    PrivateAddress passes through untouched: it is a refusal, not a network error to retry.
    """
    timeout = conn.timeout if isinstance(conn.timeout, int | float) else None
    try:
        return guard.connect(
            conn._dns_host,
            conn.port,
            timeout=timeout,
            source_address=conn.source_address,
            socket_options=conn.socket_options or (),
        )
    except socket.gaierror as exc:
        raise urllib3.exceptions.NameResolutionError(conn.host, conn, exc) from exc
    except TimeoutError as exc:
        message = f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
        raise urllib3.exceptions.ConnectTimeoutError(conn, message) from exc
    except OSError as exc:
        message = f"Failed to establish a new connection: {exc}"
        raise urllib3.exceptions.NewConnectionError(conn, message) from exc


def _guarded_pools(guard: AddressGuard) -> dict[str, type[HTTPConnectionPool]]:
    """Return connection-pool classes whose every direct connection goes through `guard`.

    Proxied requests use the proxy manager's own pools: the proxy resolves and decides.
    """

    class Connection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _guarded_socket(self, guard)

    class TLSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _guarded_socket(self, guard)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConnection

    return {"http": Pool, "https": TLSPool}


class _Session(requests.Session):
    """A Session that reads the proxy and CA-bundle variables once, and proxies once a host.

    requests looks through the whole environment for proxies on every request, which costs
    more than an exchange on a fast network; a capture's environment does not change while
    it runs. What it finds is what requests would: explicit settings still win.
    """

    def __init__(self) -> None:
        super().__init__()
        self._ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self._host_proxies: dict[str, dict[str, str]] = {}

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: MutableMapping[str, str] | None,
        stream: bool | None,
        verify: Any,
        cert: Any,
    ) -> Any:
        """Return the request's settings: its own, then the environment's, then the session's."""
        if not self.trust_env or (proxies and "no_proxy" in proxies):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        text = url.decode("latin-1") if isinstance(url, bytes) else url or ""
        parts = urlsplit(text)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._host_proxies.get(origin)
        if found is None:
            found = self._host_proxies[origin] = get_environ_proxies(text)
        if verify is True or verify is None:
            verify = self._ca_bundle or verify
        # requests' rule: the request's value unless None; proxies merged, None dropped.
        merged = {**self.proxies, **found, **(proxies or {})}
        return {
            "proxies": {scheme: via for scheme, via in merged.items() if via is not None},
            "stream": self.stream if stream is None else stream,
            "verify": self.verify if verify is None else verify,
            "cert": self.cert if cert is None else cert,
        }


@dataclass(slots=True)
class _Failure(Exception):
    reason: str
    received: int = 0
    truncated: bool = False
    kept: Received | None = None


def _response_head(exchange: Exchange) -> bytes:
    """Return the status line and header lines of a response, as its WARC record holds them.

    The body is kept with transfer coding removed, so `Transfer-Encoding` is renamed
    (replay tools would otherwise try to de-chunk it again); every other header is as received.
    """
    lines = [f"{exchange.http_version} {exchange.status} {exchange.reason}".rstrip()]
    for name, value in exchange.response_headers:
        renamed = (
            "X-Archive-Orig-Transfer-Encoding" if name.lower() == "transfer-encoding" else name
        )
        lines.append(f"{renamed}: {value}")
    # http.client decodes header bytes as latin-1, so encoding them back gives the bytes sent.
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), RETRY_AFTER_CAP))


def _describe(exc: BaseException) -> str:
    """Return a one-line reason for a requests or urllib3 exception."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error: certificate not trusted or handshake failed"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "proxy error"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "timed out while connecting"
    if isinstance(exc, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError):
        return "timed out waiting for the server"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        too_large = _HEADERS_TOO_LARGE.search(text)
        if too_large:
            return f"response headers too large ({too_large[0]})"
        if "Name or service not known" in text or "NameResolutionError" in text:
            return "host name could not be resolved"
        if "refused" in text.lower():
            return "connection refused"
        if "reset" in text.lower():
            return "connection reset by the server"
        return "connection failed"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        text = str(exc)
        short = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)", text)
        if "reset" in text.lower():
            return "connection reset by the server"
        if short:
            return f"connection closed {short[2]} bytes short of its Content-Length"
        return "connection broken (invalid chunked encoding or early close)"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        return "invalid URL"
    return type(exc).__name__


def load_cookies(path: Path) -> http.cookiejar.MozillaCookieJar:
    """Return the cookies of a Netscape cookies.txt file; raise BadInput if it cannot be read."""
    jar = http.cookiejar.MozillaCookieJar(str(path))
    try:
        jar.load(ignore_discard=True, ignore_expires=True)
    except (OSError, http.cookiejar.LoadError) as exc:
        raise BadInput(f"cannot read cookies file {path}: {exc}") from exc
    for cookie in jar:
        # curl and wget write session cookies with expiry 0, which the jar takes for 1970.
        if cookie.expires == 0:
            cookie.expires = None
            cookie.discard = True
    return jar


class Fetcher:
    """Fetches URLs with one pooled session, streaming each body into `tmp_dir`.

    Honours the request-shaping options: timeout, retries with back-off and Retry-After,
    redirects (every hop kept), size cap, per-host concurrency and wait, user agent,
    extra headers, cookies, proxy, CA bundle or --insecure. Thread-safe.

    Every direct connection goes through an AddressGuard (see `preserve.netsafety`) on
    `network`; `seed` is the capture's seed, by default the first URL fetched.
    """

    def __init__(
        self,
        options: CaptureOptions,
        tmp_dir: Path,
        *,
        cancel: threading.Event | None = None,
        sleep: Callable[[float], None] = time.sleep,
        keep_received: bool = False,
        network: Network | None = None,
        seed: str | None = None,
    ) -> None:
        self.options = options
        self.guard = AddressGuard(
            network or netsafety.SYSTEM, allow_private=options.allow_private, seed=seed
        )
        self.tmp_dir = tmp_dir
        self.cancel = cancel or threading.Event()
        self._sleep = sleep
        self.keep_received = keep_received
        self._counter = 0
        self._lock = threading.Lock()
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._host_last: dict[str, float] = {}
        # A host that answered 429 or 503 with Retry-After gets no request before this time.
        self._host_not_before: dict[str, float] = {}
        # One big body at a time is hashed on threads of its own; with several big bodies
        # arriving at once the others keep the cores busy anyway.
        self._parallel_hashing = threading.BoundedSemaphore(1)
        self.session = self._make_session()
        self._verify: bool | str | None = None
        if options.insecure:
            self._verify = False
        elif options.ca_bundle is not None:
            self._verify = str(options.ca_bundle)
        self._proxies = {"http": options.proxy, "https": options.proxy} if options.proxy else None

    def _make_session(self) -> requests.Session:
        opts = self.options
        session = _Session()
        adapter = HTTPAdapter(
            pool_connections=max(10, opts.workers),
            pool_maxsize=max(opts.workers, 1),
            max_retries=0,
        )
        adapter.poolmanager.pool_classes_by_scheme = _guarded_pools(self.guard)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = opts.user_agent or default_user_agent()
        session.headers["Accept"] = "*/*"
        session.headers["Accept-Encoding"] = "gzip, deflate, br"
        for name, value in opts.headers:
            session.headers[name] = value
        if opts.cookies is not None:
            session.cookies.update(load_cookies(opts.cookies))
        if opts.proxy:
            session.proxies = {"http": opts.proxy, "https": opts.proxy}
        if opts.insecure:
            session.verify = False
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        elif opts.ca_bundle is not None:
            session.verify = str(opts.ca_bundle)
        return session

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()

    def _tmp_path(self) -> Path:
        with self._lock:
            self._counter += 1
            return self.tmp_dir / f"body-{self._counter:06d}"

    @contextmanager
    def _host_slot(self, url: str) -> Iterator[None]:
        """Hold one of the host's --host-workers slots for a whole exchange, body included."""
        host = urlsplit(url).netloc
        with self._lock:
            slot = self._host_slots.setdefault(
                host, threading.BoundedSemaphore(max(1, self.options.host_workers))
            )
        with slot:
            yield

    def _pace(self, url: str) -> None:
        """Wait until --wait has passed since the last request to the URL's host started.

        Also waits out a Retry-After the host asked for. Raises Cancelled if the capture is
        stopped meanwhile.
        """
        host = urlsplit(url).netloc
        with self._lock:
            not_before = self._host_not_before.get(host, 0.0)
            if self.options.wait <= 0 and not_before <= 0:
                return
            last = self._host_last.get(host)
            now = time.monotonic()
            start = max(now, not_before)
            if last is not None and self.options.wait > 0:
                start = max(start, last + self.options.wait)
            self._host_last[host] = start
        left = start - now
        while left > 0:
            if self.cancel.is_set():
                raise Cancelled
            step = min(left, 0.2)
            self._sleep(step)
            left -= step

    def _hold_host(self, url: str, seconds: float) -> None:
        """Keep every request to the URL's host waiting `seconds`, as its Retry-After asked."""
        host = urlsplit(url).netloc
        with self._lock:
            until = time.monotonic() + seconds
            self._host_not_before[host] = max(self._host_not_before.get(host, 0.0), until)

    def fetch(self, url: str, *, referrer: str | None = None, store: bool = True) -> FetchResult:
        """Fetch `url`, following redirects; return every exchange and the stored body.

        The body of a 2xx final response is streamed to a file under `tmp_dir` with content
        coding removed, hashed with every `--checksum` algorithm on the way (and sha256 of
        the bytes as received, when they differ). Never raises for network trouble: the
        result's `error` says what went wrong. Raises Cancelled when the capture is stopped.
        """
        self.guard.set_seed(url)
        exchanges: list[Exchange] = []
        seen = {url}
        current = url
        for _hop in range(self.options.max_redirects + 1):
            with self._host_slot(current):
                try:
                    response, exchange = self._send(current, referrer)
                except _Failure as failure:
                    return FetchResult(url, current, tuple(exchanges), error=failure.reason)
                exchanges.append(exchange)
                location = response.headers.get("Location")
                if exchange.status in REDIRECT_STATUSES and location is not None:
                    exchanges[-1] = self._keep_small_body(response, exchange)
                    response.close()
                    target = resolve(location, current)
                    if target is None or urlsplit(target).scheme not in WEB_SCHEMES:
                        reason = f"redirect to an unsupported URL: {location[:200]}"
                        return FetchResult(url, current, tuple(exchanges), error=reason)
                    if target in seen:
                        return FetchResult(url, target, tuple(exchanges), error="redirect loop")
                    seen.add(target)
                    current = target
                    continue
                if not 200 <= exchange.status < 300:
                    exchanges[-1] = self._keep_small_body(response, exchange)
                    response.close()
                    reason = f"HTTP {exchange.status} {exchange.reason}".strip()
                    return FetchResult(url, current, tuple(exchanges), error=reason)
                if not store:
                    response.close()
                    return FetchResult(url, current, tuple(exchanges))
                try:
                    body, kept = self._stream_body(response, _response_head(exchange))
                    exchanges[-1] = replace(exchange, received=kept)
                except _Failure as failure:
                    exchanges[-1] = replace(exchange, received=failure.kept)
                    return FetchResult(
                        url,
                        current,
                        tuple(exchanges),
                        error=failure.reason,
                        received_bytes=failure.received,
                        truncated=failure.truncated,
                    )
                finally:
                    response.close()
                return FetchResult(
                    url, current, tuple(exchanges), body=body, received_bytes=body.received_size
                )
        reason = f"more than {self.options.max_redirects} redirects"
        # The last URL asked for, not the next Location, which was never requested.
        return FetchResult(url, exchanges[-1].url, tuple(exchanges), error=reason)

    def _send(self, url: str, referrer: str | None) -> tuple[requests.Response, Exchange]:
        """Send one GET with retries; return the response (body unread) and its exchange."""
        opts = self.options
        headers = {"Referer": referrer} if referrer else {}
        attempt = 0
        while True:
            if self.cancel.is_set():
                raise Cancelled
            started = datetime.now(UTC)
            try:
                self._pace(url)
                # verify and proxies per request: requests lets REQUESTS_CA_BUNDLE and the
                # proxy variables override the session's, and explicit options must win.
                response = self.session.get(
                    url,
                    headers=headers,
                    stream=True,
                    allow_redirects=False,
                    timeout=(opts.timeout, opts.timeout),
                    verify=self._verify,
                    proxies=self._proxies,
                )
            except PrivateAddress as exc:
                raise _Failure(str(exc)) from exc
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
                # TLS and oversized headers would fail the same way again.
                retryable = (
                    isinstance(
                        exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                    )
                    and not isinstance(exc, requests.exceptions.SSLError)
                    and not _HEADERS_TOO_LARGE.search(str(exc))
                )
                if retryable and attempt < opts.retries:
                    self._backoff(attempt, None)
                    attempt += 1
                    continue
                raise _Failure(_describe(exc)) from exc
            status = response.status_code
            head_size = sum(len(k) + len(v) + 4 for k, v in response.raw.headers.items())
            if head_size > MAX_HEADER_BYTES:
                response.close()
                raise _Failure(f"response headers too large ({head_size} bytes)")
            pause_point("fetching")
            if (status == 429 or status >= 500) and attempt < opts.retries:
                wait = _retry_after(response)
                response.close()
                if wait is not None and status in (429, 503):
                    self._hold_host(url, wait)
                    wait = 0.0
                self._backoff(attempt, wait)
                attempt += 1
                continue
            return response, self._exchange(response, started)

    def _backoff(self, attempt: int, retry_after: float | None) -> None:
        delay = retry_after if retry_after is not None else self.options.retry_backoff * 2**attempt
        # Count down what was slept, not the clock, so an injected sleep is honoured.
        left = delay
        while not self.cancel.is_set():
            if left <= 0:
                return
            step = min(left, 0.2)
            self._sleep(step)
            left -= step
        raise Cancelled

    @staticmethod
    def _exchange(response: requests.Response, started: datetime) -> Exchange:
        raw = response.raw
        version = {9: "HTTP/0.9", 10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}.get(
            getattr(raw, "version", 11), "HTTP/1.1"
        )
        return Exchange(
            url=response.url,
            method="GET",
            request_headers=tuple((k, str(v)) for k, v in response.request.headers.items()),
            status=response.status_code,
            reason=response.reason or "",
            http_version=version,
            response_headers=tuple((k, v) for k, v in raw.headers.items()),
            started=started,
        )

    def _keep_small_body(self, response: requests.Response, exchange: Exchange) -> Exchange:
        """Return `exchange` with its redirect or error body kept as received, when asked.

        Keeps at most ERROR_BODY_LIMIT bytes (a longer body is marked truncated); a body cut
        short keeps what arrived. Without `keep_received`, reads nothing.
        """
        if not self.keep_received:
            return exchange
        head = _response_head(exchange)
        block = hashlib.sha256(head)
        digest = hashlib.sha256()
        path = self._tmp_path().with_suffix(".received")
        size = 0
        truncated: str | None = None
        errors = (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError)
        with path.open("wb") as out:
            while size < ERROR_BODY_LIMIT:
                if self.cancel.is_set():
                    raise Cancelled
                try:
                    chunk = response.raw.read(min(CHUNK, ERROR_BODY_LIMIT - size), False)
                except errors:
                    truncated = "disconnect"
                    break
                if not chunk:
                    break
                size += len(chunk)
                out.write(chunk)
                block.update(chunk)
                digest.update(chunk)
            else:
                try:
                    more = response.raw.read(1, False)
                except errors:
                    more = b""
                truncated = "length" if more else None
        kept = Received(head, path, size, digest.hexdigest(), block.hexdigest(), truncated)
        return replace(exchange, received=kept)

    def _stream_body(
        self, response: requests.Response, head: bytes = b""
    ) -> tuple[Body, Received | None]:
        """Stream the body to a temp file, removing content coding, hashing both forms.

        With `keep_received`, also returns the body as received (a second file only when a
        content coding was removed) with its WARC digests, `head` being the response head.
        Raises _Failure for a body over --max-size, cut short or undecodable; with
        `keep_received` the failure carries what was received, marked truncated.
        """
        keep = self.keep_received
        max_size = self.options.max_size
        length = response.headers.get("Content-Length", "").strip()
        if length.isdigit() and int(length) > max_size:
            failure = _Failure(f"Content-Length {length} exceeds --max-size {max_size}")
            if keep:
                empty = hashlib.sha256().hexdigest()
                block_sha256 = hashlib.sha256(head).hexdigest()
                failure.kept = Received(head, None, 0, empty, block_sha256, "length")
            raise failure
        encoding = response.headers.get("Content-Encoding")
        decoder = decoder_for(encoding, CHUNK)
        if decoder is None:
            # An unknown coding cannot be undone: the payload is the body as received.
            decoder = Identity()
        identity = isinstance(decoder, Identity)
        # With --payload warc there is no payload file to list in a manifest: the payload's
        # digest is the WARC's (sha256), and the bag's algorithms hash the WARC itself.
        algorithms = ("sha256",) if self.options.payload == "warc" else self.options.checksums
        gate = self._parallel_hashing
        payload = Digests(algorithms, parallel_after=PARALLEL_AFTER, gate=gate)
        received = Digests(("sha256",), parallel_after=PARALLEL_AFTER, gate=gate)
        block = Digests(("sha256",), parallel_after=PARALLEL_AFTER, gate=gate) if keep else None
        if block is not None:
            block.update(head)
        # Without a content coding the payload file is the body as received: one file, and
        # its sha256 (when a --checksum) is the WARC payload digest too.
        reuse = keep and identity and "sha256" in algorithms
        feed_received = not identity or (keep and not reuse)
        path = self._tmp_path()
        kept = path.with_name(path.name + ".received") if keep and not identity else None
        size = 0
        received_size = 0

        def spooled(truncated: str | None) -> Received | None:
            """Return the body as received, or None (removing the files) when not kept."""
            if block is None:
                path.unlink(missing_ok=True)
                if kept is not None:
                    kept.unlink(missing_ok=True)
                return None
            if kept is not None and truncated is not None:
                path.unlink(missing_ok=True)
            sha256 = (payload if reuse else received).hexdigests()["sha256"]
            spool = kept or path
            block_sha256 = block.hexdigests()["sha256"]
            return Received(head, spool, received_size, sha256, block_sha256, truncated)

        def store(data: bytes, stored: int) -> int:
            """Hash and write one decoded piece; return the size so far, or fail past --max-size."""
            stored += len(data)
            if stored > max_size:
                if keep and identity:
                    # The payload file is the spool: it keeps every byte received.
                    payload.update(data)
                    out.write(data)
                raise _Failure(
                    f"body exceeds --max-size {max_size}", received=received_size, truncated=True
                )
            payload.update(data)
            out.write(data)
            return stored

        try:
            try:
                raw_file = kept.open("wb") if kept is not None else nullcontext(None)
                with path.open("wb") as out, raw_file as raw_out:
                    raw = response.raw
                    # read1 returns what has arrived, so a slow body still sees a cancel promptly;
                    # stream() waits for a whole CHUNK (older urllib3 has no read1).
                    chunks = (
                        iter(lambda: raw.read1(CHUNK, decode_content=False), b"")
                        if hasattr(raw, "read1")
                        else raw.stream(CHUNK, decode_content=False)
                    )
                    for chunk in chunks:
                        if self.cancel.is_set():
                            raise Cancelled
                        received_size += len(chunk)
                        if raw_out is not None:
                            raw_out.write(chunk)
                        if feed_received:
                            received.update(chunk)
                        if block is not None:
                            block.update(chunk)
                        # Decoded piece by piece, so a decompression bomb stops at --max-size
                        # without ever being held in memory.
                        for data in decoder.decode(chunk):
                            size = store(data, size)
                        pause_point("hashing")
                    for data in decoder.finish():
                        size = store(data, size)
            except _Failure as failure:
                failure.kept = spooled("length")
                raise
            except (
                requests.exceptions.RequestException,
                urllib3.exceptions.HTTPError,
                OSError,
                DecodeError,
            ) as exc:
                local_trouble = isinstance(exc, OSError) and not isinstance(
                    exc, ConnectionError | TimeoutError
                )
                # Disk full, file too large, permission, quota: the staging area failed, not the
                # server, so the capture stops rather than recording a failed requisite.
                if local_trouble and getattr(exc, "errno", None) in (28, 27, 13, 122):
                    path.unlink(missing_ok=True)
                    if kept is not None:
                        kept.unlink(missing_ok=True)
                    raise
                reason = "body cut short: " + _describe(exc)
                truncated = "disconnect"
                if isinstance(exc, DecodeError):
                    reason = f"content coding {encoding} could not be decoded"
                    truncated = "unspecified"
                cut = _Failure(
                    reason, received=received_size, truncated=True, kept=spooled(truncated)
                )
                raise cut from exc
            except BaseException:
                path.unlink(missing_ok=True)
                if kept is not None:
                    kept.unlink(missing_ok=True)
                raise
            digests = payload.hexdigests()
            body = Body(
                path=path,
                size=size,
                digests=digests,
                received_size=received_size,
                received_digests={} if identity else received.hexdigests(),
                content_encoding=encoding,
                received_path=(kept or path) if keep else None,
            )
            return body, spooled(None) if keep else None
        finally:
            # Stops the hashing threads of a big body on every way out.
            for hashing in (payload, received, block):
                if hashing is not None:
                    hashing.close()


def copy_local_file(source: Path, tmp_dir: Path, checksums: tuple[str, ...], max_size: int) -> Body:
    """Copy a local file into `tmp_dir`, hashing it on the way; return its Body."""
    digests = Digests(checksums)
    target = tmp_dir / f"local-{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}"
    size = 0
    with source.open("rb") as src, target.open("wb") as out:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > max_size:
                out.close()
                target.unlink(missing_ok=True)
                raise ValueError(f"file exceeds --max-size {max_size}")
            digests.update(chunk)
            out.write(chunk)
    return Body(path=target, size=size, digests=digests.hexdigests(), received_size=size)
