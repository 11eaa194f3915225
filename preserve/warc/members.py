"""gzip members, one per WARC record: deflated for text, stored (level 0) for compressed media.

warcio's writer deflates every record at level 9, which costs about 20 MB/s on media that
is already compressed and gains nothing; those records go in stored deflate blocks instead
(still a valid gzip member), and text is deflated at zlib's default level 6.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

TEXT_LEVEL = 6
_STORED_MAX = 0xFFFF
# ID1 ID2, CM=deflate, no flags, mtime 0, no extra flags, OS unix: as zlib writes it.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"

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


class GzipMember:
    """One gzip member written to `out`: deflated at `level`, or in stored blocks at level 0.

    Call `finish` once after the last `write`; `flush` does nothing, so a writer that
    flushes after each record (warcio's does) cannot end the member early.
    """

    def __init__(self, out: BinaryIO, level: int) -> None:
        self._out = out
        self._level = level
        self._crc = 0
        self._size = 0
        self._pending = bytearray()
        self._deflate = None if level == 0 else zlib.compressobj(level, zlib.DEFLATED, 31)
        if self._deflate is None:
            out.write(_GZIP_HEADER)

    def write(self, data: bytes) -> int:
        """Add `data` to the member; return its length."""
        if self._deflate is not None:
            self._out.write(self._deflate.compress(data))
            return len(data)
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._pending += data
        full = len(self._pending) // _STORED_MAX * _STORED_MAX
        if full:
            with memoryview(self._pending) as view:
                for start in range(0, full, _STORED_MAX):
                    self._stored_block(view[start : start + _STORED_MAX], final=False)
            del self._pending[:full]
        return len(data)

    def flush(self) -> None:
        """Do nothing: the member ends only with `finish`."""

    def finish(self) -> None:
        """End the member: the last deflate block and the gzip trailer."""
        if self._deflate is not None:
            self._out.write(self._deflate.flush())
            return
        self._stored_block(memoryview(self._pending), final=True)
        self._pending.clear()
        self._out.write(struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF))

    def _stored_block(self, data: memoryview, *, final: bool) -> None:
        # RFC 1951 3.2.4: BFINAL and BTYPE=00 in a byte of its own, then LEN and ~LEN.
        length = len(data)
        self._out.write(struct.pack("<BHH", int(final), length, length ^ 0xFFFF))
        self._out.write(data)
