"""A batch, end to end: the manifest checked into the journal, rows run, each row reported.

`batch` checks the whole manifest while loading it into the journal (one transaction; with
a problem nothing is kept and nothing is fetched), makes the journal consistent again after
a run that died (rows left running are found done, or pending), and keeps about `capacity`
attempts in flight through a Dispatcher, reading pending rows in manifest order a page at
a time. Each row's end is committed to the journal, then reported: a line in the report
file and a call of `on_outcome`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO

from preserve.bag.staging import check_output
from preserve.batch.dispatch import Dispatcher
from preserve.batch.journal import Journal, JournalRow, Problem
from preserve.batch.manifest import manifest_format, open_manifest, read_manifest
from preserve.batch.report import BatchProgress, RowReport, write_report
from preserve.batch.rows import Row, row_options
from preserve.batch.task import RowOutcome, RowTask, finished_earlier, with_attempt
from preserve.errors import (
    BadInput,
    Interrupted,
    PackagingFailed,
    PreserveError,
    SomeSeedsFailed,
)
from preserve.models import CaptureOptions
from preserve.pausepoint import pause_point

WAIT_STEP = 0.5
"""Seconds the runner waits for an outcome before it looks again (signals run in between)."""


class BadManifest(BadInput):
    """The manifest has problems (exit 2): each with its line; nothing was started."""

    def __init__(self, manifest: str, problems: tuple[Problem, ...], count: int) -> None:
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"manifest {manifest}: {count:,} {noun}; nothing was started",
            hint="fix the lines listed and run again",
        )
        self.manifest = manifest
        self.problems = problems
        """The first problems, in line order (line 0: the command line's options)."""
        self.count = count
        """How many problems were found in all."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a batch came to: rows done and failed, in this run and before it."""

    journal: Path
    """The journal's file."""
    total: int
    """Rows in the manifest."""
    done: int
    """Rows done in this run (captured, or found complete from an earlier attempt)."""
    failed: int
    """Rows that failed in this run."""
    already_done: int
    """Rows done by an earlier run, skipped."""
    failed_rows: int
    """Rows failed at the end, this run's and those of earlier runs not retried."""
    report: Path | None = None

    @property
    def exit_code(self) -> int:
        """Return 0 when every row is done, 5 when some failed."""
        return SomeSeedsFailed.exit_code if self.failed_rows else 0


def make_dispatcher(
    options: CaptureOptions, jobs: int | None, broker: str | None, batch_key: str
) -> Dispatcher:
    """Return where the attempts run: worker processes here, or Celery workers via `broker`.

    `jobs` is how many attempts run at once (None: the CPUs here; with a broker, twice the
    pool processes of the workers seen).
    """
    if broker is not None:
        from preserve.batch.celery import CeleryDispatcher

        return CeleryDispatcher(
            broker,
            batch_key=batch_key,
            host_workers=options.host_workers,
            wait=options.wait,
            capacity=jobs,
        )
    from preserve.batch.pool import ProcessDispatcher

    return ProcessDispatcher(jobs or cpu_count(), options.host_workers, options.wait)


def cpu_count() -> int:
    """Return the CPUs this process may run on (its affinity, where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _items(stream: BinaryIO, manifest: str, options: CaptureOptions) -> Iterator[Row | Problem]:
    """Yield the manifest's rows and problems; a read error is BadInput."""
    try:
        yield from read_manifest(stream, manifest_format(manifest), options)
    except OSError as exc:
        raise BadInput(f"cannot read manifest {manifest}: {exc.strerror or exc}") from exc


def _open_report(report: Path | None) -> IO[str] | None:
    if report is None:
        return None
    try:
        return report.open("a", encoding="utf-8")
    except OSError as exc:
        raise PackagingFailed(f"cannot write --report {report}: {exc.strerror or exc}") from exc


def batch(
    manifest: str | os.PathLike[str],
    output: Path,
    options: CaptureOptions | None = None,
    *,
    jobs: int | None = None,
    report: Path | None = None,
    retry_failed: bool = False,
    broker: str | None = None,
    on_outcome: Callable[[RowReport, BatchProgress], None] | None = None,
    on_wait: Callable[[BatchProgress], None] | None = None,
) -> BatchResult:
    """Capture every row of `manifest` into its own bag in `output`; resume where a run stopped.

    `manifest` is a path (`-`: a URL list on stdin); its journal is in `output`.

    Raises, before any request, BadManifest (exit 2) with every problem of the manifest,
    BadInput (2) for an unreadable manifest or an output inside a bag, PackagingFailed (4)
    when the output, the journal or the report cannot be written; Interrupted (130/143)
    after the attempts running were stopped and the journal made consistent. A row that
    fails is reported and counted (`BatchResult.exit_code` 5), never raised. `on_outcome`
    hears each row as it ends; `on_wait`, about every half second while rows run (a
    progress line's clock).
    """
    manifest = os.fspath(manifest)
    options = options or CaptureOptions()
    check_output(output)
    with open_manifest(manifest) as stream:
        journal = Journal.open(output, manifest)
        try:
            loaded = journal.load(_items(stream, manifest, options), retry_failed=retry_failed)
        except BaseException:
            journal.discard()
            raise
    if loaded.problems:
        journal.discard()
        raise BadManifest(manifest, loaded.problems, loaded.problem_count)
    try:
        run = _Run(journal, output, options, report, on_outcome)
        run.on_wait = on_wait
        return run.run(jobs, broker, retry_failed)
    finally:
        journal.close()


class _Run:
    """One run over a loaded journal: recovery, the rows in flight, their reports."""

    def __init__(
        self,
        journal: Journal,
        output: Path,
        options: CaptureOptions,
        report: Path | None,
        on_outcome: Callable[[RowReport, BatchProgress], None] | None,
    ) -> None:
        self.journal = journal
        self.output = output
        self.options = options
        self.report = report
        self.on_outcome = on_outcome
        self.on_wait: Callable[[BatchProgress], None] | None = None
        counts = journal.counts()
        self.progress = BatchProgress(total=sum(counts.values()), already_done=counts["done"])
        self.in_flight: dict[str, tuple[RowTask, JournalRow]] = {}
        self._report_file: IO[str] | None = None

    def run(self, jobs: int | None, broker: str | None, retry_failed: bool) -> BatchResult:
        """Run every pending row; return the totals. Interrupted stops the run, consistent."""
        with contextlib.ExitStack() as stack:
            self._report_file = _open_report(self.report)
            if self._report_file is not None:
                stack.enter_context(self._report_file)
            self._recover()
            if retry_failed:
                self.journal.retry_failed()
            self.progress.already_failed = self.journal.counts()["failed"]
            self.progress.started = time.monotonic()
            if self.journal.counts()["pending"]:
                self._dispatch(make_dispatcher(self.options, jobs, broker, self._batch_key()))
        return self._result()

    def _result(self) -> BatchResult:
        """Return the run's totals; with every row ended, write the report file whole."""
        counts = self.journal.counts()
        if self.report is not None and not counts["pending"] and not counts["running"]:
            write_report(self.report, self.journal.reports())
        return BatchResult(
            journal=self.journal.path,
            total=self.progress.total,
            done=self.progress.done,
            failed=self.progress.failed,
            already_done=self.progress.already_done,
            failed_rows=counts["failed"],
            report=self.report,
        )

    def _dispatch(self, dispatcher: Dispatcher) -> None:
        """Run the pending rows through `dispatcher`, stopping it on any error or interrupt."""
        try:
            self._drive(dispatcher)
        except KeyboardInterrupt:
            self._stop(dispatcher)
            raise Interrupted(signal.SIGINT) from None
        except BaseException:
            self._stop(dispatcher)
            raise
        dispatcher.close(cancel=False)

    def _batch_key(self) -> str:
        """Return a name for this batch, the same in every run: the journal's, and its folder's."""
        where = hashlib.sha256(str(self.output.resolve()).encode()).hexdigest()[:8]
        return f"{self.journal.path.stem}-{where}"

    def _task(self, entry: JournalRow) -> RowTask:
        assert entry.bag_name is not None and entry.capture_id is not None
        options = with_attempt(row_options(self.options, entry.row), entry.bag_name)
        return RowTask(
            entry.row.id, entry.row.line, entry.row.url, self.output, options, entry.capture_id
        )

    def _recover(self) -> None:
        """Settle the rows a dead run left running: done when their bag is there, else pending."""
        after = 0
        while page := self.journal.in_state("running", after=after):
            for entry in page:
                found = finished_earlier(self._task(entry)) if entry.bag_name else None
                if found is not None:
                    self._record(found, entry)
                else:
                    self.journal.release([entry.row.id])
            after = page[-1].row.line

    def _drive(self, dispatcher: Dispatcher) -> None:
        """Keep about `dispatcher.capacity` attempts in flight until no row is pending."""
        waiting: deque[JournalRow] = deque()
        after = 0
        exhausted = False
        while True:
            while len(self.in_flight) < dispatcher.capacity:
                if not waiting and not exhausted:
                    page = self.journal.in_state("pending", after=after)
                    exhausted = not page
                    if page:
                        waiting.extend(page)
                        after = page[-1].row.line
                if not waiting:
                    break
                entry = self.journal.claim(waiting.popleft(), datetime.now(UTC))
                task = self._task(entry)
                self.in_flight[task.row_id] = (task, entry)
                dispatcher.submit(task)
            if not self.in_flight:
                return
            if self.on_wait is not None:
                self.on_wait(self.progress)
            for outcome in dispatcher.outcomes(timeout=WAIT_STEP):
                pause_point("journaling")
                flown = self.in_flight.pop(outcome.row_id, None)
                if flown is not None:
                    self._record(outcome, flown[1])

    def _stop(self, dispatcher: Dispatcher) -> None:
        """Cancel the attempts in flight; each row ends done (its bag is there) or pending.

        A row the journal cannot settle now stays running, and the next run settles it.
        """
        with contextlib.suppress(PreserveError, OSError):
            dispatcher.close(cancel=True)
        flown = list(self.in_flight.values())
        self.in_flight.clear()
        with contextlib.suppress(PreserveError):
            for task, entry in flown:
                found = finished_earlier(task)
                if found is not None:
                    self._record(found, entry)
                else:
                    self.journal.release([task.row_id])

    def _record(self, outcome: RowOutcome, entry: JournalRow) -> None:
        """Commit how a row ended, then report it: the report file, then `on_outcome`."""
        line = RowReport.of(outcome, entry.row, entry.attempts, entry.capture_id)
        text = line.to_json()
        self.journal.finish(outcome, text)
        if outcome.outcome == "captured":
            self.progress.done += 1
        else:
            self.progress.failed += 1
        if self._report_file is not None:
            try:
                self._report_file.write(text + "\n")
                self._report_file.flush()
            except OSError as exc:
                raise PackagingFailed(
                    f"cannot write --report {self.report}: {exc.strerror or exc}"
                ) from exc
        if self.on_outcome is not None:
            self.on_outcome(line, self.progress)
