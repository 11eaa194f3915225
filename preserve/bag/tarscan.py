"""Tar entries read from a stream: name, type, size and link target of each, nothing more.

Not tarfile's reader: it parses every field of every header in Python (owner, group, times,
device numbers), some 60 µs a header, so 200,000 empty entries cost it over ten seconds,
and it takes a damaged header after the first for the end of the archive. This one checks
each header's checksum, reads pax and GNU long names, skips the content, and calls any
header it cannot read damage. Bounds: `MAX_EXTENDED` bytes of pax or long-name record per
entry, and the caller's `max_entries`.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

BLOCK = 512
CHUNK = 1 << 20
MAX_EXTENDED = 1 << 20
"""The largest pax extended header or GNU long name read for one entry."""

Kind = Literal["file", "dir", "symlink", "hardlink", "special"]

_ZEROS = bytes(BLOCK)
_OCTAL = re.compile(rb"[0-7]+")
_PAX_LENGTH = re.compile(rb"([0-9]{1,20}) ")
_DECIMAL = re.compile(r"[0-9]{1,20}")
_SIGNED = struct.Struct("148b8x356b")
_POSIX_MAGIC = b"ustar\x00"
_KINDS: dict[bytes, Kind] = {
    b"0": "file",
    b"\x00": "file",
    b"7": "file",
    b"1": "hardlink",
    b"2": "symlink",
    b"5": "dir",
    b"3": "special",
    b"4": "special",
    b"6": "special",
}
_SPECIAL = {b"3": "a character device", b"4": "a block device", b"6": "a FIFO"}


class TarDamaged(ValueError):
    """The stream is not a tar archive past some point: damaged, truncated or over a bound."""


class ArchiveTooLarge(ValueError):
    """The archive is past a bound of its reader: more entries (or links) than it reads."""


class TarSparse(ValueError):
    """An entry is a sparse file, whose content this reader does not rebuild."""


@dataclass(frozen=True, slots=True)
class TarEntry:
    """One entry of a tar archive: its name and type, and where its content lies."""

    name: str
    kind: Kind
    size: int
    offset: int
    """Where the content starts in the (uncompressed) tar stream."""
    link: str = ""
    what: str = ""
    """For a special entry, what it is (`a FIFO`, `an entry of tar type 'D'`)."""


class Readable(Protocol):
    """A binary stream: a file, or a decompressing one (gzip.GzipFile)."""

    def read(self, size: int = -1, /) -> bytes:
        """Return up to `size` bytes."""
        ...

    def tell(self) -> int:
        """Return the position."""
        ...

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Move to `offset`."""
        ...


class BlockStream:
    """A byte stream read forwards only, skipping by seek where the stream allows it.

    `length` is the stream's size when it is a plain file (skips then seek and are checked
    against it); None for a decompressing stream, where a skip reads and discards.
    """

    def __init__(self, raw: Readable, length: int | None) -> None:
        self._raw = raw
        self._length = length
        self._buffer = b""
        self._at = 0
        self.position = 0

    def read(self, size: int) -> bytes:
        """Return the next `size` bytes, or fewer at the end of the stream."""
        if self._at == len(self._buffer) and size >= CHUNK:
            # Large contents go straight through, not through the buffer.
            data = self._raw.read(size)
            self.position += len(data)
            return data
        if len(self._buffer) - self._at < size:
            rest = self._buffer[self._at :]
            self._buffer = rest + self._raw.read(max(CHUNK, size - len(rest)))
            self._at = 0
        data = self._buffer[self._at : self._at + size]
        self._at += len(data)
        self.position += len(data)
        return data

    def peek(self, size: int) -> bytes:
        """Return the next `size` bytes (less than CHUNK) without consuming them."""
        data = self.read(size)
        self._at -= len(data)
        self.position -= len(data)
        return data

    def skip(self, size: int) -> bool:
        """Skip `size` bytes; return False if the stream ends first."""
        buffered = min(size, len(self._buffer) - self._at)
        self._at += buffered
        self.position += buffered
        size -= buffered
        if not size:
            return True
        if self._length is not None:
            target = self._raw.tell() + size
            if target > self._length:
                return False
            self._raw.seek(target)
            self.position += size
            return True
        while size:
            piece = self._raw.read(min(size, CHUNK))
            if not piece:
                return False
            size -= len(piece)
            self.position += len(piece)
        return True


def _nts(field: bytes) -> str:
    """Return a NUL-terminated header field as text (bytes that are not UTF-8 kept as such)."""
    return field.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def _number(field: bytes) -> int | None:
    """Return a header's numeric field (octal text, or base-256), or None if unreadable."""
    if field[:1] == b"\x80":
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\x00", 1)[0].strip(b" ")
    if not text:
        return 0
    return int(text, 8) if _OCTAL.fullmatch(text) else None


def _checksum_ok(header: bytes) -> bool:
    """Return True if the header's checksum matches it (unsigned or, as old tars, signed)."""
    stored = _number(header[148:156])
    if stored is None:
        return False
    if stored == sum(header) - sum(header[148:156]) + 256:
        return True
    signed: int = sum(_SIGNED.unpack_from(header))
    return stored == signed + 256


