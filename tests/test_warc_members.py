"""WARC records' gzip members: each piece of a body stored or deflated by what its bytes do."""

from __future__ import annotations

import base64
import gzip
import hashlib
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest

import preserve
from preserve.warc.members import GzipMember, shrinks, window_bits

from .conftest import Server
from .warc_reading import Rec, check_bag_warc, warc_of

BLOCK = 65_535
# The writer reads and judges a body this many bytes at a time.
PIECE = 16 * BLOCK
PROSE = (
    "the archive keeps every page with its images stylesheets scripts and the records of each "
    "exchange so that a reader can replay what the server sent on the day it was captured"
)


def text_of(size: int, seed: int = 19) -> bytes:
    """Return `size` bytes of text: words drawn at random, in lines."""
    rng = random.Random(seed)
    words = PROSE.split()
    out = bytearray()
    while len(out) < size:
        out += (" ".join(rng.choices(words, k=12)) + ".\n").encode()
    return bytes(out[:size])


def random_of(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def holds_stored(member: bytes, body: bytes) -> bool:
    """Return whether `member` holds `body` verbatim in the writer's stored blocks.

    The writer stores a piece as blocks of 65,535 bytes from the body's start, each after its
    5-byte header; zlib's own stored blocks (when deflate cannot shrink a block) are cut
    elsewhere, so this framing shows the writer chose to store.
    """
    for start in range(0, len(body), BLOCK):
        piece = body[start : start + BLOCK]
        if struct.pack("<BHH", 0, len(piece), len(piece) ^ 0xFFFF) + piece not in member:
            return False
    return True


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


def one_member(packed: bytes) -> bytes:
    """Return what a single gzip member holds; fail if more than one member or trailing bytes."""
    reader = zlib.decompressobj(31)
    data = reader.decompress(packed) + reader.flush()
    assert reader.eof
    assert reader.unused_data == b""
    return data


def member_of(tmp_path: Path, head: bytes, body: bytes) -> tuple[GzipMember, bytes]:
    """Return a member of `head`, `body` copied from a file and a tail; and its bytes."""
    tail = b"\r\n\r\n"
    path = tmp_path / "body"
    path.write_bytes(body)
    out = _Sink()
    member = GzipMember(out, len(head) + len(body) + len(tail))
    member.write(head)
    with path.open("rb", buffering=0) as source:
        member.copy(source, len(body))
    member.finish(tail)
    return member, bytes(out.data)


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (b"", False),
        (b"abc", False),
        (random_of(4096), False),
        (gzip.compress(text_of(40_000), mtime=0)[:4096], False),
        (text_of(4096), True),
        (b"\x00" * 4096, True),
        (b"\xff" * 100, True),
        (base64.b64encode(random_of(3072)), True),
    ],
    ids=["empty", "tiny", "random", "gzip", "text", "zeros", "run", "base64"],
)
def test_shrinks_by_what_the_bytes_do(sample: bytes, expected: bool) -> None:
    assert shrinks(sample) is expected


@pytest.mark.parametrize("size", [1, 100, 16_383])
def test_a_small_body_is_deflated_with_its_head_unprobed(size: int, tmp_path: Path) -> None:
    # Under 16 KiB a probe and a flush would cost more than a stored block saves.
    body = random_of(size)
    member, packed = member_of(tmp_path, b"WARC/1.1\r\n\r\n", body)
    assert gzip.decompress(packed) == b"WARC/1.1\r\n\r\n" + body + b"\r\n\r\n"
    assert (member.stored, member.deflated) == (0, 12 + size + 4)


