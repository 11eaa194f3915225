"""Serialised bags read without trusting them: every entry checked, contents read in place.

Every entry is checked by name first (`entries.py`): a path out of the bag, a device or a
FIFO is a problem that makes the bag invalid. An entry preserve cannot read (encrypted,
compressed by a method Python lacks, a sparse tar entry) or an archive past the bounds below
is bad input. Contents are then read where they lie, each archive entry once and in archive
order (going back in a gzip stream means decompressing it again from the start); a link is
read as its target, never copied. Bounds: MAX_ENTRIES entries, MAX_LINKS links, MAX_LINK_HOPS
in a chain; extraction (`extract.py`) writes each file once, within its declared size.
"""

from __future__ import annotations

import gzip
import lzma
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from preserve.bag.entries import MAX_LINK_HOPS, Entry, Member, check_entries, clean
from preserve.bag.extract import extract_members
from preserve.bag.reader import Problem, new_hash, printable
from preserve.bag.scratch import Scratch
from preserve.bag.tarscan import (
    CHUNK,
    ArchiveTooLarge,
    BlockStream,
    TarDamaged,
    TarEntry,
    TarSparse,
    scan_tar,
)
from preserve.bag.zipscan import classify, declared_entries
from preserve.errors import BadInput
from preserve.pausepoint import pause_point

__all__ = ["MAX_ENTRIES", "MAX_LINKS", "MAX_LINK_HOPS", "Archive", "Member", "open_archive"]

MAX_ENTRIES = 1_000_000
"""The most entries read from one archive: each is held in memory while the bag is read."""
MAX_LINKS = 10_000
"""The most symbolic and hard links in one archive; bags rarely hold any."""
LIST_CACHE = 64 << 20
"""Bytes of the bag's lists kept in memory from a tar as its listing reads past them, so
reading them later does not decompress the archive again."""
LISTS = re.compile(r"bagit\.txt|bag-info\.txt|fetch\.txt|(tag)?manifest-[A-Za-z0-9_-]+\.txt")
"""The tag files a validator reads as text, the bag's lists: bagit.txt, bag-info.txt,
fetch.txt and the manifests."""

# What a damaged archive raises from zipfile, gzip, zlib, bz2, lzma or our tar reader (a
# ValueError): each is the archive's fault, reported as bad input.
DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
)

Location = zipfile.ZipInfo | TarEntry


def sniff_format(path: Path) -> str | None:
    """Return `zip`, `tar` or `tar.gz` from a file's first bytes, or None if it is none of them."""
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    if head[257:262] == b"ustar":
        return "tar"
    return None


def is_list(relpath: str) -> bool:
    """Return True for one of a bag's lists: bagit.txt, bag-info.txt, fetch.txt, a manifest."""
    return LISTS.fullmatch(relpath) is not None


