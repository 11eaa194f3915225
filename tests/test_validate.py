"""Our validator: the Library of Congress conformance suite, each strict rule, and bagit-python.

Helpers here (`build_bag`, `retag`, `found`) are shared by the other bag tests.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import bagit
import pytest

from preserve.bag import PayloadWriter
from preserve.bag.profile import OWN_PROFILE_IDENTIFIER
from preserve.bag.serialize import serialize_bag
from preserve.bag.validate import ValidationReport, validate
from preserve.errors import BadInput

from .conftest import SHARED

SUITE = SHARED / "bagit-conformance-suite"
needs_suite = pytest.mark.shared("bagit-conformance-suite")

PAGE = b"<html><head><title>Hello</title></head><body>hello</body></html>\n"
IMAGE = bytes(range(256)) * 8
FILES = {
    "data/web/example.org/index.html": PAGE,
    "data/web/example.org/img/a.png": IMAGE,
    "data/logs/capture-log.jsonl": b'{"url": "http://example.org/", "role": "seed"}\n',
}


def default_fields(**extra: str) -> list[tuple[str, str]]:
    """Return the bag-info fields a capture writes, in its order, plus `extra` (_ for -)."""
    fields = [
        ("Bagging-Date", "2024-05-01"),
        ("Payload-Oxum", ""),
        ("Bag-Size", ""),
        ("Bag-Software-Agent", "preserve/0.1.0"),
        ("External-Identifier", "urn:uuid:00000000-0000-4000-8000-000000000000"),
        ("Internal-Sender-Identifier", "http://example.org/"),
        ("Internal-Sender-Description", "Hello"),
        ("BagIt-Profile-Identifier", OWN_PROFILE_IDENTIFIER),
    ]
    return fields + [(label.replace("_", "-"), value) for label, value in extra.items()]


def build_bag(
    bag: Path,
    files: Mapping[str, bytes] = FILES,
    *,
    algorithms: Sequence[str] = ("sha512", "sha256"),
    fields: Sequence[tuple[str, str]] | None = None,
    tag_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Build a bag at `bag` with PayloadWriter, as a capture would; return its path."""
    writer = PayloadWriter(bag, algorithms)
    for relpath, data in files.items():
        writer.write_bytes(relpath, data)
    writer.finish(default_fields() if fields is None else fields, tag_files=tag_files)
    return bag


def retag(bag: Path) -> None:
    """Rewrite every tag manifest from the tag files as they now are (after tampering)."""
    for manifest in bag.glob("tagmanifest-*.txt"):
        algorithm = manifest.name[len("tagmanifest-") : -4]
        names = [line.split(maxsplit=1)[1] for line in manifest.read_text().splitlines()]
        lines = [
            f"{hashlib.new(algorithm, (bag / n).read_bytes()).hexdigest()}  {n}\n" for n in names
        ]
        manifest.write_text("".join(lines))


def set_manifest(bag: Path, algorithm: str, lines: Sequence[str]) -> None:
    """Replace a payload manifest's lines, then bring the tag manifests up to date."""
    (bag / f"manifest-{algorithm}.txt").write_text("".join(f"{line}\n" for line in lines))
    retag(bag)


def digest(data: bytes, algorithm: str = "sha512") -> str:
    return hashlib.new(algorithm, data).hexdigest()


def found(report: ValidationReport, *, warnings: bool = False) -> list[tuple[str, str | None]]:
    """Return (kind, path) of every problem (or warning), in order."""
    return [(p.kind, p.path) for p in (report.warnings if warnings else report.problems)]


def bagit_valid(bag: Path) -> bool:
    """Return bagit-python's verdict on a bag (full validation)."""
    logging.disable(logging.CRITICAL)
    try:
        bagit.Bag(str(bag)).validate()
    except bagit.BagError:
        return False
    finally:
        logging.disable(logging.NOTSET)
    return True


# --- the conformance suite -------------------------------------------------------------------

