"""One row of a batch: what a worker is asked to capture, and what it answers.

The journal decides each attempt's bag name and capture identifier before the attempt starts
(`plan_attempt`) and keeps them. A worker (a process of the local pool or a Celery worker)
runs `run_row`: when the bag of that name already holds that identifier, an earlier attempt
finished it, and the row is done without a second capture. So a row killed between the bag's
rename and the journal's update, or handed to a second worker, still leaves exactly one bag.
"""

from __future__ import annotations

import time
import traceback
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from preserve.bag.serialize import EXTENSIONS
from preserve.capture.seeds import default_bag_name, parse_seed
from preserve.errors import Interrupted, PreserveError
from preserve.fetch.hosts import HostGate
from preserve.models import CaptureOptions, CaptureResult
from preserve.robots import RobotsStore

RowState = Literal["captured", "failed"]


@dataclass(frozen=True, slots=True)
class RowTask:
    """One attempt at one row: the seed, the bag's folder, its options, name and identifier.

    `options.name` is the bag name the journal chose for this attempt; `capture_id` the
    identifier written into the bag (bag-info External-Identifier `urn:uuid:...`).
    """

    row_id: str
    line: int
    url: str
    output: Path
    options: CaptureOptions
    capture_id: uuid.UUID

    @property
    def bag_path(self) -> Path:
        """Return where the bag of this attempt appears when it is complete."""
        name = self.options.name or ""
        suffix = EXTENSIONS[self.options.serialize] if self.options.serialize else ""
        return self.output / f"{name}{suffix}"


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What became of one row: its bag, or why there is none, with counts for the report."""

    row_id: str
    url: str
    outcome: RowState
    exit_code: int
    bag: str | None = None
    error: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    payload_bytes: int = 0
    seconds: float = 0.0
    recovered: bool = False
    """The bag was found complete, left by an earlier attempt of the same row."""


def plan_attempt(url: str, name: str | None, when: datetime, capture_id: uuid.UUID) -> str:
    """Return the bag name of an attempt: the row's own, or the default for `url` at `when`."""
    return name or default_bag_name(parse_seed(url), when, capture_id)


def _counts(result: CaptureResult) -> dict[str, Any]:
    return {
        "pages": result.count(role="seed") + result.count(role="page", outcome="captured"),
        "requisites": {
            "captured": result.count(role="requisite", outcome="captured"),
            "failed": result.count(role="requisite", outcome="failed"),
            "skipped": result.count(role="requisite", outcome="skipped"),
        },
        "media": result.count(role="media", outcome="captured"),
    }


def finished_earlier(task: RowTask) -> RowOutcome | None:
    """Return the row as done when its bag is already in place with this attempt's identifier.

    A bag of that name with another identifier (or none) is not this row's: None.
    """
    path = task.bag_path
    if not path.exists():
        return None
    from preserve.bag.inspect import inspect_bag

    try:
        described = inspect_bag(path)
    except PreserveError:
        return None
    if f"urn:uuid:{task.capture_id}" not in described.values("External-Identifier"):
        return None
    summary = described.capture
    counts: dict[str, Any] = {}
    if summary is not None:
        counts = {
            "pages": summary.pages,
            "requisites": {
                o: summary.count("requisite", o) for o in ("captured", "failed", "skipped")
            },
            "media": summary.media,
        }
    return RowOutcome(
        task.row_id,
        task.url,
        "captured",
        0,
        bag=str(path.absolute()),
        counts=counts,
        payload_bytes=described.payload_bytes,
        recovered=True,
    )


def run_row(
    task: RowTask, *, gate: HostGate | None = None, robots: RobotsStore | None = None
) -> RowOutcome:
    """Capture one row into its bag, or find the bag an earlier attempt left; never raise.

    Only an interrupt (Interrupted) propagates: the caller stops. Any other failure is the
    row's outcome, with the exit code `capture` would have given (70 for a bug).
    """
    earlier = finished_earlier(task)
    if earlier is not None:
        return earlier
    from preserve.capture.run import capture

    started = time.monotonic()
    try:
        result = capture(
            task.url,
            task.output,
            task.options,
            new_id=lambda: task.capture_id,
            gate=gate,
            robots=robots,
        )
    except Interrupted:
        raise
    except PreserveError as exc:
        # Another attempt of this row may have finished the same bag meanwhile.
        earlier = finished_earlier(task)
        if earlier is not None:
            return earlier
        return RowOutcome(
            task.row_id,
            task.url,
            "failed",
            exc.exit_code,
            error=str(exc),
            seconds=time.monotonic() - started,
        )
    except Exception as exc:  # noqa: BLE001 - one row's bug must not stop the batch
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return RowOutcome(
            task.row_id,
            task.url,
            "failed",
            70,
            error=f"internal error: {detail}",
            seconds=time.monotonic() - started,
        )
    return RowOutcome(
        task.row_id,
        task.url,
        "captured",
        0,
        bag=str(result.bag_path.absolute()),
        counts=_counts(result),
        payload_bytes=result.payload_bytes,
        seconds=result.seconds,
    )


def with_attempt(options: CaptureOptions, name: str) -> CaptureOptions:
    """Return `options` naming the attempt's bag."""
    return replace(options, name=name)
