"""Bags built by PayloadWriter, checked by hand and cross-checked with bagit-python."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bagit
import pytest

import preserve.bag
from preserve.bag import (
    BAGIT_TXT,
    PayloadWriter,
    check_label,
    clean_value,
    format_bag_info,
)
from preserve.errors import BadInput, PackagingFailed

BAG_INFO = [
    ("Source-Organization", "Example Archive"),
    ("Payload-Oxum", "placeholder"),
    ("Bagging-Date", "2024-05-01"),
    ("Bag-Size", "placeholder"),
    ("External-Identifier", "urn:uuid:00000000-0000-4000-8000-000000000000"),
    ("Contact-Name", "A. Archivist"),
]
TAG_XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<x/>\n'


def digests(data: bytes, algorithms: Sequence[str] = ("sha512", "sha256")) -> dict[str, str]:
    return {alg: hashlib.new(alg, data).hexdigest() for alg in algorithms}


def stage_file(tmp: Path, name: str, data: bytes) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / name
    path.write_bytes(data)
    return path


def read_manifest(path: Path) -> dict[str, str]:
    """Return a manifest as {path: digest}, undoing RFC 8493's percent-encoding."""
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        name = name.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        entries[name] = digest
    return entries


def bag_info_lines(bag_dir: Path) -> list[tuple[str, str]]:
    text = (bag_dir / "bag-info.txt").read_bytes().decode("utf-8")
    assert text.endswith("\n")
    fields = []
    for line in text.split("\n")[:-1]:
        label, value = line.split(": ", 1)
        fields.append((label, value))
    return fields


def build_sample(bag_dir: Path, tmp: Path, algorithms: Sequence[str] = ("sha512", "sha256")) -> int:
    """Build a small bag with placed and written files; return its payload size in bytes."""
    writer = PayloadWriter(bag_dir, algorithms)
    page = b"<html><body>hello</body></html>"
    image = bytes(range(256)) * 40
    writer.place(
        stage_file(tmp, "1", page),
        "data/web/example.org/index.html",
        len(page),
        digests(page, algorithms),
    )
    writer.place(
        stage_file(tmp, "2", image),
        "data/web/example.org/img/a.png",
        len(image),
        digests(image, algorithms),
    )
    log = b'{"url": "http://example.org/"}\n'
    assert writer.write_bytes("data/logs/capture-log.jsonl", log) == digests(log, algorithms)
    writer.finish(BAG_INFO, tag_files={"metadata/x.xml": TAG_XML})
    return len(page) + len(image) + len(log)


def test_package_exports_the_bag_api() -> None:
    assert set(preserve.bag.__all__) == {
        "PayloadWriter",
        "Staging",
        "clean_stale",
        "BAGIT_TXT",
        "format_bag_info",
        "clean_value",
        "check_label",
    }
    assert preserve.bag.__doc__ is not None
    assert preserve.bag.__doc__.startswith("The only writer of BagIt tag files")


