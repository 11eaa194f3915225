"""`preserve validate` and `preserve info`: help, stdout and stderr, JSON, every exit code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from preserve.bag.profile import OWN_PROFILE_IDENTIFIER
from preserve.bag.serialize import serialize_bag
from preserve.cli import main
from tests.test_validate import FILES, SUITE, build_bag, default_fields, needs_suite, retag

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "schemas" / "validation-report.schema.json").read_text())
OWN_PROFILE = ROOT / "schemas" / "bagit-profile.json"
LOG_BYTES = FILES["data/logs/capture-log.jsonl"]
TOTAL = sum(len(data) for data in FILES.values())


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def document(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    return data


def test_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("command", ["validate", "info"])
def test_help(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Exit codes:" in " ".join(result.stdout.split())
    assert "BAG" in result.stdout
    assert "--json" in result.stdout


def test_validate_help_lists_every_option() -> None:
    text = run("validate", "--help").stdout
    for flag in ("--fast", "--completeness-only", "--processes", "--profile", "PRESERVE_PROFILE"):
        assert flag in text


def test_main_help_lists_the_commands() -> None:
    text = run("--help").stdout
    assert "validate" in text
    assert "info" in text


# --- validate: exit codes, stdout and stderr ---------------------------------------------------


def test_exit_0_valid_bag(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    result = run("validate", bag)
    assert result.exit_code == 0
    assert result.stdout == f"{bag}: valid\n"
    assert result.stderr == ""


@needs_suite
def test_exit_0_with_warnings_said_on_stderr() -> None:
    bag = SUITE / "v0.97" / "warning" / "made-with-md5sum-tools"
    result = run("validate", bag)
    assert result.exit_code == 0
    assert result.stdout == f"{bag}: valid (3 warnings)\n"
    assert result.stderr.splitlines() == [
        f"preserve: warning: {bag}: old-version: bagit.txt: BagIt-Version 0.97 is older than 1.0"
        " (RFC 8493)",
        f"preserve: warning: {bag}: md5sum-star: manifest-md5.txt: paths start with md5sum's"
        " '*' (binary mode) marker",
        f"preserve: warning: {bag}: md5sum-star: tagmanifest-md5.txt: paths start with md5sum's"
        " '*' (binary mode) marker",
    ]
    quiet = run("-q", "validate", bag)
    assert (quiet.exit_code, quiet.stderr) == (0, "")


def test_fast_and_completeness_say_so(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    fast = run("validate", "--fast", bag)
    assert fast.stdout == f"{bag}: valid (fast: Payload-Oxum only, checksums not verified)\n"
    complete = run("validate", "--completeness-only", "--processes", "2", bag)
    assert complete.stdout == f"{bag}: valid (completeness only, checksums not verified)\n"


def broken_declaration(bag: Path) -> None:
    (bag / "bagit.txt").write_bytes(b"BagIt-Version : 1.0\nTag-File-Character-Encoding: UTF-8\n")
    retag(bag)


def missing_from_one_manifest(bag: Path) -> None:
    manifest = bag / "manifest-sha256.txt"
    manifest.write_text("".join(manifest.read_text().splitlines(keepends=True)[1:]))
    retag(bag)


def unsafe_and_percent(bag: Path) -> None:
    with (bag / "manifest-sha512.txt").open("a") as manifest:
        manifest.write(f"{'0' * 128}  ../../etc/passwd\n{'0' * 128}  data/100%.txt\n")
    retag(bag)


def corrupted(bag: Path) -> None:
    (bag / "data" / "logs" / "capture-log.jsonl").write_bytes(b"{}\n")


@pytest.mark.parametrize(
    ("breaking", "lines", "kinds"),
    [
        (
            broken_declaration,
            [
                "bad-declaration: bagit.txt: line 1 must read 'BagIt-Version: …' exactly (no"
                " whitespace before the colon, one space after it, none at the end); it reads"
                " 'BagIt-Version : 1.0'"
            ],
            [("bad-declaration", "bagit.txt")],
        ),
        (
            missing_from_one_manifest,
            [
                "not-in-manifest: data/logs/capture-log.jsonl: listed in manifest-sha512.txt"
                " but not in manifest-sha256.txt"
            ],
            [("not-in-manifest", "data/logs/capture-log.jsonl")],
        ),
        (
            unsafe_and_percent,
            [
                "unsafe-path: ../../etc/passwd: manifest-sha512.txt line 4 names a path that"
                " climbs out with '..'",
                "bad-path-encoding: data/100%.txt: manifest-sha512.txt line 5 has a '%' not"
                " written as %25 (RFC 8493 §2.1.3 percent-encodes %, CR and LF)",
                "missing: data/100%.txt: listed in manifest-sha512.txt but not in the bag",
            ],
            [
                ("unsafe-path", "../../etc/passwd"),
                ("bad-path-encoding", "data/100%.txt"),
                ("missing", "data/100%.txt"),
            ],
        ),
        (
            corrupted,
            [
                f"oxum-mismatch: bag-info.txt: Payload-Oxum is {TOTAL}.3 ({TOTAL} bytes, 3 files);"
                f" data/ holds {TOTAL - len(LOG_BYTES) + 3}.3"
                f" ({TOTAL - len(LOG_BYTES) + 3} bytes, 3 files)",
                "checksum-mismatch: data/logs/capture-log.jsonl: manifest-sha256.txt gives"
                f" {hashlib.sha256(LOG_BYTES).hexdigest()}, the file's sha256 is"
                f" {hashlib.sha256(b'{}' + bytes([10])).hexdigest()}",
            ],
            [
                ("oxum-mismatch", "bag-info.txt"),
                ("checksum-mismatch", "data/logs/capture-log.jsonl"),
                ("checksum-mismatch", "data/logs/capture-log.jsonl"),
            ],
        ),
    ],
    ids=["declaration", "one-manifest", "unsafe-and-percent", "corrupted"],
)
def test_exit_1_lists_every_problem_in_text_and_json(
    tmp_path: Path, breaking: Any, lines: list[str], kinds: list[tuple[str, str]]
) -> None:
    bag = build_bag(tmp_path / "bag")
    breaking(bag)
    result = run("validate", bag)
    assert result.exit_code == 1
    count = len(kinds)
    assert result.stdout == f"{bag}: invalid ({count} problem{'s' if count > 1 else ''})\n"
    stderr = result.stderr.splitlines()
    assert stderr[: len(lines)] == [f"preserve: error: {bag}: {line}" for line in lines]
    assert len(stderr) == count

    as_json = run("validate", "--json", bag)
    assert as_json.exit_code == 1
    data = document(as_json)
    assert data["exit_code"] == 1
    (entry,) = data["bags"]
    assert (entry["valid"], entry["exit_code"], entry["mode"]) == (False, 1, "full")
    assert [(p["kind"], p["path"]) for p in entry["problems"]] == kinds
    assert as_json.stderr.splitlines() == stderr


def test_exit_1_fails_the_profile(tmp_path: Path) -> None:
    fields = [(k, v) for k, v in default_fields() if k != "External-Identifier"]
    bag = build_bag(tmp_path / "bag", fields=fields)
    assert run("validate", bag).exit_code == 0
    result = run("validate", "--profile", OWN_PROFILE, bag)
    assert result.exit_code == 1
    assert result.stdout == f"{bag}: invalid (1 problem; profile {OWN_PROFILE_IDENTIFIER})\n"
    assert "bag-info.txt lacks External-Identifier, which the profile requires" in result.stderr
    from_env = run("validate", bag, env={"PRESERVE_PROFILE": str(OWN_PROFILE)})
    assert from_env.exit_code == 1


def test_profile_problems_name_the_profile_once_then_one_per_line(tmp_path: Path) -> None:
    fields = [(k, v) for k, v in default_fields() if k != "External-Identifier"]
    bag = build_bag(tmp_path / "bag", fields=fields, algorithms=("sha512",))
    (bag / "bagit.txt").write_bytes(b"BagIt-Version : 1.0\nTag-File-Character-Encoding: UTF-8\n")
    retag(bag)
    result = run("validate", "--profile", OWN_PROFILE, bag)
    assert result.exit_code == 1
    assert result.stdout == f"{bag}: invalid (4 problems; profile {OWN_PROFILE_IDENTIFIER})\n"
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"preserve: error: {bag}: bad-declaration: bagit.txt: line 1 ")
    assert lines[1:] == [
        f"preserve: error: {bag}: does not meet the profile {OWN_PROFILE_IDENTIFIER}:",
        "  bag-info.txt lacks External-Identifier, which the profile requires",
        "  the profile requires manifest-sha256.txt; the bag has none",
        "  the profile requires tagmanifest-sha256.txt; the bag has none",
    ]
    assert "profile: profile" not in result.stderr
    assert result.stderr.count(OWN_PROFILE_IDENTIFIER) == 1
    entry = document(run("validate", "--json", "--profile", OWN_PROFILE, bag))["bags"][0]
    assert entry["profile"] == OWN_PROFILE_IDENTIFIER
    profile_messages = [p["message"] for p in entry["problems"] if p["kind"] == "profile"]
    assert profile_messages == [line.strip() for line in lines[2:]]


def test_profile_warnings_name_the_profile_once(tmp_path: Path) -> None:
    profile = json.loads(OWN_PROFILE.read_text())
    profile["Bag-Info"]["Contact-Email"] = {"recommended": True}
    profile["Other-Info"] = []
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    bag = build_bag(tmp_path / "bag")
    result = run("validate", "--profile", path, bag)
    assert result.exit_code == 0
    assert result.stdout == f"{bag}: valid (profile {OWN_PROFILE_IDENTIFIER}; 2 warnings)\n"
    assert result.stderr.splitlines() == [
        f"preserve: warning: {bag}: about the profile {OWN_PROFILE_IDENTIFIER}:",
        "  bag-info.txt lacks Contact-Email, which the profile recommends",
        "  the profile's Other-Info is not a 1.4.0 rule; not checked",
    ]
    assert run("-q", "validate", "--profile", path, bag).stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "{tmp}/absent"], "no such file or folder"),
        (["validate", "{tmp}/notes.zip"], "neither a bag folder nor a zip, tar or tar.gz file"),
        (["validate", "--profile", "{tmp}/notes.zip", "{tmp}/bag"], "is not JSON"),
        (["validate", "--profile", "{tmp}/absent.json", "{tmp}/bag"], "cannot read profile"),
        (["validate", "--fast", "--completeness-only", "{tmp}/bag"], "not both"),
        (["validate", "--processes", "0", "{tmp}/bag"], "0 is not in the range"),
        (["validate"], "Missing argument"),
    ],
)
def test_exit_2_usage_or_unreadable(tmp_path: Path, args: list[str], message: str) -> None:
    build_bag(tmp_path / "bag")
    (tmp_path / "notes.zip").write_text("not an archive")
    result = run(*[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_exit_2_for_a_folder_with_nothing_of_a_bag(tmp_path: Path) -> None:
    # As `info` does: bad input, one line, not an invalid bag.
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    for command in ("validate", "info"):
        result = run(command, folder)
        assert result.exit_code == 2, command
        (line,) = result.stderr.splitlines()
        assert line.startswith("preserve: error: "), command
    result = run("validate", folder)
    assert result.stderr == (
        f"preserve: error: {folder} is not a bag: it has no bagit.txt, no data/ and no manifest\n"
    )
    assert result.stdout == f"{folder}: not checked\n"
    entry = document(run("validate", "--json", folder))["bags"][0]
    assert (entry["exit_code"], entry["valid"]) == (2, False)
    assert entry["error"] == f"{folder} is not a bag: it has no bagit.txt, no data/ and no manifest"


def test_exit_1_for_a_bag_without_bagit_txt(tmp_path: Path) -> None:
    bag = build_bag(tmp_path / "bag")
    (bag / "bagit.txt").unlink()
    result = run("validate", bag)
    assert result.exit_code == 1
    assert result.stdout == f"{bag}: invalid (1 problem)\n"
    assert result.stderr == (
        f"preserve: error: {bag}: not-a-bag: bagit.txt: no bagit.txt, which every bag must have"
        " (RFC 8493 §2.1.1)\n"
    )


@needs_suite
def test_the_suite_s_bag_without_bagit_txt_stays_invalid() -> None:
    result = run("validate", SUITE / "v0.97" / "invalid" / "missing-bagit.txt")
    assert result.exit_code == 1
    assert "not-a-bag: bagit.txt" in result.stderr


def test_a_folder_of_bags_says_so_with_the_command(tmp_path: Path) -> None:
    bags = tmp_path / "bags"
    for name in ("a", "b", "c"):
        build_bag(bags / name)
    result = run("validate", bags)
    assert result.exit_code == 2
    assert result.stderr == (
        f"preserve: error: {bags} is not a bag: it has no bagit.txt, no data/ and no manifest"
        f" (it holds 3 bags: preserve validate {bags}/*)\n"
    )
    every = run("validate", *sorted(bags.iterdir()))
    assert every.exit_code == 0
    assert every.stdout.count(": valid\n") == 3


def test_several_bags_exit_with_the_worst(tmp_path: Path) -> None:
    good = build_bag(tmp_path / "good")
    bad = build_bag(tmp_path / "bad")
    corrupted(bad)
    archive = serialize_bag(build_bag(tmp_path / "zipped"), "zip").path
    result = run("validate", good, bad, archive)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{good}: valid",
        f"{bad}: invalid (3 problems)",
        f"{archive}: valid",
    ]
    with_missing = run("validate", "--json", good, tmp_path / "absent", bad)
    assert with_missing.exit_code == 2
    data = document(with_missing)
    assert [(b["bag"], b["exit_code"]) for b in data["bags"]] == [
        (str(good), 0),
        (str(tmp_path / "absent"), 2),
        (str(bad), 1),
    ]
    assert data["bags"][1]["error"].endswith("no such file or folder")
    assert data["software"].startswith("preserve/")


def test_json_of_an_archive(tmp_path: Path) -> None:
    archive = serialize_bag(build_bag(tmp_path / "bag"), "tar.gz").path
    entry = document(run("validate", "--json", "--profile", OWN_PROFILE, archive))["bags"][0]
    assert entry["serialization"] == "tar.gz"
    assert entry["profile"] == OWN_PROFILE_IDENTIFIER
    assert entry["valid"] is True
    assert entry["algorithms"] == ["sha256", "sha512"]


def test_exit_70_on_a_bug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    # The commands import these where they are used, so patch them where they live.
    monkeypatch.setattr("preserve.bag.validate.validate", broken)
    monkeypatch.setattr("preserve.bag.inspect.inspect_bag", broken)
    bag = build_bag(tmp_path / "bag")
    for command in ("validate", "info"):
        result = run(command, bag)
        assert result.exit_code == 70
        assert "Traceback" in result.stderr
        assert "RuntimeError: a bug" in result.stderr
        assert "internal error: this is a bug in preserve" in result.stderr


# --- info --------------------------------------------------------------------------------------

DC_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<qualifieddc xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">
  <dcterms:title>A 2001 News Page</dcterms:title>
  <dcterms:identifier>urn:uuid:00000000-0000-4000-8000-000000000000</dcterms:identifier>
  <dcterms:source>http://example.org/news/</dcterms:source>
  <dcterms:created>2024-05-01T00:00:00Z</dcterms:created>
</qualifieddc>
"""
LOG = (
    b"".join(
        json.dumps(record).encode() + b"\n"
        for record in [
            {"url": "http://example.org/news/", "role": "seed", "outcome": "captured"},
            {"url": "http://example.org/a.gif", "role": "requisite", "outcome": "captured"},
            {"url": "http://example.org/b.gif", "role": "requisite", "outcome": "captured"},
            {"url": "http://example.org/c.gif", "role": "requisite", "outcome": "failed"},
            {"url": "http://example.org/f.html", "role": "frame", "outcome": "captured"},
        ]
    )
    + b"not json\n"
)


