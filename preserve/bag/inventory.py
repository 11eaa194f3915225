"""The files of a bag folder, listed without following a link out of it, and opened safely.

Every read of a bag folder's files goes through its Inventory: a file is opened only if it
was listed as a regular file inside the bag, without following a link at its own name,
without waiting on a FIFO, and only if what was opened is the very file listed (same device
and inode), so nothing swapped in since the listing (a link, a FIFO, a device) is read.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from preserve.bag.reader import Problem, printable

_CHUNK = 1 << 20
# O_NONBLOCK: a FIFO put in a file's place must not block the open; regular files ignore it.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)
_buffers = threading.local()


@dataclass(slots=True)
class Inventory:
    """The regular files of a bag folder (bag-relative path → size), and what else was found.

    `payload` and `tags` split `files` into those under data/ and the others.
    """

    root: Path
    files: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    payload: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    _device: int = 0
    _inodes: dict[str, int] = field(default_factory=dict)
    _elsewhere: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    """Files read at another path (a link's target) or on another device: path, device, inode."""

    def open(self, relpath: str) -> int | Problem:
        """Return a file descriptor of the listed file `relpath`, or the problem opening it.

        The caller closes the descriptor.
        """
        if relpath in self._elsewhere:
            path, device, inode = self._elsewhere[relpath]
        elif relpath in self._inodes:
            # A string join, not a Path: this runs once per file hashed.
            path = os.path.join(self.root, *relpath.split("/"))  # noqa: PTH118
            device, inode = self._device, self._inodes[relpath]
        else:
            return Problem("missing", printable(relpath), "not a regular file in the bag")
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                message = "became a symbolic link; not followed"
                return Problem("special-file", printable(relpath), message)
            return Problem("unreadable", printable(relpath), f"cannot read: {exc.strerror}")
        try:
            found = os.fstat(fd)
        except OSError as exc:
            os.close(fd)
            return Problem("unreadable", printable(relpath), f"cannot read: {exc.strerror}")
        if not stat.S_ISREG(found.st_mode) or (found.st_dev, found.st_ino) != (device, inode):
            os.close(fd)
            message = "changed while the bag was read; not read"
            return Problem("unreadable", printable(relpath), message)
        return fd

    def chunks(self, relpath: str, problems: list[Problem], limit: int | None) -> Iterator[bytes]:
        """Yield the bytes of the listed file `relpath` in pieces of at most 1 MiB.

        A file of more than `limit` bytes (None: no limit) is not read, nor one that cannot be
        opened or fails part-way: one problem is added to `problems` and nothing more yielded.
        """
        shown = printable(relpath)
        if limit is not None and self.files.get(relpath, 0) > limit:
            problems.append(Problem("bad-tag-file", shown, f"larger than {_size(limit)}; not read"))
            return
        fd = self.open(relpath)
        if isinstance(fd, Problem):
            problems.append(fd)
            return
        read = 0
        try:
            while chunk := os.read(fd, _CHUNK):
                read += len(chunk)
                if limit is not None and read > limit:
                    message = f"grew past {_size(limit)} while read; not read on"
                    problems.append(Problem("bad-tag-file", shown, message))
                    return
                yield chunk
        except OSError as exc:
            problems.append(Problem("unreadable", shown, f"cannot read: {exc.strerror}"))
        finally:
            os.close(fd)

    def read(self, relpath: str, limit: int) -> bytes | Problem:
        """Return the bytes of the listed file `relpath` (at most `limit`), or the problem."""
        problems: list[Problem] = []
        data = b"".join(self.chunks(relpath, problems, limit))
        return problems[0] if problems else data

    def digests(
        self, relpath: str, algorithms: dict[str, hashlib._Hash]
    ) -> dict[str, str] | Problem:
        """Return the hex digests of the listed file for each algorithm, or the problem.

        `algorithms` maps each name to a fresh hashlib object, updated here. One read of the
        file feeds them all, through a buffer kept per thread (no allocation per file).
        """
        fd = self.open(relpath)
        if isinstance(fd, Problem):
            return fd
        buffer = getattr(_buffers, "view", None)
        if buffer is None:
            buffer = _buffers.view = memoryview(bytearray(_CHUNK))
        hashes = list(algorithms.values())
        try:
            while count := os.readv(fd, [buffer]):
                piece = buffer[:count]
                for hashed in hashes:
                    hashed.update(piece)
        except OSError as exc:
            return Problem("unreadable", printable(relpath), f"cannot read: {exc.strerror}")
        finally:
            os.close(fd)
        return {name: hashed.hexdigest() for name, hashed in algorithms.items()}


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit:,} bytes"


