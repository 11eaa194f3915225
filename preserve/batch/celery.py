"""A batch past one machine: rows handed to Celery workers through Redis.

`CeleryDispatcher` (used by `batch --broker URL`) sends each row attempt as one Celery task,
`preserve.batch.capture_row`, to the queue `preserve`; `preserve worker --broker URL` runs
them (`run_worker`) in a prefork pool, on any number of machines that see the batch's output
folder at the same path. The worker pushes each row's outcome onto a Redis list of the batch
run, which the dispatcher follows with BLPOP.

Messages are JSON (`preserve.batch.wire`), never pickle. Tasks are acknowledged late, after
the row ended: a pool process killed mid-row has its row given back to the queue at once
(`task_reject_on_worker_lost`), and a worker machine lost whole has its rows handed out again
once the visibility timeout has passed (VISIBILITY_TIMEOUT). A row given out twice still
leaves one bag: its attempt carries its bag name and identifier, and `run_row` finds a bag an
earlier delivery finished. The dispatcher counts one outcome per attempt.

Keys in Redis, under `preserve:batch:<batch key>`: `run` (the run now in charge of the
batch; tasks of an earlier run still queued are dropped), `<run>:outcomes` (the outcome
list), `<run>:cancelled` (set when the run is cancelled), `tries:<capture id>` (deliveries
of an attempt), and the per-host gate and robots.txt files (`preserve.batch.redis_gates`).
All expire: KEEP after their last use, or sooner.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from typing import TYPE_CHECKING, Any

from preserve.batch.redis_gates import (
    KEEP,
    BatchKeys,
    RedisHostGate,
    RedisRobotsStore,
    broker_problem,
    redis_client,
)
from preserve.batch.task import RowOutcome, RowTask, run_row
from preserve.batch.wire import WireError, outcome_from_json, outcome_to_json, task_to_json
from preserve.errors import BadInput
from preserve.fields import read_json
from preserve.models import CaptureOptions

if TYPE_CHECKING:
    import celery
    import redis

__all__ = [
    "MAX_DELIVERIES",
    "QUEUE",
    "TASK_NAME",
    "VISIBILITY_TIMEOUT",
    "CeleryDispatcher",
    "make_app",
]

TASK_NAME = "preserve.batch.capture_row"
QUEUE = "preserve"

VISIBILITY_TIMEOUT = 2 * 3600
"""Seconds before a task taken by a worker that never acknowledged it is handed out again.

Longer than any row should take: a row still running after it is also run by a second
worker (harmless: one bag, one outcome counted, but the work is done twice). It is also how
long the rows of a worker machine lost whole (power, network) wait before another takes them.
"""

MAX_DELIVERIES = 3
"""Deliveries of one attempt before its row fails: a row that kills its worker every time
(memory, a crash) must not go round forever."""

MIN_CAPACITY = 64
"""Rows kept enqueued at least; more when the workers seen at the start have more processes."""

_log = logging.getLogger(__name__)


def make_app(broker_url: str, visibility_timeout: int = VISIBILITY_TIMEOUT) -> celery.Celery:
    """Return the Celery app of preserve's batch tasks on the Redis broker `broker_url`.

    Rows not acknowledged `visibility_timeout` seconds after a worker took them are handed
    out again; the sweep that finds them runs every quarter of that, at most every 100 s.
    """
    from celery import Celery

    every = max(1, min(10, visibility_timeout // 4))
    sweeps = max(1, min(10, visibility_timeout // 4 // every))

    app = Celery("preserve", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        event_serializer="json",
        task_ignore_result=True,
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            "unacked_restore_interval": every,
            "unacked_restore_throttle": sweeps,
        },
        broker_connection_retry_on_startup=True,
        # Redis lost for a while: a capture running finishes its bag, which the row's next
        # delivery finds, rather than being cut short.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=True,
        worker_redirect_stdouts=False,
    )

    def capture_row(message: dict[str, Any]) -> None:
        """Run one row attempt handed out by a batch and push its outcome for the batch."""
        run_message(broker_url, message)

    app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)(capture_row)
    return app


_clients: dict[tuple[int, str], redis.Redis] = {}
_gates: dict[tuple[int, str, int, float], RedisHostGate] = {}


def _worker_client(broker_url: str) -> redis.Redis:
    """Return this process's Redis client for `broker_url` (a pool process makes its own)."""
    key = (os.getpid(), broker_url)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = redis_client(broker_url)
    return client


