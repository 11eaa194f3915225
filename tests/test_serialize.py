"""Serialised bags: written atomically with one top folder, read back without trusting them."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from preserve.bag.archive import Archive, open_archive
from preserve.bag.serialize import serialize_bag
from preserve.bag.validate import validate
from preserve.errors import BadInput, PackagingFailed
from tests.test_validate import build_bag, found


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point temporary folders at a folder of this test's own, and check it is left empty."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert list(folder.iterdir()) == []


@pytest.fixture
def no_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything is extracted."""

    def refuse(self: Archive, destination: Path) -> Path:
        raise AssertionError("an unsafe archive was extracted")

    monkeypatch.setattr(Archive, "extract", refuse)


def names_in(path: Path) -> list[str]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    with tarfile.open(path) as archive:
        return archive.getnames()


@pytest.mark.parametrize(("fmt", "ext"), [("zip", ".zip"), ("tar", ".tar"), ("tar.gz", ".tar.gz")])
def test_round_trip(tmp_path: Path, scratch: Path, fmt: str, ext: str) -> None:
    bag = build_bag(tmp_path / "example-20240501T000000Z-0a1b2c3d")
    written = serialize_bag(bag, fmt)

    assert written.path == tmp_path / f"{bag.name}{ext}"
    assert written.format == fmt
    data = written.path.read_bytes()
    assert written.size == len(data)
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    names = names_in(written.path)
    assert {n.split("/", 1)[0] for n in names} == {bag.name}
    assert f"{bag.name}/bagit.txt" in names
    assert names.index(f"{bag.name}/bagit.txt") < names.index(f"{bag.name}/bag-info.txt")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    report = validate(written.path)
    assert (report.problems, report.warnings) == ((), ())
    assert report.serialization == fmt
    assert report.payload_files == 3
    assert validate(written.path, processes=2).valid


def test_tar_entries_carry_no_local_owner(tmp_path: Path) -> None:
    written = serialize_bag(build_bag(tmp_path / "bag"), "tar.gz")
    with tarfile.open(written.path) as archive:
        assert {(m.uid, m.gid, m.uname, m.gname) for m in archive.getmembers()} == {(0, 0, "", "")}


