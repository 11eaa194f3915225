"""Capture options that shape the package: profiles, serialisation, user metadata, --strict."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner, Result
from lxml import etree

import preserve
from preserve.capture.finish import PROFILE_IDENTIFIER
from preserve.cli import main

from .conftest import ROOT, Server

PROFILES = ROOT / "tests" / "fixtures" / "profiles"
BTR = PROFILES / "btr-bagit-profile.json"
BTR_ID = "https://github.com/dpscollaborative/btr_bagit_profile/releases/download/1.0/btr-bagit-profile.json"
DCTERMS = "{http://purl.org/dc/terms/}"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def profile_lines(bag: Path) -> list[str]:
    text = (bag / "bag-info.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.startswith("BagIt-Profile-Identifier: ")]


def test_profile_refuses_options_before_fetching_with_every_reason(
    http: Server, tmp_path: Path
) -> None:
    http.route("/", body=b"<title>x</title>", headers={"Content-Type": "text/html"})
    result = run(
        "capture",
        http.url("/"),
        "-o",
        str(tmp_path / "out"),
        "--profile",
        str(BTR),
        "--checksum",
        "sha384",
    )
    assert result.exit_code == 2
    assert "Source-Organization" in result.stderr
    assert "sha384" in result.stderr
    assert http.requests == []
    assert not (tmp_path / "out").exists()


def test_profile_met_is_declared_and_validates(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b"<title>x</title>", headers={"Content-Type": "text/html"})
    result = run(
        "-q",
        "capture",
        http.url("/"),
        "-o",
        str(tmp_path),
        "--profile",
        str(BTR),
        "--source-organization",
        "Test Archive",
    )
    assert result.exit_code == 0, result.stderr
    bag = Path(result.stdout.strip())
    assert profile_lines(bag) == [
        f"BagIt-Profile-Identifier: {PROFILE_IDENTIFIER}",
        f"BagIt-Profile-Identifier: {BTR_ID}",
    ]
    checked = run("validate", str(bag), "--profile", str(BTR))
    assert checked.exit_code == 0, checked.stderr
    own = run("validate", str(bag), "--profile", str(ROOT / "schemas" / "bagit-profile.json"))
    assert own.exit_code == 0, own.stderr


def test_without_sha512_and_sha256_the_own_profile_is_not_declared(
    http: Server, tmp_path: Path
) -> None:
    http.route("/", body=b"<title>x</title>", headers={"Content-Type": "text/html"})
    result = preserve.capture(http.url("/"), tmp_path, preserve.CaptureOptions(checksums=("md5",)))
    assert profile_lines(result.bag_path) == []
    assert (result.bag_path / "manifest-md5.txt").is_file()
    bagit.Bag(str(result.bag_path)).validate()


def test_serialize_zip_writes_one_file_that_validates(site: Server, tmp_path: Path) -> None:
    result = run("capture", site.url("/"), "-o", str(tmp_path), "--serialize", "zip", "--json")
    assert result.exit_code == 0, result.stderr
    (written,) = json.loads(result.stdout)["captures"]
    archive = Path(written["bag"])
    assert [p.name for p in tmp_path.iterdir()] == [archive.name]
    assert archive.suffix == ".zip"
    assert written["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert f"sha256 {written['sha256']}" in result.stderr
    with zipfile.ZipFile(archive) as bundle:
        tops = {name.split("/")[0] for name in bundle.namelist()}
    assert tops == {archive.name.removesuffix(".zip")}
    checked = run("validate", str(archive))
    assert checked.exit_code == 0, checked.stderr


def test_serialize_tar_gz_from_the_api(site: Server, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(serialize="tar.gz", name="example")
    result = preserve.capture(site.url("/"), tmp_path, options)
    assert result.bag_path == tmp_path / "example.tar.gz"
    assert result.sha256 == hashlib.sha256(result.bag_path.read_bytes()).hexdigest()
    assert preserve.validate(result.bag_path).valid


def test_dc_and_metadata_file_override_the_page(site: Server, tmp_path: Path) -> None:
    extra = tmp_path / "meta.json"
    extra.write_text(json.dumps({"subject": ["Karachi", "2001"]}), encoding="utf-8")
    result = run(
        "-q",
        "capture",
        site.url("/"),
        "-o",
        str(tmp_path / "out"),
        "--dc",
        "title=Archived news of October 2001",
        "--metadata",
        str(extra),
    )
    assert result.exit_code == 0, result.stderr
    bag = Path(result.stdout.strip())
    record = etree.parse(str(bag / "data/metadata/dc.xml"))
    assert record.findtext(f"{DCTERMS}title") == "Archived news of October 2001"
    alternatives = [e.text for e in record.iter(f"{DCTERMS}alternative")]
    assert "MQM - News and Statements, October 2001" in alternatives
    assert [e.text for e in record.iter(f"{DCTERMS}subject")] == ["Karachi", "2001"]
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    assert "Internal-Sender-Description: Archived news of October 2001\n" in info


def test_bad_metadata_file_exits_2_naming_the_field(site: Server, tmp_path: Path) -> None:
    extra = tmp_path / "meta.json"
    extra.write_text(json.dumps({"issued": "15/10/2001"}), encoding="utf-8")
    result = run("capture", site.url("/"), "-o", str(tmp_path / "out"), "--metadata", str(extra))
    assert result.exit_code == 2
    assert "issued" in result.stderr
    assert site.requests == []


def test_metadata_in_a_tag_folder(site: Server, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(metadata_location="tag")
    result = preserve.capture(site.url("/"), tmp_path, options)
    bag = result.bag_path
    assert not (bag / "data" / "metadata").exists()
    for name in ("dc.xml", "oai_dc.xml", "premis.xml", "metadata.csv"):
        assert (bag / "metadata" / name).is_file()
    tags = (bag / "tagmanifest-sha256.txt").read_text(encoding="utf-8")
    assert "  metadata/dc.xml\n" in tags
    bagit.Bag(str(bag)).validate()


def test_strict_ignores_failed_linked_pages(http: Server, tmp_path: Path) -> None:
    http.route(
        "/",
        body=b'<title>x</title><a href="/gone.html">gone</a>',
        headers={"Content-Type": "text/html"},
    )
    options = preserve.CaptureOptions(strict=True, depth=1)
    result = preserve.capture(http.url("/"), tmp_path, options)
    failed = [(r.url, r.role) for r in result.records if r.outcome == "failed"]
    assert failed == [(http.url("/gone.html"), "page")]


def test_bdbag_style_profile_with_md5_gives_a_conforming_bag(site: Server, tmp_path: Path) -> None:
    published = json.loads((PROFILES / "bdbag-profile.json").read_text(encoding="utf-8"))
    published["Accept-BagIt-Version"] = ["0.97", "1.0"]
    profile = tmp_path / "bdbag-1.0.json"
    profile.write_text(json.dumps(published), encoding="utf-8")
    identifier = published["BagIt-Profile-Info"]["BagIt-Profile-Identifier"]
    out = tmp_path / "out"
    refused = run("capture", site.url("/"), "-o", str(out), "--profile", str(profile))
    assert refused.exit_code == 2
    assert "md5" in refused.stderr
    assert "serialis" in refused.stderr
    made = run(
        "-q",
        "capture",
        site.url("/"),
        "-o",
        str(out),
        "--profile",
        str(profile),
        "--checksum",
        "md5",
        "--checksum",
        "sha256",
        "--serialize",
        "zip",
    )
    assert made.exit_code == 0, made.stderr
    archive = Path(made.stdout.strip())
    assert archive.suffix == ".zip"
    checked = run("validate", str(archive), "--profile", str(profile))
    assert checked.exit_code == 0, checked.stderr
    report = preserve.validate(archive, profile=profile)
    assert report.valid
    assert report.profile == identifier
    assert sorted(report.algorithms) == ["md5", "sha256"]


@pytest.mark.parametrize(
    ("choice", "named"), [(["md5"], "md5"), (["sha1"], "sha1"), (["md5", "sha1"], "md5 and sha1")]
)
def test_weak_checksums_alone_warn_and_the_capture_goes_on(
    http: Server, tmp_path: Path, choice: list[str], named: str
) -> None:
    http.route("/", body=b"<title>x</title>", headers={"Content-Type": "text/html"})
    flags = [arg for alg in choice for arg in ("--checksum", alg)]
    result = run("capture", http.url("/"), "-o", str(tmp_path), *flags)
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "preserve: warning" in line]
    assert warnings == [
        f"preserve: warning: --checksum {named} alone is weak for preservation: a file can be "
        "altered to keep the same digest (add --checksum sha256 or sha512)"
    ]
    bag = Path(result.stdout.strip())
    assert sorted(p.name for p in bag.glob("manifest-*.txt")) == [
        f"manifest-{alg}.txt" for alg in sorted(choice)
    ]


def test_weak_checksum_warning_is_hidden_by_quiet_and_absent_beside_a_strong_one(
    http: Server, tmp_path: Path
) -> None:
    http.route("/", body=b"<title>x</title>", headers={"Content-Type": "text/html"})
    quiet = run("capture", http.url("/"), "-o", str(tmp_path / "a"), "--checksum", "md5", "-q")
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    mixed = run(
        "capture", http.url("/"), "-o", str(tmp_path / "b"), "--checksum", "md5",
        "--checksum", "sha256",
    )  # fmt: skip
    assert mixed.exit_code == 0
    assert "preserve: warning" not in mixed.stderr


@pytest.mark.parametrize("serialize", [[], ["--serialize", "zip"], ["--serialize", "tar.gz"]])
def test_bag_paths_are_absolute_from_a_relative_output(
    http: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serialize: list[str]
) -> None:
    http.route("/", body=b"<title>x</title>", headers={"Content-Type": "text/html"})
    monkeypatch.chdir(tmp_path)
    plain = run("capture", http.url("/"), "-o", "rel", "--name", "b", *serialize)
    assert plain.exit_code == 0, plain.stderr
    suffix = {"zip": ".zip", "tar.gz": ".tar.gz"}.get(serialize[-1] if serialize else "", "")
    expected = tmp_path / "rel" / f"b{suffix}"
    assert plain.stdout == f"{expected}\n"
    assert f"bag: {expected}\n" in plain.stderr
    as_json = run("-q", "capture", http.url("/"), "-o", "rel", "--name", "c", "--json", *serialize)
    (written,) = json.loads(as_json.stdout)["captures"]
    assert written["bag"] == str(tmp_path / "rel" / f"c{suffix}")