def _gate(client: redis.Redis, namespace: str, host_workers: int, wait: float) -> RedisHostGate:
    """Return this process's gate of a batch: one lease-renewing thread for all its captures."""
    key = (os.getpid(), namespace, host_workers, wait)
    gate = _gates.get(key)
    if gate is None:
        gate = _gates[key] = RedisHostGate(client, namespace, host_workers, wait)
    return gate


def _read_message(message: Any) -> tuple[BatchKeys, int, float, dict[str, Any]]:
    """Return the batch keys, --host-workers, --wait and task of a message; WireError if bad."""
    if not isinstance(message, dict):
        raise WireError("message: not an object")
    batch, run, host_workers, wait, task = (
        message.get(k) for k in ("batch", "run", "host_workers", "wait", "task")
    )
    if not (isinstance(batch, str) and isinstance(run, str) and isinstance(task, dict)):
        raise WireError("message: no batch, run or task")
    if not isinstance(host_workers, int) or isinstance(host_workers, bool) or host_workers < 1:
        raise WireError("message.host_workers: not a positive integer")
    if not isinstance(wait, int | float) or isinstance(wait, bool) or not 0 <= wait < 1e6:
        raise WireError("message.wait: not a number of seconds")
    if not isinstance(task.get("capture_id"), str):
        raise WireError("message.task.capture_id: missing")
    return BatchKeys(batch, run), host_workers, float(wait), task


def _failed(task: dict[str, Any], error: str) -> RowOutcome:
    """Return the failed outcome (exit 70) of a task this worker could not run."""
    row_id, url = task.get("row_id") or "", task.get("url") or ""
    return RowOutcome(str(row_id), str(url), "failed", 70, error=error)


def run_message(broker_url: str, message: Any) -> None:
    """Run the row attempt of one task message; push its outcome onto the batch run's list.

    Nothing runs when the run was cancelled or another run took the batch over. A message
    this version cannot read, or an attempt delivered more than MAX_DELIVERIES times, ends
    as a failed row. When Redis fails (the gate, the outcome list), the message goes back to
    the queue (Celery's Reject) for a later delivery, which finds a bag already finished.
    """
    import redis
    from celery.exceptions import Reject

    try:
        keys, host_workers, wait, data = _read_message(message)
    except WireError as exc:
        _log.error("preserve: a task message that cannot be read was dropped: %s", exc)
        return
    client = _worker_client(broker_url)
    try:
        try:
            outcome = _attempt(client, keys, host_workers, wait, data)
        except redis.RedisError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must end the row, not leave it unheard
            _log.exception("preserve: internal error running a row")
            outcome = _failed(data, f"internal error: {type(exc).__name__}: {exc}")
        if outcome is None:
            return
        entry = {"capture_id": data["capture_id"], "outcome": outcome_to_json(outcome)}
        with client.pipeline() as pipe:
            pipe.rpush(keys.outcomes, json.dumps(entry))
            pipe.expire(keys.outcomes, KEEP)
            pipe.execute()
    except redis.RedisError as exc:
        _log.warning("preserve: Redis failed during a row, handed back to the queue: %s", exc)
        raise Reject(str(exc), requeue=True) from exc


def _attempt(
    client: redis.Redis, keys: BatchKeys, host_workers: int, wait: float, data: dict[str, Any]
) -> RowOutcome | None:
    """Run one delivery of an attempt; None when the batch run no longer wants it."""
    import redis

    from preserve.batch.wire import task_from_json

    current = client.get(keys.current)
    if client.exists(keys.cancelled) or current not in (None, keys.run, keys.run.encode()):
        return None
    tries_key = keys.tries(data["capture_id"])
    with client.pipeline() as pipe:
        pipe.incr(tries_key)
        pipe.expire(tries_key, KEEP)
        tries = int(pipe.execute()[0])
    if tries > MAX_DELIVERIES:
        return _failed(
            data, f"internal error: the worker running this row was lost {tries - 1} times"
        )
    try:
        task = task_from_json(data)
    except WireError as exc:
        return _failed(data, f"internal error: this worker cannot read the row: {exc}")
    gate = _gate(client, keys.namespace, host_workers, wait)
    errors = gate.errors
    outcome = run_row(task, gate=gate, robots=RedisRobotsStore(client, keys.namespace))
    if outcome.outcome == "failed" and gate.errors > errors:
        raise redis.ConnectionError(f"the per-host gate failed: {outcome.error}")
    return outcome


