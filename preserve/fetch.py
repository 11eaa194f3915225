"""Fetching: the only module that talks HTTP. Streams bodies to disk, hashing as they arrive."""

from __future__ import annotations

import hashlib
import http.cookiejar
import os
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from preserve._version import __version__
from preserve.errors import BadInput
from preserve.models import Body, CaptureOptions, Exchange, FetchResult
from preserve.urls import WEB_SCHEMES, resolve

CHUNK = 256 * 1024
RETRY_AFTER_CAP = 60.0
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PROJECT_URL = "https://github.com/preserve-archive/preserve"


def default_user_agent() -> str:
    """Return the User-Agent preserve sends unless told otherwise."""
    return f"preserve/{__version__} (+{PROJECT_URL})"


class Cancelled(Exception):
    """Raised inside a fetch when the capture is being stopped."""


class _Decoder(Protocol):
    def decompress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class _Identity:
    def decompress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Zlib:
    """gzip or deflate; deflate falls back to raw deflate, which some servers send."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
        self._started = False

    def decompress(self, data: bytes) -> bytes:
        if not self._started and not self._gzip and data:
            self._started = True
            try:
                return self._obj.decompress(data)
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        self._started = True
        out = self._obj.decompress(data)
        # gzip allows several members one after another.
        while self._gzip and self._obj.eof and self._obj.unused_data:
            rest = self._obj.unused_data
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += self._obj.decompress(rest)
        return out

    def flush(self) -> bytes:
        return self._obj.flush()


class _Brotli:
    def __init__(self) -> None:
        import brotli

        self._obj = brotli.Decompressor()

    def decompress(self, data: bytes) -> bytes:
        return bytes(self._obj.process(data))

    def flush(self) -> bytes:
        return b""


class _Chain:
    def __init__(self, decoders: list[_Decoder]) -> None:
        self._decoders = decoders

    def decompress(self, data: bytes) -> bytes:
        for decoder in self._decoders:
            data = decoder.decompress(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for decoder in self._decoders:
            data = decoder.decompress(data) + decoder.flush()
        return data


def _decoder_for(content_encoding: str | None) -> _Decoder | None:
    """Return a decoder undoing the content codings in order, None if one is unknown."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    decoders: list[_Decoder] = []
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            decoders.append(_Zlib(gzip=True))
        elif coding == "deflate":
            decoders.append(_Zlib(gzip=False))
        elif coding == "br":
            decoders.append(_Brotli())
        elif coding == "identity":
            continue
        else:
            return None
    if not decoders:
        return _Identity()
    return decoders[0] if len(decoders) == 1 else _Chain(decoders)


class Digests:
    """Several hash algorithms fed from the same bytes."""

    def __init__(self, algorithms: tuple[str, ...]) -> None:
        self._hashes = {alg: hashlib.new(alg) for alg in algorithms}

    def update(self, data: bytes) -> None:
        """Feed `data` to every algorithm."""
        for h in self._hashes.values():
            h.update(data)

    def hexdigests(self) -> dict[str, str]:
        """Return each algorithm's hex digest."""
        return {alg: h.hexdigest() for alg, h in self._hashes.items()}


@dataclass(slots=True)
class _Failure(Exception):
    reason: str
    received: int = 0
    truncated: bool = False


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
        if "Name or service not known" in text or "NameResolutionError" in text:
            return "host name could not be resolved"
        if "refused" in text.lower():
            return "connection refused"
        if "reset" in text.lower():
            return "connection reset by the server"
        return "connection failed"
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
    """

    def __init__(
        self,
        options: CaptureOptions,
        tmp_dir: Path,
        *,
        cancel: threading.Event | None = None,
        sleep: Callable[[float], None] = time.sleep,
        keep_received: bool = False,
    ) -> None:
        self.options = options
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
        self.session = self._make_session()
        self._verify: bool | str | None = None
        if options.insecure:
            self._verify = False
        elif options.ca_bundle is not None:
            self._verify = str(options.ca_bundle)
        self._proxies = {"http": options.proxy, "https": options.proxy} if options.proxy else None

    def _make_session(self) -> requests.Session:
        opts = self.options
        session = requests.Session()
        adapter = HTTPAdapter(
            pool_connections=max(10, opts.workers),
            pool_maxsize=max(opts.workers, 1),
            max_retries=0,
        )
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
                    response.close()
                    reason = f"HTTP {exchange.status} {exchange.reason}".strip()
                    return FetchResult(url, current, tuple(exchanges), error=reason)
                if not store:
                    response.close()
                    return FetchResult(url, current, tuple(exchanges))
                try:
                    body = self._stream_body(response)
                except _Failure as failure:
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
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
                retryable = isinstance(
                    exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                ) and not isinstance(exc, requests.exceptions.SSLError)
                if retryable and attempt < opts.retries:
                    self._backoff(attempt, None)
                    attempt += 1
                    continue
                raise _Failure(_describe(exc)) from exc
            status = response.status_code
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

    def _stream_body(self, response: requests.Response) -> Body:
        """Stream the body to a temp file, removing content coding, hashing both forms."""
        max_size = self.options.max_size
        length = response.headers.get("Content-Length", "").strip()
        if length.isdigit() and int(length) > max_size:
            raise _Failure(f"Content-Length {length} exceeds --max-size {max_size}")
        encoding = response.headers.get("Content-Encoding")
        decoder = _decoder_for(encoding)
        if decoder is None:
            # An unknown coding cannot be undone: the payload is the body as received.
            decoder = _Identity()
        identity = isinstance(decoder, _Identity)
        payload = Digests(self.options.checksums)
        received = Digests(("sha256",))
        path = self._tmp_path()
        kept = path.with_name(path.name + ".received") if self.keep_received else None
        size = 0
        received_size = 0
        try:
            with path.open("wb") as out, (kept or Path(os.devnull)).open("wb") as raw_out:
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
                    if kept is not None:
                        raw_out.write(chunk)
                    if not identity:
                        received.update(chunk)
                    data = decoder.decompress(chunk)
                    size += len(data)
                    if size > max_size:
                        raise _Failure(
                            f"body exceeds --max-size {max_size}",
                            received=received_size,
                            truncated=True,
                        )
                    payload.update(data)
                    out.write(data)
                tail = decoder.flush()
                if tail:
                    size += len(tail)
                    payload.update(tail)
                    out.write(tail)
        except _Failure:
            path.unlink(missing_ok=True)
            if kept is not None:
                kept.unlink(missing_ok=True)
            raise
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            OSError,
            zlib.error,
        ) as exc:
            path.unlink(missing_ok=True)
            if kept is not None:
                kept.unlink(missing_ok=True)
            local_trouble = isinstance(exc, OSError) and not isinstance(
                exc, ConnectionError | TimeoutError
            )
            # Disk full, file too large, permission, quota: the staging area failed, not the
            # server, so the capture stops rather than recording a failed requisite.
            if local_trouble and getattr(exc, "errno", None) in (28, 27, 13, 122):
                raise
            reason = "body cut short: " + _describe(exc)
            if isinstance(exc, zlib.error):
                reason = f"content coding {encoding} could not be decoded"
            raise _Failure(reason, received=received_size, truncated=True) from exc
        except BaseException:
            path.unlink(missing_ok=True)
            if kept is not None:
                kept.unlink(missing_ok=True)
            raise
        digests = payload.hexdigests()
        return Body(
            path=path,
            size=size,
            digests=digests,
            received_size=received_size,
            received_digests={} if identity else received.hexdigests(),
            content_encoding=encoding,
            received_path=kept,
        )


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
