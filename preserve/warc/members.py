"""gzip members, one per WARC record: deflated for text, stored (level 0) for compressed media.

Deflating media that is already compressed costs far more than writing it (about 20 MB/s at
level 9) and gains nothing; those records go in stored deflate blocks instead (still a valid
gzip member), and text is deflated at zlib's default level 6.
"""

from __future__ import annotations

import struct
import zlib
from io import RawIOBase
from typing import Protocol

TEXT_LEVEL = 6
_STORED_MAX = 0xFFFF
# Bytes read from a body file at a time: about 1 MiB, a whole number of stored blocks.
_COPY = 16 * _STORED_MAX
# ID1 ID2, CM=deflate, no flags, mtime 0, no extra flags, OS unix: as zlib writes it.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"


class Sink(Protocol):
    """Where a member's bytes go."""

    def write(self, data: bytes | bytearray, /) -> object:
        """Take the next bytes (never changed once handed over)."""


_COMPRESSED_TYPES = frozenset(
    {
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/zstd",
        "application/x-compress",
        "application/font-woff",
        "application/x-font-woff",
        "application/vnd.ms-fontobject",
        "application/ogg",
        "application/epub+zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    }
)
_MEDIA_PREFIXES = ("image/", "audio/", "video/", "font/")
# Images that are text or raw pixels do shrink.
_COMPRESSIBLE_IMAGES = frozenset({"image/svg+xml", "image/bmp", "image/x-ms-bmp", "image/tiff"})


def deflate_level(content_type: str | None, content_encoding: str | None = None) -> int:
    """Return the deflate level for a body of this type: 0 when it is already compressed.

    A body with any content coding (gzip, br, deflate) is compressed already, whatever its
    type; so are images (but SVG, BMP, TIFF), audio, video, fonts and archives.
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    if any(c != "identity" for c in codings):
        return 0
    media = (content_type or "").split(";")[0].strip().lower()
    if media in _COMPRESSIBLE_IMAGES:
        return TEXT_LEVEL
    if media.startswith(_MEDIA_PREFIXES) or media in _COMPRESSED_TYPES:
        return 0
    return TEXT_LEVEL


def window_bits(size: int) -> int:
    """Return the deflate window (9 to 15 bits) for `size` bytes: no bigger than it needs.

    zlib sets up tables in proportion to the window; for the many small records of a
    capture that set-up, not the compression, is what costs.
    """
    return max(9, min(15, (max(size, 1) - 1).bit_length()))


class GzipMember:
    """One gzip member written to `out`: deflated at `level`, or in stored blocks at level 0.

    `size` is about how many bytes the member will hold (it picks the deflate window). Each
    `write` becomes stored blocks of its own at level 0; `finish` writes `tail` and ends the
    member. Pieces handed to `out.write` are new bytes objects, never changed afterwards.
    """

    def __init__(self, out: Sink, level: int, size: int) -> None:
        self._out = out
        self._crc = 0
        self._size = 0
        self._deflate = None
        if level:
            bits = window_bits(size)
            self._deflate = zlib.compressobj(level, zlib.DEFLATED, 16 + bits, max(1, bits - 7))
        else:
            out.write(_GZIP_HEADER)

    def write(self, data: bytes) -> None:
        """Add `data` to the member."""
        if self._deflate is not None:
            packed = self._deflate.compress(data)
            if packed:
                self._out.write(packed)
            return
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._out.write(_stored_blocks(data, final=False))

    def copy(self, source: RawIOBase, size: int) -> None:
        """Add the next `size` bytes of the unbuffered file `source` to the member.

        At level 0 each piece is read straight into its place between the block headers,
        so the bytes are copied once on their way from the file to the output.
        """
        left = size
        while left:
            want = min(_COPY, left)
            if self._deflate is not None:
                data = _read_exactly(source, want)
                self.write(data)
            else:
                self._out.write(self._read_stored(source, want))
            left -= want

    def _read_stored(self, source: RawIOBase, size: int) -> bytearray:
        framed = bytearray(size + 5 * -(-size // _STORED_MAX))
        at = 0
        with memoryview(framed) as view:
            for start in range(0, size, _STORED_MAX):
                length = min(_STORED_MAX, size - start)
                framed[at : at + 5] = struct.pack("<BHH", 0, length, length ^ 0xFFFF)
                with view[at + 5 : at + 5 + length] as slot:
                    _fill(source, slot)
                    self._crc = zlib.crc32(slot, self._crc)
                at += 5 + length
        self._size += size
        return framed

    def finish(self, tail: bytes = b"") -> None:
        """Write `tail`, the last deflate block and the gzip trailer."""
        if self._deflate is not None:
            self._out.write(self._deflate.compress(tail) + self._deflate.flush())
            return
        self._crc = zlib.crc32(tail, self._crc)
        self._size += len(tail)
        trailer = struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF)
        self._out.write(_stored_blocks(tail, final=True) + trailer)


def _fill(source: RawIOBase, slot: memoryview) -> None:
    """Fill `slot` from `source`, which must hold that many more bytes."""
    got = 0
    while got < len(slot):
        count = source.readinto(slot[got:])
        if not count:
            raise OSError(f"{getattr(source, 'name', 'file')} ended {len(slot) - got} bytes early")
        got += count


def _read_exactly(source: RawIOBase, size: int) -> bytes:
    """Return the next `size` bytes of `source`, which must hold that many more."""
    data = bytearray(size)
    with memoryview(data) as view:
        _fill(source, view)
    return bytes(data)


def _stored_blocks(data: bytes, *, final: bool) -> bytes:
    """Return `data` as stored deflate blocks, the last marked final when `final` is true."""
    # RFC 1951 3.2.4: BFINAL and BTYPE=00 in a byte of its own, then LEN and ~LEN.
    view = memoryview(data)
    parts: list[bytes | memoryview] = []
    starts = range(0, len(view), _STORED_MAX) or range(1)
    last = starts[-1]
    for start in starts:
        piece = view[start : start + _STORED_MAX]
        length = len(piece)
        parts.append(struct.pack("<BHH", int(final and start == last), length, length ^ 0xFFFF))
        parts.append(piece)
    return b"".join(parts)