def test_bag_validates_with_bagit(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    total = build_sample(bag_dir, tmp_path / "tmp")

    bag = bagit.Bag(str(bag_dir))
    assert bag.validate()
    assert bag.validate(fast=True)
    assert bag.validate(fast=False)
    assert bag.is_valid()
    assert bag.version_info == (1, 0)
    with pytest.warns(DeprecationWarning):
        assert bag.version == "1.0"
    assert sorted(bag.algorithms) == ["sha256", "sha512"]
    assert bag.info["Payload-Oxum"] == f"{total}.3"
    assert set(bag.payload_files()) == {
        "data/web/example.org/index.html",
        "data/web/example.org/img/a.png",
        "data/logs/capture-log.jsonl",
    }
    assert (bag_dir / "bagit.txt").read_bytes() == BAGIT_TXT
    assert (bag_dir / "metadata" / "x.xml").read_bytes() == TAG_XML


def test_bag_info_is_written_in_the_given_order(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    total = build_sample(bag_dir, tmp_path / "tmp")

    fields = bag_info_lines(bag_dir)
    assert [label for label, _ in fields] == [label for label, _ in BAG_INFO]
    values = dict(fields)
    assert values["Payload-Oxum"] == f"{total}.3"
    assert values["Bag-Size"].endswith(" kB")
    assert values["Bagging-Date"] == "2024-05-01"
    assert values["Contact-Name"] == "A. Archivist"


def test_computed_fields_are_appended_when_left_out(tmp_path: Path) -> None:
    writer = PayloadWriter(tmp_path / "bag")
    writer.write_bytes("data/a.txt", b"abc")
    writer.finish([("Contact-Name", "Someone")])

    assert bag_info_lines(tmp_path / "bag") == [
        ("Contact-Name", "Someone"),
        ("Payload-Oxum", "3.1"),
        ("Bag-Size", "3 B"),
    ]
    assert bagit.Bag(str(tmp_path / "bag")).validate()


def test_manifests_and_tag_manifests_list_every_file(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    build_sample(bag_dir, tmp_path / "tmp")

    payload = sorted(
        str(p.relative_to(bag_dir).as_posix()) for p in bag_dir.glob("data/**/*") if p.is_file()
    )
    for alg in ("sha512", "sha256"):
        manifest = read_manifest(bag_dir / f"manifest-{alg}.txt")
        assert sorted(manifest) == payload
        for relpath, digest in manifest.items():
            assert hashlib.new(alg, (bag_dir / relpath).read_bytes()).hexdigest() == digest

        tags = read_manifest(bag_dir / f"tagmanifest-{alg}.txt")
        assert set(tags) == {
            "bagit.txt",
            "bag-info.txt",
            "manifest-sha512.txt",
            "manifest-sha256.txt",
            "metadata/x.xml",
        }
        for relpath, digest in tags.items():
            assert hashlib.new(alg, (bag_dir / relpath).read_bytes()).hexdigest() == digest

    names = {p.name for p in bag_dir.iterdir()}
    assert names == {
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha512.txt",
        "manifest-sha256.txt",
        "tagmanifest-sha512.txt",
        "tagmanifest-sha256.txt",
        "data",
        "metadata",
    }


def test_md5_manifests_validate(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    build_sample(bag_dir, tmp_path / "tmp", algorithms=("md5",))

    assert (bag_dir / "manifest-md5.txt").is_file()
    assert (bag_dir / "tagmanifest-md5.txt").is_file()
    assert not (bag_dir / "manifest-sha512.txt").exists()
    bag = bagit.Bag(str(bag_dir))
    assert bag.validate()
    assert bag.algorithms == ["md5"]


@pytest.mark.parametrize("algorithms", [("crc32",), ("sha512", "whirlpool"), ()])
def test_unsupported_algorithm_is_bad_input(tmp_path: Path, algorithms: tuple[str, ...]) -> None:
    with pytest.raises(BadInput):
        PayloadWriter(tmp_path / "bag", algorithms)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("first\nsecond", "first second"),
        ("first\r\nsecond", "first second"),
        ("first\rsecond", "first second"),
        ("first\u2028second\u2029third", "first second third"),
        ("first\u0085second", "first second"),
        ("first\tsecond", "first second"),
        ("a\x00b\x1bc\x7fd", "a b c d"),
        ("  padded  ", "padded"),
        ("Fake-Label: smuggled\nPayload-Oxum: 1.1", "Fake-Label: smuggled Payload-Oxum: 1.1"),
    ],
)
def test_bag_info_values_become_one_line(tmp_path: Path, value: str, expected: str) -> None:
    assert clean_value(value) == expected

    bag_dir = tmp_path / "bag"
    writer = PayloadWriter(bag_dir)
    writer.write_bytes("data/a.txt", b"a")
    writer.finish([("Internal-Sender-Description", value), ("Contact-Name", "x")])

    fields = bag_info_lines(bag_dir)
    assert fields[0] == ("Internal-Sender-Description", expected)
    assert [label for label, _ in fields] == [
        "Internal-Sender-Description",
        "Contact-Name",
        "Payload-Oxum",
        "Bag-Size",
    ]
    bag = bagit.Bag(str(bag_dir))
    assert bag.info["Internal-Sender-Description"] == expected
    assert bag.validate()


def test_format_bag_info_keeps_order_and_repeats() -> None:
    text = format_bag_info([("B", "2"), ("A", "1"), ("B", "3\n4")])
    assert text == "B: 2\nA: 1\nB: 3 4\n"


@pytest.mark.parametrize(
    "label", ["Has:Colon", "", " Leading", "Trailing ", "Tab\tIn", "New\nLine"]
)
def test_invalid_labels_are_bad_input(tmp_path: Path, label: str) -> None:
    with pytest.raises(BadInput):
        check_label(label)

    bag_dir = tmp_path / "bag"
    writer = PayloadWriter(bag_dir)
    writer.write_bytes("data/a.txt", b"a")
    with pytest.raises(BadInput):
        writer.finish([("Contact-Name", "x"), (label, "value")])
    assert not (bag_dir / "bagit.txt").exists()


def test_space_in_a_filename_validates(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    writer = PayloadWriter(bag_dir)
    data = b"spaced"
    writer.place(
        stage_file(tmp_path / "tmp", "s", data), "data/web/a b/c  d.txt", len(data), digests(data)
    )
    writer.finish([])

    assert "data/web/a b/c  d.txt\n" in (bag_dir / "manifest-sha256.txt").read_text("utf-8")
    assert bagit.Bag(str(bag_dir)).validate()


def test_percent_in_a_filename_is_escaped(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    writer = PayloadWriter(bag_dir)
    writer.write_bytes("data/web/100%25 done.txt", b"a")
    writer.write_bytes("data/web/50% off.txt", b"b")
    writer.finish([])

    text = (bag_dir / "manifest-sha512.txt").read_text("utf-8")
    assert "  data/web/100%2525 done.txt\n" in text
    assert "  data/web/50%25 off.txt\n" in text
    assert set(read_manifest(bag_dir / "manifest-sha512.txt")) == {
        "data/web/100%25 done.txt",
        "data/web/50% off.txt",
    }


@pytest.mark.xfail(
    strict=True,
    reason="bagit-python 1.9 does not decode %25 (RFC 8493 §2.1.3); layout never puts % in names",
)
def test_percent_in_a_filename_validates_with_bagit(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    writer = PayloadWriter(bag_dir)
    writer.write_bytes("data/web/50% off.txt", b"b")
    writer.finish([])

    assert bagit.Bag(str(bag_dir)).validate()


def test_unrecorded_file_fails_finish(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    writer = PayloadWriter(bag_dir)
    writer.write_bytes("data/a.txt", b"a")
    (bag_dir / "data" / "stray.txt").write_bytes(b"not recorded")

    with pytest.raises(PackagingFailed, match=r"unrecorded data/stray\.txt"):
        writer.finish(BAG_INFO)
    assert not (bag_dir / "bagit.txt").exists()


def test_missing_file_fails_finish(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    writer = PayloadWriter(bag_dir)
    writer.write_bytes("data/a.txt", b"a")
    (bag_dir / "data" / "a.txt").unlink()

    with pytest.raises(PackagingFailed, match=r"missing data/a\.txt"):
        writer.finish(BAG_INFO)
    assert not (bag_dir / "bagit.txt").exists()


def test_size_mismatch_fails_finish(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    writer = PayloadWriter(bag_dir)
    data = b"twelve bytes"
    writer.place(
        stage_file(tmp_path / "tmp", "f", data), "data/f.txt", len(data) + 1, digests(data)
    )

    with pytest.raises(PackagingFailed, match="12 bytes, not 13"):
        writer.finish(BAG_INFO)
    assert not (bag_dir / "bagit.txt").exists()


@pytest.mark.parametrize(
    "relpath",
    [
        "metadata/dc.xml",
        "bag-info.txt",
        "data",
        "data/../escape.txt",
        "data/a/../../escape.txt",
        "../data/x",
        "/data/x",
        "data//x",
        "data/./x",
        "data\\x",
        "data/x\0y",
    ],
)
def test_unsafe_payload_paths_fail(tmp_path: Path, relpath: str) -> None:
    writer = PayloadWriter(tmp_path / "bag")
    with pytest.raises(PackagingFailed):
        writer.write_bytes(relpath, b"x")
    with pytest.raises(PackagingFailed):
        writer.add(relpath, 1, digests(b"x"))
    source = stage_file(tmp_path / "tmp", "x", b"x")
    with pytest.raises(PackagingFailed):
        writer.place(source, relpath, 1, digests(b"x"))
    assert source.exists()
    assert not (tmp_path / "escape.txt").exists()
    assert writer.file_count == 0


@pytest.mark.parametrize(
    "relpath", ["data/x.xml", "bagit.txt", "bag-info.txt", "manifest-md5.txt", "../x", "a/../../x"]
)
def test_unsafe_tag_paths_fail(tmp_path: Path, relpath: str) -> None:
    writer = PayloadWriter(tmp_path / "bag")
    writer.write_bytes("data/a.txt", b"a")
    with pytest.raises(PackagingFailed):
        writer.finish([], tag_files={relpath: b"x"})
    assert not (tmp_path / "bag" / "bagit.txt").exists()


def test_duplicate_path_fails(tmp_path: Path) -> None:
    writer = PayloadWriter(tmp_path / "bag")
    writer.write_bytes("data/a.txt", b"first")
    with pytest.raises(PackagingFailed, match="already exists"):
        writer.write_bytes("data/a.txt", b"second")
    source = stage_file(tmp_path / "tmp", "a", b"third")
    with pytest.raises(PackagingFailed, match="already exists"):
        writer.place(source, "data/a.txt", 5, digests(b"third"))
    assert source.exists()
    assert (tmp_path / "bag" / "data" / "a.txt").read_bytes() == b"first"
    writer.finish([])
    assert bagit.Bag(str(tmp_path / "bag")).validate()


def test_place_refuses_a_file_already_on_disk(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    (bag_dir / "data").mkdir(parents=True)
    (bag_dir / "data" / "a.txt").write_bytes(b"there first")
    writer = PayloadWriter(bag_dir)
    source = stage_file(tmp_path / "tmp", "a", b"new")
    with pytest.raises(PackagingFailed, match="already exists"):
        writer.place(source, "data/a.txt", 3, digests(b"new"))
    assert (bag_dir / "data" / "a.txt").read_bytes() == b"there first"
    # The failed path is free again once the obstacle is gone.
    (bag_dir / "data" / "a.txt").unlink()
    writer.place(source, "data/a.txt", 3, digests(b"new"))


def test_finish_twice_is_a_programming_error(tmp_path: Path) -> None:
    writer = PayloadWriter(tmp_path / "bag")
    writer.write_bytes("data/a.txt", b"a")
    writer.finish([])
    with pytest.raises(RuntimeError):
        writer.finish([])
    with pytest.raises(RuntimeError):
        writer.write_bytes("data/b.txt", b"b")


def test_malformed_digests_are_rejected(tmp_path: Path) -> None:
    writer = PayloadWriter(tmp_path / "bag")
    with pytest.raises(ValueError, match="no sha256 digest"):
        writer.add("data/a.txt", 1, {"sha512": digests(b"a")["sha512"]})
    with pytest.raises(ValueError, match="malformed"):
        writer.add("data/a.txt", 1, {"sha512": "xyz", "sha256": digests(b"a")["sha256"]})
    upper = {alg: value.upper() for alg, value in digests(b"a").items()}
    (tmp_path / "bag" / "data").mkdir(parents=True)
    (tmp_path / "bag" / "data" / "a.txt").write_bytes(b"a")
    writer.add("data/a.txt", 1, upper)
    writer.finish([])
    assert bagit.Bag(str(tmp_path / "bag")).validate()


def test_concurrent_place_from_eight_threads(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bag"
    tmp = tmp_path / "tmp"
    writer = PayloadWriter(bag_dir)
    files = []
    for n in range(400):
        data = f"resource {n}\n".encode() * (n % 7 + 1)
        files.append(
            (stage_file(tmp, f"{n}.part", data), f"data/web/host/d{n % 13}/f{n}.txt", data)
        )
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        start.wait()
        for source, relpath, data in files[worker::8]:
            writer.place(source, relpath, len(data), digests(data))
        writer.write_bytes(f"data/logs/worker-{worker}.txt", f"{worker}".encode())

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))

    assert writer.file_count == 408
    writer.finish(BAG_INFO)
    bag = bagit.Bag(str(bag_dir))
    assert bag.validate()
    assert bag.info["Payload-Oxum"] == f"{writer.total_bytes}.408"
    assert len(read_manifest(bag_dir / "manifest-sha512.txt")) == 408


def test_concurrent_claims_on_one_path_admit_one(tmp_path: Path) -> None:
    writer = PayloadWriter(tmp_path / "bag")
    start = threading.Barrier(8)

    def work(worker: int) -> bool:
        start.wait()
        try:
            writer.write_bytes("data/same.txt", f"{worker}".encode())
        except PackagingFailed:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(work, range(8)))
    assert outcomes.count(True) == 1
    writer.finish([])
    assert bagit.Bag(str(tmp_path / "bag")).validate()


def test_empty_payload_is_a_valid_bag(tmp_path: Path) -> None:
    writer = PayloadWriter(tmp_path / "bag")
    writer.finish(BAG_INFO)
    bag = bagit.Bag(str(tmp_path / "bag"))
    assert bag.validate()
    assert bag.info["Payload-Oxum"] == "0.0"
    assert bag.info["Bag-Size"] == "0 B"
