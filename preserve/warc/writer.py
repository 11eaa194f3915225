"""The WARC of one capture: warcinfo, request, response, revisit, resource and metadata records.

Fed from what the fetcher kept of each exchange (`Exchange.received`: the response head and
body as received, spooled to disk with their digests), so no body is held in memory and no
digest is computed twice. An identical complete payload seen again in the same capture is
written as a revisit record pointing at the first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from preserve.models import Body, CaptureOptions, Exchange, FetchResult, Received
from preserve.warc.cdxj import cdxj_index, cdxj_line
from preserve.warc.records import (
    HTTP_REQUEST,
    HTTP_RESPONSE,
    REVISIT_PROFILE,
    WARC_FIELDS,
    RecordFile,
    record_id,
    sha256_file,
    sha256_label,
    warc_date,
)

_EMPTY_SHA256 = hashlib.sha256().hexdigest()
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class WarcSummary:
    """A finished WARC: its path, size and digests (the bag's algorithms), its CDXJ index."""

    path: Path
    size: int
    digests: dict[str, str]
    cdxj: bytes


@dataclass(frozen=True, slots=True)
class _Original:
    record_id: str
    url: str
    date: str


def _one_line(text: str) -> str:
    return " ".join(text.splitlines()).strip()


def warc_fields(fields: Mapping[str, object] | Sequence[tuple[str, object]]) -> bytes:
    """Return an application/warc-fields block: `name: value` lines, other values as JSON."""
    items = fields.items() if isinstance(fields, Mapping) else fields
    lines = []
    for name, value in items:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{name}: {_one_line(text)}\r\n")
    return "".join(lines).encode("utf-8")


def warcinfo_fields(
    options: CaptureOptions, *, software: str, seed: str, bag_name: str, user_agent: str
) -> list[tuple[str, object]]:
    """Return the warcinfo fields of a capture: the software and the options that shaped it.

    Values of --header, --cookies and --proxy are left out (they may hold credentials); the
    fields say only that they were used.
    """
    fields: list[tuple[str, object]] = [
        ("software", software),
        ("format", "WARC File Format 1.1"),
        (
            "conformsTo",
            "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        ),
        ("isPartOf", bag_name),
        ("description", f"capture of {seed} with its requisites"),
        ("http-header-user-agent", user_agent),
        ("robots", "ignore" if options.ignore_robots else "obey (linked pages and media)"),
        ("scope", options.scope),
        ("depth", str(options.depth)),
        ("linked-media", "yes" if options.linked_media else "no"),
    ]
    fields += [("include", pattern) for pattern in options.include]
    fields += [("exclude", pattern) for pattern in options.exclude]
    fields += [
        ("max-size", str(options.max_size)),
        ("max-bytes", str(options.max_bytes)),
        ("max-pages", str(options.max_pages)),
        ("max-requisites", str(options.max_requisites)),
        ("max-redirects", str(options.max_redirects)),
        ("timeout", str(options.timeout)),
        ("retries", str(options.retries)),
        ("workers", str(options.workers)),
        ("host-workers", str(options.host_workers)),
        ("wait", str(options.wait)),
        ("payload", options.payload),
    ]
    if options.headers:
        fields.append(("extra-request-headers", ", ".join(name for name, _ in options.headers)))
    if options.cookies is not None:
        fields.append(("cookies", "sent from a cookies file"))
    if options.proxy:
        fields.append(("proxy", "used"))
    if options.insecure:
        fields.append(("tls-verification", "off (--insecure)"))
    if options.bag_info.source_organization:
        fields.append(("operator", options.bag_info.source_organization))
    return fields


def request_head(exchange: Exchange) -> bytes:
    """Return the request line and headers of an exchange, as sent.

    http.client adds `Host` (without a default port) ahead of the headers requests passes.
    """
    parts = urlsplit(exchange.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{exchange.method} {target} HTTP/1.1"]
    if not any(name.lower() == "host" for name, _ in exchange.request_headers):
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
            host += f":{parts.port}"
        lines.append(f"Host: {host}")
    lines += [f"{name}: {value}" for name, value in exchange.request_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


class CaptureWarc:
    """The WARC file of one capture, written record by record as results arrive.

    Not thread-safe: the crawl's main thread writes every record, in the order it handles
    results, so the file never interleaves two records.
    """

    def __init__(
        self,
        path: Path,
        *,
        algorithms: Sequence[str],
        created: datetime,
        info: Sequence[tuple[str, object]],
    ) -> None:
        self.filename = path.name
        self._file = RecordFile(path, algorithms)
        self._lines: list[str] = []
        self._originals: dict[str, _Original] = {}
        self._concurrent: dict[str, list[str]] = {}
        self.warcinfo_id = record_id()
        body = warc_fields(info)
        headers = [
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", self.warcinfo_id),
            ("WARC-Date", warc_date(created)),
            ("WARC-Filename", self.filename),
            ("WARC-Block-Digest", sha256_label(hashlib.sha256(body).hexdigest())),
        ]
        self._file.record(headers, WARC_FIELDS, block=body)

    @property
    def size(self) -> int:
        """Return the bytes written so far."""
        return self._file.size

    def add_fetch(self, result: FetchResult) -> int | None:
        """Write the records of every exchange of a fetch that kept its response, retries too.

        Returns the offset of the final response's record (response or revisit), or None
        when the final exchange has none (its body was not kept).
        """
        offset: int | None = None
        ids = self._concurrent.setdefault(result.requested_url, [])
        # Answers that were asked again (a 503 before the 200) come first, as they happened.
        for exchange in result.retried:
            if exchange.received is not None:
                ids.append(self._exchange(exchange, exchange.received)[0])
        for exchange in result.exchanges:
            if exchange.received is None:
                offset = None
                continue
            response_id, offset = self._exchange(exchange, exchange.received)
            ids.append(response_id)
        return offset

    def add_resource(self, url: str, body: Body, content_type: str | None, when: datetime) -> int:
        """Write a `resource` record for a local file's bytes; return the record's offset."""
        digest = sha256_label(body.digests.get("sha256") or sha256_file(body.path))
        identifier = record_id()
        mime = content_type or "application/octet-stream"
        headers = [
            ("WARC-Type", "resource"),
            ("WARC-Record-ID", identifier),
            ("WARC-Date", warc_date(when)),
            ("WARC-Target-URI", url),
            ("WARC-Warcinfo-ID", self.warcinfo_id),
            ("WARC-Payload-Digest", digest),
            ("WARC-Block-Digest", digest),
        ]
        offset, length = self._file.record(headers, mime, body=body.path, body_size=body.size)
        self._concurrent.setdefault(url, []).append(identifier)
        self._index(url, when, mime, None, digest, offset, length)
        return offset

    def add_log_entry(self, url: str, entry: Mapping[str, object], when: datetime) -> None:
        """Write a `metadata` record holding a URL's capture-log entry as warc-fields.

        It names the records of the same fetch with WARC-Concurrent-To.
        """
        body = warc_fields(entry)
        digest = sha256_label(hashlib.sha256(body).hexdigest())
        headers = [
            ("WARC-Type", "metadata"),
            ("WARC-Record-ID", record_id()),
            ("WARC-Date", warc_date(when)),
            ("WARC-Target-URI", url),
            ("WARC-Warcinfo-ID", self.warcinfo_id),
        ]
        headers += [("WARC-Concurrent-To", rid) for rid in self._concurrent.pop(url, [])]
        headers += [("WARC-Payload-Digest", digest), ("WARC-Block-Digest", digest)]
        self._file.record(headers, WARC_FIELDS, block=body)

    def close(self) -> WarcSummary:
        """Finish the file; return its summary with the CDXJ index of its records."""
        digests = self._file.close()
        return WarcSummary(self._file.path, self._file.size, digests, cdxj_index(self._lines))

    def discard(self) -> None:
        """Close and remove the file, after a failure."""
        self._file.discard()

    def _exchange(self, exchange: Exchange, received: Received) -> tuple[str, int]:
        """Write the response (or revisit) and request records of one exchange."""
        date = warc_date(exchange.started)
        response_id = record_id()
        payload = sha256_label(received.sha256)
        complete = received.truncated is None and received.size > 0
        original = self._originals.get(received.sha256) if complete else None
        headers = [
            ("WARC-Type", "response" if original is None else "revisit"),
            ("WARC-Record-ID", response_id),
            ("WARC-Date", date),
            ("WARC-Target-URI", exchange.url),
            ("WARC-Warcinfo-ID", self.warcinfo_id),
        ]
        if exchange.remote_address:
            headers.append(("WARC-IP-Address", exchange.remote_address))
        if original is None:
            headers += [
                ("WARC-Payload-Digest", payload),
                ("WARC-Block-Digest", sha256_label(received.block_sha256)),
            ]
            if received.truncated:
                headers.append(("WARC-Truncated", received.truncated))
            body, length = received.path, received.size
            mime = exchange.header("Content-Type")
        else:
            # The headers as received, and a pointer to the record holding these bytes.
            headers += [
                ("WARC-Profile", REVISIT_PROFILE),
                ("WARC-Refers-To", original.record_id),
                ("WARC-Refers-To-Target-URI", original.url),
                ("WARC-Refers-To-Date", original.date),
                ("WARC-Payload-Digest", payload),
                ("WARC-Block-Digest", sha256_label(hashlib.sha256(received.head).hexdigest())),
            ]
            body, length, mime = None, 0, None
        offset, size = self._file.record(
            headers, HTTP_RESPONSE, block=received.head, body=body, body_size=length
        )
        if complete and original is None:
            self._originals[received.sha256] = _Original(response_id, exchange.url, date)
        mime = mime if original is None else "warc/revisit"
        self._index(exchange.url, exchange.started, mime, exchange.status, payload, offset, size)
        self._request(exchange, response_id, date)
        return response_id, offset

    def _request(self, exchange: Exchange, response_id: str, date: str) -> None:
        head = request_head(exchange)
        headers = [
            ("WARC-Type", "request"),
            ("WARC-Record-ID", record_id()),
            ("WARC-Date", date),
            ("WARC-Target-URI", exchange.url),
            ("WARC-Warcinfo-ID", self.warcinfo_id),
            ("WARC-Concurrent-To", response_id),
            ("WARC-Payload-Digest", sha256_label(_EMPTY_SHA256)),
            ("WARC-Block-Digest", sha256_label(hashlib.sha256(head).hexdigest())),
        ]
        self._file.record(headers, HTTP_REQUEST, block=head)

    def _index(
        self,
        url: str,
        when: datetime,
        mime: str | None,
        status: int | None,
        digest: str,
        offset: int,
        length: int,
    ) -> None:
        self._lines.append(
            cdxj_line(
                url,
                when,
                mime=mime,
                status=status,
                digest=digest,
                length=length,
                offset=offset,
                filename=self.filename,
            )
        )
