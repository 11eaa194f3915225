"""Property tests of the archive reader (issue 20): any bytes given as a .zip, .tar or .tar.gz
give a report or BadInput, never another exception, whether validated, described, hashed
in place or unpacked.

Random bytes rarely get past a format's first check, so most examples start from a real
archive of a small bag and damage it: bytes overwritten, the file cut short, tar headers
rewritten field by field with a right checksum (so the reader goes on to the next), zip
entries given any flags, compression method, host and mode bits.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import preserve
from preserve.bag.archive import open_archive
from preserve.bag.serialize import serialize_bag
from preserve.bag.validate import validate
from preserve.errors import BadInput, PackagingFailed

from .test_validate import build_bag

OUTCOMES = (
    "not a readable",
    "damaged",
    "truncated",
    "neither a bag",
    "not a bag",
    "encrypted",
    "compressed with",
    "sparse",
    "links",
    "entries",
)
"""What BadInput says, for the statistics of how deep the examples reach."""

EXAMPLES = settings(
    max_examples=1500, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("archives")


@pytest.fixture(scope="module")
def originals(work: Path) -> dict[str, bytes]:
    """A small valid bag as zip, tar and tar.gz bytes (with an uncompressed tar for gz)."""
    bag = build_bag(work / "source" / "bag")
    found = {fmt: serialize_bag(bag, fmt).path.read_bytes() for fmt in ("zip", "tar", "tar.gz")}
    return found | {"tar-inside-gz": gzip.decompress(found["tar.gz"])}


def read_every_way(path: Path, out: Path) -> None:
    """Validate, describe, hash and unpack `path`; only a result or BadInput may come out."""
    try:
        report = validate(path)
        event("validated: " + ("valid" if report.valid else "invalid"))
    except BadInput as exc:
        said = str(exc)
        event("not validated: " + next((w for w in OUTCOMES if w in said), said))
    with contextlib.suppress(BadInput):
        preserve.describe(path)
    try:
        with open_archive(path) as archive:
            if archive.problems:
                return
            archive.digests(["sha256", "md5"])
            for stale in sorted(out.rglob("*"), reverse=True):
                stale.unlink() if not stale.is_dir() or stale.is_symlink() else stale.rmdir()
            archive.extract(out)
    except (BadInput, PackagingFailed):
        pass


@pytest.fixture(scope="module")
def out(work: Path) -> Iterator[Path]:
    folder = work / "out"
    folder.mkdir()
    yield folder


damage = st.lists(
    st.tuples(st.integers(min_value=0, max_value=1 << 20), st.binary(min_size=1, max_size=8)),
    max_size=6,
)


def damaged(data: bytes, edits: list[tuple[int, bytes]], cut: int | None) -> bytes:
    """Return `data` with each edit's bytes written at its offset (modulo the length), cut."""
    buffer = bytearray(data)
    for offset, new in edits:
        at = offset % len(buffer)
        buffer[at : at + len(new)] = new
    return bytes(buffer[:cut] if cut is not None else buffer)


@EXAMPLES
@given(
    fmt=st.sampled_from(["zip", "tar", "tar.gz", "tar-inside-gz"]),
    edits=damage,
    cut=st.none() | st.integers(min_value=0, max_value=1 << 16),
)
def test_a_damaged_archive_gives_a_report_or_bad_input(
    originals: dict[str, bytes],
    work: Path,
    out: Path,
    fmt: str,
    edits: list[tuple[int, bytes]],
    cut: int | None,
) -> None:
    data = damaged(originals[fmt], edits, cut)
    if fmt == "tar-inside-gz":
        # The gzip layer intact, the tar inside it damaged.
        data, fmt = gzip.compress(data), "tar.gz"
    path = work / f"bag.{fmt}"
    path.write_bytes(data)
    read_every_way(path, out)


@EXAMPLES
@given(data=st.binary(max_size=4096), magic=st.sampled_from([b"PK\x03\x04", b"\x1f\x8b", b""]))
def test_any_bytes_give_a_report_or_bad_input(
    work: Path, out: Path, data: bytes, magic: bytes
) -> None:
    raw = magic + data
    if not magic and len(raw) > 262:
        raw = raw[:257] + b"ustar" + raw[262:]
    path = work / "any.tar"
    path.write_bytes(raw)
    read_every_way(path, out)


names = st.one_of(
    st.sampled_from(
        ["bag/bagit.txt", "bag/data/a", "bag/data", "bag/../x", "/abs", "bag/data/../../x", ""]
    ),
    st.text(min_size=0, max_size=40).map(lambda s: f"bag/{s}"),
    st.binary(max_size=120).map(lambda b: b.decode("latin-1")),
)