@dataclass(slots=True)
class Archive:
    """A serialised bag opened for reading, its entries checked; use `open_archive`.

    `problems` lists every unsafe or unusable entry; when it is not empty, nothing is read.
    """

    path: Path
    format: str
    handle: zipfile.ZipFile | None = None
    top: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    sources: dict[str, Location] = field(default_factory=dict)
    """Where the bytes of each archive entry a member reads lie."""
    _kept: dict[str, bytes] = field(default_factory=dict)
    _file: IO[bytes] | None = None
    _stream: BlockStream | None = None

    def __enter__(self) -> Archive:
        """Return this archive, to be closed on leaving the block."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the archive file."""
        self.close()

    def close(self) -> None:
        """Close the archive file; calling it again does nothing."""
        if self.handle is not None:
            self.handle.close()
        if self._file is not None:
            self._file.close()
            self._file = self._stream = None

    @property
    def files(self) -> dict[str, int]:
        """Return the regular files of the bag (path inside the top folder → size)."""
        return {m.path: m.size for m in self.members.values() if m.kind == "file"}

    def position(self, source: str) -> int:
        """Return where the archive entry `source` lies, to read entries in archive order."""
        where = self.sources[source]
        return where.header_offset if isinstance(where, zipfile.ZipInfo) else where.offset

    def chunks(self, source: str) -> Iterator[bytes]:
        """Yield the bytes of the archive entry `source`; raise BadInput if they are damaged."""
        if source in self._kept:
            yield self._kept[source]
            return
        where = self.sources[source]
        if isinstance(where, zipfile.ZipInfo):
            size, pieces = where.file_size, self._zip_chunks(where)
        else:
            size, pieces = where.size, self._tar_chunks(where)
        read = 0
        try:
            for chunk in pieces:
                read += len(chunk)
                yield chunk
        except DAMAGED as exc:
            raise BadInput(f"{self.path} is damaged or truncated: {exc}") from exc
        if read != size:
            raise BadInput(f"{self.path} is truncated: {printable(source)} is cut short")

    def _zip_chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        assert self.handle is not None
        with self.handle.open(info) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    def _tar_chunks(self, entry: TarEntry) -> Iterator[bytes]:
        stream = self._stream
        if stream is None or stream.position > entry.offset:
            stream = self._reopen()
        if not stream.skip(entry.offset - stream.position):
            raise TarDamaged(f"{entry.name!r} lies past the end: the archive is truncated")
        left = entry.size
        while left:
            piece = stream.read(min(left, CHUNK))
            if not piece:
                raise TarDamaged(f"{entry.name!r} is cut short: the archive is truncated")
            left -= len(piece)
            yield piece

    def _reopen(self) -> BlockStream:
        """Start reading the tar stream again from its first byte."""
        if self._file is not None:
            self._file.close()
        self._file = raw = self.path.open("rb")
        if self.format == "tar.gz":
            self._stream = BlockStream(gzip.GzipFile(fileobj=raw), None)
        else:
            self._stream = BlockStream(raw, os.fstat(raw.fileno()).st_size)
        return self._stream

    def read(self, relpath: str, limit: int = 64 << 20) -> bytes | None:
        """Return the bytes of the file `relpath` (inside the top folder), or None if absent."""
        member = self.members.get(relpath)
        if member is None or member.kind != "file" or member.size > limit:
            return None
        return b"".join(self.chunks(member.source))

    def digests(self, algorithms: Collection[str]) -> dict[str, dict[str, str]]:
        """Return the hex digests of every regular file (path → algorithm → digest).

        Each archive entry is read once, in archive order, and hashed with every algorithm
        at once; a link gets its target's digests. Raises BadInput if the archive is damaged.
        """
        sharing: dict[str, list[str]] = {}
        empty = {a: h.hexdigest() for a in algorithms if (h := new_hash(a)) is not None}
        found: dict[str, dict[str, str]] = {}
        for member in self.members.values():
            if member.kind != "file":
                continue
            if member.size == 0:
                found[member.path] = empty
            else:
                sharing.setdefault(member.source, []).append(member.path)
        for source in sorted(sharing, key=self.position):
            hashes = {a: h for a in empty if (h := new_hash(a)) is not None}
            for chunk in self.chunks(source):
                for hashed in hashes.values():
                    hashed.update(chunk)
                pause_point("reading")
            digests = {name: hashed.hexdigest() for name, hashed in hashes.items()}
            for relpath in sharing[source]:
                found[relpath] = digests
        return found

    def extract(self, destination: Path, select: Callable[[Member], bool] | None = None) -> Path:
        """Extract the bag (or the `select`ed members) into the empty folder `destination`.

        Returns the bag folder made there. Each archive entry is written once; every other
        member reading it becomes a hard link. Raises BadInput if the archive was found
        unsafe or is damaged, PackagingFailed if `destination` lacks the room for the
        declared sizes or cannot be written.
        """
        if self.problems or self.top is None:
            first = self.problems[0] if self.problems else None
            where = f": {first.path or 'the archive'}: {first.message}" if first else ""
            raise BadInput(f"{self.path} is not safe to extract{where}")
        chosen = [m for m in self.members.values() if select is None or select(m)]
        return extract_members(self, chosen, destination / self.top)

    @contextmanager
    def extracted(self, select: Callable[[Member], bool] | None = None) -> Iterator[Path]:
        """Yield the bag extracted into a locked scratch folder, removed on leaving the block."""
        with Scratch.create() as scratch:
            yield self.extract(scratch.path, select)


