"""The values that flow between the stages of a capture: frozen dataclasses and closed sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

Role = Literal["seed", "page", "frame", "requisite", "media"]
"""Why a URL is in the capture: the seed, a linked page, a frame, a requisite or linked media."""

Outcome = Literal["captured", "failed", "skipped"]

SkipReason = Literal[
    "scope", "robots", "limit", "private-address", "duplicate", "unsupported-scheme"
]

DEFAULT_CHECKSUMS: tuple[str, ...] = ("sha512", "sha256")
ALLOWED_CHECKSUMS: tuple[str, ...] = ("sha512", "sha256", "sha384", "sha224", "sha1", "md5")


@dataclass(frozen=True, slots=True)
class Link:
    """A URL found in a document, absolute and without fragment, with how it was found.

    `via` names the element and attribute (`img@src`, `link[stylesheet]@href`) or the CSS
    construct (`css@import`, `css:url()`, `style@url()`) the URL came from. `role` is the
    role the URL plays for the document that names it: `requisite`, `frame` or `page`.
    """

    url: str
    role: Role
    via: str


@dataclass(frozen=True, slots=True)
class HtmlLinks:
    """What an HTML document names, and how its bytes were decoded."""

    links: tuple[Link, ...]
    encoding: str
    title: str | None = None
    base_url: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    """One response as it arrived, spooled to disk for its WARC record: head, body, digests.

    `head` is the status line and header lines (ending with the blank line) the record
    carries; `path` holds the body as received (content coding kept, transfer coding
    removed), None when there was none. `sha256` is of that body (the WARC payload digest),
    `block_sha256` of the head followed by the body (the block digest). `truncated` is the
    WARC-Truncated reason: "length" when --max-size or the bound on error bodies stopped
    reading, "disconnect" when the body was cut short; None when complete.
    """

    head: bytes
    path: Path | None
    size: int
    sha256: str
    block_sha256: str
    truncated: str | None = None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request and its response headers, as sent and as received (one redirect hop)."""

    url: str
    method: str
    request_headers: tuple[tuple[str, str], ...]
    status: int
    reason: str
    http_version: str
    response_headers: tuple[tuple[str, str], ...]
    started: datetime
    remote_address: str | None = None
    received: Received | None = None
    """The response exactly as it arrived, kept for the WARC (fetcher's `keep_received`)."""
    raw_head: bytes | None = None
    """The response's status line and field lines, byte for byte as received."""
    head_notes: tuple[str, ...] = ()
    """What could not be read in the head (a line that is not a field, skipped)."""

    def header(self, name: str) -> str | None:
        """Return the first response header called `name` (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.response_headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Body:
    """A response body streamed to disk: where it is and its digests, taken as it arrived.

    `digests` are of the payload (content coding removed); `received_digests` of the body as
    received (content coding kept) and only when the two differ. `received_path` holds the
    body as received, when the fetcher was asked to keep it (for WARC records): the same
    file as `path` when no content coding was removed.
    """

    path: Path
    size: int
    digests: dict[str, str]
    received_size: int
    received_digests: dict[str, str] = field(default_factory=dict)
    content_encoding: str | None = None
    received_path: Path | None = None


FailureKind = Literal[
    "status", "redirect", "network", "timeout", "tls", "headers", "too-large", "cut-short",
    "coding", "refused", "local",
]  # fmt: skip
"""Why a fetch gave no body: an HTTP status (4xx, 5xx), a redirect that could not be followed
(loop, too many, unsupported target), the network (refused, reset, no such host), a timeout,
TLS, response headers too large, a body over --max-size, a body cut short, a content coding
that could not be undone, an address the private-network guard refused, or a local file
that could not be read."""


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """Why a fetch failed: a kind a program can test, and a message a person reads."""

    kind: FailureKind
    message: str


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of fetching one URL: every hop, the final response, and the body if stored.

    `body` is None when the final status was not 2xx or the fetch failed; `failure` then says
    why. `received_bytes` counts the bytes read before a failure, for the capture log.
    `retried` holds the answers (429, 5xx) that were asked again, kept for the WARC: they
    are not hops of the redirect chain.
    """

    requested_url: str
    final_url: str
    exchanges: tuple[Exchange, ...]
    body: Body | None = None
    failure: FetchFailure | None = None
    received_bytes: int = 0
    truncated: bool = False
    retried: tuple[Exchange, ...] = ()

    @property
    def error(self) -> str | None:
        """Return why the fetch failed, for a person, or None when it did not."""
        return None if self.failure is None else self.failure.message

    @property
    def final(self) -> Exchange | None:
        """Return the last exchange (the response that was not a redirect), if any."""
        return self.exchanges[-1] if self.exchanges else None

    @property
    def status(self) -> int | None:
        """Return the HTTP status of the final response, if one arrived."""
        return self.exchanges[-1].status if self.exchanges else None

    @property
    def content_type(self) -> str | None:
        """Return the final response's Content-Type header, if any."""
        return self.exchanges[-1].header("Content-Type") if self.exchanges else None


