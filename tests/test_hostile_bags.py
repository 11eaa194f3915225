"""Bags that turn against `validate`, `info` and `export`: every one a report or an exit code.

Each class of hostile bag (issue 20) is built here and read through the commands: encodings
that are no text encoding, numbers no int() takes, nesting no parser survives, tag files too
large to hold, links and FIFOs where files should be, WARCs no manifest vouches for. The
readers behind them have property tests: any input gives a value or a typed problem.
"""

from __future__ import annotations

import codecs
import encodings.aliases
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from preserve.bag.inspect import CaptureSummary, read_capture_log
from preserve.bag.manifests import parse_fetch, parse_manifest
from preserve.bag.reader import (
    MAX_LINE_CHARS,
    Problem,
    decode_lines,
    decode_tag_bytes,
    parse_fields,
    parse_oxum,
    read_declaration,
    split_lines,
    text_codec,
)
from preserve.bag.validate import validate
from preserve.cli import main
from preserve.errors import BadInput
from preserve.wacz import pages_jsonl

from .test_validate import FILES, build_bag, digest, found, retag

EXAMPLES = settings(max_examples=2000)

LOG = b'{"url": "http://example.org/", "role": "seed", "outcome": "captured"}\n'
WARC_FILES = {
    "data/warc/bag.warc.gz": b"WARC/1.1\r\n\r\nnot a real record, export does not parse it",
    "data/warc/bag.cdxj": b'org,example)/ 20240501000000 {"url": "http://example.org/"}\n',
    "data/logs/capture-log.jsonl": LOG,
}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def rewrite_tag(bag: Path, name: str, data: bytes) -> None:
    """Replace a tag file's bytes and bring the tag manifests up to date."""
    (bag / name).write_bytes(data)
    retag(bag)


def export(bag: Path, target: Path) -> Result:
    return run("export", bag, "--wacz", target)


# --- tag files: encodings that are no text encoding --------------------------------------------

NOT_TEXT = ["rot13", "punycode", "idna", "undefined", "base64", "hex", "zlib", "unicode_escape"]


@pytest.mark.parametrize("encoding", NOT_TEXT)
def test_an_encoding_that_is_no_text_encoding_is_a_problem(tmp_path: Path, encoding: str) -> None:
    bag = build_bag(tmp_path / "bag")
    declaration = f"BagIt-Version: 1.0\nTag-File-Character-Encoding: {encoding}\n"
    rewrite_tag(bag, "bagit.txt", declaration.encode())
    report = validate(bag)
    assert found(report) == [("bad-declaration", "bagit.txt")]
    assert encoding in report.problems[0].message
    assert "no character encoding of text" in report.problems[0].message
    result = run("validate", bag)
    assert result.exit_code == 1, result.output
    described = run("info", "--json", bag)
    assert described.exit_code == 0, described.output
    # The other tag files are read as UTF-8, as an unusable declaration leaves them.
    assert ["Bagging-Date", "2024-05-01"] in json.loads(described.stdout)["bag_info"]


def test_real_text_encodings_still_read(tmp_path: Path) -> None:
    for label in ("UTF-8", "ISO-8859-1", "UTF-16", "windows-1252", "Shift_JIS", "utf-32"):
        assert text_codec(label) is not None, label
    for label in [*NOT_TEXT, "", "a" * 65, "utf-8\x00", "../utf-8"]:
        assert text_codec(label) is None, label


# --- numbers: digits no int() takes -------------------------------------------------------------


