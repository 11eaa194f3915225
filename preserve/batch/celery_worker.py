"""`preserve worker`: a Celery worker running the rows batches hand out through Redis."""

from __future__ import annotations

import logging
import os
import signal
import socket
from typing import Any

from preserve.batch.celery import VISIBILITY_TIMEOUT, make_app
from preserve.batch.redis_gates import redacted, redis_client

_log = logging.getLogger(__name__)


def run_worker(
    broker_url: str,
    *,
    concurrency: int,
    loglevel: str,
    visibility_timeout: int = VISIBILITY_TIMEOUT,
) -> int:
    """Run a Celery worker for batch rows until it is stopped; return its exit code.

    SIGTERM and SIGINT stop it warmly (Celery's way): the rows running are finished and
    acknowledged, the tasks it had taken but not started go back to the queue; then 143 or
    130. A second SIGINT (or SIGQUIT, 131) stops it at once; its rows go back to the queue.
    Celery's own code otherwise (1: stopped on an error it logged).
    Raises BadInput (exit 2) for a URL that is not Redis's or a broker that cannot be reached.
    """
    from celery import signals

    redis_client(broker_url, check=True).close()
    app = make_app(broker_url, visibility_timeout)
    stopped_by: list[str] = []

    def on_shutdown(sig: str = "", **_: Any) -> None:
        stopped_by.append(sig)

    signals.worker_shutting_down.connect(on_shutdown, weak=False)
    try:
        worker = app.Worker(
            hostname=f"preserve-{os.getpid()}@{socket.gethostname()}",
            pool_cls="prefork",
            concurrency=concurrency,
            loglevel=loglevel.upper(),
            quiet=True,
            # Cancelled runs are told by a key in Redis, not by revokes shared between
            # workers at start (mingle); worker events (gossip) have no reader.
            without_mingle=True,
            without_gossip=True,
        )
        _log.info("preserve worker on %s", redacted(broker_url))
        worker.start()
    finally:
        signals.worker_shutting_down.disconnect(on_shutdown)
    if stopped_by and stopped_by[0] in ("SIGINT", "SIGTERM", "SIGQUIT"):
        return 128 + int(getattr(signal, stopped_by[0]))
    return int(worker.exitcode or 0)