@dataclass(frozen=True, slots=True)
class BagInfo:
    """The user-supplied bag-info values; the capture adds its own fields around them."""

    source_organization: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    organization_address: str | None = None
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """Every option that shapes a capture, with the defaults of the product contract."""

    timeout: float = 30.0
    retries: int = 3
    retry_backoff: float = 0.5
    max_redirects: int = 10
    max_size: int = 2 * 1024**3
    max_bytes: int = 10 * 1024**3
    max_pages: int = 100
    max_requisites: int = 2000
    workers: int = 8
    host_workers: int = 6
    wait: float = 0.0
    user_agent: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    cookies: Path | None = None
    proxy: str | None = None
    ca_bundle: Path | None = None
    insecure: bool = False
    checksums: tuple[str, ...] = DEFAULT_CHECKSUMS
    strict: bool = False
    name: str | None = None
    bag_info: BagInfo = field(default_factory=BagInfo)
    dc: tuple[str, ...] = ()
    metadata_file: Path | None = None
    metadata_location: Literal["payload", "tag"] = "payload"
    profile: Path | None = None
    serialize: Literal["zip", "tar", "tar.gz"] | None = None
    depth: int = 0
    scope: Literal["page", "host", "domain", "prefix"] = "host"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    linked_media: bool = True
    ignore_robots: bool = False
    allow_private: bool = False
    """Let requisites and redirects reach loopback, private and link-local addresses."""
    payload: Literal["both", "files", "warc"] = "both"
    """Where the bytes go: files under data/web/ and the WARC, files alone, or the WARC alone."""
    access: bool = True
    """Write the offline access copy under data/access/ (`--no-access` turns it off)."""
    browser: bool = False
    """Load each page in headless Chromium and capture what its scripts fetch too."""
    browser_timeout: float = 30.0
    """Seconds a page is given in the browser to load, go quiet and scroll (`--browser`)."""
    browser_quiet_ms: int = 500
    """Milliseconds with no request in flight after which a page counts as loaded."""
    browser_scrolls: int = 20
    """Most scroll steps of one window height to reach a page's end (0: no scrolling)."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One line of the capture log: a URL attempted, its role, outcome and evidence."""

    url: str
    role: Role
    outcome: Outcome
    depth: int = 0
    referrer: str | None = None
    via: str | None = None
    final_url: str | None = None
    redirects: tuple[dict[str, object], ...] = ()
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str | None = None
    size: int | None = None
    digests: dict[str, str] = field(default_factory=dict)
    received_size: int | None = None
    received_digests: dict[str, str] = field(default_factory=dict)
    payload_path: str | None = None
    started: str | None = None
    error: str | None = None
    reason: str | None = None
    received_bytes: int | None = None
    tls_unverified: bool = False
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """What one capture produced: the bag and a summary of every URL attempted."""

    seed: str
    bag_path: Path
    capture_id: str
    title: str | None
    records: tuple[LogRecord, ...]
    payload_bytes: int
    seconds: float
    sha256: str | None = None
    """SHA-256 of the serialised bag file, when the bag was written as one file."""
    notes: tuple[str, ...] = ()
    """What a person should hear of the capture beyond its log: each page the browser could
    not load to its end (stopped at --browser-timeout, navigated away, crashed), as
    `URL: what happened`; the bag's PREMIS record says the same."""

    def count(self, *, role: Role | None = None, outcome: Outcome | None = None) -> int:
        """Return how many URLs had the given role and outcome (None matches any)."""
        return sum(
            1
            for r in self.records
            if (role is None or r.role == role) and (outcome is None or r.outcome == outcome)
        )
