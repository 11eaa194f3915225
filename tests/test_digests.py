"""Digests of a stream: the same on the caller's thread and on threads of their own."""

from __future__ import annotations

import hashlib
import random
import threading

import pytest

from preserve.digests import BATCH, Digests


def _pieces(seed: int, total: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces, left = [], total
    while left:
        size = min(left, rng.choice([1, 100, 4_096, BATCH - 1, BATCH, 3 * BATCH]))
        pieces.append(rng.randbytes(size))
        left -= size
    return pieces


@pytest.mark.parametrize("parallel_after", [None, 0, 5_000, 2 * BATCH])
@pytest.mark.parametrize("seed", range(4))
def test_digests_equal_hashlib_whichever_thread_hashes(
    seed: int, parallel_after: int | None
) -> None:
    pieces = _pieces(seed, 6 * BATCH + seed * 777)
    digests = Digests(("sha256", "sha512", "md5"), parallel_after=parallel_after)
    for piece in pieces:
        digests.update(piece)
    whole = b"".join(pieces)
    assert digests.hexdigests() == {
        "sha256": hashlib.sha256(whole).hexdigest(),
        "sha512": hashlib.sha512(whole).hexdigest(),
        "md5": hashlib.md5(whole).hexdigest(),
    }


def test_big_streams_are_hashed_on_threads_that_stop() -> None:
    before = {t.ident for t in threading.enumerate()}
    digests = Digests(("sha256", "sha512"), parallel_after=BATCH)
    digests.update(bytes(BATCH))
    hashing = [t for t in threading.enumerate() if t.ident not in before]
    # Every algorithm but the fastest on a thread of its own.
    assert [t.name for t in hashing] == ["preserve-hash"]
    digests.update(b"tail")
    assert digests.hexdigests()["sha256"] == hashlib.sha256(bytes(BATCH) + b"tail").hexdigest()
    assert not any(t.is_alive() for t in hashing)


def test_a_lone_algorithm_moves_to_a_thread_and_the_fastest_of_several_stays() -> None:
    before = {t.ident for t in threading.enumerate()}
    alone = Digests(("sha512",), parallel_after=0)
    alone.update(b"x")
    assert len([t for t in threading.enumerate() if t.ident not in before]) == 1
    assert alone.hexdigests() == {"sha512": hashlib.sha512(b"x").hexdigest()}
    several = Digests(("md5", "sha1", "sha256", "sha512"), parallel_after=0)
    several.update(b"y" * 10)
    assert len([t for t in threading.enumerate() if t.ident not in before]) == 3
    several.close()


def test_closing_without_a_result_stops_the_threads() -> None:
    before = {t.ident for t in threading.enumerate()}
    digests = Digests(("sha256",), parallel_after=0)
    digests.update(b"x" * 10)
    (worker,) = [t for t in threading.enumerate() if t.ident not in before]
    digests.close()
    assert not worker.is_alive()


def test_a_small_stream_starts_no_thread() -> None:
    before = threading.active_count()
    digests = Digests(("sha256", "sha512"), parallel_after=1 << 30)
    digests.update(b"x" * BATCH)
    assert threading.active_count() == before
    assert digests.hexdigests()["sha512"] == hashlib.sha512(b"x" * BATCH).hexdigest()


def test_streams_sharing_a_gate_take_turns_on_threads() -> None:
    gate = threading.BoundedSemaphore(1)
    first = Digests(("sha256",), parallel_after=BATCH, gate=gate)
    second = Digests(("sha256",), parallel_after=BATCH, gate=gate)
    before = {t.ident for t in threading.enumerate()}
    first.update(bytes(BATCH))
    second.update(bytes(BATCH))
    # Only the first holds the gate: one hashing thread between them.
    assert len([t for t in threading.enumerate() if t.ident not in before]) == 1
    assert first.hexdigests()["sha256"] == hashlib.sha256(bytes(BATCH)).hexdigest()
    # The gate is free again: the second stream takes it with its next piece.
    second.update(b"more")
    assert len([t for t in threading.enumerate() if t.ident not in before]) == 1
    assert second.hexdigests()["sha256"] == hashlib.sha256(bytes(BATCH) + b"more").hexdigest()
    assert gate.acquire(blocking=False)
