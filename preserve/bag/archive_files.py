"""A serialised bag's files as the validator reads them, with nothing of the payload unpacked.

The bag's lists (bagit.txt, bag-info.txt, fetch.txt, the manifests) and its data/ folder are
extracted into a scratch folder and read from there as a folder's are; every other file is
read where it lies in the archive. All files are hashed in one pass in archive order, each
archive entry once: a link is its target's digests, and an empty file is never read.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

from preserve.bag.archive import Archive, is_list
from preserve.bag.inventory import Inventory, take_inventory
from preserve.bag.reader import MANIFEST_NAME, Problem, printable


class ArchiveFiles(Inventory):
    """The files of a serialised bag (path inside its top folder → size), read in place.

    Raises BadInput from any read if the archive turns out to be damaged or truncated.
    """

    def __init__(self, archive: Archive, scratch: Path) -> None:
        """List `archive`'s files, extracting its lists and data/ folder into `scratch`."""
        root = archive.extract(
            scratch, lambda member: is_list(member.path) or member.path == "data"
        )
        lists = take_inventory(root)
        super().__init__(root, problems=list(lists.problems))
        for relpath, size in archive.files.items():
            self.files[relpath] = size
            (self.payload if relpath.startswith("data/") else self.tags)[relpath] = size
        self._archive = archive
        self._lists = lists
        self._digests: dict[str, dict[str, str]] | None = None
        self._hashing = threading.Lock()

    def hash_all(self) -> dict[str, dict[str, str]]:
        """Return every file's digests by every algorithm a manifest names, read in one pass."""
        with self._hashing:
            if self._digests is None:
                named = {m[2] for path in self.tags if (m := MANIFEST_NAME.fullmatch(path))}
                self._digests = self._archive.digests(sorted(named))
            return self._digests

    def chunks(self, relpath: str, problems: list[Problem], limit: int | None) -> Iterator[bytes]:
        """Yield the bytes of the file `relpath`, or add to `problems` why it was not read."""
        if relpath in self._lists.files:
            yield from self._lists.chunks(relpath, problems, limit)
            return
        size = self.files.get(relpath)
        if size is None:
            problems.append(Problem("missing", printable(relpath), "not a regular file in the bag"))
            return
        if limit is not None and size > limit:
            message = f"larger than {limit:,} bytes; not read"
            problems.append(Problem("bad-tag-file", printable(relpath), message))
            return
        yield from self._archive.chunks(self._archive.members[relpath].source)

    def digests(
        self, relpath: str, algorithms: dict[str, hashlib._Hash]
    ) -> dict[str, str] | Problem:
        """Return the file's hex digests for each of `algorithms` (hashing every file once)."""
        found = self.hash_all().get(relpath)
        if found is not None and algorithms.keys() <= found.keys():
            return {name: found[name] for name in algorithms}
        # An algorithm no manifest's name gave: this file is read again, alone.
        problems: list[Problem] = []
        for chunk in self.chunks(relpath, problems, None):
            for hashed in algorithms.values():
                hashed.update(chunk)
        return problems[0] if problems else {n: h.hexdigest() for n, h in algorithms.items()}
