"""Values a server sends that pass `str.isdigit()` or are not UTF-8 never end a capture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from preserve.fields import decimal, location_reference

from .raw_server import RawServer, raw_server

GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00"
GIF += b"\x01\x00\x00\x02\x02D\x01\x00;"


@pytest.fixture
def server() -> Iterator[RawServer]:
    with raw_server() as running:
        yield running


def gif_head(extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\n" + extra


def capture(server: RawServer, tmp_path: Path, *images: str) -> dict[str, preserve.LogRecord]:
    page = "".join(f'<img src="{name}">' for name in images).encode()
    server.answer("/", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", page)
    options = preserve.CaptureOptions(retries=1, retry_backoff=0.01, timeout=5)
    result = preserve.capture(server.url("/"), tmp_path / "out", options)
    return {r.url.rsplit("/", 1)[-1]: r for r in result.records}


def test_numbers_that_only_look_like_digits_never_end_the_capture(
    server: RawServer, tmp_path: Path
) -> None:
    server.answer("/sup.gif", gif_head(b"Content-Length: \xb2\r\n"), GIF)
    server.answer("/huge.gif", gif_head(b"Content-Length: " + b"9" * 5000 + b"\r\n"), GIF)
    server.answer("/ok.gif", gif_head(b"Content-Length: %d\r\n" % len(GIF)), GIF)
    busy = b"HTTP/1.1 503 Busy\r\nRetry-After: \xb2\r\nContent-Length: 0\r\n"
    server.answer("/retry.gif", busy)
    long_wait = b"HTTP/1.1 503 Busy\r\nRetry-After: " + b"7" * 5000 + b"\r\nContent-Length: 0\r\n"
    server.answer("/retry-long.gif", long_wait)
    records = capture(
        server, tmp_path, "/sup.gif", "/huge.gif", "/ok.gif", "/retry.gif", "/retry-long.gif"
    )
    assert records["ok.gif"].outcome == "captured"
    assert records["retry.gif"].error == "HTTP 503 Busy"
    assert records["retry-long.gif"].error == "HTTP 503 Busy"
    # A Content-Length no one can read is no limit: the body is read to the close.
    assert records["sup.gif"].outcome == "captured"
    assert records["huge.gif"].outcome == "captured"


def test_a_raw_utf8_location_is_followed_as_a_browser_follows_it(
    server: RawServer, tmp_path: Path
) -> None:
    server.answer(
        "/moved.gif", b"HTTP/1.1 302 Found\r\nLocation: /caf\xc3\xa9.gif\r\nContent-Length: 0\r\n"
    )
    server.answer("/caf%C3%A9.gif", gif_head(b"Content-Length: %d\r\n" % len(GIF)), GIF)
    server.answer(
        "/latin.gif", b"HTTP/1.1 302 Found\r\nLocation: /caf\xe9.gif\r\nContent-Length: 0\r\n"
    )
    server.answer("/caf%E9.gif", gif_head(b"Content-Length: %d\r\n" % len(GIF)), GIF)
    records = capture(server, tmp_path, "/moved.gif", "/latin.gif")
    assert records["moved.gif"].outcome == "captured", records["moved.gif"].error
    assert records["moved.gif"].final_url is not None
    assert records["moved.gif"].final_url.endswith("/caf%C3%A9.gif")
    assert records["latin.gif"].outcome == "captured", records["latin.gif"].error
    assert "/caf%C3%83%C2%A9.gif" not in server.requests


@pytest.mark.parametrize(
    "location",
    [b"http://[::1", b"http://[zz]/x.gif", b"http://a b/", b"http://example.test:99999/"],
)
def test_a_malformed_location_fails_its_requisite_only(
    server: RawServer, tmp_path: Path, location: bytes
) -> None:
    server.answer(
        "/bad.gif", b"HTTP/1.1 301 Moved\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n"
    )
    server.answer("/ok.gif", gif_head(b"Content-Length: %d\r\n" % len(GIF)), GIF)
    records = capture(server, tmp_path, "/bad.gif", "/ok.gif")
    assert records["ok.gif"].outcome == "captured"
    assert records["bad.gif"].outcome in ("failed", "skipped")
    assert records["bad.gif"].error


@settings(max_examples=2000)
@given(st.text(max_size=60))
def test_decimal_reads_ascii_digits_or_nothing(text: str) -> None:
    value = decimal(text)
    if value is not None:
        assert value >= 0
        assert text.strip(" \t") == str(value).zfill(len(text.strip(" \t")))


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), (" 42\t", 42), ("007", 7), ("²", None), ("٣", None), ("-1", None), ("1_000", None),
     ("+5", None), ("", None), ("9" * 31, None), ("9" * 30, int("9" * 30))],
)  # fmt: skip
def test_decimal_examples(text: str, value: int | None) -> None:
    assert decimal(text) == value


@settings(max_examples=2000)
@given(st.binary(max_size=80))
def test_any_location_bytes_become_text(raw: bytes) -> None:
    text = location_reference(raw.decode("latin-1"))
    assert isinstance(text, str)
    try:
        assert text == raw.decode("utf-8")
    except UnicodeDecodeError:
        assert text.isascii()


def test_what_a_server_says_reaches_the_terminal_escaped(server: RawServer, tmp_path: Path) -> None:
    import subprocess
    import sys

    from .conftest import ROOT

    hostile = b"\x1b]0;owned\x07\x1b[2K\rall requisites OK"
    server.answer("/", b"HTTP/1.1 404 " + hostile + b"\r\nContent-Length: 0\r\n")
    server.answer("/a.gif", b"HTTP/1.1 302 " + hostile + b"\r\nLocation: /b\x1b[2J.gif\r\n")
    page = b'<img src="/a.gif">'
    server.answer("/page", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", page)
    for url in (server.url("/"), server.url("/page")):
        done = subprocess.run(
            [sys.executable, "-m", "preserve", "-v", "capture", url, "-o", str(tmp_path / "o")],
            capture_output=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        assert b"\x1b" not in done.stderr
        assert b"\x07" not in done.stderr
        assert b"\r" not in done.stderr
    assert b"\\x1b" in done.stderr or b"\\u001b" in done.stderr or b"^[" in done.stderr
