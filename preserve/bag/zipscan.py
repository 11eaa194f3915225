"""Zip entries classified as the zip format defines them, before any content is trusted.

An entry's Unix mode bits count only when its "version made by" names a Unix-like host
(APPNOTE 4.4.2), and only their file-type bits say what it is: `zipfile.writestr` stores
permission bits alone, which is a regular file. Encrypted entries and compression methods
Python cannot read are named, never opened.
"""

from __future__ import annotations

import stat
import struct
import zipfile
from dataclasses import dataclass
from typing import IO, Literal

MAX_LINK_BYTES = 4096
"""The longest symbolic-link target read from a zip entry (PATH_MAX)."""

UNIX_HOSTS = frozenset({3, 19})
"""The "version made by" hosts whose external attributes hold a Unix mode: Unix, OS X."""

_METHODS = {
    1: "Shrink",
    2: "Reduce",
    3: "Reduce",
    4: "Reduce",
    5: "Reduce",
    6: "Implode",
    9: "Deflate64",
    10: "PKWARE Implode",
    12: "bzip2",
    14: "LZMA",
    18: "IBM TERSE",
    19: "IBM LZ77",
    93: "Zstandard",
    95: "XZ",
    96: "JPEG",
    97: "WavPack",
    98: "PPMd",
    99: "AES",
}
_ENCRYPTED = 0x01 | 0x40
_EOCD = struct.Struct("<4s4H2LH")
_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")

Kind = Literal["file", "dir", "symlink", "special", "unreadable"]


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One zip entry: its kind, its size, and what a link points to or why it cannot be read."""

    info: zipfile.ZipInfo
    kind: Kind
    size: int
    link: str = ""
    why: str = ""
    """For an unreadable entry, why; for a special one, what it is."""


def _readable_methods() -> frozenset[int]:
    methods = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
    for method, module in ((zipfile.ZIP_BZIP2, "bz2"), (zipfile.ZIP_LZMA, "lzma")):
        try:
            __import__(module)
        except ImportError:
            continue
        methods.add(method)
    return frozenset(methods)


READABLE_METHODS = _readable_methods()


def unix_mode(info: zipfile.ZipInfo) -> int:
    """Return the entry's Unix mode, or 0 where its host does not store one."""
    return info.external_attr >> 16 if info.create_system in UNIX_HOSTS else 0


def classify(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> ZipEntry:
    """Return what the zip entry `info` is; a symbolic link's target is read (bounded).

    Raises zipfile.BadZipFile (or zlib.error…) if a link's target cannot be read.
    """
    kind_bits = stat.S_IFMT(unix_mode(info))
    if info.filename.endswith("/") or kind_bits == stat.S_IFDIR:
        return ZipEntry(info, "dir", 0)
    if kind_bits not in (0, stat.S_IFREG, stat.S_IFLNK):
        return ZipEntry(info, "special", 0, why="a device, FIFO or socket")
    if info.flag_bits & _ENCRYPTED:
        return ZipEntry(info, "unreadable", 0, why="is encrypted")
    if info.compress_type not in READABLE_METHODS:
        method = _METHODS.get(info.compress_type, "an unknown method")
        why = (
            f"is compressed with {method} (method {info.compress_type}), which preserve cannot read"
        )
        return ZipEntry(info, "unreadable", 0, why=why)
    if kind_bits != stat.S_IFLNK:
        return ZipEntry(info, "file", info.file_size)
    if info.file_size > MAX_LINK_BYTES:
        return ZipEntry(info, "special", 0, why=f"a link of more than {MAX_LINK_BYTES} bytes")
    with archive.open(info) as stream:
        target = stream.read(MAX_LINK_BYTES + 1)
    return ZipEntry(info, "symlink", 0, link=target.decode("utf-8", "surrogateescape"))


def declared_entries(handle: IO[bytes], length: int) -> int | None:
    """Return how many entries the zip's end-of-central-directory record declares, or None.

    Read before zipfile lists the central directory, so a zip declaring millions of entries
    is refused before they are held in memory. None when the record cannot be found (then
    zipfile's own reading decides).
    """
    tail_size = min(length, _EOCD.size + 0xFFFF)
    handle.seek(length - tail_size)
    tail = handle.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    total = _EOCD.unpack_from(tail, at)[4]
    if total != 0xFFFF:
        return int(total)
    locator_at = length - tail_size + at - _LOCATOR.size
    if locator_at < 0:
        return None
    handle.seek(locator_at)
    locator = handle.read(_LOCATOR.size)
    if len(locator) < _LOCATOR.size or locator[:4] != b"PK\x06\x07":
        return None
    handle.seek(_LOCATOR.unpack(locator)[2])
    record = handle.read(_EOCD64.size)
    if len(record) < _EOCD64.size or record[:4] != b"PK\x06\x06":
        return None
    return int(_EOCD64.unpack(record)[7])