def test_an_empty_payload_survives(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", {})
    for fmt in ("zip", "tar"):
        assert validate(serialize_bag(bag, fmt).path).valid


def test_name_and_output_for_a_staged_bag(tmp_path: Path) -> None:
    staged = build_bag(tmp_path / "staging" / "bag")
    out = tmp_path / "out"
    out.mkdir()
    written = serialize_bag(staged, "zip", name="final-name", output=out)
    assert written.path == out / "final-name.zip"
    assert {n.split("/", 1)[0] for n in names_in(written.path)} == {"final-name"}
    assert validate(written.path).valid


def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    (tmp_path / "bag.zip").write_bytes(b"someone else's")
    with pytest.raises(PackagingFailed, match="already exists"):
        serialize_bag(bag, "zip")
    assert (tmp_path / "bag.zip").read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag", "bag.zip"]


def test_the_name_taken_while_writing_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bag = build_bag(tmp_path / "bag")
    real_link = os.link

    def racing_link(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        Path(target).write_bytes(b"won the race")
        real_link(source, target)

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(PackagingFailed, match="already exists"):
        serialize_bag(bag, "tar")
    assert (tmp_path / "bag.tar").read_bytes() == b"won the race"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag", "bag.tar"]


def test_without_hard_links_the_name_is_claimed_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bag = build_bag(tmp_path / "bag")

    def no_links(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    written = serialize_bag(bag, "zip")
    assert validate(written.path).valid
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag", "bag.zip"]


def test_what_cannot_be_serialised(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="unknown serialisation"):
        serialize_bag(tmp_path, "7z")
    unfinished = tmp_path / "unfinished"
    (unfinished / "data").mkdir(parents=True)
    with pytest.raises(PackagingFailed, match=r"no bagit\.txt"):
        serialize_bag(unfinished, "zip")
    bag = build_bag(tmp_path / "bag")
    (bag / "data" / "link").symlink_to(bag / "bagit.txt")
    with pytest.raises(PackagingFailed, match="link"):
        serialize_bag(bag, "zip")
    assert not (tmp_path / "bag.zip").exists()


def test_a_renamed_archive_warns(tmp_path: Path) -> None:
    written = serialize_bag(build_bag(tmp_path / "bag"), "tar.gz")
    renamed = written.path.rename(tmp_path / "other.tgz")
    report = validate(renamed)
    assert report.valid
    assert found(report, warnings=True) == [("archive-name", None)]


def test_a_bad_bag_in_an_archive_is_invalid_not_unreadable(tmp_path: Path, scratch: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    (bag / "data" / "logs" / "capture-log.jsonl").write_bytes(b"changed")
    report = validate(serialize_bag(bag, "zip").path)
    assert found(report) == [
        ("oxum-mismatch", "bag-info.txt"),
        ("checksum-mismatch", "data/logs/capture-log.jsonl"),
        ("checksum-mismatch", "data/logs/capture-log.jsonl"),
    ]


# --- hostile archives --------------------------------------------------------------------------


def bag_tar(tmp_path: Path, *extra: tuple[tarfile.TarInfo, bytes]) -> Path:
    """Return a tar of a valid bag with hostile `extra` entries appended."""
    path = tmp_path / "bag.tar"
    source = build_bag(tmp_path / "source" / "bag")
    with tarfile.open(path, "w") as archive:
        archive.add(source, arcname="bag")
        for info, data in extra:
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def tar_entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


EVIL = "preserve-test-evil-entry"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (tar_entry(f"bag/../{EVIL}"), ("unsafe-path", f"bag/../{EVIL}")),
        (tar_entry(f"../../{EVIL}"), ("unsafe-path", f"../../{EVIL}")),
        (tar_entry(f"/tmp/{EVIL}"), ("unsafe-path", f"/tmp/{EVIL}")),
        (
            tar_entry("bag/data/link", tarfile.SYMTYPE, "/etc/passwd"),
            ("unsafe-path", "bag/data/link"),
        ),
        (tar_entry("bag/data/up", tarfile.SYMTYPE, "../../../etc"), ("unsafe-path", "bag/data/up")),
        (
            tar_entry("bag/data/hard", tarfile.LNKTYPE, "etc/passwd"),
            ("unsafe-path", "bag/data/hard"),
        ),
        (tar_entry("bag/data/hard", tarfile.LNKTYPE, "../x"), ("unsafe-path", "bag/data/hard")),
        (tar_entry("bag/data/tty", tarfile.CHRTYPE), ("special-file", "bag/data/tty")),
        (tar_entry("bag/data/disk", tarfile.BLKTYPE), ("special-file", "bag/data/disk")),
        (tar_entry("bag/data/fifo", tarfile.FIFOTYPE), ("special-file", "bag/data/fifo")),
        (
            tar_entry("bag/data/dangling", tarfile.SYMTYPE, "nothing"),
            ("special-file", "bag/data/dangling"),
        ),
        (
            tar_entry("bag/data/dirlink", tarfile.SYMTYPE, "web"),
            ("special-file", "bag/data/dirlink"),
        ),
        (tar_entry("bag/bagit.txt"), ("bad-archive", "bag/bagit.txt")),
        (tar_entry("other/bagit.txt"), ("bad-archive", None)),
        (tar_entry("bag/bagit.txt/x"), ("bad-archive", "bag/bagit.txt/x")),
    ],
    ids=lambda v: v.name if isinstance(v, tarfile.TarInfo) else None,
)
def test_hostile_tar_is_refused_before_extraction(
    tmp_path: Path,
    scratch: Path,
    no_extraction: None,
    entry: tarfile.TarInfo,
    expected: tuple[str, str | None],
) -> None:
    archive = bag_tar(tmp_path, (entry, b"evil"))
    report = validate(archive)
    assert found(report) == [expected]
    assert report.problems[0].message.startswith(("archive entry", "a serialised bag"))
    assert not Path("/tmp", EVIL).exists()
    assert not (tmp_path.parent / EVIL).exists()


@pytest.mark.parametrize(
    ("name", "mode", "expected"),
    [
        (f"bag/../../{EVIL}", 0, ("unsafe-path", f"bag/../../{EVIL}")),
        (f"/{EVIL}", 0, ("unsafe-path", f"/{EVIL}")),
        ("bag\\..\\..\\evil", 0, ("unsafe-path", "bag\\..\\..\\evil")),
        ("C:/evil", 0, ("unsafe-path", "C:/evil")),
        ("bag/data/link", stat.S_IFLNK | 0o777, ("unsafe-path", "bag/data/link")),
        ("bag/data/fifo", stat.S_IFIFO | 0o644, ("special-file", "bag/data/fifo")),
    ],
)
def test_hostile_zip_is_refused_before_extraction(
    tmp_path: Path,
    scratch: Path,
    no_extraction: None,
    name: str,
    mode: int,
    expected: tuple[str, str],
) -> None:
    archive = serialize_bag(build_bag(tmp_path / "bag"), "zip").path
    with zipfile.ZipFile(archive, "a") as zipped:
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        zipped.writestr(info, "../../../etc/passwd" if stat.S_ISLNK(mode) else "evil")
    assert found(validate(archive)) == [expected]


def test_a_link_inside_the_bag_is_extracted_as_a_copy(tmp_path: Path, scratch: Path) -> None:
    source = build_bag(tmp_path / "source" / "bag", {"data/a.txt": b"same", "data/b.txt": b"same"})
    path = tmp_path / "bag.tar"
    with tarfile.open(path, "w") as archive:
        for child in sorted(source.rglob("*")):
            if child.name != "b.txt":
                archive.add(child, arcname=f"bag/{child.relative_to(source)}", recursive=False)
        archive.addfile(tar_entry("bag/data/b.txt", tarfile.SYMTYPE, "a.txt"))
    assert validate(path).valid


@pytest.mark.parametrize("fmt", ["zip", "tar", "tar.gz"])
def test_a_truncated_archive_is_unreadable(tmp_path: Path, scratch: Path, fmt: str) -> None:
    files = {"data/web/big.bin": os.urandom(200_000)}
    written = serialize_bag(build_bag(tmp_path / "bag", files), fmt)
    data = written.path.read_bytes()
    written.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput, match="truncated"):
        validate(written.path)


def test_a_file_that_is_not_an_archive(tmp_path: Path) -> None:
    text = tmp_path / "notes.zip"
    text.write_text("just some text\n")
    with pytest.raises(BadInput, match="neither a bag folder nor a zip"):
        validate(text)
    gz = tmp_path / "page.html.gz"
    gz.write_bytes(gzip.compress(b"<html></html>"))
    with pytest.raises(BadInput, match=r"not a readable tar\.gz"):
        open_archive(gz)
