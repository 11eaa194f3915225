"""One capture, end to end: the frontier, the worker pool, the bag, the result."""

from __future__ import annotations

import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from preserve.bag import PayloadWriter, Staging, clean_stale
from preserve.bag.serialize import EXTENSIONS, serialize_bag
from preserve.bag.staging import check_name_free, check_output
from preserve.discover import HTML_TYPES, PARSE_LIMIT, find_css_links, find_html_links
from preserve.errors import FetchFailed, PackagingFailed
from preserve.fetch import Cancelled, Fetcher
from preserve.frontier import DepthQueue, Frontier
from preserve.layout import local_payload_path, payload_path
from preserve.metadata import parse_user_metadata
from preserve.models import (
    Body,
    CaptureOptions,
    CaptureResult,
    Exchange,
    FetchResult,
    Link,
    LogRecord,
    Outcome,
    Role,
    SkipReason,
)
from preserve.netsafety import is_refusal
from preserve.package import SeedOutcome, finish_bag, media_type, profile_identifiers
from preserve.recording import Recording
from preserve.seeds import Seed, default_bag_name, parse_seed, validate_options
from preserve.urls import is_web_url


@dataclass(slots=True)
class _Task:
    seq: int
    url: str
    role: Role
    via: str | None
    referrer: str | None
    depth: int
    page: str


