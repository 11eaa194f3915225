"""What a capture knows when it describes itself: the facts the metadata records are built from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from preserve.models import LogRecord

WARC_MEDIA_TYPE = "application/warc"


@dataclass(frozen=True, slots=True)
class PayloadFile:
    """One file of the bag's payload that the PREMIS record describes.

    `path` is bag-relative (`data/web/example.com/index.html`); `digests` maps each algorithm
    (`sha512`) to its hex digest; `url` is the URL the file was captured from, None for files
    the capture wrote itself; `source` the bag path of the file it was derived from (an
    access copy's original), None for others.
    """

    path: str
    size: int
    digests: dict[str, str]
    media_type: str | None
    url: str | None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class RenderingFact:
    """One page loaded in a browser (`--browser`): made from what, by which browser, into what.

    `source` is the bag path of the page as captured (its payload file, or the WARC that holds
    it); `agent` names the browser and its version (`Chromium 156.0.8078.129`); `files` are
    the derivatives written (none when the page could not be rendered); `notes` what the page
    did that the record should say (stopped at the time limit, navigated away, crashed).
    """

    source: str
    url: str
    agent: str
    files: tuple[PayloadFile, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CaptureFacts:
    """The facts of one capture: its identity, the seed's response, every URL and file.

    `page` is the seed's bytes as stored when it is HTML (None otherwise); `response_headers`
    are the seed's final response headers; `records` hold every URL attempted; `files` every
    payload file under `data/web/` (and `data/warc/`); `derived` the access copies under
    `data/access/`, each naming its `source`; `renderings` the pages loaded in a browser.
    """

    identifier: str
    created: datetime
    software: str
    requested_url: str
    final_url: str
    status: int | None
    response_headers: tuple[tuple[str, str], ...]
    media_type: str | None
    page: bytes | None
    http_charset: str | None
    size: int | None
    records: tuple[LogRecord, ...]
    files: tuple[PayloadFile, ...]
    insecure: bool = False
    derived: tuple[PayloadFile, ...] = ()
    renderings: tuple[RenderingFact, ...] = ()

    @property
    def local(self) -> bool:
        """Return True for a capture of a local file: its seed is named `file:<relative path>`."""
        return self.requested_url.startswith("file:")

    def warc_path(self) -> str | None:
        """Return the bag-relative path of the capture's WARC, if it wrote one."""
        return next((f.path for f in self.files if f.media_type == WARC_MEDIA_TYPE), None)

    def seed_path(self) -> str | None:
        """Return the bag-relative path of the seed page's payload file, if it has one."""
        for record in self.records:
            if record.role == "seed" and record.payload_path:
                return record.payload_path
        for file in self.files:
            if file.url in (self.final_url, self.requested_url):
                return file.path
        return None
