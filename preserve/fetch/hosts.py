"""Politeness per host: how many requests at once (`--host-workers`) and how far apart (`--wait`).

A Fetcher asks a HostGate before every request. One capture alone uses a `LocalHostGate`, held
in its process; a batch hands every capture the same gate, so the limits hold across all of
them: a gate shared by worker processes (`preserve.batch.gates`), or one kept in Redis for
Celery workers on several machines. Hosts are `host[:port]` as the URL writes them.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class HostGate(Protocol):
    """Slots and pacing per host, shared by everything that fetches under the same limits."""

    def acquire(self, host: str, timeout: float) -> bool:
        """Take one of `host`'s slots, waiting at most `timeout` seconds; False if none came."""
        ...

    def release(self, host: str) -> None:
        """Give back a slot taken with `acquire`."""
        ...

    def reserve(self, host: str) -> float:
        """Book the next request to `host`; return the seconds to wait before sending it.

        The wait keeps `--wait` between the starts of two requests to the host and honours
        a Retry-After the host asked for (`hold`).
        """
        ...

    def hold(self, host: str, seconds: float) -> None:
        """Send no request to `host` for `seconds`, as its Retry-After asked."""
        ...


class LocalHostGate:
    """A HostGate for the threads of one process."""

    def __init__(self, host_workers: int, wait: float) -> None:
        self.host_workers = max(1, host_workers)
        self.wait = wait
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._last: dict[str, float] = {}
        self._not_before: dict[str, float] = {}

    def acquire(self, host: str, timeout: float) -> bool:
        """Take one of `host`'s slots, waiting at most `timeout` seconds."""
        with self._lock:
            slot = self._slots.setdefault(host, threading.BoundedSemaphore(self.host_workers))
        return slot.acquire(timeout=timeout)

    def release(self, host: str) -> None:
        """Give back one of `host`'s slots."""
        with self._lock:
            slot = self._slots[host]
        slot.release()

    def reserve(self, host: str) -> float:
        """Book the next request to `host`; return the seconds to wait first."""
        with self._lock:
            not_before = self._not_before.get(host, 0.0)
            if self.wait <= 0 and not_before <= 0:
                return 0.0
            now = time.monotonic()
            start = max(now, not_before)
            last = self._last.get(host)
            if last is not None and self.wait > 0:
                start = max(start, last + self.wait)
            self._last[host] = start
        return start - now

    def hold(self, host: str, seconds: float) -> None:
        """Send no request to `host` for `seconds`."""
        with self._lock:
            until = time.monotonic() + seconds
            self._not_before[host] = max(self._not_before.get(host, 0.0), until)
