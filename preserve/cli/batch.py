"""The `batch` command: a manifest of seeds, each its own bag, resumable, reported row by row.

A thin layer over `preserve.batch`: the capture options (shared with `capture`), the batch's
own (`--jobs`, `--report`, `--retry-failed`, `--broker`), a JSON line per row on stdout as it
ends, a progress line on a terminal, and the totals on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from preserve.cli.console import (
    Console,
    ExitPolicy,
    duration,
    option,
    signals_as_errors,
    terminal_safe,
)
from preserve.cli.options import BROWSER, FETCHING, OUTPUT, PACKAGING, apply
from preserve.cli.values import capture_options
from preserve.errors import SomeSeedsFailed

if TYPE_CHECKING:
    from preserve.batch.report import BatchProgress, RowReport
    from preserve.batch.runner import BadManifest


@click.command("batch")
@click.argument("manifest", metavar="MANIFEST")
@apply(OUTPUT)
@option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Rows captured at once, each in a worker process.  [default: the number of CPUs]",
)
@option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Append each row's report line to FILE; once every row has ended, FILE holds one "
    "line per row, in manifest order.",
)
@option(
    "--retry-failed",
    is_flag=True,
    help="Try again the rows that failed in an earlier run (done rows are always skipped).",
)
@option(
    "--broker",
    metavar="URL",
    help="Hand the rows to Celery workers (`preserve worker --broker URL`) through this "
    "Redis URL (redis://HOST:PORT/DB).",
)
@apply(FETCHING)
@apply(PACKAGING)
@apply(BROWSER)
@click.pass_obj
def batch_command(console: Console, /, manifest: str, **opts: Any) -> None:
    """Capture each row of MANIFEST into its own bag in --output; run again to resume.

    MANIFEST is a CSV file (.csv, a header row), JSON Lines (.jsonl) or a list of URLs (any
    other name; '-' reads stdin). Every row is checked first. Prints one JSON line per row
    on stdout as it ends; the journal in DIR/.preserve-batch/ lets the same command resume.
    Exit codes: 0 every row done, 5 some rows failed, 2 bad manifest, 4 writing failed,
    130/143 interrupted.
    """
    sys.exit(_run_batch(console, manifest, opts))


def _bar(progress: BatchProgress) -> Callable[[float], str]:
    """Return the progress line's text at a given time: rows ended, rate, time left."""

    def line(now: float) -> str:
        rate = progress.rate(now)
        eta = progress.eta(now)
        failures = progress.failed + progress.already_failed
        failed = f", {failures} failed" if failures else ""
        left = f", {duration(eta)} left" if eta is not None else ""
        return (
            f"{progress.ended}/{progress.total} rows{failed}, {rate:.2f} rows/s, "
            f"{duration(now - progress.started)}{left}"
        )

    return line


def _problem_lines(console: Console, manifest: str, exc: BadManifest) -> None:
    """Print each manifest problem as `MANIFEST:LINE: message` on stderr (and the log)."""
    shown = "stdin" if manifest == "-" else manifest
    for problem in exc.problems:
        where = f"{shown}:{problem.line}" if problem.line else shown
        text = terminal_safe(f"{where}: {problem.message}")
        console.write_log(text)
        click.echo(text, err=True)
    if exc.count > len(exc.problems):
        click.echo(f"{shown}: {exc.count - len(exc.problems):,} more problems", err=True)


def _run_batch(console: Console, manifest: str, opts: dict[str, Any]) -> int:
    """Run the batch; return its exit code."""
    # Imported here, not at the top, so that `preserve --help` starts quickly.
    from preserve.batch.runner import BadManifest, batch
    from preserve.capture.seeds import weak_checksum_warning

    policy = ExitPolicy.for_captures()

    def tell(line: RowReport, progress: BatchProgress) -> None:
        click.echo(line.to_json())
        if line.outcome == "captured":
            console.say(f"done {line.id}: {line.bag}", level=1)
        else:
            console.say(f"failed {line.id} (line {line.line}): {line.error}")
        console.draw(_bar(progress), now=True)

    def work() -> None:
        options = capture_options({**opts, "name": None}, single=True)
        weak = weak_checksum_warning(options.checksums)
        if weak is not None:
            console.say(f"preserve: warning: {weak}")
        try:
            result = batch(
                manifest,
                opts["output"],
                options,
                jobs=opts["jobs"],
                report=opts["report"],
                retry_failed=opts["retry_failed"],
                broker=opts["broker"],
                on_outcome=tell,
                # The line's clock, rate and time left move on while long rows run.
                on_wait=lambda progress: console.draw(_bar(progress)),
            )
        except BadManifest as exc:
            _problem_lines(console, manifest, exc)
            raise
        console.say(
            f"{result.done} done, {result.failed} failed, {result.already_done} already done"
            + (f" ({result.failed_rows} failed in all)" if result.failed_rows else "")
        )
        if result.failed_rows:
            policy.failed(SomeSeedsFailed.exit_code)
        else:
            policy.done()

    with signals_as_errors(console):
        return console.run(work, policy)