# Each invalid or linux-only bag fails for its own reason: (kind, path, words in the message).
INVALID = {
    "v0.97/baginfo-missing-encoding": ("bad-declaration", "bagit.txt", "Tag-File-Character"),
    "v0.97/bom-in-bagit.txt": ("bad-declaration", "bagit.txt", "byte-order mark"),
    "v0.97/corrupt-data-file": ("checksum-mismatch", "data/bare-filename", "md5"),
    "v0.97/corrupt-tag-file": ("checksum-mismatch", "bag-info.txt", "tagmanifest-md5.txt"),
    "v0.97/extra-file-in-bag": ("unexpected", "data/bar", "no payload manifest"),
    "v0.97/invalid-version-number": ("bad-declaration", "bagit.txt", "'.97'"),
    "v0.97/missing-baginfo": ("missing", "bag-info.txt", "tagmanifest-md5.txt"),
    "v0.97/missing-bagit.txt": ("not-a-bag", "bagit.txt", "no bagit.txt"),
    "v0.97/out-of-scope-file-paths-using-dot-notation": ("unsafe-path", "../../../README.md", ".."),
    "v0.97/out-of-scope-file-paths-using-dot-notation-for-fetch": (
        "unsafe-path",
        "../../../README.md",
        "fetch.txt",
    ),
    "v0.97/same-filename-listed-twice-with-different-hashes": (
        "duplicate-entry",
        "data/README",
        "two digests",
    ),
    "v0.97/out-of-scope-file-paths-using-absolute-path": ("unsafe-path", "/tmp/foo", "absolute"),
    "v0.97/out-of-scope-file-paths-using-absolute-path-for-fetch": (
        "unsafe-path",
        "/tmp/test.txt",
        "fetch.txt line 1 names an absolute path",
    ),
    "v0.97/out-of-scope-file-paths-using-shortcut": ("unsafe-path", "~/foo", "home folder"),
    "v0.97/out-of-scope-file-paths-using-shortcut-for-fetch": (
        "unsafe-path",
        "~/test.txt",
        "fetch.txt line 1",
    ),
    "v0.97/out-of-scope-file-paths-using-shortcut-username": ("unsafe-path", "~root/foo", "home"),
    "v0.97/out-of-scope-file-paths-using-shortcut-username-for-fetch": (
        "unsafe-path",
        "~root/foo",
        "fetch.txt line 1",
    ),
    "v1.0/bagit-with-invalid-whitespace": ("bad-declaration", "bagit.txt", "before the colon"),
    "v1.0/notAllManifestsListAllFiles": (
        "unexpected",
        "data/missingFromManifest.txt",
        "no payload manifest",
    ),
    "v1.0/same-filename-listed-twice-with-different-hashes": (
        "duplicate-entry",
        "data/README",
        "two digests",
    ),
    "v1.0/same-filename-listed-twice-with-the-same-hash": (
        "duplicate-entry",
        "data/README",
        "lists it twice",
    ),
}

# Each warning bag is valid and warns for its own reason: (kind, path).
WARNING = {
    "v0.97/duplicate-file-with-different-case": ("case-twins", "data/HELLO.txt"),
    "v0.97/made-with-md5sum-tools": ("md5sum-star", "manifest-md5.txt"),
    "v0.97/relative-path": ("dot-slash", "manifest-sha512.txt"),
    "v0.97/same-filename-listed-twice-with-different-normalization": (
        "normalization-twins",
        unicodedata.normalize("NFC", "data/Núñez"),
    ),
    "v0.97/same-filename-listed-twice-with-the-same-hash": ("duplicate-entry", "data/README"),
    "v0.97/special-system-files": ("system-file", "data/Thumbs.db"),
}

# Warnings a valid old bag may carry for what it is, not for a fault of its own.
ALLOWED_IN_VALID = {"old-version", "no-payload-oxum", "dot-slash"}


def suite_cases(*categories: str) -> Iterator[object]:
    if not SUITE.is_dir():
        yield pytest.param(SUITE, id="suite-not-here", marks=needs_suite)
    for case in sorted(SUITE.glob("v*/*/*")):
        if case.is_dir() and case.parent.name in categories:
            name = f"{case.parent.parent.name}/{case.name}"
            if case.parent.name == "windows-only":
                yield pytest.param(
                    case,
                    id=name,
                    marks=pytest.mark.skipif(
                        sys.platform != "win32",
                        reason="windows-only: these paths are out of scope on Windows only",
                    ),
                )
            else:
                yield pytest.param(case, id=name)


