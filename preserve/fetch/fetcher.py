"""The Fetcher: one pooled session for a capture, redirects, retries and pacing per host."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from preserve import netsafety
from preserve.fetch.body import Cancelled, Failure, keep_small_body, response_head, stream_body
from preserve.fetch.head import ReceivedHead
from preserve.fetch.hosts import HostGate, LocalHostGate
from preserve.fetch.session import describe, make_session
from preserve.fields import decimal, location_reference
from preserve.models import CaptureOptions, Exchange, FetchFailure, FetchResult
from preserve.netsafety import AddressGuard, Network, PrivateAddress
from preserve.pausepoint import pause_point
from preserve.urls import WEB_SCHEMES, resolve

# Response heads larger than this are refused: http.client alone allows 100 lines of 64 KiB.
MAX_HEADER_BYTES = 256 * 1024
RETRY_AFTER_CAP = 60.0
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def received_head(response: requests.Response) -> ReceivedHead | None:
    """Return the response's head as received, when the connection kept it."""
    original = getattr(response.raw, "_original_response", None)
    head = getattr(original, "received_head", None)
    return head if isinstance(head, ReceivedHead) else None


def retry_after(response: requests.Response) -> float | None:
    """Return the seconds a Retry-After header asks to wait (at most RETRY_AFTER_CAP)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    seconds = decimal(value)
    if seconds is not None:
        return min(float(seconds), RETRY_AFTER_CAP)
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), RETRY_AFTER_CAP))


class Fetcher:
    """Fetches URLs with one pooled session, streaming each body into `tmp_dir`.

    Honours the request-shaping options: timeout, retries with back-off and Retry-After,
    redirects (every hop kept), size cap, per-host concurrency and wait, user agent,
    extra headers, cookies, proxy, CA bundle or --insecure. Thread-safe.

    Every direct connection goes through an AddressGuard (see `preserve.netsafety`) on
    `network`; `seed` is the capture's seed, by default the first URL fetched. Payload
    bodies are hashed with `payload_algorithms` (by default every `--checksum`).
    """

    def __init__(
        self,
        options: CaptureOptions,
        tmp_dir: Path,
        *,
        cancel: threading.Event | None = None,
        sleep: Callable[[float], None] = time.sleep,
        keep_received: bool = False,
        payload_algorithms: tuple[str, ...] | None = None,
        network: Network | None = None,
        seed: str | None = None,
        gate: HostGate | None = None,
    ) -> None:
        self.options = options
        self.guard = AddressGuard(
            network or netsafety.SYSTEM, allow_private=options.allow_private, seed=seed
        )
        self.tmp_dir = tmp_dir
        self.cancel = cancel or threading.Event()
        self._sleep = sleep
        self.keep_received = keep_received
        self.payload_algorithms = payload_algorithms or options.checksums
        self._counter = 0
        self._lock = threading.Lock()
        self.gate: HostGate = gate or LocalHostGate(options.host_workers, options.wait)
        # One big body at a time is hashed on threads of its own; with several big bodies
        # arriving at once the others keep the cores busy anyway.
        self._parallel_hashing = threading.BoundedSemaphore(1)
        self.session = make_session(options, self.guard)
        self._verify: bool | str | None = None
        if options.insecure:
            self._verify = False
        elif options.ca_bundle is not None:
            self._verify = str(options.ca_bundle)
        self._proxies = {"http": options.proxy, "https": options.proxy} if options.proxy else None

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
        while not self.gate.acquire(host, 0.2):
            if self.cancel.is_set():
                raise Cancelled
        try:
            yield
        finally:
            self.gate.release(host)

    def _pace(self, url: str) -> None:
        """Wait until --wait has passed since the last request to the URL's host started.

        Also waits out a Retry-After the host asked for. Raises Cancelled if the capture is
        stopped meanwhile.
        """
        left = self.gate.reserve(urlsplit(url).netloc)
        while left > 0:
            if self.cancel.is_set():
                raise Cancelled
            step = min(left, 0.2)
            self._sleep(step)
            left -= step

    def _hold_host(self, url: str, seconds: float) -> None:
        """Keep every request to the URL's host waiting `seconds`, as its Retry-After asked."""
        self.gate.hold(urlsplit(url).netloc, seconds)

    def fetch(self, url: str, *, referrer: str | None = None, store: bool = True) -> FetchResult:
        """Fetch `url`, following redirects; return every exchange and the stored body.

        The body of a 2xx final response is streamed to a file under `tmp_dir` with content
        coding removed, hashed with every `--checksum` algorithm on the way (and sha256 of
        the bytes as received, when they differ). Never raises for network trouble: the
        result's `error` says what went wrong. Raises Cancelled when the capture is stopped.
        Answers that were asked again are in the result's `retried`, for the WARC.
        """
        self.guard.set_seed(url)
        exchanges: list[Exchange] = []
        retried: list[Exchange] = []

        def result(final: str, **outcome: Any) -> FetchResult:
            return FetchResult(url, final, tuple(exchanges), retried=tuple(retried), **outcome)

        seen = {url}
        current = url
        for _hop in range(self.options.max_redirects + 1):
            with self._host_slot(current):
                try:
                    response, exchange = self._send(current, referrer, retried)
                except Failure as failed:
                    return result(current, failure=failed.failure)
                exchanges.append(exchange)
                location = response.headers.get("Location")
                if exchange.status in REDIRECT_STATUSES and location is not None:
                    exchanges[-1] = self._keep_small_body(response, exchange)
                    response.close()
                    target = resolve(location_reference(location), current)
                    if target is None or urlsplit(target).scheme not in WEB_SCHEMES:
                        reason = f"redirect to an unsupported URL: {location[:200]}"
                        return result(current, failure=FetchFailure("redirect", reason))
                    if target in seen:
                        return result(target, failure=FetchFailure("redirect", "redirect loop"))
                    seen.add(target)
                    current = target
                    continue
                if not 200 <= exchange.status < 300:
                    exchanges[-1] = self._keep_small_body(response, exchange)
                    response.close()
                    reason = f"HTTP {exchange.status} {exchange.reason}".strip()
                    return result(current, failure=FetchFailure("status", reason))
                if not store:
                    response.close()
                    return result(current)
                try:
                    body, kept = stream_body(
                        response,
                        response_head(exchange),
                        path=self._tmp_path(),
                        algorithms=self.payload_algorithms,
                        max_size=self.options.max_size,
                        keep=self.keep_received,
                        cancel=self.cancel,
                        gate=self._parallel_hashing,
                    )
                    exchanges[-1] = replace(exchange, received=kept)
                except Failure as failed:
                    exchanges[-1] = replace(exchange, received=failed.kept)
                    return result(
                        current,
                        failure=failed.failure,
                        received_bytes=failed.received,
                        truncated=failed.truncated,
                    )
                finally:
                    response.close()
                return result(current, body=body, received_bytes=body.received_size)
        reason = f"more than {self.options.max_redirects} redirects"
        # The last URL asked for, not the next Location, which was never requested.
        return result(exchanges[-1].url, failure=FetchFailure("redirect", reason))

    def _send(
        self, url: str, referrer: str | None, retried: list[Exchange]
    ) -> tuple[requests.Response, Exchange]:
        """Send one GET with retries; return the response (body unread) and its exchange.

        Each answer asked again (429, 5xx) goes to `retried`, its body kept for the WARC.
        """
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
                raise Failure(FetchFailure("refused", str(exc))) from exc
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
                failure = describe(exc)
                # TLS and oversized headers would fail the same way again.
                retryable = isinstance(
                    exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                ) and failure.kind in ("network", "timeout")
                if retryable and attempt < opts.retries:
                    self._backoff(attempt, None)
                    attempt += 1
                    continue
                raise Failure(failure) from exc
            status = response.status_code
            head_size = sum(len(k) + len(v) + 4 for k, v in response.raw.headers.items())
            if head_size > MAX_HEADER_BYTES:
                response.close()
                message = f"response headers too large ({head_size} bytes)"
                raise Failure(FetchFailure("headers", message))
            pause_point("fetching")
            if (status == 429 or status >= 500) and attempt < opts.retries:
                wait = retry_after(response)
                if self.keep_received:
                    answer = self._exchange(response, started)
                    retried.append(self._keep_small_body(response, answer))
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
        head = received_head(response)
        fields = head.fields if head is not None else list(raw.headers.items())
        return Exchange(
            url=response.url,
            method="GET",
            request_headers=tuple((k, str(v)) for k, v in response.request.headers.items()),
            status=response.status_code,
            reason=response.reason or "",
            http_version=version,
            response_headers=tuple(fields),
            started=started,
            raw_head=head.raw if head is not None else None,
            head_notes=tuple(head.notes) if head is not None else (),
        )

    def _keep_small_body(self, response: requests.Response, exchange: Exchange) -> Exchange:
        """Return `exchange` with its redirect or error body kept, when the WARC needs it."""
        if not self.keep_received:
            return exchange
        path = self._tmp_path().with_suffix(".received")
        return keep_small_body(response, exchange, path, self.cancel)
