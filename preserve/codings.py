"""Content codings (gzip, deflate, br) undone in bounded pieces.

A few kilobytes of gzip can stand for gigabytes of zeros. The decoders here never hand back
more than `limit` bytes at a time (nor hold more), so the caller can count every piece
against `--max-size` and stop a decompression bomb before it fills the memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

DEFAULT_LIMIT = 256 * 1024
# brotli before 1.2 cannot cap its output: input is then fed in slices this small.
_BROTLI_SLICE = 1024


class DecodeError(ValueError):
    """The body is not in the content coding its Content-Encoding names."""


class Decoder(Protocol):
    """Undoes one or more content codings, a piece at a time."""

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Yield the decoded bytes of the next `data` received, in bounded pieces."""
        ...

    def finish(self) -> Iterator[bytes]:
        """Yield what is still held once the body has ended."""
        ...


class Identity:
    """No content coding: the bytes as received."""

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Yield `data` itself (the caller reads it in bounded chunks)."""
        if data:
            yield data

    def finish(self) -> Iterator[bytes]:
        """Yield nothing: nothing is held."""
        yield from ()


class Truncated(DecodeError):
    """The encoded stream ends before its end marker: what was decoded is not the whole body."""


_GZIP_MAGIC = b"\x1f\x8b"


class _Zlib:
    """gzip (several members allowed) or deflate, which falls back to raw deflate as sent by
    some servers.

    A stream must reach its end marker, or `finish` raises Truncated. After a complete gzip
    member, bytes that do not begin another member (NUL padding, a stray newline) are
    ignored, as browsers and Python's gzip module ignore them.
    """

    def __init__(self, gzip: bool, limit: int) -> None:
        self._gzip = gzip
        self._limit = limit
        self._wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._started = False
        # After a complete gzip member: the first bytes of what follows, until they show
        # whether another member begins; then either a new member or the rest ignored.
        self._between: bytes | None = None
        self._ignoring = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Yield the decoded bytes of `data`, at most `limit` per piece.

        Raises DecodeError for data that is not in the coding.
        """
        try:
            yield from self._decode(data)
        except zlib.error as exc:
            raise DecodeError(str(exc)) from exc

    def _decode(self, data: bytes) -> Iterator[bytes]:
        data = self._after_member(data)
        if not data:
            return
        if not self._started:
            self._started = True
            if not self._gzip:
                try:
                    out = self._obj.decompress(data, self._limit)
                except zlib.error:
                    self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                else:
                    if out:
                        yield out
                    data = self._obj.unconsumed_tail
                    if not data and len(out) < self._limit:
                        return
        while True:
            out = self._obj.decompress(data, self._limit)
            if out:
                yield out
            data = self._obj.unconsumed_tail
            if self._gzip and self._obj.eof:
                # The member ended: what follows is another member, or is waited on or dropped.
                data = self._after_member(self._obj.unused_data)
                if not data:
                    return
                continue
            # A full piece may leave output inside zlib even when all input was taken.
            if not data and len(out) < self._limit:
                return

    def _after_member(self, data: bytes) -> bytes:
        """Return the bytes to decode next; bytes after a complete member wait or are dropped.

        Once a gzip member has ended, what follows starts a new member only if it begins
        with the gzip magic number; anything else, and all after it, is ignored.
        """
        if not (self._gzip and self._obj.eof) or self._ignoring:
            return b"" if self._ignoring else data
        pending = (self._between or b"") + data
        if len(pending) < len(_GZIP_MAGIC):
            self._between = pending
            return b""
        self._between = None
        if pending.startswith(_GZIP_MAGIC):
            self._obj = zlib.decompressobj(self._wbits)
            return pending
        self._ignoring = True
        return b""

    def finish(self) -> Iterator[bytes]:
        """Yield what zlib still holds (little: `decode` drains it).

        Raises Truncated when the stream stopped before its end marker.
        """
        try:
            tail = self._obj.flush()
        except zlib.error as exc:
            raise DecodeError(str(exc)) from exc
        for start in range(0, len(tail), self._limit):
            yield tail[start : start + self._limit]
        if self._started and not self._obj.eof:
            kind = "gzip" if self._gzip else "deflate"
            raise Truncated(f"the {kind} stream ends before its end marker")


class _Brotli:
    def __init__(self, limit: int) -> None:
        import brotli

        self._error: type[Exception] = brotli.error
        self._limit = limit
        self._obj = brotli.Decompressor()
        self._fed = False
        try:
            self._obj.process(b"", output_buffer_limit=limit)
            self._capped = True
        except TypeError:
            self._capped = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Yield the decoded bytes of `data` in bounded pieces; raise DecodeError if bad."""
        try:
            yield from self._decode(data)
        except self._error as exc:
            raise DecodeError(str(exc)) from exc

    def _decode(self, data: bytes) -> Iterator[bytes]:
        self._fed = self._fed or bool(data)
        if not self._capped:
            for start in range(0, len(data), _BROTLI_SLICE):
                out = bytes(self._obj.process(data[start : start + _BROTLI_SLICE]))
                if out:
                    yield out
            return
        # The buffer may grow one step past its limit: ask for half to stay near `limit`.
        cap = max(1, self._limit // 2)
        out = bytes(self._obj.process(data, output_buffer_limit=cap))
        if out:
            yield out
        # Pending output comes out only through calls with empty input.
        obj = self._obj
        while not obj.is_finished() and (out or not obj.can_accept_more_data()):
            out = bytes(obj.process(b"", output_buffer_limit=cap))
            if out:
                yield out

    def finish(self) -> Iterator[bytes]:
        """Yield nothing: `decode` hands back all the output it can make.

        Raises Truncated when the stream stopped before its last meta-block.
        """
        if self._fed and not self._obj.is_finished():
            raise Truncated("the br stream ends before its end marker")
        yield from ()


def _each(step: Callable[[bytes], Iterator[bytes]], pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from step(piece)


class _Chain:
    """Several codings, undone last-applied first, each piece flowing through the rest."""

    def __init__(self, decoders: list[Decoder]) -> None:
        self._decoders = decoders

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Yield `data` decoded by every decoder in turn, one bounded piece at a time."""
        pieces: Iterable[bytes] = (data,)
        for decoder in self._decoders:
            pieces = _each(decoder.decode, pieces)
        yield from pieces

    def finish(self) -> Iterator[bytes]:
        """Yield what each decoder still holds, decoded by the decoders after it."""
        for index, decoder in enumerate(self._decoders):
            pieces: Iterable[bytes] = decoder.finish()
            for later in self._decoders[index + 1 :]:
                pieces = _each(later.decode, pieces)
            yield from pieces


def decoder_for(content_encoding: str | None, limit: int = DEFAULT_LIMIT) -> Decoder | None:
    """Return a decoder undoing the codings of a Content-Encoding value, None if one is unknown.

    Codings are undone in reverse order of the header; `identity` is ignored. No piece the
    decoder yields is longer than `limit` bytes (brotli before 1.2: roughly, by input slices).
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    decoders: list[Decoder] = []
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            decoders.append(_Zlib(gzip=True, limit=limit))
        elif coding == "deflate":
            decoders.append(_Zlib(gzip=False, limit=limit))
        elif coding == "br":
            decoders.append(_Brotli(limit))
        elif coding != "identity":
            return None
    if not decoders:
        return Identity()
    return decoders[0] if len(decoders) == 1 else _Chain(decoders)
