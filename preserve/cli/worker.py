"""The `worker` command: a Celery worker that runs the rows `batch --broker URL` hands out.

A thin layer over `preserve.batch.celery_worker.run_worker`. Celery's own log goes to stderr.
"""

from __future__ import annotations

import os
import sys

import click

from preserve.cli.console import Console, ExitPolicy, option

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@click.command("worker")
@option(
    "--broker",
    required=True,
    metavar="URL",
    help="The Redis that batches hand their rows out through: redis://HOST:PORT/DB.",
)
@option(
    "--jobs",
    type=click.IntRange(1, 1024),
    default=None,
    metavar="N",
    help="Rows captured at once, each in a process of its own.  [default: the number of CPUs]",
)
@option(
    "--visibility-timeout",
    type=click.IntRange(1, 7 * 24 * 3600),
    default=2 * 3600,
    show_default=True,
    metavar="SECONDS",
    help="A row taken by a worker that is lost whole (a machine down, SIGKILL) is handed "
    "out again this long after it was taken; keep it above the longest row.",
)
@option(
    "--loglevel",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="warning",
    show_default=True,
    help="What Celery logs on stderr: info adds a line per row received and ended.",
)
@click.pass_obj
def worker_command(
    console: Console | None,
    /,
    broker: str,
    jobs: int | None,
    visibility_timeout: int,
    loglevel: str,
) -> None:
    """Run batch rows handed out through the broker at URL, until stopped.

    Start one on every machine that sees the batches' output folders at the same path.
    Each row's task is acknowledged only once its row ended: a process killed mid-row has
    its row run again by another; a machine lost whole has its rows handed out again after
    --visibility-timeout. SIGTERM or SIGINT stop it warmly: the rows running
    are finished, the others go back to the queue. Exit codes: 1 Celery stopped on an
    error it logged, 2 the URL is not a Redis URL or the broker cannot be reached, 70
    internal error, 130/143 stopped by SIGINT / SIGTERM (131 SIGQUIT).
    """
    console = console or Console()
    policy = ExitPolicy()

    def work() -> None:
        from preserve.batch.celery_worker import run_worker

        code = run_worker(
            broker,
            concurrency=jobs or os.cpu_count() or 1,
            loglevel=loglevel,
            visibility_timeout=visibility_timeout,
        )
        if code:
            policy.stop(code)
        else:
            policy.done()

    sys.exit(console.run(work, policy))
