"""A serialised bag's members written to disk: each archive entry once, links as hard links.

A file's bytes are written once, from its own archive entry, within its declared size; every
other member that reads the same entry (a symbolic or hard link in the archive) becomes a
hard link to that file, so a thousand links to a large file cost a thousand directory
entries, not a thousand copies. Nothing is written unless the filesystem has room for the
declared sizes (plus RESERVE); writing stops at the first error.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from preserve.bag.entries import Member
from preserve.errors import PackagingFailed
from preserve.pausepoint import pause_point

RESERVE = 64 << 20
"""Free space left on the filesystem after an extraction, for everything else using it."""

_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV}
)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


class Readable(Protocol):
    """An archive whose entries can be read by name, in an order that costs no rewinding."""

    @property
    def path(self) -> Path:
        """The archive file."""
        ...

    def chunks(self, source: str) -> Iterator[bytes]:
        """Yield the bytes of the archive entry `source`."""
        ...

    def position(self, source: str) -> int:
        """Return where the entry `source` lies in the archive."""
        ...


def extract_members(archive: Readable, members: list[Member], root: Path) -> Path:
    """Write `members` of `archive` into the new folder `root` (whose parent exists); return it.

    Raises PackagingFailed (nothing written) if the filesystem lacks room for the declared
    sizes, PackagingFailed if writing fails (disk full, no hard links there), and lets the
    archive's BadInput (damaged, truncated) through.
    """
    readers: dict[str, list[Member]] = {}
    folders: set[str] = set()
    for member in members:
        if member.kind == "dir":
            folders.add(member.path)
            continue
        readers.setdefault(member.source, []).append(member)
        folders.add(posixpath.dirname(member.path))
    needed = sum(group[0].size for group in readers.values())
    _check_room(root.parent, needed, archive.path)
    try:
        root.mkdir()
        for folder in sorted(folders - {""}):
            root.joinpath(*folder.split("/")).mkdir(parents=True, exist_ok=True)
        for source in sorted(readers, key=archive.position):
            first, *others = readers[source]
            target = root.joinpath(*first.path.split("/"))
            _write(archive, source, target)
            for other in others:
                _link(target, root.joinpath(*other.path.split("/")))
    except OSError as exc:
        where = root.parent
        if exc.errno == errno.ENOSPC:
            message = f"cannot extract {archive.path}: {where} is full"
            raise PackagingFailed(message, hint="set TMPDIR to a folder with more room") from exc
        raise PackagingFailed(f"cannot extract {archive.path}: {exc.strerror or exc}") from exc
    return root


def _check_room(folder: Path, needed: int, archive: Path) -> None:
    """Raise PackagingFailed if `folder`'s filesystem cannot take `needed` bytes and RESERVE."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if needed + RESERVE > free:
        raise PackagingFailed(
            f"extracting {archive} needs {needed:,} bytes and {folder} has {free:,} free",
            hint="set TMPDIR to a folder with more room",
        )


def _write(archive: Readable, source: str, target: Path) -> None:
    """Write the bytes of the archive entry `source` to the new file `target`."""
    fd = os.open(target, _CREATE, 0o644)
    with os.fdopen(fd, "wb") as sink:
        for number, chunk in enumerate(archive.chunks(source)):
            sink.write(chunk)
            if number == 0:
                pause_point("extracting")


def _link(target: Path, link: Path) -> None:
    """Make `link` a hard link to the file `target`, or say why the filesystem cannot."""
    try:
        os.link(target, link)
    except OSError as exc:
        if exc.errno in _NO_HARD_LINKS:
            raise PackagingFailed(
                f"cannot make a hard link in {link.parent}: {exc.strerror}",
                hint="set TMPDIR to a folder on a filesystem with hard links",
            ) from exc
        raise
