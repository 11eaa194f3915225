"""Manifest entries and the files they name: matched on disk (NFC, case twins), then hashed.

A manifest may name a file in another Unicode normalisation than the disk holds, or (written
on a case-insensitive disk) one file under two spellings; `entry_files` finds the file each
entry means. `hash_files` reads each file once for every algorithm it needs, N files at once.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from preserve.bag.manifests import Manifest
from preserve.bag.reader import new_hash

_CHUNK = 1 << 20


def nfc(path: str) -> str:
    """Return a path in Unicode normal form C, as manifest paths and disk names are compared."""
    return unicodedata.normalize("NFC", path)


class Resolver:
    """Find the file on disk a manifest path names: exactly, or equal once NFC-normalised."""

    def __init__(self, files: Iterable[str]) -> None:
        self._files = set(files)
        self._normal: dict[str, list[str]] = defaultdict(list)
        for path in self._files:
            self._normal[nfc(path)].append(path)

    def __call__(self, path: str) -> str | None:
        if path in self._files:
            return path
        candidates = self._normal.get(nfc(path), [])
        return candidates[0] if len(candidates) == 1 else None


def entry_files(manifest: Manifest, resolve: Resolver) -> dict[str, str | None]:
    """Return each entry's file on disk (or None), taking case twins into account.

    An entry missing on disk whose case twin in the same manifest is present with the same
    digest names that file as a case-insensitive disk (macOS, Windows) stores it: the two
    entries are one file there. That is reported as a case-twins warning, not as missing.
    """
    found = {entry.path: resolve(entry.path) for entry in manifest.entries}
    present: dict[tuple[str, str], str] = {}
    for entry in manifest.entries:
        disk = found[entry.path]
        if disk is not None:
            present.setdefault((nfc(entry.path).casefold(), entry.digest), disk)
    for entry in manifest.entries:
        if found[entry.path] is None:
            found[entry.path] = present.get((nfc(entry.path).casefold(), entry.digest))
    return found


def _hash_file(job: tuple[str, tuple[str, ...]]) -> dict[str, str] | str:
    """Return the digests of one file for each algorithm, or why it could not be read."""
    path, algorithms = job
    hashes = {a: h for a in algorithms if (h := new_hash(a)) is not None}
    try:
        with Path(path).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                for hashed in hashes.values():
                    hashed.update(chunk)
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    return {algorithm: hashed.hexdigest() for algorithm, hashed in hashes.items()}


def hash_files(
    root: Path, wanted: dict[str, set[str]], processes: int
) -> dict[str, dict[str, str] | str]:
    """Return the digests of every file in `wanted` (path → algorithms), N files at a time."""
    paths = sorted(wanted)
    jobs = [(str(Path(root, *p.split("/"))), tuple(sorted(wanted[p]))) for p in paths]
    if processes > 1 and len(jobs) > 1:
        # Threads, not processes: hashlib and file reads release the GIL on large buffers, so
        # N threads hash on N cores without the start-up cost of spawning interpreters.
        with ThreadPoolExecutor(max_workers=min(processes, len(jobs))) as pool:
            results = list(pool.map(_hash_file, jobs))
    else:
        results = [_hash_file(job) for job in jobs]
    return dict(zip(paths, results, strict=True))
