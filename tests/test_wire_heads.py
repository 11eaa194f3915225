"""Response heads as real servers send them: every field kept, the head stored byte for byte."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from preserve.fetch.head import client_lines, parse_fields

from .raw_server import RawServer, raw_server
from .warc_reading import warc_of

GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00"
GIF += b"\x01\x00\x00\x02\x02D\x01\x00;"
# What the issue names: a field name with spaces before Content-Length (a real CDN's), a
# folded field, Latin-1 bytes in a value, and a line that is no field at all.
ODD_FIELDS = (
    b"X-Content Type Options: nosniff\r\n"
    b"X-Folded: first part\r\n"
    b"  and the folded rest\r\n"
    b"X-Caf\xe9: caf\xe9 cr\xe8me\r\n"
    b"this line is not a field\r\n"
)


def response_heads(warc: Path) -> dict[str, bytes]:
    """Return each response's (or revisit's) HTTP head, byte for byte, by its URL's last segment."""
    data = gzip.decompress(warc.read_bytes())
    heads: dict[str, bytes] = {}
    while data:
        header, _, rest = data.partition(b"\r\n\r\n")
        fields = dict(
            line.split(": ", 1) for line in header.decode("utf-8").split("\r\n")[1:] if ": " in line
        )
        length = int(fields["Content-Length"])
        block, data = rest[:length], rest[length + 4 :]
        if fields.get("WARC-Type") in ("response", "revisit"):
            name = fields["WARC-Target-URI"].rsplit("/", 1)[-1]
            heads[name] = block[: block.index(b"\r\n\r\n") + 4]
    return heads


@pytest.fixture
def server() -> Iterator[RawServer]:
    with raw_server() as running:
        yield running


def test_odd_heads_lose_no_field_and_are_stored_as_received(
    server: RawServer, tmp_path: Path
) -> None:
    page = b'<html><title>odd</title><img src="/a.gif"><img src="/b.gif"></html>'
    page_head = b"HTTP/1.1 200 OK\r\n" + ODD_FIELDS + b"Content-Type: text/html\r\n"
    page_head += b"Content-Length: %d\r\n" % len(page)
    server.answer("/", page_head, page)
    # Content-Length after the odd lines: honoured, so the client never waits for a close.
    gif_head = b"HTTP/1.1 200 OK\r\n" + ODD_FIELDS + b"Content-Type: image/gif\r\n"
    server.answer("/a.gif", gif_head + b"Content-Length: %d\r\n" % len(GIF), GIF)
    # No Content-Length at all: the body ends when the server closes.
    server.answer("/b.gif", gif_head, GIF)
    started = time.monotonic()
    options = preserve.CaptureOptions(timeout=10)
    result = preserve.capture(server.url("/"), tmp_path / "out", options)
    assert time.monotonic() - started < 5
    records = {r.url.rsplit("/", 1)[-1]: r for r in result.records}
    # The page was parsed (its Content-Type kept), so its images were found and fetched.
    assert result.title == "odd"
    for name in ("a.gif", "b.gif"):
        assert records[name].outcome == "captured", records[name].error
        assert records[name].size == len(GIF)
    seed = records[""]
    assert ("X-Content Type Options", "nosniff") in seed.headers
    assert ("X-Folded", "first part and the folded rest") in seed.headers
    assert ("X-Caf\xe9", "caf\xe9 cr\xe8me") in seed.headers
    assert ("Content-Length", str(len(page))) in seed.headers
    assert seed.note == "response head line 6 is not a field: skipped"
    heads = response_heads(warc_of(result.bag_path))
    assert heads[""] == page_head + b"\r\n"
    assert heads["a.gif"] == gif_head + b"Content-Length: %d\r\n\r\n" % len(GIF)
    assert heads["b.gif"] == gif_head + b"\r\n"


def test_a_chunked_head_keeps_every_byte_but_the_transfer_encoding_name(
    server: RawServer, tmp_path: Path
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\ntransfer-encoding:  chunked\r\n"
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(GIF), GIF)
    server.answer("/", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", b'<img src="/c.gif">')
    server.answer("/c.gif", head, body)
    result = preserve.capture(server.url("/"), tmp_path / "out")
    (record,) = [r for r in result.records if r.url.endswith("/c.gif")]
    assert record.outcome == "captured"
    expected = head.replace(b"transfer-encoding", b"X-Archive-Orig-Transfer-Encoding") + b"\r\n"
    assert response_heads(warc_of(result.bag_path))["c.gif"] == expected


@settings(max_examples=2000)
@given(st.lists(st.binary(max_size=80).map(lambda b: b.replace(b"\n", b"") + b"\r\n"), max_size=12))
def test_any_field_lines_give_fields_and_lines_the_client_can_read(lines: list[bytes]) -> None:
    head = parse_fields(lines)
    for name, value in head.fields:
        assert isinstance(name, str)
        assert isinstance(value, str)
    for line in client_lines(head):
        assert line.endswith(b"\r\n")
        assert b"\n" not in line[:-1]
        assert b":" in line
