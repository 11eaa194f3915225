"""Bodies as sent: a coding cut short is a failure, padding is not, and limits bind what arrives."""

from __future__ import annotations

import gzip
import random
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import brotli
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from preserve.codings import DecodeError, decoder_for

from .conftest import Server

TEXT = b"".join(b"line %d of a stylesheet that compresses well\n" % n for n in range(4000))
HTML = {"Content-Type": "text/html"}


def capture_requisite(
    http: Server,
    tmp_path: Path,
    body: bytes,
    coding: str,
    options: preserve.CaptureOptions,
    *,
    chunked: bool = False,
) -> preserve.LogRecord:
    http.route("/", body=b'<link rel=stylesheet href="/s.css">', headers=HTML)
    headers = {"Content-Type": "text/css", "Content-Encoding": coding}
    if chunked:
        http.routes["/s.css"] = chunked_handler(body, headers)
    else:
        http.route("/s.css", body=body, headers=headers)
    result = preserve.capture(http.url("/"), tmp_path / "out", options)
    (record,) = [r for r in result.records if r.url.endswith("/s.css")]
    return record


def chunked_handler(body: bytes, headers: dict[str, str]) -> Callable[..., None]:
    """Answer with `body` in chunks of 64 KiB and no Content-Length."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        try:
            for start in range(0, len(body), 65536):
                piece = body[start : start + 65536]
                request.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            request.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass

    return handler


def stored_files(result_dir: Path) -> list[str]:
    return sorted(p.name for p in result_dir.rglob("s.css*"))


@pytest.mark.parametrize(
    ("coding", "packed"),
    [
        ("gzip", gzip.compress(TEXT)),
        ("br", brotli.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)),
    ],
)
def test_an_encoded_body_cut_short_is_failed_never_captured(
    http: Server, tmp_path: Path, coding: str, packed: bytes
) -> None:
    # Content-Length matches what is sent: only the coding shows the body is incomplete.
    half = packed[: len(packed) // 2]
    record = capture_requisite(http, tmp_path, half, coding, preserve.CaptureOptions())
    assert record.outcome == "failed"
    assert record.error == (
        f"content coding {coding} cut short: the {coding} stream ends before its end marker"
    )
    assert record.payload_path is None
    assert stored_files(tmp_path / "out" / "").count("s.css") == 0


@pytest.mark.parametrize("padding", [b"\x00" * 512, b"\n", b"\r\n\x00\x00"])
def test_trailing_bytes_after_a_complete_gzip_member_are_ignored(
    http: Server, tmp_path: Path, padding: bytes
) -> None:
    record = capture_requisite(
        http, tmp_path, gzip.compress(TEXT) + padding, "gzip", preserve.CaptureOptions()
    )
    assert record.outcome == "captured", record.error
    (bag,) = (tmp_path / "out").iterdir()
    assert record.payload_path is not None
    assert (bag / record.payload_path).read_bytes() == TEXT


def test_several_gzip_members_are_one_body(http: Server, tmp_path: Path) -> None:
    packed = gzip.compress(TEXT[:1000]) + gzip.compress(TEXT[1000:])
    record = capture_requisite(http, tmp_path, packed, "gzip", preserve.CaptureOptions())
    (bag,) = (tmp_path / "out").iterdir()
    assert record.payload_path is not None
    assert (bag / record.payload_path).read_bytes() == TEXT


EMPTY_GZIP_MEMBERS = gzip.compress(b"") * 60_000
# Deflate stored blocks of no bytes: a header byte and LEN/NLEN, then the final empty block.
EMPTY_DEFLATE = b"x\x01" + b"\x00\x00\x00\xff\xff" * 300_000 + b"\x03\x00\x00\x00\x00\x01"


@pytest.mark.parametrize(
    ("coding", "packed"), [("gzip", EMPTY_GZIP_MEMBERS), ("deflate", EMPTY_DEFLATE)]
)
def test_a_coding_that_decodes_to_nothing_is_still_bound_by_max_size(
    http: Server, tmp_path: Path, coding: str, packed: bytes
) -> None:
    assert len(packed) > 1024 * 1024
    options = preserve.CaptureOptions(max_size=1024 * 1024, max_bytes=10 * 1024 * 1024)
    record = capture_requisite(http, tmp_path, packed, coding, options, chunked=True)
    assert record.outcome == "failed"
    assert record.error == f"body exceeds --max-size {1024 * 1024} as received"
    (bag,) = (tmp_path / "out").iterdir()
    warc_bytes = sum(p.stat().st_size for p in (bag / "data/warc").iterdir())
    assert warc_bytes < 2 * 1024 * 1024


@settings(max_examples=2000)
@given(st.sampled_from(["gzip", "deflate", "br", "gzip, br"]), st.binary(max_size=400))
def test_any_bytes_decode_or_raise_a_decode_error(coding: str, data: bytes) -> None:
    decoder = decoder_for(coding, 1024)
    assert decoder is not None
    try:
        for step in range(0, len(data) + 1, 37):
            for piece in decoder.decode(data[step : step + 37]):
                assert len(piece) <= 1024
        for piece in decoder.finish():
            assert len(piece) <= 1024
    except DecodeError:
        pass


def empty_members_with_random_names(seed: int) -> bytes:
    """Return about 200 KB of gzip members of nothing, each named with random bytes.

    Decoded, nothing; received, bytes that neither compress nor repeat, so the WARC keeps them.
    """
    rng = random.Random(seed)
    members = []
    for _ in range(200):
        name = bytes(rng.randrange(1, 256) for _ in range(1000))
        # FLG.FNAME set; an empty final deflate block; the CRC32 and size of nothing.
        members.append(b"\x1f\x8b\x08\x08" + bytes(6) + name + b"\x00\x03\x00" + bytes(8))
    return b"".join(members)


def test_max_bytes_counts_the_warc_when_payload_files_stay_empty(
    http: Server, tmp_path: Path
) -> None:
    # Each body is under --max-size and decodes to nothing: the WARC fills with what arrived.
    page = "".join(f'<img src="/{n}.gif">' for n in range(8))
    page += '<link rel="stylesheet" href="/late.css">'
    http.route("/", body=page.encode(), headers=HTML)
    gzipped = {"Content-Type": "image/gif", "Content-Encoding": "gzip"}
    for n in range(8):
        http.route(f"/{n}.gif", body=empty_members_with_random_names(n), headers=gzipped)
    # Found only once the stylesheet is read, after the bodies above (one worker, in order).
    css = "".join(f".c{n} {{ background: url(/late{n}.gif) }}" for n in range(3))
    http.route("/late.css", body=css.encode(), headers={"Content-Type": "text/css"})
    options = preserve.CaptureOptions(max_size=1024 * 1024, max_bytes=1024 * 1024, workers=1)
    result = preserve.capture(http.url("/"), tmp_path / "out", options)
    late = [r for r in result.records if "/late" in r.url and r.url.endswith(".gif")]
    assert [(r.outcome, r.reason, r.error) for r in late] == [
        ("skipped", "limit", f"--max-bytes {1024 * 1024} reached")
    ] * 3


@pytest.mark.parametrize("payload", ["both", "files", "warc"])
def test_the_seed_is_never_left_out_by_max_bytes(
    http: Server, tmp_path: Path, payload: str
) -> None:
    http.route("/", body=b'<img src="/a.gif">', headers=HTML)
    http.route("/a.gif", body=b"GIF89a" * 10, headers={"Content-Type": "image/gif"})
    options = preserve.CaptureOptions(max_bytes=1, payload=payload)  # type: ignore[arg-type]
    result = preserve.capture(http.url("/"), tmp_path / "out", options)
    outcomes = {r.role: (r.outcome, r.reason) for r in result.records}
    assert outcomes == {"seed": ("captured", None), "requisite": ("skipped", "limit")}
