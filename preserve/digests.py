"""Digests of one stream of bytes by several algorithms, on threads of their own once it is big.

hashlib releases Python's lock while it hashes a buffer of a few kilobytes or more, so each
algorithm can run on its own core while the caller goes on receiving and writing. A small
stream is hashed in the caller's thread (a thread per algorithm would cost more than it
saves); once `parallel_after` bytes have passed, every algorithm but the fastest moves to a
thread of its own, taking its state with it (a lone algorithm moves too). Streams can share
a gate (a semaphore) so that only so many of them are hashed on threads at once: when
several big downloads arrive together they keep the cores busy between them already.
Pieces are handed over in batches of at least BATCH bytes, at most DEPTH batches waiting
per algorithm, so memory stays bounded whatever the size.
"""

from __future__ import annotations

import functools
import hashlib
import queue
import threading
import time
from collections.abc import Sequence

BATCH = 256 * 1024
DEPTH = 4
_DONE = None

Piece = bytes | bytearray | memoryview


class _Worker:
    """One algorithm's hash, updated on a thread from a bounded queue of pieces."""

    def __init__(self, hashed: hashlib._Hash) -> None:
        self.hashed = hashed
        self.pieces: queue.Queue[Piece | None] = queue.Queue(maxsize=DEPTH)
        self.thread = threading.Thread(target=self._run, daemon=True, name="preserve-hash")
        self.thread.start()

    def _run(self) -> None:
        while (piece := self.pieces.get()) is not _DONE:
            self.hashed.update(piece)

    def stop(self) -> None:
        self.pieces.put(_DONE)
        self.thread.join()


class Digests:
    """Several hash algorithms fed from the same bytes, in order.

    `update` takes bytes the caller will not change afterwards (bytes, a bytearray handed
    over, or a memoryview of bytes): on the parallel path a piece is hashed after `update`
    returns. Call `hexdigests` at the end, or `close` on the way out when no result is
    wanted: either stops the threads.
    """

    def __init__(
        self,
        algorithms: Sequence[str],
        *,
        parallel_after: int | None = None,
        gate: threading.Semaphore | None = None,
    ) -> None:
        self._hashes = {alg: hashlib.new(alg, usedforsecurity=False) for alg in algorithms}
        self._parallel_after = parallel_after
        # Streams sharing a gate take turns at hashing on threads: as many at a time as it
        # has slots; the others hash in the caller's thread until a slot is free.
        self._gate = gate
        self._holding = False
        self._seen = 0
        self._parallel = False
        self._workers: list[_Worker] = []
        self._inline: list[hashlib._Hash] = []
        self._pending = bytearray()

    def update(self, data: Piece) -> None:
        """Hash `data` after everything given before it."""
        if not self._parallel:
            for hashed in self._hashes.values():
                hashed.update(data)
            self._seen += len(data)
            if self._parallel_after is not None and self._seen >= self._parallel_after:
                self._go_parallel()
            return
        if len(data) < BATCH:
            self._pending += data
            if len(self._pending) < BATCH:
                return
            data, self._pending = bytes(self._pending), bytearray()
        else:
            self._flush()
        self._hand_over(data)

    def hexdigests(self) -> dict[str, str]:
        """Return each algorithm's hex digest, once every piece is hashed."""
        self.close()
        return {alg: hashed.hexdigest() for alg, hashed in self._hashes.items()}

    def close(self) -> None:
        """Finish hashing what was given and stop the threads (none for a small stream)."""
        self._flush()
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()
        self._parallel = False
        self._inline = []
        if self._holding and self._gate is not None:
            self._holding = False
            self._gate.release()

    def _go_parallel(self) -> None:
        if self._gate is not None:
            if not self._gate.acquire(blocking=False):
                return
            self._holding = True
        # The fastest algorithm stays in the caller's thread (when there are several): one
        # thread fewer competing for the cores, and the slowest sets the pace anyway.
        hashes = sorted(self._hashes.items(), key=lambda item: _speed(item[0]))
        self._inline = [hashed for _, hashed in hashes[-1:]] if len(hashes) > 1 else []
        self._workers = [_Worker(hashed) for _, hashed in hashes[: len(hashes) - len(self._inline)]]
        self._parallel = True

    def _flush(self) -> None:
        if self._pending:
            data, self._pending = bytes(self._pending), bytearray()
            self._hand_over(data)

    def _hand_over(self, data: Piece) -> None:
        for worker in self._workers:
            worker.pieces.put(data)
        for hashed in self._inline:
            hashed.update(data)


@functools.cache
def _speed(algorithm: str) -> float:
    """Return how many bytes a second `algorithm` hashes here, measured once on 1 MiB."""
    sample = bytes(BATCH * 4)
    hashed = hashlib.new(algorithm, usedforsecurity=False)
    began = time.perf_counter()
    hashed.update(sample)
    return len(sample) / max(time.perf_counter() - began, 1e-9)
