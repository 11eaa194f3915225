"""Serialised bags read in place (issue 20): entries preserve cannot read, zip's mode bits,
links read once and never copied, the bounds, tar's name extensions, and the cost per entry.

Every archive here is built by the test (zipfile, tarfile, the `zip` tool) or patched byte by
byte where no tool writes what a hostile or foreign archive holds.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import struct
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

import preserve
from preserve.bag.archive import MAX_LINK_HOPS, MAX_LINKS, open_archive
from preserve.bag.archive_files import ArchiveFiles
from preserve.bag.scratch import Scratch
from preserve.bag.serialize import serialize_bag
from preserve.bag.tarscan import ArchiveTooLarge, BlockStream, scan_tar
from preserve.bag.validate import validate
from preserve.cli import main
from preserve.errors import BadInput, PackagingFailed

from .conftest import Server
from .test_validate import build_bag, found

MiB = 1 << 20


def bag_lists(files: Mapping[str, bytes], links: Mapping[str, str]) -> dict[str, bytes]:
    """Return bagit.txt, bag-info.txt and sha256 manifests for `files` plus `links` to them."""
    digests = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    sizes = {path: len(data) for path, data in files.items()}
    for link, target in links.items():
        digests[link], sizes[link] = digests[target], sizes[target]
    lists = {
        "bagit.txt": b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": f"Payload-Oxum: {sum(sizes.values())}.{len(sizes)}\n".encode(),
        "manifest-sha256.txt": "".join(f"{d}  {p}\n" for p, d in digests.items()).encode(),
    }
    tags = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in lists.items())
    return lists | {"tagmanifest-sha256.txt": tags.encode()}


def write_tar(
    path: Path,
    files: Mapping[str, bytes],
    links: Mapping[str, str] | None = None,
    *,
    link_type: bytes = tarfile.LNKTYPE,
    fmt: int = tarfile.PAX_FORMAT,
) -> Path:
    """Write a bag named after `path` holding `files` and `links` (path -> target) as a tar."""
    top = path.name.split(".")[0]
    links = links or {}
    mode = "w:gz" if path.name.endswith(".gz") else "w"
    with tarfile.open(path, mode, format=fmt) as archive:
        for name, data in {**bag_lists(files, links), **files}.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in links.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.type = link_type
            info.linkname = f"{top}/{target}" if link_type == tarfile.LNKTYPE else target
            archive.addfile(info)
    return path


def zip_with_writestr(bag: Path, target: Path) -> Path:
    """Zip the bag folder as `zipfile.writestr(name, data)` does: permission bits, no type."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in bag.rglob("*") if p.is_file()):
            archive.writestr(f"{bag.name}/{file.relative_to(bag).as_posix()}", file.read_bytes())
    return target


