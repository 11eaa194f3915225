"""Ingestion: one fetch result into the sink, the capture log and discovery.

The run loop's coordinator hands each result here, one at a time; ingestion stores its bytes,
writes its log record, and returns the links its document names for the loop to follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from preserve.capture.seeds import Seed
from preserve.capture.sinks import Sink, Stored
from preserve.discover import PARSE_LIMIT, find_css_links, find_html_links
from preserve.errors import FetchFailed
from preserve.models import Exchange, FetchResult, Link, LogRecord, Outcome, Role
from preserve.webdoc import DocumentKind, document_kind, parse_content_type


@dataclass(slots=True)
class Task:
    """One URL to fetch: its order found, role, how and where found, depth and page."""

    seq: int
    url: str
    role: Role
    via: str | None
    referrer: str | None
    depth: int
    page: str

    def record(self, outcome: Outcome) -> LogRecord:
        """Return the log record of this task with `outcome` and nothing learned yet."""
        return LogRecord(
            url=self.url,
            role=self.role,
            outcome=outcome,
            depth=self.depth,
            referrer=self.referrer,
            via=self.via,
        )


def _redirect_chain(exchanges: tuple[Exchange, ...]) -> tuple[dict[str, object], ...]:
    return tuple(
        {"url": ex.url, "status": ex.status, "location": ex.header("Location")}
        for ex in exchanges[:-1]
    )


class Ingestion:
    """What one capture has recorded: log records, URL map, and what it learned of the seed."""

    def __init__(
        self,
        seed: Seed,
        sink: Sink,
        *,
        insecure: bool,
        observer: Callable[[LogRecord], None] | None,
    ) -> None:
        self.seed = seed
        self.sink = sink
        self.insecure = insecure
        self.observer = observer
        self.records: dict[int, LogRecord] = {}
        self.url_map: list[tuple[str, str]] = []
        # With --payload warc: URL, WARC path and record offset; and the seed's decoded bytes.
        self.warc_map: list[tuple[str, str, int]] = []
        self._mapped: set[str] = set()
        self.seed_page: Path | None = None
        self.seed_result: FetchResult | None = None
        self.title: str | None = None

    def record(self, task: Task, record: LogRecord) -> None:
        """Keep `record` as `task`'s entry in the log (URLs as records show them)."""
        display = self.seed.display
        record = replace(
            record,
            url=display(record.url),
            referrer=None if record.referrer is None else display(record.referrer),
            final_url=None if record.final_url is None else display(record.final_url),
        )
        self.records[task.seq] = record
        self.sink.logged(record)
        if self.observer is not None:
            self.observer(record)

    def ingest(self, task: Task, result: FetchResult) -> list[tuple[Link, str]]:
        """Store a result, log it, and return the links its document names, with their base.

        Raises FetchFailed when the seed itself failed.
        """
        stored = self.sink.store(result)
        common = self._common(task, result)
        if task.role == "seed":
            self.seed_result = result
        body = result.body
        if body is None:
            if task.role == "seed":
                raise FetchFailed(f"{self.seed.display(task.url)}: {result.error}")
            received = result.received_bytes if result.received_bytes else None
            failed = replace(common, error=result.error, received_bytes=received)
            if result.failure is not None and result.failure.kind == "refused":
                failed = replace(failed, outcome="skipped", reason="private-address")
            self.record(task, failed)
            return []
        self._map((task.url, result.final_url), stored)
        # The first capture of the final URL, which this result may only have reached again.
        described = stored.first or body
        # With --payload warc the decoded bytes are still in the staging tmp folder.
        read = body if stored.relpath is None else described
        path = body.path if stored.relpath is None else self.sink.writer.bag_dir / stored.relpath
        named = (
            path if stored.relpath is not None else Path(unquote(urlsplit(result.final_url).path))
        )
        kind = (
            None
            if task.role == "media"
            else document_kind(result.content_type, task.via, named.name)
        )
        notes = [note for note in (common.note, stored.note) if note is not None]
        if kind is not None and read.size > PARSE_LIMIT:
            # Parsers hold a document whole: stored, but its links are not followed, and the
            # log (and the WARC's copy of it) says so.
            notes.append(
                f"{kind.upper()} over {PARSE_LIMIT // (1024 * 1024)} MiB: not searched for links"
            )
            kind = None
        self.record(
            task,
            replace(
                common,
                size=described.size,
                digests=described.digests,
                received_size=described.received_size if described.received_digests else None,
                received_digests=described.received_digests,
                payload_path=stored.relpath,
                note="; ".join(notes) or None,
            ),
        )
        links = [] if kind is None else self._discover(task, result, kind, path)
        if stored.relpath is None:
            if task.role == "seed":
                self.seed_page = body.path
            else:
                body.path.unlink(missing_ok=True)
        return links

    def _map(self, urls: tuple[str, str], stored: Stored) -> None:
        """List the requested and final URL in urls.tsv, each once, where their bytes went."""
        for url in dict.fromkeys(urls):
            shown = self.seed.display(url)
            if shown in self._mapped:
                continue
            self._mapped.add(shown)
            if stored.relpath is not None:
                self.url_map.append((shown, stored.relpath))
            elif stored.offset is not None and self.sink.relpath_of_warc is not None:
                self.warc_map.append((shown, self.sink.relpath_of_warc, stored.offset))

    def _common(self, task: Task, result: FetchResult) -> LogRecord:
        """Return the parts of a result's record that do not depend on its outcome."""
        final = result.final
        started = final.started.isoformat().replace("+00:00", "Z") if final else None
        return replace(
            task.record("failed" if result.body is None else "captured"),
            final_url=result.final_url if result.final_url != task.url else None,
            redirects=_redirect_chain(result.exchanges),
            status=result.status,
            headers=final.response_headers if final else (),
            content_type=result.content_type,
            started=started,
            tls_unverified=self.insecure
            and any(ex.url.startswith("https:") for ex in result.exchanges),
            note="; ".join(final.head_notes) if final and final.head_notes else None,
        )

    def _discover(
        self, task: Task, result: FetchResult, kind: DocumentKind, path: Path
    ) -> list[tuple[Link, str]]:
        """Return the links of a stored HTML page or stylesheet, each with its base URL."""
        base = result.final_url
        charset = parse_content_type(result.content_type).charset
        if kind == "html" and task.role in ("seed", "page", "frame"):
            found = find_html_links(path.read_bytes(), base, http_charset=charset)
            if task.role == "seed":
                self.title = found.title
            return [(link, base) for link in found.links]
        if kind == "css":
            return [
                (link, base)
                for link in find_css_links(path.read_bytes(), base, http_charset=charset)
            ]
        return []

    def ordered_records(self) -> tuple[LogRecord, ...]:
        """Return the log records in the order their URLs were found."""
        return tuple(self.records[k] for k in sorted(self.records))