def tar_header(name: str, type_: bytes, size_field: bytes, link: str, magic: bytes) -> bytes:
    """Return one 512-byte tar header with these fields and a right checksum."""
    block = bytearray(512)
    block[0:100] = name.encode("utf-8", "surrogateescape")[:100].ljust(100, b"\0")
    block[100:108] = b"0000644\0"
    block[124:136] = size_field[:12].ljust(12, b"\0")
    block[156:157] = type_[:1] or b"0"
    block[157:257] = link.encode("utf-8", "surrogateescape")[:100].ljust(100, b"\0")
    block[257:265] = magic[:8].ljust(8, b"\0")
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    return bytes(block)


pax_records = st.lists(
    st.tuples(st.sampled_from(["path", "linkpath", "mtime", "comment"]), st.text(max_size=30))
    | st.tuples(st.just("size"), st.integers(min_value=0, max_value=2000).map(str))
    | st.tuples(st.sampled_from(["size", "GNU.sparse.size", "path="]), st.text(max_size=8)),
    max_size=3,
)
entries = st.lists(
    st.tuples(
        names,
        st.sampled_from([b"0"] * 6 + [b"\0", b"1", b"2", b"3", b"5", b"6", b"7"])
        | st.sampled_from([b"x", b"g", b"L", b"K", b"S", b"V"])
        | st.binary(min_size=1, max_size=1),
        st.one_of(
            *[st.just(b"as long as the content")] * 12,
            st.integers(min_value=0, max_value=3000).map(lambda n: f"{n:011o}\0".encode()),
            st.binary(max_size=12),
            st.just(b"\x80" + bytes(10) + b"\x05"),
            st.just(b"\xff" * 12),
        ),
        names,
        st.binary(max_size=700),
        pax_records,
    ),
    min_size=1,
    max_size=6,
)


def pax_bytes(records: list[tuple[str, str]]) -> bytes:
    out = b""
    for key, value in records:
        body = f" {key}={value}\n".encode("utf-8", "surrogateescape")
        length = len(body) + len(str(len(body)))
        length += len(str(length)) - len(str(len(body)))
        out += str(length).encode() + body
    return out


@settings(EXAMPLES, max_examples=2000)
@given(
    listed=entries,
    magic=st.sampled_from([b"ustar\x0000", b"ustar  \0", b""]),
    gz=st.booleans(),
    end=st.booleans(),
)
def test_any_tar_headers_give_a_report_or_bad_input(
    work: Path,
    out: Path,
    listed: list[tuple[str, bytes, bytes, str, bytes, list[tuple[str, str]]]],
    magic: bytes,
    gz: bool,
    end: bool,
) -> None:
    stream = io.BytesIO()
    for name, type_, size_field, link, content, records in listed:
        if records:
            extended = pax_bytes(records)
            size = f"{len(extended):011o}\0".encode()
            stream.write(tar_header("pax", b"x", size, "", magic))
            stream.write(extended + bytes(-len(extended) % 512))
        size = size_field
        if size_field == b"as long as the content":
            size = f"{len(content):011o}\0".encode()
        stream.write(tar_header(name, type_, size, link, magic))
        stream.write(content + bytes(-len(content) % 512))
    if end:
        stream.write(bytes(1024))
    data = stream.getvalue()
    if len(data) > 262:
        # What sniffing needs to call it a tar at all.
        data = data[:257] + b"ustar" + data[262:] if magic == b"" else data
    path = work / ("headers.tar.gz" if gz else "headers.tar")
    path.write_bytes(gzip.compress(data) if gz else data)
    read_every_way(path, out)


zip_entries = st.lists(
    st.tuples(
        names,
        st.binary(max_size=300),
        st.integers(min_value=0, max_value=0xFFFF),
        st.sampled_from([0, 3, 10, 19]) | st.integers(min_value=0, max_value=255),
        st.integers(min_value=0, max_value=0xFFFFFFFF),
        st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
    ),
    min_size=1,
    max_size=6,
)


@settings(EXAMPLES, max_examples=2000)
@given(listed=zip_entries)
def test_any_zip_entries_give_a_report_or_bad_input(
    work: Path,
    out: Path,
    listed: list[tuple[str, bytes, int, int, int, int]],
) -> None:
    path = work / "entries.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
        # A name given twice is part of what a hostile zip holds; zipfile warns as it writes it.
        warnings.simplefilter("ignore", UserWarning)
        for name, content, flags, host, attributes, method in listed:
            info = zipfile.ZipInfo(name or "bag/")
            info.compress_type = method
            info.create_system = host
            info.external_attr = attributes
            # Bits 0 and 6 (encryption) and 3 (sizes after the data) as any writer may set them.
            info.flag_bits |= flags & 0x0049
            archive.writestr(info, content)
    read_every_way(path, out)


def test_the_examples_reach_past_the_first_check(originals: dict[str, bytes], work: Path) -> None:
    # The damaged archives above are worth something only if the originals read cleanly.
    for fmt in ("zip", "tar", "tar.gz"):
        path = work / f"clean.{fmt}"
        path.write_bytes(originals[fmt])
        assert validate(path).problems == ()