class CeleryDispatcher:
    """A Dispatcher whose attempts run on Celery workers, through the Redis at `broker_url`.

    `batch_key` names the batch in Redis (its gate, robots.txt files and runs); a new
    dispatcher of the same batch takes it over, and the rows an earlier run left queued are
    dropped by the workers. `host_workers` and `wait` (or, when given, those of `options`)
    hold across every worker. `capacity` (None: twice the pool processes of the workers that
    answer now, at least MIN_CAPACITY) is how many attempts the runner keeps enqueued; `jobs`
    is not used, the workers' own --jobs decide. Raises BadInput (exit 2) when the URL is not
    a Redis URL or Redis cannot be reached, at the start or later.
    """

    def __init__(
        self,
        broker_url: str,
        *,
        batch_key: str,
        host_workers: int = 6,
        wait: float = 0.0,
        capacity: int | None = None,
        options: CaptureOptions | None = None,
        jobs: int | None = None,
    ) -> None:
        import redis

        if options is not None:
            host_workers, wait = options.host_workers, options.wait
        self.broker_url = broker_url
        self.client = redis_client(broker_url, check=True)
        self.app = make_app(broker_url)
        self.keys = BatchKeys(batch_key, uuid.uuid4().hex)
        self.host_workers = max(1, host_workers)
        self.wait = max(0.0, wait)
        self._pending: dict[str, str] = {}
        try:
            self.client.set(self.keys.current, self.keys.run, ex=KEEP)
        except redis.RedisError as exc:
            raise self._lost(exc) from exc
        self.capacity = capacity if capacity is not None else self._seen_capacity()

    def _lost(self, exc: Exception) -> BadInput:
        return BadInput(broker_problem(self.broker_url, exc))

    def _seen_capacity(self) -> int:
        """Return twice the pool processes of the workers that answer now, at least MIN."""
        try:
            stats = self.app.control.inspect(timeout=1.0).stats() or {}
        except Exception:  # noqa: BLE001 - a broadcast that fails leaves the floor
            return MIN_CAPACITY
        seen = 0
        for node in stats.values():
            pool = node.get("pool", {}) if isinstance(node, dict) else {}
            size = pool.get("max-concurrency") if isinstance(pool, dict) else None
            seen += size if isinstance(size, int) else 0
        return max(MIN_CAPACITY, 2 * seen)

    def submit(self, task: RowTask) -> None:
        """Send `task` to the queue; a worker starts it as soon as one of its processes is free."""
        import redis
        from kombu.exceptions import KombuError

        message = {
            "batch": self.keys.batch,
            "run": self.keys.run,
            "host_workers": self.host_workers,
            "wait": self.wait,
            "task": task_to_json(task),
        }
        try:
            sent = self.app.send_task(TASK_NAME, args=[message], queue=QUEUE)
        except (KombuError, redis.RedisError, OSError) as exc:
            raise self._lost(exc) from exc
        self._pending[str(task.capture_id)] = sent.id

    def outcomes(self, timeout: float) -> list[RowOutcome]:
        """Return the outcomes pushed since the last call, waiting up to `timeout` (5 s at most).

        An outcome of an attempt this dispatcher did not submit, or already counted (a row
        run twice), is left out.
        """
        import redis

        raw: list[bytes | str] = []
        try:
            if timeout > 0:
                first = self.client.blpop([self.keys.outcomes], timeout=min(timeout, 5.0))
                if first is not None:
                    raw.append(first[1])
            while True:
                more = self.client.lpop(self.keys.outcomes, 100)
                if not isinstance(more, list) or not more:
                    break
                raw.extend(more)
        except redis.RedisError as exc:
            raise self._lost(exc) from exc
        found: list[RowOutcome] = []
        for item in raw:
            try:
                entry = read_json(item.encode() if isinstance(item, str) else item)
                capture_id = entry["capture_id"]
                outcome = outcome_from_json(entry["outcome"])
            except (ValueError, TypeError, KeyError):
                continue
            if self._pending.pop(capture_id, None) is not None:
                found.append(outcome)
        return found

    def close(self, *, cancel: bool) -> None:
        """Stop following the batch; with `cancel`, stop the attempts still queued or running.

        Cancelling marks the run cancelled (a worker drops its queued tasks without starting
        them) and revokes the tasks not yet ended with SIGTERM: the pool process running one
        unwinds its capture, removing its staging folder, and the task is acknowledged, not
        handed out again.
        """
        import redis

        try:
            if cancel and self._pending:
                self.client.set(self.keys.cancelled, "1", ex=KEEP)
                self.app.control.revoke(
                    list(self._pending.values()), terminate=True, signal="SIGTERM"
                )
            self.client.expire(self.keys.outcomes, 60)
        except redis.RedisError:
            pass
        finally:
            self._pending.clear()
            self.app.close()
            self.client.close()