def suite_name(case: Path) -> str:
    return f"{case.parent.parent.name}/{case.name}"


@needs_suite
def test_the_suite_is_there() -> None:
    assert len(list(SUITE.glob("v*/*/*/bagit.txt"))) > 40


@needs_suite
@pytest.mark.parametrize("case", list(suite_cases("valid")))
def test_valid_bags_pass(case: Path) -> None:
    report = validate(case)
    assert report.valid, found(report)
    assert {w.kind for w in report.warnings} <= ALLOWED_IN_VALID
    assert bagit_valid(case)


@needs_suite
@pytest.mark.parametrize("case", list(suite_cases("warning")))
def test_warning_bags_pass_and_say_why(case: Path, tmp_path: Path) -> None:
    expected = WARNING[suite_name(case)]
    if case.name == "special-system-files":
        # This copy of the suite lost the empty data/.DS_Store its manifest and Payload-Oxum
        # (0.2) list; restored in a copy, the bag is the one the suite means.
        shutil.copytree(case, tmp_path / case.name)
        case = tmp_path / case.name
        os.chmod(case / "data", 0o755)
        (case / "data" / ".DS_Store").write_bytes(b"")
    report = validate(case)
    assert report.valid, found(report)
    assert expected in found(report, warnings=True)


@needs_suite
def test_special_system_files_as_shipped_fails_for_the_lost_file() -> None:
    report = validate(SUITE / "v0.97" / "warning" / "special-system-files")
    assert found(report) == [("missing", "data/.DS_Store"), ("oxum-mismatch", "bag-info.txt")]
    assert ("system-file", "data/Thumbs.db") in found(report, warnings=True)


@needs_suite
def test_case_twins_on_a_case_sensitive_disk(tmp_path: Path) -> None:
    # Stored as two files (as Linux can), the two names are still one file elsewhere.
    case = tmp_path / "bag"
    shutil.copytree(SUITE / "v0.97" / "warning" / "duplicate-file-with-different-case", case)
    os.chmod(case / "data", 0o755)
    shutil.copy(case / "data" / "hello.txt", case / "data" / "HELLO.txt")
    report = validate(case)
    assert found(report) == [("oxum-mismatch", "bag-info.txt")]
    assert ("case-twins", "data/HELLO.txt") in found(report, warnings=True)


