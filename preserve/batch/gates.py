"""One per-host gate and one robots.txt store for every worker process of a batch.

A `multiprocessing.managers.BaseManager` started by the dispatcher holds ONE LocalHostGate
(--host-workers, --wait, Retry-After holds) and one store of robots.txt files; each worker
process gets proxies to them, so the limits hold across all the batch's captures, not per
capture. Each call is a round trip on a local socket (about 0.1 ms), a few per request. A
pool whose worker died is replaced by a new pool with a new gate, so the slots the dead
workers held are not held forever.

The manager's process ignores SIGINT and SIGTERM: the dispatcher stops it after the workers
have cleaned up (a worker releasing its slots must still reach it), and it ends by itself
when the process that started it is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import OrderedDict
from multiprocessing.context import BaseContext
from multiprocessing.managers import BaseManager
from typing import cast

from preserve.fetch.hosts import HostGate, LocalHostGate
from preserve.robots import RobotsFile, RobotsStore

MAX_ROBOTS_BYTES = 64 * 1024**2
"""robots.txt bytes the store keeps; past it, the files least recently used are dropped."""

_WATCH_INTERVAL = 0.5


class RobotsFiles:
    """A RobotsStore in memory, bounded: the files least recently used go first.

    A file dropped is fetched again by the next capture that needs it.
    """

    def __init__(self, max_bytes: int = MAX_ROBOTS_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._files: OrderedDict[str, RobotsFile] = OrderedDict()
        self._bytes = 0

    def get(self, source: str) -> RobotsFile | None:
        """Return the file fetched from `source`, or None."""
        with self._lock:
            found = self._files.get(source)
            if found is not None:
                self._files.move_to_end(source)
            return found

    def put(self, file: RobotsFile) -> None:
        """Keep `file`, dropping the least recently used files past `max_bytes`."""
        with self._lock:
            old = self._files.pop(file.source, None)
            if old is not None:
                self._bytes -= _size(old)
            self._files[file.source] = file
            self._bytes += _size(file)
            while self._bytes > self.max_bytes and len(self._files) > 1:
                _, dropped = self._files.popitem(last=False)
                self._bytes -= _size(dropped)

    def __len__(self) -> int:
        """Return how many files are kept."""
        with self._lock:
            return len(self._files)


def _size(file: RobotsFile) -> int:
    """Return the bytes a file counts for in the store: its body and its address."""
    return len(file.body or b"") + len(file.source)


class WorkerPids:
    """The process ids of a pool's workers, as each announces itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pids: set[int] = set()

    def add(self, pid: int) -> None:
        """Record a worker's process id."""
        with self._lock:
            self._pids.add(pid)

    def pids(self) -> list[int]:
        """Return every worker's process id recorded."""
        with self._lock:
            return sorted(self._pids)

    def clear(self) -> None:
        """Forget every process id: the pool they were in has ended."""
        with self._lock:
            self._pids.clear()


_shared: dict[str, object] = {}


def _gate(host_workers: int, wait: float) -> LocalHostGate:
    return LocalHostGate(host_workers, wait)


def _robots() -> RobotsFiles:
    return cast(RobotsFiles, _shared.setdefault("robots", RobotsFiles()))


def _workers() -> WorkerPids:
    return cast(WorkerPids, _shared.setdefault("workers", WorkerPids()))


class GateManager(BaseManager):
    """The manager process that serves the batch's gate, robots store and worker list.

    Each method below is replaced by `register` with one that returns a proxy.
    """

    def gate(self, host_workers: int, wait: float) -> object:
        """Return a proxy to a new gate."""
        raise NotImplementedError

    def robots(self) -> object:
        """Return a proxy to the robots store."""
        raise NotImplementedError

    def workers(self) -> object:
        """Return a proxy to the worker list."""
        raise NotImplementedError


GateManager.register("gate", callable=_gate)
GateManager.register("robots", callable=_robots)
GateManager.register("workers", callable=_workers)


def exit_with(pid: int, then: str = "exit") -> None:
    """Start a thread that ends this process once process `pid` is gone.

    `then` is "exit" (leave at once) or "term" (send this process SIGTERM, so a capture
    running cleans up its staging first, then leave if it has not after 10 s).
    """

    def watch() -> None:
        while True:
            time.sleep(_WATCH_INTERVAL)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                continue
        if then == "term":
            with contextlib.suppress(OSError):
                os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)
        os._exit(1)

    threading.Thread(target=watch, name="preserve-batch-watch", daemon=True).start()


def _serve_quietly(parent: int) -> None:
    """Initialise the manager's process: no signal ends it but its parent's end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exit_with(parent)


class SharedGates:
    """The batch's shared gate and robots store, served by a manager process."""

    def __init__(self, host_workers: int, wait: float, context: BaseContext) -> None:
        self._manager = GateManager(ctx=context)
        self._manager.start(_serve_quietly, (os.getpid(),))
        self.host_workers = host_workers
        self.wait = wait
        self.gate = self.new_gate()
        self.robots = cast(RobotsStore, self._manager.robots())
        self.workers = cast(WorkerPids, self._manager.workers())

    def new_gate(self) -> HostGate:
        """Return a new gate, for a new pool: slots a dead pool's workers held are not lost."""
        return cast(HostGate, self._manager.gate(self.host_workers, self.wait))

    def close(self) -> None:
        """Stop the manager process."""
        with contextlib.suppress(Exception):
            self._manager.shutdown()
