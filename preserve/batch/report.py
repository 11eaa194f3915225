"""The batch report: one JSON line per row as it ends, and the run's progress.

Each line follows `schemas/batch-report.schema.json`. The journal keeps each row's last line,
so a report file can be written again, whole and in manifest order, from the journal.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preserve.batch.rows import Row
from preserve.batch.task import RowOutcome
from preserve.errors import PackagingFailed

_NO_COUNTS: dict[str, Any] = {
    "pages": 0,
    "requisites": {"captured": 0, "failed": 0, "skipped": 0},
    "media": 0,
}


@dataclass(frozen=True, slots=True)
class RowReport:
    """How one manifest row ended, as its report line says it."""

    id: str
    url: str
    line: int
    outcome: str
    """`captured` (the row is done) or `failed`."""
    bag: str | None
    capture_id: str | None
    """The bag's External-Identifier (`urn:uuid:...`), for a captured row."""
    exit_code: int
    error: str | None
    pages: int
    requisites: tuple[int, int, int]
    """Requisites captured, failed and skipped."""
    media: int
    bytes: int
    seconds: float
    attempts: int
    recovered: bool = False
    """The bag was found complete, left by an earlier attempt of the row."""

    @classmethod
    def of(
        cls, outcome: RowOutcome, row: Row, attempts: int, capture_id: uuid.UUID | None
    ) -> RowReport:
        """Return the report of `row`, ended with `outcome` after `attempts` attempts.

        `capture_id` is the attempt's identifier, written into its bag.
        """
        captured = outcome.outcome == "captured" and capture_id is not None
        counts = {**_NO_COUNTS, **outcome.counts}
        requisites = {**_NO_COUNTS["requisites"], **counts["requisites"]}
        return cls(
            id=row.id,
            url=row.url,
            line=row.line,
            outcome=outcome.outcome,
            bag=outcome.bag,
            capture_id=f"urn:uuid:{capture_id}" if captured else None,
            exit_code=outcome.exit_code,
            error=outcome.error,
            pages=int(counts["pages"]),
            requisites=(
                int(requisites["captured"]),
                int(requisites["failed"]),
                int(requisites["skipped"]),
            ),
            media=int(counts["media"]),
            bytes=outcome.payload_bytes,
            seconds=round(outcome.seconds, 3),
            attempts=attempts,
            recovered=outcome.recovered,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the line as a JSON object; `recovered` appears only when true."""
        captured, failed, skipped = self.requisites
        document: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "line": self.line,
            "outcome": self.outcome,
            "bag": self.bag,
            "capture_id": self.capture_id,
            "exit": self.exit_code,
            "error": self.error,
            "counts": {
                "pages": self.pages,
                "requisites": {"captured": captured, "failed": failed, "skipped": skipped},
                "media": self.media,
            },
            "bytes": self.bytes,
            "seconds": self.seconds,
            "attempts": self.attempts,
        }
        if self.recovered:
            document["recovered"] = True
        return document

    def to_json(self) -> str:
        """Return the report line (without its line break)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass(slots=True)
class BatchProgress:
    """Where a batch run is: rows ended in this run and before it, and how fast it goes."""

    total: int
    """Rows in the manifest."""
    already_done: int = 0
    """Rows done by earlier runs, skipped."""
    already_failed: int = 0
    """Rows failed in earlier runs, not retried (without --retry-failed)."""
    done: int = 0
    """Rows done in this run."""
    failed: int = 0
    """Rows failed in this run."""
    started: float = field(default_factory=time.monotonic)
    """When the run started (time.monotonic)."""

    @property
    def ended(self) -> int:
        """Return the rows that have ended, in this run or before it."""
        return self.already_done + self.already_failed + self.done + self.failed

    def rate(self, now: float) -> float:
        """Return the rows this run ended per second."""
        elapsed = now - self.started
        return (self.done + self.failed) / elapsed if elapsed > 0 else 0.0

    def eta(self, now: float) -> float | None:
        """Return the seconds left at this run's rate, or None before a row ended."""
        rate = self.rate(now)
        return (self.total - self.ended) / rate if rate > 0 else None


def write_report(path: Path, lines: Iterable[str]) -> None:
    """Replace the report file at `path`, atomically, with `lines` (one JSON line each)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as file:
            for line in lines:
                file.write(line + "\n")
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise PackagingFailed(f"cannot write --report {path}: {exc.strerror or exc}") from exc
