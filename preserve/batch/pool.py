"""Row attempts run in worker processes on this machine: the local Dispatcher.

A capture is CPU-bound Python (hashing, parsing, compressing), so attempts run in processes,
not threads: a `ProcessPoolExecutor` of `jobs` workers, started by "forkserver" (or "spawn"
where there is none; never "fork", whose copy of a threaded parent can deadlock), each worker
reused from row to row. Every worker gets proxies to the batch's one gate and robots store
(`preserve.batch.gates`), so --host-workers, --wait and robots.txt hold across the batch.

Workers ignore SIGINT (the terminal's Ctrl-C reaches the whole process group; the runner
decides) and turn SIGTERM into Interrupted, so a cancelled capture removes its staging.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import FrameType
from typing import cast

from preserve.batch.gates import SharedGates, WorkerPids, exit_with
from preserve.batch.task import RowOutcome, RowTask, finished_earlier, run_row
from preserve.errors import Interrupted
from preserve.fetch.hosts import HostGate
from preserve.robots import RobotsStore

CANCEL_GRACE = 30.0
"""Seconds a cancelled attempt is given to remove its staging before its worker is killed."""

_PRELOAD = ["preserve.batch.task", "preserve.capture.run"]

_worker: dict[str, object] = {}


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    if _worker.get("busy"):
        raise Interrupted(signum)
    # Idle: nothing to clean up.
    os._exit(128 + signum)


def _start_worker(gate: HostGate, robots: RobotsStore, pids: WorkerPids, runner: int) -> None:
    """Initialise a worker process: signals, the shared gate and store, the runner watched."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)
    _worker.update(gate=gate, robots=robots)
    pids.add(os.getpid())
    exit_with(runner, then="term")


def _attempt(task: RowTask) -> RowOutcome | None:
    """Run one row attempt in a worker; None when it was cancelled (its staging removed)."""
    _worker["busy"] = True
    try:
        gate = cast(HostGate, _worker["gate"])
        robots = cast(RobotsStore, _worker["robots"])
        return run_row(task, gate=gate, robots=robots)
    except Interrupted:
        return None
    finally:
        _worker["busy"] = False


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


class ProcessDispatcher:
    """A Dispatcher over worker processes on this machine, sharing one gate and robots store."""

    def __init__(self, jobs: int, host_workers: int, wait: float) -> None:
        self.capacity = max(1, jobs)
        self._context = _context()
        self._shared = SharedGates(host_workers, wait, self._context)
        self._pool = self._new_pool(self._shared.gate)
        self._running: dict[Future[RowOutcome | None], RowTask] = {}
        self._resent: set[str] = set()

    def _new_pool(self, gate: HostGate) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.capacity,
            mp_context=self._context,
            initializer=_start_worker,
            initargs=(
                gate,
                self._shared.robots,
                self._shared.workers,
                os.getpid(),
            ),
        )

    def submit(self, task: RowTask) -> None:
        """Start `task` as soon as a worker is free."""
        try:
            future = self._pool.submit(_attempt, task)
        except BrokenProcessPool:
            # A worker died: the pool stops taking work. A new one takes over.
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._shared.workers.clear()
            # Every worker of the old pool is gone, with any host slot it held: the new
            # pool gets a new gate. robots.txt files stay shared.
            self._pool = self._new_pool(self._shared.new_gate())
            future = self._pool.submit(_attempt, task)
        self._running[future] = task

    def outcomes(self, timeout: float) -> list[RowOutcome]:
        """Return the outcomes that ended since the last call, waiting up to `timeout`."""
        if not self._running:
            time.sleep(min(timeout, 0.05))
            return []
        ended, _ = wait(list(self._running), timeout=timeout, return_when=FIRST_COMPLETED)
        found = (self._outcome(self._running.pop(future), future) for future in ended)
        return [outcome for outcome in found if outcome is not None]

    def _outcome(self, task: RowTask, future: Future[RowOutcome | None]) -> RowOutcome | None:
        """Return what `future` gave, or None when it was cancelled or is sent again.

        When a worker dies (killed, out of memory), the pool ends every attempt it ran: each
        is sent once more, with the same plan, to a new pool. An attempt whose worker died
        twice fails its row, unless its bag is in place.
        """
        if future.cancelled():
            return None
        error = future.exception()
        if error is None:
            return future.result()
        earlier = finished_earlier(task)
        if earlier is not None:
            return earlier
        if isinstance(error, BrokenProcessPool) and task.row_id not in self._resent:
            self._resent.add(task.row_id)
            self.submit(task)
            return None
        return RowOutcome(
            task.row_id,
            task.url,
            "failed",
            70,
            error=f"worker process failed: {type(error).__name__}: {error}",
        )

    def close(self, *, cancel: bool) -> None:
        """Stop the workers; with `cancel`, interrupt the attempts still running first."""
        try:
            if cancel:
                self._cancel()
            self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self._shared.close()

    def _cancel(self) -> None:
        """Interrupt every running attempt (SIGTERM: the capture removes its staging), then wait.

        A worker still busy after CANCEL_GRACE is killed; its staging folder is left for the
        next capture to remove (its owner is gone). What the attempts came to is not told:
        the runner finds their bags, if any, itself.
        """
        for future in list(self._running):
            future.cancel()
        self._signal_workers(signal.SIGTERM)
        _, stuck = wait(list(self._running), timeout=CANCEL_GRACE)
        if stuck:
            self._signal_workers(signal.SIGKILL)
        self._running.clear()

    def _signal_workers(self, signum: int) -> None:
        with contextlib.suppress(Exception):
            for pid in self._shared.workers.pids():
                with contextlib.suppress(OSError):
                    os.kill(pid, signum)