@pytest.mark.parametrize("size", [16_384, 65_534, 65_535, 65_536, 200_000, PIECE, PIECE + 3])
def test_a_random_body_is_stored_whole_in_blocks(size: int, tmp_path: Path) -> None:
    body = random_of(size)
    member, packed = member_of(tmp_path, b"", body)
    assert one_member(packed) == body + b"\r\n\r\n"
    assert gzip.decompress(packed) == body + b"\r\n\r\n"
    assert (member.stored, member.deflated) == (size + 4, 0)
    # Nothing but stored blocks: the gzip header and trailer, 5 bytes a block, the tail's block.
    blocks = sum(-(-min(PIECE, size - s) // BLOCK) for s in range(0, size, PIECE))
    assert len(packed) == 10 + size + 5 * blocks + 5 + 4 + 8
    assert holds_stored(packed, body)


@pytest.mark.parametrize("size", [0, 100, 5_000, 70_000, 3_000_000])
def test_text_is_deflated_within_a_window_that_fits(size: int, tmp_path: Path) -> None:
    body = text_of(size)
    member, packed = member_of(tmp_path, b"WARC/1.1\r\n\r\n", body)
    assert one_member(packed) == b"WARC/1.1\r\n\r\n" + body + b"\r\n\r\n"
    assert member.stored == 0
    assert member.deflated == 12 + size + 4
    if size >= 5_000:
        assert len(packed) * 2 < size
    # The smallest window that holds the whole member, from 2**9 up to zlib's 2**15.
    bits = window_bits(size)
    assert 9 <= bits <= 15
    assert 2**bits >= min(size, 2**15)
    assert bits == 9 or 2 ** (bits - 1) < size


def test_each_piece_of_a_mixed_body_is_judged_by_its_bytes(tmp_path: Path) -> None:
    # A disk image or a tar: random pieces and text pieces in one body, one gzip member.
    pieces = [random_of(PIECE, 1), text_of(PIECE, 2), text_of(PIECE, 3), random_of(PIECE, 4)]
    body = b"".join(pieces) + text_of(50_000, 5)
    head = b"WARC/1.1\r\nWARC-Type: resource\r\n\r\n"
    member, packed = member_of(tmp_path, head, body)
    assert one_member(packed) == head + body + b"\r\n\r\n"
    assert member.stored == 2 * PIECE
    assert member.deflated == len(head) + 2 * PIECE + 50_000 + 4
    assert holds_stored(packed, pieces[0])
    assert holds_stored(packed, pieces[3])
    assert not holds_stored(packed, pieces[1])
    assert len(packed) < 2 * PIECE + PIECE // 2


@pytest.mark.parametrize("kind", [random_of, text_of])
@pytest.mark.parametrize("size", [1, 65_535, 65_536, PIECE + 3, 3_000_000])
def test_members_copy_a_file_once_and_refuse_a_short_one(
    kind: Callable[[int], bytes], size: int, tmp_path: Path
) -> None:
    data = kind(size)
    body = tmp_path / "body"
    body.write_bytes(data + b"more than is copied")
    out = _Sink()
    member = GzipMember(out, size)
    member.write(b"head\r\n")
    with body.open("rb", buffering=0) as source:
        member.copy(source, size)
    member.finish(b"\r\n\r\n")
    assert one_member(bytes(out.data)) == b"head\r\n" + data + b"\r\n\r\n"
    short = GzipMember(_Sink(), size)
    with body.open("rb", buffering=0) as source, pytest.raises(OSError, match="bytes early"):
        short.copy(source, size + 100)


def _response(records: list[Rec], url: str) -> Rec:
    (rec,) = [r for r in records if r.uri == url and r.type == "response"]
    return rec


def _member(bag: Path, rec: Rec) -> bytes:
    with warc_of(bag).open("rb") as handle:
        handle.seek(rec.offset)
        return handle.read(rec.length)


@pytest.mark.parametrize("payload", ["both", "warc"])
def test_random_octet_stream_is_stored_and_text_of_its_size_deflated(
    http: Server, tmp_path: Path, payload: Literal["both", "warc"]
) -> None:
    size = 3_000_000
    data, text = random_of(size), text_of(size)
    page = b"<html><title>t</title>" + b"".join(
        b'<embed src="/%s">' % name for name in (b"data.bin", b"notes.txt", b"coded.txt")
    )
    http.route("/", body=page, headers={"Content-Type": "text/html"})
    coded = gzip.compress(text_of(size, 3), mtime=0)
    http.route(
        "/coded.txt",
        body=coded,
        headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"},
    )
    http.route("/data.bin", body=data, headers={"Content-Type": "application/octet-stream"})
    http.route("/notes.txt", body=text, headers={"Content-Type": "text/plain"})
    options = preserve.CaptureOptions(retries=0, payload=payload)
    bag = preserve.capture(http.url("/"), tmp_path / "bags", options).bag_path
    records = check_bag_warc(bag, tmp_path)  # warcio check and cdxj-indexer agree
    stored, deflated = (
        _response(records, http.url("/data.bin")),
        _response(records, http.url("/notes.txt")),
    )
    assert stored.raw == data
    assert deflated.raw == text
    assert stored.headers["WARC-Payload-Digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert deflated.headers["WARC-Payload-Digest"] == "sha256:" + hashlib.sha256(text).hexdigest()
    member = _member(bag, stored)
    # The body as it is, with 5 bytes of framing a block and the record's deflated head.
    assert size < len(member) < size + size // 1000 + 1024
    assert holds_stored(member, data)
    member = _member(bag, deflated)
    assert len(member) * 2 < size
    assert not holds_stored(member, text)
    # Text, but gzip-encoded by the server: its bytes no longer shrink, so they are stored.
    coded_rec = _response(records, http.url("/coded.txt"))
    assert coded_rec.raw == coded
    assert holds_stored(_member(bag, coded_rec), coded)
