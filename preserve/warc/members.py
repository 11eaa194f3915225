"""gzip members, one per WARC record: each piece of a body deflated or stored by what it holds.

A record's head (its WARC fields, an HTTP head, a warc-fields block) is text and is deflated at
zlib's default level 6. Its body is judged piece by piece, about 1 MiB at a time, by its bytes
and never by its declared type: a 2 KiB sample of the piece, drawn from its four quarters, is
deflated at level 1, and unless that saves at least an eighth the piece goes in stored deflate
blocks. Deflating what does not shrink (media, archives, encrypted or random data, whatever the
server calls it) costs far more than writing it (zlib deflates random bytes at a few tens of
MB/s) and gains nothing. A probe is used rather than compressing each piece and falling back to
stored blocks when it did not shrink, because that compression is itself the cost to avoid; the
probe deflates 2 KiB of each MiB, at the fastest level. Pieces are judged one by one because one
file (a disk image, a tar, a PDF) can hold both kinds.

Stored and deflated pieces share one deflate stream, so each record stays one gzip member: the
compressor is full-flushed (byte-aligned, its history reset) before stored blocks follow, so
nothing it writes afterwards points back across them.
"""

from __future__ import annotations

import struct
import zlib
from io import RawIOBase
from typing import Protocol

TEXT_LEVEL = 6
_PROBE_LEVEL = 1
_STORED_MAX = 0xFFFF
# Bytes read from a body file at a time, and judged together: about 1 MiB, a whole number of
# stored blocks.
_COPY = 16 * _STORED_MAX
# A body smaller than this is deflated with its record's head, never probed: for the many
# small records of a capture, a probe and a flush cost more than any stored block saves.
_SMALL = 16 * 1024
# The sample of a piece the probe deflates: a slice this long from each of its quarters.
_SLICES = 4
_SLICE = 512
# ID1 ID2, CM=deflate, no flags, mtime 0, no extra flags, OS unix: as zlib writes it.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"


class Sink(Protocol):
    """Where a member's bytes go."""

    def write(self, data: bytes | bytearray, /) -> object:
        """Take the next bytes (never changed once handed over)."""


def window_bits(size: int) -> int:
    """Return the deflate window (9 to 15 bits) for `size` bytes: no bigger than it needs.

    zlib sets up tables in proportion to the window; for the many small records of a
    capture that set-up, not the compression, is what costs.
    """
    return max(9, min(15, (max(size, 1) - 1).bit_length()))


def shrinks(sample: bytes | bytearray) -> bool:
    """Return whether deflate at its fastest level saves at least an eighth of `sample`."""
    # Level 6 saves little more than level 1 does; below an eighth, not worth its time.
    if not sample:
        return False
    bits = window_bits(len(sample))
    probe = zlib.compressobj(_PROBE_LEVEL, zlib.DEFLATED, -bits, max(1, bits - 7))
    packed = len(probe.compress(sample)) + len(probe.flush())
    return packed * 8 <= len(sample) * 7


class GzipMember:
    """One gzip member written to `out`: text deflated, each body piece deflated or stored.

    `size` is about how many bytes the member will hold (it picks the deflate window).
    `write` deflates; `copy` judges each piece of a body file by its bytes; `finish` writes
    `tail` and ends the member. `stored` and `deflated` count the bytes that went each way.
    Pieces handed to `out.write` are new objects, never changed afterwards.
    """

    def __init__(self, out: Sink, size: int) -> None:
        self._out = out
        self._crc = 0
        self._size = 0
        bits = window_bits(size)
        self._deflate = zlib.compressobj(TEXT_LEVEL, zlib.DEFLATED, -bits, max(1, bits - 7))
        # True while the compressor holds input it has not flushed out.
        self._open = False
        self.stored = 0
        self.deflated = 0
        out.write(_GZIP_HEADER)

    def write(self, data: bytes) -> None:
        """Add `data` to the member, deflated."""
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._compress(data)

    def copy(self, source: RawIOBase, size: int) -> None:
        """Add the next `size` bytes of the unbuffered file `source`, stored or deflated.

        Each piece is read straight into its place between stored-block headers, so a piece
        that does not shrink is copied once on its way from the file to the output.
        """
        left = size
        while left:
            want = min(_COPY, left)
            framed = self._read_framed(source, want)
            if size < _SMALL or shrinks(_sample(framed, want)):
                with memoryview(framed) as view:
                    for start in range(0, want, _STORED_MAX):
                        at = start + 5 * (start // _STORED_MAX + 1)
                        with view[at : at + min(_STORED_MAX, want - start)] as data:
                            self._compress(data)
            else:
                self._flush()
                self._out.write(framed)
                self.stored += want
            left -= want

    def finish(self, tail: bytes = b"") -> None:
        """Write `tail`, the last deflate block and the gzip trailer."""
        self._crc = zlib.crc32(tail, self._crc)
        self._size += len(tail)
        if self._open:
            end = self._deflate.compress(tail) + self._deflate.flush()
            self.deflated += len(tail)
        else:
            end = _stored_blocks(tail, final=True)
            self.stored += len(tail)
        trailer = struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF)
        self._out.write(end + trailer)

    def _compress(self, data: bytes | memoryview) -> None:
        if not data:
            return
        packed = self._deflate.compress(data)
        self._open = True
        self.deflated += len(data)
        if packed:
            self._out.write(packed)

    def _flush(self) -> None:
        """End the deflated bytes at a byte boundary, ready for stored blocks to follow."""
        if self._open:
            self._out.write(self._deflate.flush(zlib.Z_FULL_FLUSH))
            self._open = False

    def _read_framed(self, source: RawIOBase, size: int) -> bytearray:
        """Return the next `size` bytes of `source` as non-final stored blocks."""
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


def _sample(framed: bytearray, size: int) -> bytes:
    """Return the probe's sample of the `size` bytes framed as stored blocks in `framed`.

    A slice from the start of each quarter, cut at the quarter's or its block's end, so a
    piece of up to 2 KiB is sampled whole and no byte is taken twice.
    """
    parts = []
    for quarter in range(_SLICES):
        start = quarter * size // _SLICES
        block = start // _STORED_MAX
        end = min((quarter + 1) * size // _SLICES, start + _SLICE, (block + 1) * _STORED_MAX)
        at = start + 5 * (block + 1)
        parts.append(framed[at : at + end - start])
    return b"".join(parts)


def _fill(source: RawIOBase, slot: memoryview) -> None:
    """Fill `slot` from `source`, which must hold that many more bytes."""
    got = 0
    while got < len(slot):
        count = source.readinto(slot[got:])
        if not count:
            raise OSError(f"{getattr(source, 'name', 'file')} ended {len(slot) - got} bytes early")
        got += count


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