def _pax(data: bytes, where: int) -> dict[str, str]:
    """Return the records of a pax extended header: `LENGTH KEY=VALUE\\n` each."""
    fields: dict[str, str] = {}
    at = 0
    while at < len(data) and data[at] != 0:
        match = _PAX_LENGTH.match(data, at)
        end = at + int(match[1]) if match else 0
        if match is None or end <= match.end() or end > len(data) or data[end - 1] != 0x0A:
            raise TarDamaged(f"the pax header at byte {where} cannot be read")
        key, sep, value = data[match.end() : end - 1].partition(b"=")
        if not sep:
            raise TarDamaged(f"the pax header at byte {where} has a record without '='")
        fields[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        at = end
    if "size" in fields and not _DECIMAL.fullmatch(fields["size"]):
        raise TarDamaged(f"the pax header at byte {where} gives no readable size")
    return fields


def scan_tar(
    stream: BlockStream,
    *,
    max_entries: int,
    keep: Callable[[str, int], bool] | None = None,
    kept: dict[str, bytes] | None = None,
) -> list[TarEntry]:
    """Return every entry of the tar `stream`, in order, up to its end-of-archive block.

    The content of each regular file for which `keep(name, size)` is true is stored in
    `kept` by name as it goes by. Raises TarDamaged (a header that is no tar header, an
    entry cut short), ArchiveTooLarge (more than `max_entries`) or TarSparse.
    """
    entries: list[TarEntry] = []
    shared: dict[str, str] = {}
    local: dict[str, str] = {}
    while True:
        where = stream.position
        header = stream.read(BLOCK)
        if not header or header == _ZEROS:
            # The end-of-archive blocks, or the end of a stream that lacks them (as tarfile).
            return entries
        if len(header) < BLOCK or not _checksum_ok(header):
            cut = "cut short" if len(header) < BLOCK else "not a tar header (wrong checksum)"
            raise TarDamaged(f"the header at byte {where} is {cut}")
        type_, size = header[156:157], _number(header[124:136])
        if size is None:
            raise TarDamaged(f"the header at byte {where} gives no readable size")
        if type_ in (b"x", b"g", b"L", b"K"):
            _read_extended(stream, type_, size, where, shared, local)
            continue
        if type_ == b"V":
            # A GNU volume label names the tape, not a file: nothing to list.
            local = {}
            stream.skip(size + -size % BLOCK)
            continue
        fields = {**shared, **local} if shared or local else local
        local = {}
        entry = _entry(header, type_, size, fields, stream.position, where)
        entries.append(entry)
        if len(entries) > max_entries:
            raise ArchiveTooLarge(f"more than {max_entries:,} entries")
        if entry.kind != "file" and type_ in _KINDS:
            # A link, folder or device has no content, but a writer may store some after it
            # anyway (tarfile's addfile does): skipped when no header follows the entry.
            padded = entry.size + -entry.size % BLOCK
            if entry.size and not _header_follows(stream) and not stream.skip(padded):
                raise TarDamaged(f"{entry.name!r} is cut short: the archive is truncated")
            continue
        if entry.kind == "file" and kept is not None and keep and keep(entry.name, entry.size):
            data = stream.read(entry.size)
            kept[entry.name] = data
            complete = len(data) == entry.size
        else:
            complete = not entry.size or stream.skip(entry.size)
        if not complete:
            raise TarDamaged(f"{entry.name!r} is cut short: the archive is truncated")
        if entry.size % BLOCK:
            stream.skip(BLOCK - entry.size % BLOCK)


def _header_follows(stream: BlockStream) -> bool:
    """Return True if the next block is a header, an end-of-archive block, or the end."""
    block = stream.peek(BLOCK)
    return not block or block == _ZEROS or (len(block) == BLOCK and _checksum_ok(block))


def _read_extended(
    stream: BlockStream,
    type_: bytes,
    size: int,
    where: int,
    shared: dict[str, str],
    local: dict[str, str],
) -> None:
    """Read a pax header (`x` for the next entry, `g` for all) or a GNU long name (`L`, `K`)."""
    if size > MAX_EXTENDED:
        raise TarDamaged(f"the extended header at byte {where} is over {MAX_EXTENDED:,} bytes")
    data = stream.read(size)
    if len(data) < size:
        raise TarDamaged(f"the extended header at byte {where} is cut short")
    stream.skip(-size % BLOCK)
    if type_ == b"x":
        local.update(_pax(data, where))
    elif type_ == b"g":
        shared.update(_pax(data, where))
    else:
        local["path" if type_ == b"L" else "linkpath"] = _nts(data)


def _entry(
    header: bytes, type_: bytes, size: int, fields: dict[str, str], offset: int, where: int
) -> TarEntry:
    """Return the entry a header (with its pax or long-name fields) describes."""
    name = fields.get("path") or _nts(header[0:100])
    prefix = _nts(header[345:500]) if header[257:263] == _POSIX_MAGIC else ""
    if prefix and "path" not in fields:
        name = f"{prefix}/{name}"
    if type_ == b"S" or (fields and any(key.startswith("GNU.sparse.") for key in fields)):
        raise TarSparse(f"{name!r} (at byte {where}) is a sparse file")
    if "size" in fields:
        size = int(fields["size"])
    kind = _KINDS.get(type_, "special")
    if type_ == b"\x00" and name.endswith("/"):
        kind = "dir"
    link = ""
    if kind in ("symlink", "hardlink"):
        link = fields.get("linkpath") or _nts(header[157:257])
    what = _SPECIAL.get(type_, f"an entry of tar type {type_!r}") if kind == "special" else ""
    return TarEntry(name, kind, size, offset, link, what)