def patch_zip(path: Path, name: str, *, method: int | None = None, size: int | None = None) -> None:
    """Rewrite one entry's compression method or declared size in both of its zip headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local, at = archive.getinfo(name).header_offset, archive.start_dir
    while data[at : at + 4] == b"PK\x01\x02":
        length, extra, comment = struct.unpack_from("<3H", data, at + 28)
        if data[at + 46 : at + 46 + length].decode() == name:
            break
        at += 46 + length + extra + comment
    if method is not None:
        struct.pack_into("<H", data, local + 8, method)
        struct.pack_into("<H", data, at + 10, method)
    if size is not None:
        struct.pack_into("<L", data, local + 22, size)
        struct.pack_into("<L", data, at + 24, size)
    path.write_bytes(bytes(data))


def cli(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


# --- entries preserve cannot read: bad input, exit 2, never a traceback ------------------------


def assert_unreadable_everywhere(archive: Path, tmp_path: Path, why: str) -> None:
    """validate, info and export each say in one line that `archive` cannot be read: exit 2."""
    with pytest.raises(BadInput, match=why):
        validate(archive)
    code, out, err = cli("validate", archive)
    assert (code, out) == (2, f"{archive}: not checked\n")
    assert why in err
    assert "Traceback" not in err
    for args in (["info", archive], ["export", archive, "--wacz", tmp_path / "out.wacz"]):
        code, _out, err = cli(*args)
        assert code == 2, err
        assert why in err
        assert "Traceback" not in err
    assert not (tmp_path / "out.wacz").exists()


def test_an_encrypted_zip_cannot_be_read(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    archive = tmp_path / "bag.zip"
    # Info-ZIP's traditional encryption, as an archivist's `zip -e` makes it.
    subprocess.run(
        ["zip", "-q", "-r", "-P", "secret", str(archive), "bag"], cwd=tmp_path, check=True
    )
    shutil.rmtree(bag)
    assert_unreadable_everywhere(archive, tmp_path, "is encrypted")
    _code, _out, err = cli("validate", archive)
    assert "unpack it with a tool that can" in err


@pytest.mark.parametrize(
    ("method", "named"), [(9, "Deflate64"), (93, "Zstandard"), (77, "an unknown method")]
)
def test_an_unknown_compression_cannot_be_read(tmp_path: Path, method: int, named: str) -> None:
    archive = serialize_bag(build_bag(tmp_path / "bag"), "zip").path
    patch_zip(archive, "bag/data/web/example.org/index.html", method=method)
    why = f"is compressed with {named}"
    assert_unreadable_everywhere(archive, tmp_path, why)
    with pytest.raises(BadInput, match=rf"bag/data/web/example.org/index.html {why}"):
        validate(archive)


def test_a_sparse_tar_entry_cannot_be_read(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "bag.tar", {"data/a.txt": b"a"}, fmt=tarfile.GNU_FORMAT)
    with tarfile.open(archive, "a", format=tarfile.GNU_FORMAT) as appended:
        sparse = tarfile.TarInfo("bag/data/holes")
        sparse.type = tarfile.GNUTYPE_SPARSE
        appended.addfile(sparse)
    with pytest.raises(BadInput, match="is a sparse file"):
        validate(archive)


def test_info_and_export_name_the_unsafe_entry(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "bag.tar", {"data/a.txt": b"a"})
    with tarfile.open(archive, "a") as appended:
        appended.addfile(tarfile.TarInfo("bag/../escape.txt"))
    assert found(validate(archive)) == [("unsafe-path", "bag/../escape.txt")]
    for args in (["info", archive], ["export", archive, "--wacz", tmp_path / "out.wacz"]):
        code, _out, err = cli(*args)
        assert code == 2, err
        assert "bag/../escape.txt: archive entry is a path that climbs out" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag.tar"]


# --- zip mode bits as zip defines them ---------------------------------------------------------


def test_a_bag_zipped_with_writestr_is_valid(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    archive = zip_with_writestr(bag, tmp_path / "bag.zip")
    with zipfile.ZipFile(archive) as zipped:
        modes = {info.external_attr >> 16 for info in zipped.infolist()}
    assert modes == {0o600}
    report = validate(archive)
    assert (report.problems, report.payload_files) == ((), 3)
    code, out, err = cli("info", archive)
    assert code == 0, err
    assert "bag:           " in out


def test_mode_bits_count_only_from_a_unix_host(tmp_path: Path) -> None:
    archive = serialize_bag(build_bag(tmp_path / "bag"), "zip").path
    with zipfile.ZipFile(archive, "a") as zipped:
        fifo = zipfile.ZipInfo("bag/data/fifo")
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        zipped.writestr(fifo, b"")
    assert found(validate(archive)) == [("special-file", "bag/data/fifo")]
    windows = tmp_path / "windows" / "bag.zip"
    windows.parent.mkdir()
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(windows, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            info.create_system = 0
            copy.writestr(info, data)
    # Made on Windows, the high word is no Unix mode: an entry is a file, not a FIFO.
    assert found(validate(windows)) == [
        ("unexpected", "data/fifo"),
        ("oxum-mismatch", "bag-info.txt"),
    ]


def test_a_writestr_bag_exports(site: Server, tmp_path: Path) -> None:
    captured = preserve.capture(site.url("/"), tmp_path / "bags").bag_path
    archive = zip_with_writestr(captured, tmp_path / f"{captured.name}.zip")
    code, out, err = cli("export", archive, "--wacz", tmp_path / "out.wacz")
    assert code == 0, err
    assert out.strip() == str(tmp_path / "out.wacz")


# --- links: read once, never copied ------------------------------------------------------------


def test_hard_links_are_read_once_and_never_copied(tmp_path: Path) -> None:
    big = os.urandom(8 * MiB)
    links = {f"data/link-{n}": "data/big" for n in range(1000)}
    archive = write_tar(tmp_path / "bag.tar.gz", {"data/big": big}, links)
    assert archive.stat().st_size < 9 * MiB
    report = validate(archive)
    assert (report.problems, report.payload_files) == ((), 1001)
    assert report.payload_bytes == 1001 * 8 * MiB

    with open_archive(archive) as opened, Scratch.create() as scratch:
        ArchiveFiles(opened, scratch.path).hash_all()
        unpacked = sorted(p.relative_to(scratch.path).as_posix() for p in scratch.path.rglob("*"))
        out = tmp_path / "out"
        out.mkdir()
        root = opened.extract(out)
    assert unpacked == [
        "bag",
        "bag/bag-info.txt",
        "bag/bagit.txt",
        "bag/manifest-sha256.txt",
        "bag/tagmanifest-sha256.txt",
    ]
    original = (root / "data" / "big").stat()
    assert original.st_nlink == 1001
    assert {(root / link).stat().st_ino for link in links} == {original.st_ino}
    assert (root / "data" / "link-999").read_bytes() == big


def test_symbolic_links_in_a_zip_become_hard_links_when_extracted(tmp_path: Path) -> None:
    files = {"data/a.txt": b"same bytes"}
    archive = tmp_path / "bag.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, data in {**bag_lists(files, {"data/b.txt": "data/a.txt"}), **files}.items():
            zipped.writestr(f"bag/{name}", data)
        link = zipfile.ZipInfo("bag/data/b.txt")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zipped.writestr(link, "a.txt")
    assert validate(archive).valid
    out = tmp_path / "out"
    out.mkdir()
    with open_archive(archive) as opened:
        root = opened.extract(out)
    a, b = (root / "data" / "a.txt").stat(), (root / "data" / "b.txt").lstat()
    assert stat.S_ISREG(b.st_mode)
    assert (a.st_ino, a.st_nlink) == (b.st_ino, 2)


def test_a_bag_extracted_for_use_lives_in_a_locked_scratch_folder(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "bag.tar", {"data/a.txt": b"a"}, {"data/b.txt": "data/a.txt"})
    with open_archive(archive) as opened, opened.extracted() as root:
        scratch = root.parent.parent
        assert scratch.name.startswith("preserve-scratch-")
        assert f"pid={os.getpid()}\n" in (scratch / "lock").read_text()
        assert (root / "data" / "b.txt").read_bytes() == b"a"
    assert not scratch.exists()


def test_more_links_than_the_bound_cannot_be_read(tmp_path: Path) -> None:
    links = {f"data/link-{n}": "data/a" for n in range(MAX_LINKS + 1)}
    archive = write_tar(tmp_path / "bag.tar", {"data/a": b"a"}, links)
    with pytest.raises(BadInput, match=f"{MAX_LINKS + 1:,} links"):
        validate(archive)


def test_a_chain_of_links_is_followed_only_so_far(tmp_path: Path) -> None:
    hops = MAX_LINK_HOPS + 5
    chain = {f"data/l{n}": f"l{n - 1}" if n else "a" for n in range(hops)}
    archive = write_tar(tmp_path / "bag.tar", {"data/a": b"a"}, link_type=tarfile.SYMTYPE)
    with tarfile.open(archive, "a") as appended:
        for name, target in chain.items():
            info = tarfile.TarInfo(f"bag/{name}")
            info.type, info.linkname = tarfile.SYMTYPE, target
            appended.addfile(info)
    refused = [path for kind, path in found(validate(archive)) if kind == "special-file"]
    # A link whose chain reaches the file within MAX_LINK_HOPS is that file (unexpected in
    # the manifests, not refused); one further along is refused, its chain never followed.
    assert refused == [f"bag/data/l{n}" for n in range(MAX_LINK_HOPS, hops)]


# --- bounds ------------------------------------------------------------------------------------


def test_extraction_needs_room_for_the_declared_sizes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    declared = 0xFFFF0000
    needed = shutil.disk_usage(out).free // declared + 2
    archive = tmp_path / "bag.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for n in range(needed):
            zipped.writestr(f"bag/data/{n}", b"small")
    for n in range(needed):
        patch_zip(archive, f"bag/data/{n}", size=declared)
    with open_archive(archive) as opened, pytest.raises(PackagingFailed, match="needs"):
        opened.extract(out)
    assert list(out.iterdir()) == []


def test_a_zip_declaring_too_many_entries_is_not_listed(tmp_path: Path) -> None:
    archive = serialize_bag(build_bag(tmp_path / "bag"), "zip").path
    data = archive.read_bytes()
    with zipfile.ZipFile(archive) as zipped:
        start = zipped.start_dir
    end = data.rfind(b"PK\x05\x06")
    zip64 = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 2_000_000, 2_000_000, end - start, start
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    record = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, end - start, start, 0)
    archive.write_bytes(data[:end] + zip64 + locator + record)
    with pytest.raises(BadInput, match="declares 2,000,000 entries"):
        validate(archive)


def test_the_tar_reader_stops_past_its_entry_bound(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "bag.tar", {f"data/{n}": b"" for n in range(20)})
    with archive.open("rb") as raw:
        assert len(scan_tar(BlockStream(raw, None), max_entries=30)) == 24
    with archive.open("rb") as raw, pytest.raises(ArchiveTooLarge, match="more than 10 entries"):
        scan_tar(BlockStream(raw, None), max_entries=10)


# --- tar as writers write it -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt",
    [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT],
    ids=["pax", "gnu", "ustar"],
)
def test_long_names_in_each_tar_format(tmp_path: Path, fmt: int) -> None:
    # ustar splits a name of up to 255 bytes into prefix and name; pax and GNU take any length.
    deep = "data/" + "/".join(["folder-" + "x" * 40] * (4 if fmt == tarfile.USTAR_FORMAT else 9))
    files = {f"{deep}/page.html": b"<p>deep</p>", "data/\u00e9t\u00e9.txt": b"summer"}
    report = validate(write_tar(tmp_path / "bag.tar.gz", files, fmt=fmt))
    assert (report.problems, report.payload_files) == ((), 2)


def test_content_stored_after_a_link_entry_is_skipped(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "bag.tar", {"data/a": b"a"}, {"data/b": "data/a"})
    with tarfile.open(archive, "a") as appended:
        stray = tarfile.TarInfo("bag/data/c")
        stray.type, stray.linkname, stray.size = tarfile.LNKTYPE, "bag/data/a", 5
        appended.addfile(stray, io.BytesIO(b"stray"))
    assert found(validate(archive)) == [
        ("unexpected", "data/c"),
        ("oxum-mismatch", "bag-info.txt"),
    ]


def test_a_damaged_header_after_the_first_is_damage_not_the_end(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "bag.tar", {f"data/{n}": b"x" * 600 for n in range(5)})
    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as listed:
        last = listed.getmembers()[-1].offset
    data[last + 10] ^= 0xFF
    archive.write_bytes(bytes(data))
    with tarfile.open(archive) as lenient:
        # tarfile takes the damaged header for the end of the archive and lists one less.
        assert len(lenient.getmembers()) == 8
    with pytest.raises(BadInput, match="not a tar header"):
        validate(archive)


# --- cost per entry ----------------------------------------------------------------------------


def test_200k_empty_entries_are_read_in_seconds(tmp_path: Path) -> None:
    files = {f"data/e/{n}": b"" for n in range(200_000)}
    archive = write_tar(tmp_path / "many.tar.gz", files)
    started = time.monotonic()
    report = validate(archive)
    elapsed = time.monotonic() - started
    assert (report.problems, report.payload_files) == ((), 200_000)
    # Loose: tarfile's listing and extracting them took over 120 s; this takes a few.
    assert elapsed < 60, f"{elapsed:.1f} s"