def capture_like(tmp_path: Path) -> Path:
    files = {
        "data/web/example.org/news/index.html": b"<html></html>",
        "data/metadata/dc.xml": DC_XML,
        "data/logs/capture-log.jsonl": LOG,
    }
    return build_bag(tmp_path / "bag", files)


def test_info_of_our_bag(tmp_path: Path) -> None:
    bag = capture_like(tmp_path)
    result = run("info", bag)
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[:10] == [
        f"bag:           {bag}",
        "BagIt:         1.0 (UTF-8)",
        "title:         A 2001 News Page",
        "source:        http://example.org/news/",
        "page created:  2024-05-01T00:00:00Z",
        f"payload:       3 files, {sum(len(x) for x in (b'<html></html>', DC_XML, LOG)):,} bytes",
        "manifests:     sha256, sha512",
        "tag manifests: sha256, sha512",
        f"profile:       {OWN_PROFILE_IDENTIFIER}",
        "capture:       1 page, 1 frame, 2 requisites captured (1 failed, 0 skipped)",
    ]
    assert lines[10] == "bag-info:"
    assert "  Bag-Software-Agent: preserve/0.1.0" in lines


def test_info_json_of_an_archive(tmp_path: Path) -> None:
    archive = serialize_bag(capture_like(tmp_path), "zip").path
    result = run("info", "--json", archive)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["bag"] == str(archive)
    assert data["serialization"] == "zip"
    assert data["title"] == "A 2001 News Page"
    assert data["capture"]["pages"] == 1
    assert data["capture"]["counts"]["requisite"] == {"captured": 2, "failed": 1}
    assert data["profile_identifiers"] == [OWN_PROFILE_IDENTIFIER]
    assert ["Bagging-Date", "2024-05-01"] in data["bag_info"]


@needs_suite
def test_info_of_another_tool_s_bag() -> None:
    bag = SUITE / "v0.97" / "valid" / "UTF-16-encoded-tag-files"
    result = run("info", "--json", bag)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["bagit_version"], data["tag_file_encoding"]) == ("0.97", "UTF-16")
    assert ["Contact-Name", "Chris Adams"] in data["bag_info"]
    assert data["capture"] is None
    assert data["title"] is None


@pytest.mark.parametrize("name", ["absent", "notes.txt", "folder"])
def test_info_exit_2(tmp_path: Path, name: str) -> None:
    (tmp_path / "notes.txt").write_text("text")
    (tmp_path / "folder").mkdir()
    result = run("info", tmp_path / name)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("preserve: error: ")
