"""Where a capture's bytes go, chosen once from `--payload`: files, the WARC, or both.

`files` places each payload file under `data/web/`; `warc` writes every exchange into the
WARC and keeps no payload file; `both` does both, the payload file being the WARC's spool
when no content coding was removed. Nothing else in a capture asks which mode it is in.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from preserve.bag import PayloadWriter
from preserve.bag.staging import signals_held
from preserve.capture.recording import Recorded, Recording
from preserve.capture.seeds import Seed
from preserve.errors import PackagingFailed
from preserve.layout import local_payload_path, payload_path
from preserve.models import Body, CaptureOptions, FetchResult, LogRecord


@dataclass(slots=True)
class Stored:
    """Where one result's bytes went: a payload file, a WARC record, or both."""

    relpath: str | None
    """The payload file, relative to the bag; None when only the WARC holds the bytes."""
    offset: int | None
    """The offset of the final response's record in the WARC; None without a WARC."""
    note: str | None = None
    """What the capture log should say about where the bytes went, when it is not the rule."""
    first: Body | None = None
    """The body the log describes when it is not this result's own: the final URL's first."""


@dataclass(frozen=True, slots=True)
class _Capture:
    """The first capture of a final URL, which every later URL reaching it points at."""

    relpath: str | None
    offset: int | None
    body: Body


class Sink:
    """The files and the WARC of one capture, as `--payload` asks; fed by the coordinator."""

    def __init__(
        self,
        bag_dir: Path,
        bag_name: str,
        *,
        seed: Seed,
        options: CaptureOptions,
        created: datetime,
    ) -> None:
        self.seed = seed
        self.writer = PayloadWriter(bag_dir, options.checksums)
        self.files = options.payload != "warc"
        self.recording: Recording | None = None
        if options.payload != "files":
            self.recording = Recording(
                bag_dir,
                bag_name,
                seed=seed.display(seed.url),
                options=options,
                created=created,
            )
        # With --payload warc there is no payload file to list in a manifest: the payload's
        # digest is the WARC's (sha256), and the bag's algorithms hash the WARC itself.
        self.payload_algorithms = options.checksums if self.files else ("sha256",)
        self._captured: dict[str, _Capture] = {}
        # Payload path -> the final URL stored there: a URL whose path is taken takes a twin.
        self._owners: dict[str, str] = {}
        self._warc_start = 0 if self.recording is None else self.recording.size

    @property
    def keep_received(self) -> bool:
        """Return whether fetches must keep the bodies as received (for the WARC)."""
        return self.recording is not None

    @property
    def relpath_of_warc(self) -> str | None:
        """Return where the WARC goes in the bag, or None without one."""
        return None if self.recording is None else self.recording.relpath

    def stored_bytes(self) -> int:
        """Return the bytes stored so far, as `--max-bytes` counts them.

        The payload files, or the WARC when it is larger: a content coding that decodes to
        nothing leaves no payload bytes but fills the WARC with what was received.
        """
        if self.recording is None:
            return self.writer.total_bytes
        # The warcinfo record that opens the WARC is the capture's, not a resource's.
        recorded = self.recording.size - self._warc_start
        if not self.files:
            return self.writer.total_bytes + recorded
        return max(self.writer.total_bytes, recorded)

    def store(self, result: FetchResult) -> Stored:
        """Write a result's WARC records, then place its payload file; return where they went.

        WARC records come first: with no content coding the payload file is the WARC's spool.
        A final URL is stored once: a later result reaching it keeps its exchanges in the WARC,
        as received, and is told where the first capture went (see `_again`).
        """
        offset = self._archive(result)
        final, body = result.final_url, result.body
        if body is None:
            return Stored(None, offset)
        first = self._captured.get(final)
        if first is not None:
            return self._again(final, body, first)
        stored = self._place(final, body, offset) if self.files else Stored(None, offset)
        self._captured[final] = _Capture(stored.relpath, stored.offset, body)
        return stored

    def recorded_robots(self, result: FetchResult) -> None:
        """Write the WARC records of a robots.txt fetch (it is not a payload file)."""
        if self.recording is not None:
            self.recording.fetched(result)

    def logged(self, record: LogRecord) -> None:
        """Write a capture-log entry into the WARC, when there is one."""
        if self.recording is not None:
            self.recording.logged(record)

    def _archive(self, result: FetchResult) -> int | None:
        if self.recording is None:
            return None
        if result.final_url.startswith("file:"):
            if result.body is None:
                return None
            return self.recording.local(self.seed.display(result.final_url), result.body)
        return self.recording.fetched(result)

    def _again(self, final: str, body: Body, first: _Capture) -> Stored:
        """Return where the first capture of `final` went, for a later result that reached it.

        Its body is not stored (with --payload warc it is left for discovery to read): the
        final URL's file and digests stay those of its first capture, and the note says how
        this answer differed, when it did.
        """
        if self.files:
            body.path.unlink(missing_ok=True)
        note = f"{self.seed.display(final)} was captured before: this entry describes that capture"
        if body.digests != first.body.digests:
            algorithm, digest = next(iter(body.digests.items()))
            kept = "not kept" if self.recording is None else "kept only in the WARC"
            note += f"; this answer differed ({algorithm} {digest}), {kept}"
        return Stored(first.relpath, first.offset, note, first=first.body)

    def _place(self, final: str, body: Body, offset: int | None) -> Stored:
        """Move a body into the bag under its payload path.

        When another URL of the bag already has that path (a hash collision), the body takes
        the first twin path that is free (layout's rule 8) and the log is told so.
        """
        wanted = relpath = self._relpath(final, 0)
        twin = 0
        while relpath in self._owners:
            twin += 1
            relpath = self._relpath(final, twin)
        try:
            self.writer.place(body.path, relpath, body.size, body.digests)
        except OSError as exc:
            raise PackagingFailed(f"cannot write {relpath}: {exc.strerror or exc}") from exc
        self._owners[relpath] = final
        note = None
        if twin:
            other = self.seed.display(self._owners[wanted])
            note = f"payload path {wanted} is {other}'s: stored under twin name {twin}"
        return Stored(relpath, offset, note)

    def _relpath(self, final: str, twin: int) -> str:
        """Return the bag path of a final URL's payload file, or of its `twin`-th twin."""
        if final.startswith("file:"):
            root = self.seed.root
            assert root is not None
            rel = Path(unquote(urlsplit(final).path)).relative_to(root).as_posix()
            return "data/" + local_payload_path(rel, twin)
        return "data/" + payload_path(final, twin)

    def finish(self) -> Recorded | None:
        """Close the WARC, when there is one, and list it and its index in the bag."""
        return None if self.recording is None else self.recording.finish(self.writer)

    def discard(self) -> None:
        """Close and remove the WARC after a failure, without ever raising.

        The error that caused the failure is the one to report: a full disk that fails the
        WARC's close again, or a second signal, must not replace it.
        """
        if self.recording is not None:
            with signals_held(), contextlib.suppress(OSError):
                self.recording.discard()
