"""Manifest entries and the files they name: matched on disk (NFC, case twins), then hashed.

A manifest may name a file in another Unicode normalisation than the disk holds, or (written
on a case-insensitive disk) one file under two spellings; `entry_files` finds the file each
entry means. `hash_files` reads each file once for every algorithm it needs, N files at once,
through the bag's Inventory (nothing outside the bag is opened).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from preserve.bag.inventory import Inventory
from preserve.bag.manifests import Manifest
from preserve.bag.reader import Problem, new_hash


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


def hash_files(
    inventory: Inventory, wanted: dict[str, set[str]], processes: int
) -> dict[str, dict[str, str] | Problem]:
    """Return the digests of every file in `wanted` (path → algorithms), N files at a time.

    Each file is read once for all its algorithms; one that cannot be read gives its problem.
    """

    def digest(relpath: str) -> dict[str, str] | Problem:
        hashes = {a: h for a in sorted(wanted[relpath]) if (h := new_hash(a)) is not None}
        return inventory.digests(relpath, hashes)

    paths = sorted(wanted)
    if processes < 2 or len(paths) < 2:
        return {path: digest(path) for path in paths}
    results: dict[str, dict[str, str] | Problem] = {}
    # One shared iterator that N threads draw from (a list iterator hands out each item once):
    # a task per file would cost more than hashing a small file. Threads, not processes:
    # hashlib and file reads release the GIL, so N threads hash on N cores without the
    # start-up cost of spawning interpreters.
    work = iter(paths)

    def drain() -> None:
        for path in work:
            results[path] = digest(path)

    with ThreadPoolExecutor(max_workers=min(processes, len(paths))) as pool:
        for done in [pool.submit(drain) for _ in range(min(processes, len(paths)))]:
            done.result()
    return {path: results[path] for path in paths}
