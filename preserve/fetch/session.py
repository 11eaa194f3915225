"""The HTTP session of a capture: connections through the address guard, the environment's
proxy and CA-bundle settings read once, cookies, and how its errors read in the log."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import warnings
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from preserve._version import __version__
from preserve.errors import BadInput
from preserve.fetch.head import RecordingResponse
from preserve.models import CaptureOptions, FetchFailure
from preserve.netsafety import AddressGuard

PROJECT_URL = "https://github.com/preserve-archive/preserve"
HEADERS_TOO_LARGE = re.compile(r"got more than \d+ (?:headers|bytes when reading [a-z ]+)")


def default_user_agent() -> str:
    """Return the User-Agent preserve sends unless told otherwise."""
    return f"preserve/{__version__} (+{PROJECT_URL})"


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
        response_class = RecordingResponse

        def _new_conn(self) -> socket.socket:
            return _guarded_socket(self, guard)

    class TLSConnection(HTTPSConnection):
        response_class = RecordingResponse

        def _new_conn(self) -> socket.socket:
            return _guarded_socket(self, guard)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConnection

    return {"http": Pool, "https": TLSPool}


def _recording_pools() -> dict[str, type[HTTPConnectionPool]]:
    """Return connection-pool classes that keep each response head as received (proxies)."""

    class Connection(HTTPConnection):
        response_class = RecordingResponse

    class TLSConnection(HTTPSConnection):
        response_class = RecordingResponse

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConnection

    return {"http": Pool, "https": TLSPool}


class _Adapter(HTTPAdapter):
    """An adapter whose proxied connections, too, keep each response head as received."""

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Return requests' proxy manager for `proxy`, its pools keeping heads as received."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _recording_pools()
        return manager


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

    def resolve_redirects(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Return no redirect: the Fetcher follows redirects itself, hop by hop.

        requests would otherwise parse the `Location` of every redirect even with redirects
        off, and raise on a value it cannot read (a malformed IPv6 host, bytes not UTF-8).
        """
        return iter(())

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


def describe(exc: BaseException) -> FetchFailure:
    """Return why a requests or urllib3 exception ended a fetch: its kind and one line."""
    if isinstance(exc, requests.exceptions.SSLError):
        return FetchFailure("tls", "TLS error: certificate not trusted or handshake failed")
    if isinstance(exc, requests.exceptions.ProxyError):
        return FetchFailure("network", "proxy error")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return FetchFailure("timeout", "timed out while connecting")
    if isinstance(exc, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError):
        return FetchFailure("timeout", "timed out waiting for the server")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return _connection_failure(str(exc))
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        text = str(exc)
        short = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)", text)
        if "reset" in text.lower():
            return FetchFailure("network", "connection reset by the server")
        if short:
            message = f"connection closed {short[2]} bytes short of its Content-Length"
            return FetchFailure("network", message)
        return FetchFailure(
            "network", "connection broken (invalid chunked encoding or early close)"
        )
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        return FetchFailure("network", "invalid URL")
    return FetchFailure("network", type(exc).__name__)


def _connection_failure(text: str) -> FetchFailure:
    """Return the failure a requests ConnectionError's text names (urllib3 gives no type)."""
    too_large = HEADERS_TOO_LARGE.search(text)
    if too_large:
        return FetchFailure("headers", f"response headers too large ({too_large[0]})")
    if "Name or service not known" in text or "NameResolutionError" in text:
        return FetchFailure("network", "host name could not be resolved")
    if "refused" in text.lower():
        return FetchFailure("network", "connection refused")
    if "reset" in text.lower():
        return FetchFailure("network", "connection reset by the server")
    return FetchFailure("network", "connection failed")


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


def make_session(opts: CaptureOptions, guard: AddressGuard) -> requests.Session:
    """Return the capture's session: pooled, guarded, with its headers, cookies and TLS."""
    session = _Session()
    adapter = _Adapter(
        pool_connections=max(10, opts.workers),
        pool_maxsize=max(opts.workers, 1),
        max_retries=0,
    )
    adapter.poolmanager.pool_classes_by_scheme = _guarded_pools(guard)
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