def _charset(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def _redirect_chain(exchanges: tuple[Exchange, ...]) -> tuple[dict[str, object], ...]:
    return tuple(
        {"url": ex.url, "status": ex.status, "location": ex.header("Location")}
        for ex in exchanges[:-1]
    )


class _Capture:
    """The state of one capture while it runs; used once, by `capture`."""

    def __init__(
        self,
        seed: Seed,
        options: CaptureOptions,
        staging: Staging,
        observer: Callable[[LogRecord], None] | None,
        *,
        bag_name: str = "capture",
        created: datetime | None = None,
    ) -> None:
        self.seed = seed
        self.options = options
        self.staging = staging
        self.observer = observer
        self.cancel = threading.Event()
        self.recording: Recording | None = None
        if options.payload != "files":
            self.recording = Recording(
                staging.bag_dir,
                bag_name,
                seed=self.display(seed.url),
                options=options,
                created=created or datetime.now(UTC),
            )
        keep = self.recording is not None
        self.fetcher = Fetcher(
            options, staging.tmp_dir, cancel=self.cancel, keep_received=keep, seed=seed.url
        )
        self.writer = PayloadWriter(staging.bag_dir, options.checksums)
        # Shallowest first: a page's requisites before deeper pages, nearer pages first.
        self.tasks: queue.Queue[_Task | None] = DepthQueue()
        self.results: queue.Queue[tuple[_Task, FetchResult | BaseException]] = queue.Queue()
        self.seen: set[str] = set()
        self.records: dict[int, LogRecord] = {}
        self.placed: dict[str, str] = {}
        self.url_map: list[tuple[str, str]] = []
        # With --payload warc: URL, WARC path and record offset; and the seed's decoded bytes.
        self.warc_map: list[tuple[str, str, int]] = []
        self.seed_page: Path | None = None
        self.pending = 0
        self.seq = 0
        self.seed_result: FetchResult | None = None
        self.title: str | None = None
        record = self.recording.fetched if self.recording is not None else None
        self.frontier = Frontier.for_capture(seed.url, options, self.fetcher, record)

    def display(self, url: str) -> str:
        """Return how a URL is written in records: local files relative to the seed folder."""
        return self.seed.display(url)

    def seed_outcome(self, records: tuple[LogRecord, ...]) -> SeedOutcome:
        """Return what was learned about the seed, with URLs as the records show them."""
        result = self.seed_result
        final = result.final_url if result is not None else self.seed.url
        return SeedOutcome(
            requested_url=self.display(self.seed.url),
            final_url=self.display(final),
            result=result,
            record=next((r for r in records if r.role == "seed"), None),
            local=self.seed.local_file is not None,
            page_file=self.seed_page,
        )

    def run(self) -> None:
        workers = [
            threading.Thread(target=self._worker, daemon=True, name=f"preserve-fetch-{i}")
            for i in range(self.options.workers)
        ]
        for worker in workers:
            worker.start()
        try:
            self._submit(self.seed.url, "seed", None, None, 0, self.seed.url)
            while self.pending:
                try:
                    task, outcome = self.results.get(timeout=0.2)
                except queue.Empty:
                    continue
                self.pending -= 1
                if isinstance(outcome, BaseException):
                    if isinstance(outcome, Cancelled):
                        continue
                    if isinstance(outcome, OSError):
                        reason = outcome.strerror or str(outcome)
                        raise PackagingFailed(f"cannot write to staging: {reason}") from outcome
                    raise outcome
                self._handle(task, outcome)
        finally:
            self.cancel.set()
            for _ in workers:
                self.tasks.put(None)
            self.fetcher.close()

    def _worker(self) -> None:
        while True:
            task = self.tasks.get()
            if task is None or self.cancel.is_set():
                return
            try:
                result: FetchResult | BaseException = self._fetch(task)
            except BaseException as exc:  # noqa: BLE001 - the main thread decides what it means
                result = exc
            self.results.put((task, result))

    def _fetch(self, task: _Task) -> FetchResult:
        if task.url.startswith("file:"):
            return self.seed.fetch_local(
                task.url, self.staging.tmp_dir, self.options.checksums, self.options.max_size
            )
        return self.fetcher.fetch(task.url, referrer=task.referrer)

    def _submit(
        self,
        url: str,
        role: Role,
        via: str | None,
        referrer: str | None,
        depth: int,
        page: str,
        *,
        skip: tuple[SkipReason, str | None] | None = None,
    ) -> None:
        """Queue `url` for fetching once, or log it as skipped (`skip`, or a limit reached)."""
        if url in self.seen:
            return
        self.seen.add(url)
        self.seq += 1
        task = _Task(self.seq, url, role, via, referrer, depth, page)
        refusal = skip or self._limit_reason(task)
        if refusal is not None:
            reason, detail = refusal
            self._record(task, replace(self._base(task, "skipped"), reason=reason, error=detail))
            return
        self.frontier.admit(role, page)
        self.pending += 1
        self.tasks.put(task)

    def _limit_reason(self, task: _Task) -> tuple[SkipReason, str] | None:
        """Return ("limit", which limit) when fetching `task` would pass one, else None."""
        stored = self.writer.total_bytes
        if self.recording is not None and self.recording.payload_only:
            stored += self.recording.size
        return self.frontier.limit(task.role, task.page, stored)

    @staticmethod
    def _base(task: _Task, outcome: Outcome) -> LogRecord:
        return LogRecord(
            url=task.url,
            role=task.role,
            outcome=outcome,
            depth=task.depth,
            referrer=task.referrer,
            via=task.via,
        )

    def _record(self, task: _Task, record: LogRecord) -> None:
        record = replace(
            record,
            url=self.display(record.url),
            referrer=None if record.referrer is None else self.display(record.referrer),
            final_url=None if record.final_url is None else self.display(record.final_url),
        )
        self.records[task.seq] = record
        if self.recording is not None:
            self.recording.logged(record)
        if self.observer is not None:
            self.observer(record)

    def _handle(self, task: _Task, result: FetchResult) -> None:
        # WARC records first: the payload file (the WARC's spool) moves into the bag next.
        offset = self._archive(result)
        final = result.final
        started = final.started.isoformat().replace("+00:00", "Z") if final else None
        common = replace(
            self._base(task, "failed" if result.body is None else "captured"),
            final_url=result.final_url if result.final_url != task.url else None,
            redirects=_redirect_chain(result.exchanges),
            status=result.status,
            headers=final.response_headers if final else (),
            content_type=result.content_type,
            started=started,
            tls_unverified=self.options.insecure
            and any(ex.url.startswith("https:") for ex in result.exchanges),
        )
        if task.role == "seed":
            self.seed_result = result
        if result.body is None:
            if task.role == "seed":
                raise FetchFailed(f"{self.display(task.url)}: {result.error}")
            received = result.received_bytes if result.received_bytes else None
            record = replace(common, error=result.error, received_bytes=received)
            if is_refusal(result.error):
                record = replace(record, outcome="skipped", reason="private-address")
            self._record(task, record)
            return
        relpath: str | None = None
        if self.recording is not None and self.recording.payload_only:
            for url in dict.fromkeys((task.url, result.final_url)):
                if offset is not None:
                    self.warc_map.append((self.display(url), self.recording.relpath, offset))
        else:
            relpath = self._store(result, result.body)
            self._map(task.url, relpath)
            if result.final_url != task.url:
                self._map(result.final_url, relpath)
        body = result.body
        # With --payload warc the decoded bytes are still in the staging tmp folder.
        path = self.staging.bag_dir / relpath if relpath is not None else body.path
        named = path if relpath is not None else Path(unquote(urlsplit(result.final_url).path))
        kind = None if task.role == "media" else self._kind(task, result, named)
        note = None
        if kind is not None and body.size > PARSE_LIMIT:
            # Parsers hold a document whole: stored, but its links are not followed, and the
            # log (and the WARC's copy of it) says so.
            note = f"{kind.upper()} over {PARSE_LIMIT // (1024 * 1024)} MiB: not searched for links"
            kind = None
        record = replace(
            common,
            size=body.size,
            digests=body.digests,
            received_size=body.received_size if body.received_digests else None,
            received_digests=body.received_digests,
            payload_path=relpath,
            note=note,
        )
        self._record(task, record)
        if task.role == "seed":
            self.frontier.add_origin(result.final_url)
        if kind is not None:
            self._discover(task, result, kind, path)
        if relpath is None:
            if task.role == "seed":
                self.seed_page = body.path
            else:
                body.path.unlink(missing_ok=True)

    def _archive(self, result: FetchResult) -> int | None:
        """Write a result's WARC records; return the offset of its final response's record."""
        if self.recording is None:
            return None
        if result.final_url.startswith("file:"):
            if result.body is None:
                return None
            return self.recording.local(self.display(result.final_url), result.body)
        return self.recording.fetched(result)

    def _store(self, result: FetchResult, body: Body) -> str:
        final = result.final_url
        if final in self.placed:
            body.path.unlink(missing_ok=True)
            return self.placed[final]
        if final.startswith("file:"):
            root = self.seed.root
            assert root is not None
            rel = Path(unquote(urlsplit(final).path)).relative_to(root).as_posix()
            relpath = "data/" + local_payload_path(rel)
        else:
            relpath = "data/" + payload_path(final)
        try:
            self.writer.place(body.path, relpath, body.size, body.digests)
        except OSError as exc:
            raise PackagingFailed(f"cannot write {relpath}: {exc.strerror or exc}") from exc
        self.placed[final] = relpath
        return relpath

    def _map(self, url: str, relpath: str) -> None:
        self.url_map.append((self.display(url), relpath))

    def _kind(self, task: _Task, result: FetchResult, path: Path) -> str | None:
        media = media_type(result.content_type)
        if media in HTML_TYPES:
            return "html"
        if media == "text/css":
            return "css"
        stylesheet = task.via is not None and (
            "stylesheet" in task.via or task.via.endswith("@import") or "as=style" in task.via
        )
        if stylesheet and media in ("", "text/plain", "application/octet-stream"):
            return "css"
        suffix = path.suffix.lower()
        if not media and suffix in (".html", ".htm", ".xhtml"):
            return "html"
        if not media and suffix == ".css":
            return "css"
        return None

    def _discover(self, task: _Task, result: FetchResult, kind: str, path: Path) -> None:
        """Follow the links of a stored HTML page (`kind` "html") or stylesheet ("css")."""
        base = result.final_url
        charset = _charset(result.content_type)
        if kind == "html" and task.role in ("seed", "page", "frame"):
            found = find_html_links(path.read_bytes(), base, http_charset=charset)
            if task.role == "seed":
                self.title = found.title
            for link in found.links:
                self._follow(task, link, base)
        elif kind == "css":
            for link in find_css_links(path.read_bytes(), base, http_charset=charset):
                self._follow(task, link, base)

    def _follow(self, task: _Task, link: Link, base: str) -> None:
        """Submit a link found in `task`'s document as the frontier decides, or pass it by."""
        url = link.url
        if url in self.seen:
            return
        if url.startswith("file:") and self.seed.root is None:
            return
        if not (url.startswith("file:") or is_web_url(url)):
            return
        decision = self.frontier.decide(link, task.depth, task.page)
        if decision is None:
            return
        skip = None if decision.skip is None else (decision.skip, decision.detail)
        self._submit(url, decision.role, link.via, base, decision.depth, decision.page, skip=skip)


def capture(
    url: str,
    output: Path,
    options: CaptureOptions | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    new_id: Callable[[], uuid.UUID] | None = None,
    observer: Callable[[LogRecord], None] | None = None,
) -> CaptureResult:
    """Capture `url` (or a local HTML file) with its requisites into a new bag in `output`.

    Returns the CaptureResult of the bag written. Raises, before any request, BadInput (exit
    2) for a bad URL, option or bag name or an output inside a bag, and PackagingFailed (4)
    for an output that is not a folder or a name taken; later, FetchFailed (3) when the seed
    cannot be fetched or, with `strict`, a requisite is missing, PackagingFailed (4) when the
    bag cannot be written.
    On any error or interrupt the staging folder is removed and nothing appears in `output`.
    `clock` and `new_id` make the capture time and identifier reproducible.
    """
    options = options or CaptureOptions()
    validate_options(options)
    seed = parse_seed(url)
    user = parse_user_metadata(options.dc, options.metadata_file)
    profiles = profile_identifiers(options)
    now = (clock or (lambda: datetime.now(UTC)))()
    capture_id = (new_id or uuid.uuid4)()
    name = options.name or default_bag_name(seed, now, capture_id)
    check_output(output)
    check_name_free(output, name, EXTENSIONS[options.serialize] if options.serialize else "")
    started = time.monotonic()
    clean_stale(output)
    with Staging.create(output) as staging:
        run = _Capture(seed, options, staging, observer, bag_name=name, created=now)
        try:
            run.run()
        except BaseException:
            if run.recording is not None:
                run.recording.discard()
            raise
        records = tuple(run.records[k] for k in sorted(run.records))
        missing = [r for r in records if r.outcome == "failed" and r.role in ("requisite", "frame")]
        if options.strict and missing:
            if run.recording is not None:
                run.recording.discard()
            raise FetchFailed(
                f"{len(missing)} requisite(s) missing under --strict, first: "
                f"{missing[0].url} ({missing[0].error})"
            )
        recorded = run.recording.finish(run.writer) if run.recording is not None else None
        metadata = finish_bag(
            run.writer,
            options=options,
            seed=run.seed_outcome(records),
            records=records,
            url_map=run.url_map,
            created=now,
            capture_id=capture_id,
            user=user,
            profiles=profiles,
            warc_files=recorded.files if recorded is not None else (),
            warc_map=run.warc_map,
        )
        payload_bytes = run.writer.total_bytes
        sha256 = None
        if options.serialize is None:
            bag_path = staging.commit(name)
        else:
            # Absolute, as a committed folder's path is: the report names what was written.
            written = serialize_bag(
                staging.bag_dir, options.serialize, name=name, output=output.absolute()
            )
            bag_path, sha256 = written.path, written.sha256
    return CaptureResult(
        seed=run.display(seed.url),
        bag_path=bag_path,
        capture_id=f"urn:uuid:{capture_id}",
        title=metadata.title,
        records=records,
        payload_bytes=payload_bytes,
        seconds=time.monotonic() - started,
        sha256=sha256,
    )