def take_inventory(root: Path) -> Inventory:
    """Return every regular file under `root`, never following a link out of it.

    A symbolic link to a file inside the bag counts as that file; one leading out of the bag,
    to a folder, or to nothing is reported and not followed, as are devices, FIFOs and
    sockets (which a reader could block on). Raises OSError if `root` cannot be listed.
    """
    inventory = Inventory(root)
    real_root = os.path.realpath(root)
    inventory._device = root.stat().st_dev
    # Listing the top folder first turns an unreadable bag into OSError for the caller.
    os.scandir(root).close()
    pending = [(os.fspath(root), "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            inventory.problems.append(
                Problem("unreadable", printable(prefix or "."), f"cannot list: {exc.strerror}")
            )
            continue
        for entry in entries:
            relpath = prefix + os.fsdecode(entry.name)
            _take_entry(inventory, entry, relpath, real_root, pending)
    for relpath, size in inventory.files.items():
        (inventory.payload if relpath.startswith("data/") else inventory.tags)[relpath] = size
    return inventory


def _take_entry(
    inventory: Inventory,
    entry: os.DirEntry[str],
    relpath: str,
    real_root: str,
    pending: list[tuple[str, str]],
) -> None:
    """Record one directory entry of the bag in `inventory`, queueing folders to list."""
    try:
        if entry.is_symlink():
            _take_link(inventory, entry, relpath, real_root)
        elif entry.is_dir(follow_symlinks=False):
            pending.append((entry.path, relpath + "/"))
        elif entry.is_file(follow_symlinks=False):
            found = entry.stat(follow_symlinks=False)
            inventory.files[relpath] = found.st_size
            if found.st_dev == inventory._device:
                inventory._inodes[relpath] = found.st_ino
            else:
                inventory._elsewhere[relpath] = (entry.path, found.st_dev, found.st_ino)
        else:
            message = "not a regular file (a device, FIFO or socket); not read"
            inventory.problems.append(Problem("special-file", printable(relpath), message))
    except OSError as exc:
        message = f"cannot read: {exc.strerror}"
        inventory.problems.append(Problem("unreadable", printable(relpath), message))


def _take_link(inventory: Inventory, entry: os.DirEntry[str], relpath: str, real_root: str) -> None:
    """Record a symbolic link: as its target when that is a regular file inside the bag."""
    shown = printable(relpath)
    target = os.path.realpath(entry.path)
    if os.path.commonpath([real_root, target]) != real_root:
        message = "a symbolic link leading out of the bag; not followed"
        inventory.problems.append(Problem("unsafe-path", shown, message))
        return
    found = os.lstat(target) if os.path.lexists(target) else None
    if found is not None and stat.S_ISDIR(found.st_mode):
        message = "a symbolic link to a folder; not followed"
        inventory.problems.append(Problem("special-file", shown, message))
    elif found is not None and stat.S_ISREG(found.st_mode):
        inventory.files[relpath] = found.st_size
        inventory._elsewhere[relpath] = (target, found.st_dev, found.st_ino)
    else:
        message = "a symbolic link to nothing or to a special file"
        inventory.problems.append(Problem("special-file", shown, message))