def test_a_case_twin_with_another_digest_is_missing(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", {"data/web/a.txt": b"a"})
    set_manifest(
        bag, "sha512", [f"{digest(b'a')}  data/web/a.txt", f"{digest(b'b')}  data/web/A.txt"]
    )
    set_manifest(bag, "sha256", [f"{digest(b'a', 'sha256')}  data/web/a.txt"])
    assert ("missing", "data/web/A.txt") in found(validate(bag))


@needs_suite
@pytest.mark.parametrize("case", list(suite_cases("invalid", "linux-only", "windows-only")))
def test_invalid_bags_fail_naming_the_reason(case: Path) -> None:
    report = validate(case)
    assert not report.valid
    kind, path, words = INVALID[suite_name(case)]
    matching = [p for p in report.problems if p.kind == kind and p.path == path]
    assert matching, found(report)
    assert any(words in p.message for p in matching), [p.message for p in matching]


@needs_suite
@pytest.mark.parametrize(
    "name",
    [
        "v1.0/invalid/bagit-with-invalid-whitespace",
        "v0.97/warning/same-filename-listed-twice-with-different-normalization",
    ],
)
def test_where_bagit_python_falls_short(name: str) -> None:
    # bagit-python 1.9 accepts the first and rejects the second; RFC 8493 says otherwise.
    case = SUITE / name
    assert bagit_valid(case) == ("invalid" in name)
    assert validate(case).valid == ("invalid" not in name)


# --- our own bags, and each strict rule --------------------------------------------------------

INDEX = "data/web/example.org/index.html"
PNG = "data/web/example.org/img/a.png"
LOG = "data/logs/capture-log.jsonl"
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def test_our_bag_is_valid_for_both_validators(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    report = validate(bag)
    assert (report.problems, report.warnings) == ((), ())
    assert report.valid
    assert (report.mode, report.bagit_version, report.serialization) == ("full", "1.0", None)
    assert report.payload_files == 3
    assert report.payload_bytes == sum(len(d) for d in FILES.values())
    assert report.algorithms == ("sha256", "sha512")
    assert bagit_valid(bag)


@pytest.mark.parametrize(
    ("declaration", "count"),
    [
        (b"BagIt-Version : 1.0\nTag-File-Character-Encoding: UTF-8\n", 1),
        (b"BagIt-Version: 1.0\nTag-File-Character-Encoding : UTF-8\n", 1),
        (b"BagIt-Version:  1.0\nTag-File-Character-Encoding: UTF-8\n", 1),
        (b"BagIt-Version: 1.0 \nTag-File-Character-Encoding: UTF-8\n", 1),
        (BAGIT_TXT + b"Extra: line\n", 1),
        (b"\xef\xbb\xbf" + BAGIT_TXT, 1),
        (BAGIT_TXT[:-1], 1),
        (b"Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n", 2),
        (b"BagIt-Version: 1.0\n", 2),
        (b"BagIt-Version: 1\nTag-File-Character-Encoding: UTF-8\n", 1),
        (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: NO-SUCH\n", 1),
    ],
)
def test_bagit_txt_of_a_1_0_bag_is_exactly_two_lines(
    tmp_path: Path, declaration: bytes, count: int
) -> None:
    bag = build_bag(tmp_path / "bag")
    (bag / "bagit.txt").write_bytes(declaration)
    retag(bag)
    assert found(validate(bag)) == [("bad-declaration", "bagit.txt")] * count


def test_bagit_txt_may_end_lines_with_crlf(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    (bag / "bagit.txt").write_bytes(BAGIT_TXT.replace(b"\n", b"\r\n"))
    retag(bag)
    assert validate(bag).valid


def test_every_payload_file_in_every_manifest(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    lines = (bag / "manifest-sha256.txt").read_text().splitlines()
    set_manifest(bag, "sha256", [line for line in lines if not line.endswith(PNG)])
    report = validate(bag)
    assert found(report) == [("not-in-manifest", PNG)]
    assert "manifest-sha512.txt but not in manifest-sha256.txt" in report.problems[0].message
    assert bagit_valid(bag)  # bagit-python 1.9 does not notice


def test_tag_manifests_list_the_same_files(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    manifest = bag / "tagmanifest-sha256.txt"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(line for line in lines if not line.endswith("bag-info.txt\n")))
    found_problems = found(validate(bag))
    assert found_problems == [("not-in-manifest", "bag-info.txt")]


@pytest.mark.parametrize(("manifest_form", "disk_form"), [("NFD", "NFC"), ("NFC", "NFD")])
def test_manifest_names_compare_after_normalisation(
    tmp_path: Path, manifest_form: str, disk_form: str
) -> None:
    name = "data/web/Café Núñez.txt"
    disk = unicodedata.normalize(disk_form, name)
    bag = build_bag(tmp_path / "bag", {disk: b"menu\n"})
    listed = unicodedata.normalize(manifest_form, name)
    for algorithm in ("sha512", "sha256"):
        set_manifest(bag, algorithm, [f"{digest(b'menu' + bytes([10]), algorithm)}  {listed}"])
    report = validate(bag)
    assert (report.problems, report.warnings) == ((), ())


def test_bagit_python_rejects_an_nfd_manifest(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", {"data/web/café.txt": b"x"})
    nfd = unicodedata.normalize("NFD", "data/web/café.txt")
    for algorithm in ("sha512", "sha256"):
        set_manifest(bag, algorithm, [f"{digest(b'x', algorithm)}  {nfd}"])
    assert validate(bag).valid
    assert not bagit_valid(bag)


@pytest.mark.parametrize(
    "path",
    [
        "../escape.txt",
        "data/../../escape.txt",
        "/etc/passwd",
        "~/x",
        "~root/x",
        "C:/x",
        "\\\\srv\\x",
        "data/a\\..\\..\\x",
    ],
)
def test_unsafe_manifest_paths(tmp_path: Path, path: str) -> None:
    bag = build_bag(tmp_path / "bag")
    lines = (bag / "manifest-sha512.txt").read_text().splitlines()
    set_manifest(bag, "sha512", [*lines, f"{digest(b'x')}  {path}"])
    report = validate(bag)
    assert found(report) == [("unsafe-path", path)]
    assert not (tmp_path / "escape.txt").exists()


def test_percent_encoded_names_validate(tmp_path: Path) -> None:
    files = {
        "data/web/50% off.txt": b"a",
        "data/web/two\nlines.txt": b"b",
        "data/web/cr\r.txt": b"c",
    }
    bag = build_bag(tmp_path / "bag", files)
    manifest = (bag / "manifest-sha512.txt").read_text()
    assert "50%25 off.txt" in manifest
    assert "two%0Alines.txt" in manifest
    assert validate(bag).valid


def test_an_unencoded_percent_in_a_1_0_manifest(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", {"data/web/50% off.txt": b"a"})
    set_manifest(bag, "sha512", [f"{digest(b'a')}  data/web/50% off.txt"])
    report = validate(bag)
    assert found(report) == [("bad-path-encoding", "data/web/50% off.txt")]
    assert "%25" in report.problems[0].message


def test_fetch_txt_items_not_yet_fetched(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", {"data/web/here.txt": b"here"})
    for algorithm in ("sha512", "sha256"):
        set_manifest(
            bag,
            algorithm,
            [
                f"{digest(b'here', algorithm)}  data/web/here.txt",
                f"{digest(b'late', algorithm)}  data/web/late.txt",
            ],
        )
    (bag / "fetch.txt").write_text(
        "https://example.org/here.txt 4 data/web/here.txt\n"
        "https://example.org/late.txt - data/web/late.txt\n"
    )
    report = validate(bag)
    assert found(report) == [("not-fetched", "data/web/late.txt")]
    assert "not fetched yet" in report.problems[0].message


def test_fetch_txt_malformed(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    (bag / "fetch.txt").write_text(
        "just-one-field\n"
        "not-a-url 4 data/web/x.txt\n"
        "https://example.org/x lots data/web/x.txt\n"
        "https://example.org/x - ../outside.txt\n"
        "https://example.org/x - bag-info.txt\n"
        "https://example.org/y - data/web/unlisted.txt\n"
    )
    assert found(validate(bag)) == [
        ("bad-fetch", "fetch.txt"),
        ("bad-fetch", "fetch.txt"),
        ("bad-fetch", "fetch.txt"),
        ("unsafe-path", "../outside.txt"),
        ("bad-fetch", "bag-info.txt"),
        ("bad-fetch", "data/web/x.txt"),
        ("bad-fetch", "data/web/x.txt"),
        ("bad-fetch", "data/web/unlisted.txt"),
        ("bad-fetch", "data/web/x.txt"),
        ("bad-fetch", "data/web/x.txt"),
        ("bad-fetch", "data/web/unlisted.txt"),
    ]


def rewrite_paths(bag: Path, prefix: str) -> None:
    for algorithm in ("sha512", "sha256"):
        lines = (bag / f"manifest-{algorithm}.txt").read_text().splitlines()
        set_manifest(
            bag, algorithm, [line.replace("  data/", f"  {prefix}data/") for line in lines]
        )


@pytest.mark.parametrize(
    ("prefix", "kind"), [("*", "md5sum-star"), ("./", "dot-slash"), ("././", "dot-slash")]
)
def test_md5sum_and_dot_slash_paths_warn(tmp_path: Path, prefix: str, kind: str) -> None:
    bag = build_bag(tmp_path / "bag")
    rewrite_paths(bag, prefix)
    report = validate(bag)
    assert report.valid
    assert found(report, warnings=True) == [
        (kind, "manifest-sha256.txt"),
        (kind, "manifest-sha512.txt"),
    ]


def test_old_version_missing_oxum_case_twins_and_system_files_warn(tmp_path: Path) -> None:
    files = {"data/web/A.txt": b"upper", "data/web/a.txt": b"lower", "data/web/.DS_Store": b""}
    bag = build_bag(tmp_path / "bag", files)
    (bag / "bagit.txt").write_bytes(b"BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n")
    info = (bag / "bag-info.txt").read_text().splitlines(keepends=True)
    (bag / "bag-info.txt").write_text("".join(i for i in info if not i.startswith("Payload-Oxum")))
    retag(bag)
    report = validate(bag)
    assert report.valid
    assert found(report, warnings=True) == [
        ("old-version", "bagit.txt"),
        ("case-twins", "data/web/A.txt"),
        ("system-file", "data/web/.DS_Store"),
        ("no-payload-oxum", "bag-info.txt"),
    ]
    assert "older than 1.0" in report.warnings[0].message
    assert bagit_valid(bag)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    (bag / INDEX).unlink()
    (bag / PNG).write_bytes(IMAGE[::-1])
    (bag / "data" / "web" / "stray.txt").write_bytes(b"not listed")
    report = validate(bag)
    assert found(report) == [
        ("missing", INDEX),
        ("unexpected", "data/web/stray.txt"),
        ("oxum-mismatch", "bag-info.txt"),
        ("checksum-mismatch", PNG),
        ("checksum-mismatch", PNG),
    ]
    assert "listed in manifest-sha256.txt and manifest-sha512.txt" in report.problems[0].message
    assert not bagit_valid(bag)


def test_modes_check_what_they_say(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    (bag / PNG).write_bytes(IMAGE[::-1])
    assert validate(bag, fast=True).valid
    assert validate(bag, fast=True).mode == "fast"
    assert validate(bag, completeness_only=True).valid
    assert validate(bag, completeness_only=True).mode == "completeness"
    assert found(validate(bag)) == [("checksum-mismatch", PNG)] * 2
    (bag / LOG).unlink()
    assert found(validate(bag, fast=True)) == [("oxum-mismatch", "bag-info.txt")]
    assert found(validate(bag, completeness_only=True)) == [
        ("missing", LOG),
        ("oxum-mismatch", "bag-info.txt"),
    ]


def test_fast_needs_a_payload_oxum(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    info = (bag / "bag-info.txt").read_text().splitlines(keepends=True)
    (bag / "bag-info.txt").write_text("".join(i for i in info if not i.startswith("Payload-Oxum")))
    retag(bag)
    report = validate(bag, fast=True)
    assert found(report) == [("no-payload-oxum", "bag-info.txt")]
    assert "--fast" in report.problems[0].message


def test_several_processes_find_the_same(tmp_path: Path) -> None:
    files = {f"data/web/f{n}.txt": f"file {n}\n".encode() * n for n in range(12)}
    bag = build_bag(tmp_path / "bag", files)
    (bag / "data/web/f5.txt").write_bytes(b"changed")
    (bag / "data/web/f7.txt").write_bytes(b"changed, too")
    assert validate(bag, processes=2) == validate(bag, processes=1)
    assert found(validate(bag, processes=2))[-4:] == [
        ("checksum-mismatch", "data/web/f5.txt"),
        ("checksum-mismatch", "data/web/f7.txt"),
        ("checksum-mismatch", "data/web/f5.txt"),
        ("checksum-mismatch", "data/web/f7.txt"),
    ]


def test_links_out_and_special_files_are_not_read(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (bag / "data" / "web" / "link").symlink_to(secret)
    (bag / "data" / "web" / "loop").symlink_to(bag / "data")
    os.mkfifo(bag / "data" / "web" / "fifo")
    assert found(validate(bag)) == [
        ("special-file", "data/web/fifo"),
        ("unsafe-path", "data/web/link"),
        ("special-file", "data/web/loop"),
    ]


def test_a_link_inside_the_bag_is_its_target(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", {"data/web/a.txt": b"a"})
    (bag / "data" / "web" / "a.txt").rename(bag / "data" / "real.txt")
    (bag / "data" / "web" / "a.txt").symlink_to("../real.txt")
    assert found(validate(bag)) == [
        ("unexpected", "data/real.txt"),
        ("oxum-mismatch", "bag-info.txt"),
    ]


def test_bad_bag_info_in_a_1_0_bag(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    with (bag / "bag-info.txt").open("a") as info:
        info.write("Spaced-Label : value\nNo-Space:value\n  continued\nno colon here\n")
    retag(bag)
    assert found(validate(bag)) == [("bad-tag-file", "bag-info.txt")] * 3


def test_unsupported_algorithm(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    lines = (bag / "manifest-sha256.txt").read_text()
    (bag / "manifest-crc99.txt").write_text(lines)
    assert found(validate(bag)) == [("unsupported-algorithm", "manifest-crc99.txt")]


def test_no_manifest_and_no_data(tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    bag.mkdir()
    (bag / "bagit.txt").write_bytes(BAGIT_TXT)
    assert found(validate(bag)) == [("missing", "data/"), ("no-manifest", None)]


def test_a_folder_with_nothing_of_a_bag_is_bad_input(tmp_path: Path) -> None:
    # Neither bagit.txt, bag-info.txt, fetch.txt, data/ nor a manifest: not a bag at all.
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    (folder / "pictures").mkdir()
    with pytest.raises(BadInput, match=r"is not a bag: it has no bagit\.txt") as refused:
        validate(folder)
    assert refused.value.hint is None
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match="is not a bag"):
        validate(tmp_path / "empty")


@pytest.mark.parametrize(
    "part", ["data/", "manifest-md5.txt", "tagmanifest-sha256.txt", "bag-info.txt"]
)
def test_a_folder_with_part_of_a_bag_but_no_bagit_txt_is_invalid(tmp_path: Path, part: str) -> None:
    folder = tmp_path / "bag"
    (folder / part).parent.mkdir(parents=True, exist_ok=True)
    if part.endswith("/"):
        (folder / part).mkdir()
    else:
        (folder / part).write_text("")
    report = validate(folder)
    assert not report.valid
    assert found(report) == [("not-a-bag", "bagit.txt")]
    assert "no bagit.txt, which every bag must have" in report.problems[0].message


def test_a_bag_that_lost_its_bagit_txt_is_invalid(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    (bag / "bagit.txt").unlink()
    assert found(validate(bag)) == [("not-a-bag", "bagit.txt")]
    archive = serialize_bag(build_bag(tmp_path / "zipped"), "zip").path
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(tmp_path / "lost.zip", "w") as copy:
        for item in source.infolist():
            if not item.filename.endswith("/bagit.txt"):
                copy.writestr(item, source.read(item))
    assert ("not-a-bag", "bagit.txt") in found(validate(tmp_path / "lost.zip"))


def test_an_archive_of_a_folder_that_is_no_bag_is_bad_input(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as archive:
        archive.mkdir("photos")
        picture = zipfile.ZipInfo("photos/cat.jpg")
        picture.external_attr = 0o100644 << 16
        archive.writestr(picture, b"meow")
    with pytest.raises(BadInput, match=r"photos\.zip is not a bag: its folder photos has no"):
        validate(tmp_path / "photos.zip")


def test_a_folder_of_bags_says_how_to_validate_them(tmp_path: Path) -> None:
    folder = tmp_path / "my bags"
    build_bag(folder / "one")
    serialize_bag(build_bag(tmp_path / "two"), "tar.gz", output=folder)
    (folder / "not-a-bag").mkdir()
    (folder / "README").write_text("two bags")
    with pytest.raises(BadInput) as refused:
        validate(folder)
    assert refused.value.hint == f"it holds 2 bags: preserve validate '{folder}'/*"
    assert str(refused.value).startswith(f"{folder} is not a bag: ")


def test_unusable_input_and_options(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        validate(tmp_path / "absent")
    bag = build_bag(tmp_path / "bag")
    with pytest.raises(BadInput, match="not both"):
        validate(bag, fast=True, completeness_only=True)
    with pytest.raises(BadInput, match="at least 1"):
        validate(bag, processes=0)


def test_the_report_as_json_is_plain_data(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", {"data/web/bad\x01name.txt": b"x"})
    (bag / "data" / "web" / "bad\x01name.txt").write_bytes(b"y")
    data = validate(bag).to_dict()
    assert data["valid"] is False
    assert data["problems"][0]["path"] == "data/web/bad\\x01name.txt"