def open_archive(path: Path) -> Archive:
    """Open the serialised bag `path` and check every entry; nothing is extracted.

    Raises BadInput if the file cannot be read or is not a zip, tar or tar.gz archive, is
    damaged or truncated where its entries are listed, holds an entry preserve cannot read
    (encrypted, an unknown compression, a sparse file), or is past MAX_ENTRIES or MAX_LINKS.
    """
    try:
        fmt = sniff_format(path)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    if fmt is None:
        raise BadInput(f"{path} is neither a bag folder nor a zip, tar or tar.gz file")
    archive = Archive(path, fmt)
    try:
        entries = _list_entries(archive)
        checked = check_entries(entries, path.name)
    except BaseException:
        archive.close()
        raise
    archive.top, archive.members, archive.sources = checked.top, checked.members, checked.sources
    archive.problems, archive.warnings = checked.problems, checked.warnings
    return archive


def _list_entries(archive: Archive) -> list[Entry[Location]]:
    """Return the entries of `archive`; raise BadInput if they cannot all be listed and read."""
    try:
        entries = _list_zip(archive) if archive.format == "zip" else _list_tar(archive)
        _refuse_unreadable(archive, entries)
    except (ArchiveTooLarge, TarSparse) as exc:
        raise BadInput(f"{archive.path} cannot be read: {exc}") from exc
    except DAMAGED as exc:
        raise BadInput(
            f"{archive.path} is not a readable {archive.format} archive (damaged or truncated):"
            f" {exc}"
        ) from exc
    return entries


def _list_zip(archive: Archive) -> list[Entry[Location]]:
    """Return the entries of a zip archive; one declaring over MAX_ENTRIES is not listed."""
    with archive.path.open("rb") as handle:
        declared = declared_entries(handle, os.fstat(handle.fileno()).st_size)
    if declared is not None and declared > MAX_ENTRIES:
        raise ArchiveTooLarge(f"it declares {declared:,} entries (at most {MAX_ENTRIES:,})")
    archive.handle = zipped = zipfile.ZipFile(archive.path)
    infos = zipped.infolist()
    if len(infos) > MAX_ENTRIES:
        raise ArchiveTooLarge(f"it holds {len(infos):,} entries (at most {MAX_ENTRIES:,})")
    listed: list[Entry[Location]] = []
    for info in infos:
        found = classify(zipped, info)
        listed.append(Entry(info.filename, found.kind, found.size, found.link, info, found.why))
    return listed


def _list_tar(archive: Archive) -> list[Entry[Location]]:
    """Return the entries of a tar or tar.gz archive, keeping the bag's lists as they pass."""
    budget = [LIST_CACHE]

    def keep(name: str, size: int) -> bool:
        parts = clean(name).split("/")
        if len(parts) != 2 or not is_list(parts[1]) or size > budget[0]:
            return False
        budget[0] -= size
        return True

    stream = archive._reopen()
    found = scan_tar(stream, max_entries=MAX_ENTRIES, keep=keep, kept=archive._kept)
    return [Entry(e.name, e.kind, e.size, e.link, e, e.what) for e in found]


def _refuse_unreadable(archive: Archive, entries: list[Entry[Location]]) -> None:
    """Raise BadInput naming the entries that cannot be read, or with too many links."""
    unreadable = [entry for entry in entries if entry.kind == "unreadable"]
    if unreadable:
        named = "; ".join(f"{printable(e.name)} {e.why}" for e in unreadable[:3])
        more = f" (and {len(unreadable) - 3:,} more)" if len(unreadable) > 3 else ""
        raise BadInput(
            f"{archive.path} cannot be read: entry {named}{more}",
            hint="unpack it with a tool that can, then validate the folder",
        )
    links = sum(1 for entry in entries if entry.kind in ("symlink", "hardlink"))
    if links > MAX_LINKS:
        raise ArchiveTooLarge(f"it holds {links:,} links (at most {MAX_LINKS:,})")