def test_a_5000_digit_bagit_version_is_a_problem(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    version = "1." + "0" * 5000
    rewrite_tag(
        bag, "bagit.txt", f"BagIt-Version: {version}\nTag-File-Character-Encoding: UTF-8\n".encode()
    )
    report = validate(bag)
    assert found(report) == [("bad-declaration", "bagit.txt")]
    assert "not a version number" in report.problems[0].message
    assert len(report.problems[0].message) < 300
    assert run("validate", bag).exit_code == 1
    assert run("info", bag).exit_code == 0


@pytest.mark.parametrize("oxum", ["1" * 5000 + ".3", "2160." + "9" * 5000, "²³.3", "٣.3"])
def test_a_payload_oxum_no_int_takes_is_a_problem(tmp_path: Path, oxum: str) -> None:
    bag = build_bag(tmp_path / "bag")
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    lines = [
        f"Payload-Oxum: {oxum}" if ln.startswith("Payload-Oxum:") else ln
        for ln in info.splitlines()
    ]
    rewrite_tag(bag, "bag-info.txt", ("\n".join(lines) + "\n").encode())
    for report in (validate(bag), validate(bag, fast=True)):
        assert found(report) == [("bad-tag-file", "bag-info.txt")]
        assert "is not '<bytes>.<files>'" in report.problems[0].message
    assert run("validate", "--fast", bag).exit_code == 1


@pytest.mark.parametrize("length", ["²", "1" * 5000, "-3", "1_000", "٣"])
def test_a_fetch_length_no_int_takes_is_a_problem(tmp_path: Path, length: str) -> None:
    bag = build_bag(tmp_path / "bag")
    rewrite_tag(
        bag,
        "fetch.txt",
        f"http://example.org/x {length} data/web/example.org/index.html\n".encode(),
    )
    report = validate(bag)
    assert found(report) == [("bad-fetch", "fetch.txt")]
    assert "is not a number" in report.problems[0].message
    assert run("validate", bag).exit_code == 1


# --- tag files too large to hold ----------------------------------------------------------------

THREE_GIB = 3 << 30


def sparse(path: Path, size: int) -> None:
    """Make `path` a file of `size` bytes that takes no room on disk (a hole)."""
    with path.open("r+b") as handle:
        handle.truncate(size)


def run_with_little_memory(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run `preserve ARGS` allowed 1.5 GiB of address space: a 3 GiB file read whole fails."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))

    return subprocess.run(
        [sys.executable, "-m", "preserve", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit,
    )


@pytest.mark.parametrize("name", ["bag-info.txt", "bagit.txt"])
def test_a_3_gib_tag_file_is_a_problem_never_read_whole(tmp_path: Path, name: str) -> None:
    bag = build_bag(tmp_path / "bag")
    sparse(bag / name, THREE_GIB)
    report = validate(bag, completeness_only=True)
    assert (("bad-tag-file", name)) in found(report)
    problem = next(p for p in report.problems if p.path == name)
    assert problem.message == "larger than 16 MiB; not read"
    checked = run_with_little_memory("validate", "--completeness-only", bag)
    assert checked.returncode == 1, checked.stderr
    assert "larger than 16 MiB" in checked.stderr
    described = run_with_little_memory("info", bag)
    if name == "bagit.txt":
        assert described.returncode == 2
        assert (
            described.stderr
            == f"preserve: error: cannot read {bag}: bagit.txt: larger than 16 MiB; not read\n"
        )
    else:
        assert described.returncode == 0, described.stderr
        assert described.stdout.endswith(
            "not read:\n  bag-info.txt: larger than 16 MiB; not read\n"
        )


def test_a_manifest_line_past_the_bound_leaves_the_manifest_out(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    sparse(bag / "manifest-sha256.txt", THREE_GIB)
    report = validate(bag, completeness_only=True)
    assert found(report) == [("bad-tag-file", "manifest-sha256.txt")]
    assert f"longer than {MAX_LINE_CHARS:,} characters" in report.problems[0].message


def test_thousands_of_bad_lines_are_listed_up_to_a_bound(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    lines = (bag / "manifest-sha256.txt").read_bytes()
    rewrite_tag(bag, "manifest-sha256.txt", lines + b"x\n" * 50_000)
    report = validate(bag)
    bad = [p for p in report.problems if p.path == "manifest-sha256.txt"]
    assert len(bad) == 1001
    assert bad[-1].message == "more than 1,000 problems; not read past line 1,003"


# --- links, FIFOs and other files that are no file of the bag ------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["bag-info.txt", "manifest-sha512.txt", "fetch.txt", "bagit.txt"])
def test_a_fifo_as_a_tag_file_is_never_opened(tmp_path: Path, name: str) -> None:
    bag = build_bag(tmp_path / "bag")
    (bag / name).unlink(missing_ok=True)
    os.mkfifo(bag / name)
    report = validate(bag)
    assert ("special-file", name) in found(report)
    info = run("info", bag)
    assert info.exit_code == (2 if name == "bagit.txt" else 0), info.output


def test_a_tag_file_linked_out_of_the_bag_is_never_read(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    outside = tmp_path / "outside.txt"
    outside.write_text("Source-Organization: not from this bag\n")
    (bag / "bag-info.txt").unlink()
    (bag / "bag-info.txt").symlink_to(outside)
    report = validate(bag)
    assert ("unsafe-path", "bag-info.txt") in found(report)
    description = preserve.describe(bag)
    assert description.bag_info == ()
    assert [p.kind for p in description.problems] == ["unsafe-path"]


# --- the capture log as info reads it ------------------------------------------------------------


def test_a_capture_log_nested_200000_deep_is_described_not_a_traceback(tmp_path: Path) -> None:
    log = LOG + b"[" * 200_000 + b"]" * 200_000 + b"\n" + b'{"role": 1e999999}\n'
    bag = build_bag(tmp_path / "bag", {**FILES, "data/logs/capture-log.jsonl": log})
    result = run("info", "--json", bag)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["capture"]["counts"] == {"seed": {"captured": 1}}
    assert data["problems"] == [
        {
            "kind": "bad-tag-file",
            "path": "data/logs/capture-log.jsonl",
            "message": "2 lines not counted, the first at line 2: nested more than 64 deep",
        }
    ]


# --- export: nothing taken unless the bag vouches for it ------------------------------------------


@pytest.mark.parametrize("outside", ["/etc/hostname", "/dev/zero"])
@pytest.mark.timeout(30)
def test_export_never_follows_a_warc_linked_out_of_the_bag(tmp_path: Path, outside: str) -> None:
    if not Path(outside).exists():
        pytest.skip(f"{outside} is not on this system")
    bag = build_bag(tmp_path / "bag", WARC_FILES)
    warc = bag / "data" / "warc" / "bag.warc.gz"
    warc.unlink()
    warc.symlink_to(outside)
    target = tmp_path / "out" / "bag.wacz"
    result = export(bag, target)
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"preserve: error: {bag}: data/warc/bag.warc.gz: a symbolic link leading out of the bag;"
        " not followed (the bag is damaged; preserve validate lists what changed)\n"
    )
    assert not (tmp_path / "out").exists()


def test_export_needs_bagit_txt(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", WARC_FILES)
    (bag / "bagit.txt").unlink()
    result = export(bag, tmp_path / "bag.wacz")
    assert result.exit_code == 2
    assert result.stderr == f"preserve: error: {bag} is not a bag: no bagit.txt\n"
    assert not (tmp_path / "bag.wacz").exists()


@pytest.mark.parametrize("algorithms", [("sha512",), ("md5",), ("sha256", "sha1")])
def test_export_checks_the_warc_against_every_manifest(
    tmp_path: Path, algorithms: tuple[str, ...]
) -> None:
    bag = build_bag(tmp_path / "bag", WARC_FILES, algorithms=algorithms)
    assert export(bag, tmp_path / "good.wacz").exit_code == 0
    warc = bag / "data" / "warc" / "bag.warc.gz"
    warc.write_bytes(b"X" + warc.read_bytes()[1:])
    result = export(bag, tmp_path / "bad.wacz")
    assert result.exit_code == 1
    named = " and ".join(f"manifest-{a}.txt" for a in sorted(algorithms))
    assert f"data/warc/bag.warc.gz does not match the bag's {named} (nothing was" in result.stderr
    assert not (tmp_path / "bad.wacz").exists()
    assert list(tmp_path.glob(".*partial*")) == []


def test_export_checks_the_index_and_the_log_too(tmp_path: Path) -> None:
    for name in ("data/warc/bag.cdxj", "data/logs/capture-log.jsonl"):
        bag = build_bag(tmp_path / name.replace("/", "-"), WARC_FILES)
        (bag / name).write_bytes((bag / name).read_bytes() + b"\n")
        result = export(bag, tmp_path / "x.wacz")
        assert result.exit_code == 1, result.output
        assert f"{name} does not match the bag's manifest-" in result.stderr
        assert not (tmp_path / "x.wacz").exists()


def test_export_refuses_a_warc_no_manifest_lists(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", WARC_FILES)
    (bag / "data" / "warc" / "extra.warc.gz").write_bytes(b"WARC/1.1\r\n")
    (bag / "data" / "warc" / "extra.cdxj").write_bytes(b"")
    result = export(bag, tmp_path / "x.wacz")
    assert result.exit_code == 1
    assert "data/warc/extra.warc.gz: not in manifest-sha256.txt" in result.stderr
    assert not (tmp_path / "x.wacz").exists()
    bare = build_bag(tmp_path / "bare", WARC_FILES, algorithms=("sha256",))
    for manifest in bare.glob("manifest-*.txt"):
        manifest.unlink()
    result = export(bare, tmp_path / "x.wacz")
    assert result.exit_code == 1
    assert "no payload manifest vouches for any file" in result.stderr


@pytest.mark.timeout(30)
def test_export_of_a_bag_with_a_fifo_for_bag_info_ends(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag", WARC_FILES)
    (bag / "bag-info.txt").unlink()
    os.mkfifo(bag / "bag-info.txt")
    result = export(bag, tmp_path / "x.wacz")
    assert result.exit_code == 1
    assert "bag-info.txt: not a regular file (a device, FIFO or socket); not read" in result.stderr
    assert not (tmp_path / "x.wacz").exists()


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        (
            "data/logs/capture-log.jsonl",
            b"[" * 200_000 + b"\n",
            "line 1 cannot be read: it is not a JSON object: nested more than 64 deep",
        ),
        ("data/logs/capture-log.jsonl", b'{"url": 1' + b"0" * 5000 + b"}\n", "more than 30 digits"),
        ("data/logs/capture-log.jsonl", b"\xff\xfe\n", "line 1 cannot be read"),
        ("data/warc/bag.cdxj", b"\xff\n", "data/warc/bag.cdxj cannot be read: it is not UTF-8"),
    ],
)
def test_export_of_an_index_or_log_that_cannot_be_read_is_exit_2(
    tmp_path: Path, name: str, data: bytes, said: str
) -> None:
    # Built so, not changed afterwards: the manifests vouch for these bytes.
    bag = build_bag(tmp_path / "bag", {**WARC_FILES, name: data})
    assert validate(bag).valid
    result = export(bag, tmp_path / "x.wacz")
    assert result.exit_code == 2, result.output
    assert said in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.wacz").exists()


# --- cost linear in the bag ----------------------------------------------------------------------


def flat_bag(bag: Path, files: int) -> Path:
    """Write a bag of `files` tiny payload files quickly (no fsync), with its manifest."""
    lines = []
    for index in range(files):
        relpath = f"data/d{index // 1000}/f{index}.txt"
        (bag / relpath).parent.mkdir(parents=True, exist_ok=True)
        data = str(index).encode()
        (bag / relpath).write_bytes(data)
        lines.append(f"{digest(data, 'sha256')}  {relpath}\n")
    (bag / "manifest-sha256.txt").write_text("".join(lines))
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    return bag


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def test_completeness_costs_time_in_proportion_to_the_files(tmp_path: Path) -> None:
    small, large = flat_bag(tmp_path / "small", 2_500), flat_bag(tmp_path / "large", 20_000)
    for bag in (small, large):
        assert validate(bag, completeness_only=True).valid
    ratio = best_of(3, lambda: validate(large, completeness_only=True)) / best_of(
        3, lambda: validate(small, completeness_only=True)
    )
    # Eight times the files: about 8x when linear, 64x when quadratic (as it was). Loose, for
    # a shared machine.
    assert ratio < 24, ratio


# --- property tests: any input, a value or a typed problem ---------------------------------------

ENCODINGS = sorted({*encodings.aliases.aliases.values(), *NOT_TEXT, "utf-8", "utf-16", "UTF-8"})
LABELS = st.sampled_from(ENCODINGS) | st.text(max_size=70)
TEXTISH = st.lists(
    st.sampled_from(
        [
            "BagIt-Version",
            "Tag-File-Character-Encoding",
            ":",
            " ",
            "\t",
            "\r",
            "\n",
            "\r\n",
            "1.0",
            "0.97",
            "²",
            "٣",
            "UTF-8",
            "\ufeff",
        ]
    )
    | st.text(max_size=20),
    max_size=30,
).map("".join)


@EXAMPLES
@given(data=st.binary(max_size=300) | TEXTISH.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bagit_txt_gives_a_declaration(data: bytes) -> None:
    declaration, problems = read_declaration(data)
    assert all(isinstance(p, Problem) and p.path == "bagit.txt" for p in problems)
    assert codecs.lookup(declaration.codec)
    assert declaration.version is None or declaration.version_text is not None


@EXAMPLES
@given(label=LABELS, data=st.binary(max_size=200), cut=st.integers(0, 200))
def test_any_tag_file_in_any_declared_encoding_gives_lines_or_a_problem(
    label: str, data: bytes, cut: int
) -> None:
    declared = read_declaration(
        f"BagIt-Version: 1.0\nTag-File-Character-Encoding: {label}\n".encode(
            "utf-8", "surrogatepass"
        )
    )[0]
    codec = declared.codec
    assert text_codec(label) in (None, codec)
    problems: list[Problem] = []
    lines = list(
        decode_lines([data[:cut], data[cut:]], "bag-info.txt", codec, problems, max_line=64)
    )
    assert len(problems) <= 1
    whole, problem = decode_tag_bytes(data, "bag-info.txt", codec)
    if not problems and whole is not None and max(map(len, split_lines(whole)), default=0) <= 64:
        # Chunks split anywhere (even inside a CRLF or a character) give the lines whole text does.
        assert lines == split_lines(whole)
    fields, bad = parse_fields(lines, "bag-info.txt", strict=True)
    assert all(isinstance(label, str) and isinstance(value, str) for label, value in fields)
    assert all(isinstance(message, str) for message in bad)
    assert problem is None or problem.kind == "bad-tag-file"


@EXAMPLES
@given(value=st.text(max_size=40) | st.from_regex(r"[0-9²٣]{0,60}\.[0-9²٣]{0,60}", fullmatch=True))
def test_any_payload_oxum_gives_two_numbers_or_none(value: str) -> None:
    oxum = parse_oxum(value)
    assert oxum is None or all(isinstance(n, int) and n >= 0 for n in oxum)


MANIFEST_LINES = st.lists(
    st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda digest, path: f"{digest} {path}",
            st.sampled_from(["", "0" * 64, "a" * 128, "zz", "0" * 32]),
            st.sampled_from(
                [
                    "data/a",
                    "data/a",
                    "./data/b",
                    "*data/c",
                    "../x",
                    "/etc/x",
                    "data/%",
                    "data/%0A",
                    "bagit.txt",
                    "data/\u00e9",
                    "data/e\u0301",
                    "C:x",
                    "data\\x",
                ]
            )
            | st.text(max_size=20),
        ),
    ),
    max_size=20,
)


@EXAMPLES
@given(
    name=st.sampled_from(
        [
            "manifest-sha256.txt",
            "tagmanifest-md5.txt",
            "manifest-blake3.txt",
            "manifest-shake_128.txt",
        ]
    ),
    lines=MANIFEST_LINES,
    version=st.sampled_from([(0, 97), (1, 0)]),
)
def test_any_manifest_gives_entries_and_problems(
    name: str, lines: list[str], version: tuple[int, int]
) -> None:
    manifest = parse_manifest(name, lines, version)
    paths = [entry.path for entry in manifest.entries]
    assert len(paths) == len(set(paths))
    assert all(p.startswith("data/") != manifest.tag for p in paths)
    assert all(isinstance(p, Problem) for p in [*manifest.problems, *manifest.warnings])


@EXAMPLES
@given(
    lines=st.lists(
        st.text(max_size=60)
        | st.builds(
            lambda url, length, path: f"{url} {length} {path}",
            st.sampled_from(["http://x/", "x", "ftp://h/p", ""]),
            st.sampled_from(["-", "0", "²", "1" * 5000, "٣", "12"]) | st.text(max_size=8),
            st.sampled_from(["data/a", "../a", "a", "data/%41"]) | st.text(max_size=10),
        ),
        max_size=20,
    ),
    version=st.sampled_from([(0, 97), (1, 0)]),
)
def test_any_fetch_txt_gives_items_and_problems(lines: list[str], version: tuple[int, int]) -> None:
    items, problems = parse_fetch(lines, version)
    assert all(item.path.startswith("data/") for item in items)
    assert all(item.length is None or item.length >= 0 for item in items)
    assert all(isinstance(p, Problem) for p in problems)


LOG_LINES = st.lists(
    st.sampled_from(
        [
            LOG,
            b"[" * 100 + b"\n",
            b"{}\n",
            b"1e99999\n",
            b'{"role": "\\ud800"}\n',
            b"\xff\n",
            b"NaN\n",
            b"\n",
            b"\r\n",
        ]
    )
    | st.binary(max_size=40),
    max_size=20,
).map(b"".join)


@EXAMPLES
@given(log=LOG_LINES, cut=st.integers(0, 400))
def test_any_capture_log_gives_counts_or_a_problem(log: bytes, cut: int) -> None:
    problems: list[Problem] = []
    summary = read_capture_log([log[:cut], log[cut:]], problems)
    assert summary is None or isinstance(summary, CaptureSummary)
    if summary is not None:
        summary.text()
    assert all(p.path == "data/logs/capture-log.jsonl" for p in problems)
    try:
        pages, count = pages_jsonl(log, "A title")
    except BadInput as exc:
        assert "capture-log.jsonl line" in str(exc)
    else:
        assert len(pages.decode("utf-8").splitlines()) == count + 1


@settings(max_examples=200)
@given(
    info=st.binary(max_size=400),
    encoding=st.sampled_from(["UTF-8", "UTF-16", "rot13", "ISO-8859-1", "undefined"]),
)
def test_any_bag_info_in_a_real_bag_gives_a_report_and_a_description(
    tmp_path_factory: pytest.TempPathFactory, info: bytes, encoding: str
) -> None:
    bag = tmp_path_factory.getbasetemp() / "any-bag-info"
    if not bag.exists():
        build_bag(bag)
    (bag / "bagit.txt").write_text(f"BagIt-Version: 1.0\nTag-File-Character-Encoding: {encoding}\n")
    (bag / "bag-info.txt").write_bytes(info)
    report = validate(bag, completeness_only=True)
    assert all(isinstance(p, Problem) for p in report.problems)
    description = preserve.describe(bag)
    assert description.tag_file_encoding == encoding
