"""`preserve export BAG --wacz FILE`: a WACZ the wacz package's validator accepts."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner

import preserve
from preserve.cli import main
from preserve.wacz import export_wacz

from .conftest import Server
from .test_validate import build_bag
from .warc_reading import log_entries, warc_of


def wacz_validate(path: Path) -> tuple[bool, str]:
    """Run the wacz package's validator; return whether it passed and what it printed.

    A subprocess (frictionless warns on import). Its verdict is read from its output:
    `python -m wacz validate` exits 0 even when it reports an invalid WACZ.
    """
    done = subprocess.run(
        [sys.executable, "-m", "wacz", "validate", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    text = done.stdout + done.stderr
    passed = done.returncode == 0 and "Validation succeeded" in text and "failed" not in text
    return passed, text


@pytest.fixture
def bag(site: Server, tmp_path: Path) -> Path:
    result = preserve.capture(site.url("/"), tmp_path / "bags", preserve.CaptureOptions(depth=1))
    return result.bag_path


def test_export_writes_a_valid_wacz_listing_every_page(bag: Path, tmp_path: Path) -> None:
    target = tmp_path / "capture.wacz"
    result = CliRunner().invoke(main, ["export", str(bag), "--wacz", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(target)
    passed, printed = wacz_validate(target)
    assert passed, printed
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        warc = warc_of(bag)
        info = archive.getinfo(f"archive/{warc.name}")
        assert info.compress_type == zipfile.ZIP_STORED
        assert archive.read(info.filename) == warc.read_bytes()
        assert {"indexes/index.cdxj", "pages/pages.jsonl", "datapackage.json"} <= set(names)
        assert "datapackage-digest.json" in names
        pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").splitlines()]
        package = json.loads(archive.read("datapackage.json"))
        index = archive.read("indexes/index.cdxj").decode()
    assert pages[0]["format"] == "json-pages-1.0"
    expected = {
        e["url"]
        for e in log_entries(bag)
        if e["role"] in ("seed", "page") and e["outcome"] == "captured"
    }
    assert len(expected) >= 5
    assert {p["url"] for p in pages[1:]} == expected
    assert all(p["ts"] for p in pages[1:])
    assert pages[1]["title"] == package["title"]
    assert package["wacz_version"] == "1.1.1"
    assert package["mainPageUrl"] == pages[1]["url"]
    assert index == (warc.with_name(warc.name.removesuffix(".warc.gz") + ".cdxj")).read_text()


def test_the_validator_notices_a_changed_wacz(bag: Path, tmp_path: Path) -> None:
    target = tmp_path / "capture.wacz"
    export_wacz(bag, target)
    changed = tmp_path / "changed.wacz"
    with zipfile.ZipFile(target) as source, zipfile.ZipFile(changed, "w") as copy:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "pages/pages.jsonl":
                data += b'{"url": "http://example.org/", "ts": "2001-01-01T00:00:00Z"}\n'
            copy.writestr(item, data)
    passed, printed = wacz_validate(changed)
    assert not passed
    assert "pages.jsonl" in printed


def test_a_serialised_bag_exports_too(site: Server, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(serialize="zip")
    result = preserve.capture(site.url("/"), tmp_path / "bags", options)
    summary = export_wacz(result.bag_path, tmp_path / "from-zip.wacz")
    assert summary.pages == 1
    passed, printed = wacz_validate(summary.path)
    assert passed, printed


def test_export_refusals(site: Server, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(payload="files")
    files_only = preserve.capture(site.url("/"), tmp_path / "bags", options).bag_path
    runner = CliRunner()
    result = runner.invoke(main, ["export", str(files_only), "--wacz", str(tmp_path / "a.wacz")])
    assert result.exit_code == 2
    assert "holds no WARC" in result.stderr
    assert not (tmp_path / "a.wacz").exists()
    taken = tmp_path / "taken.wacz"
    taken.write_bytes(b"mine")
    with_warc = preserve.capture(site.url("/"), tmp_path / "more").bag_path
    result = runner.invoke(main, ["export", str(with_warc), "--wacz", str(taken)])
    assert result.exit_code == 4
    assert taken.read_bytes() == b"mine"
    result = runner.invoke(main, ["export", str(tmp_path / "nothing"), "--wacz", "x.wacz"])
    assert result.exit_code == 2
    assert list(tmp_path.glob(".*partial*")) == []


def test_a_warc_that_differs_from_the_manifest_is_refused(bag: Path, tmp_path: Path) -> None:
    warc = warc_of(bag)
    data = bytearray(warc.read_bytes())
    data[-1] ^= 0xFF
    warc.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["export", str(bag), "--wacz", str(tmp_path / "x.wacz")])
    assert result.exit_code == 1
    assert "does not match" in result.stderr
    assert not (tmp_path / "x.wacz").exists()


def test_a_bag_made_by_another_tool_is_said_to_have_no_warc(tmp_path: Path) -> None:
    bag = tmp_path / "other"
    bag.mkdir()
    (bag / "report.txt").write_text("not from preserve")
    bagit.make_bag(str(bag))
    target = tmp_path / "other.wacz"
    result = CliRunner().invoke(main, ["export", str(bag), "--wacz", str(target)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"preserve: error: {bag} holds no WARC under data/warc/ (a bag made by another tool,"
        " or captured with --payload files)\n"
    )
    assert "was captured" not in result.stderr
    assert not target.exists()


def test_a_folder_that_is_no_bag_is_refused_as_validate_refuses_it(tmp_path: Path) -> None:
    runner = CliRunner()
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("hello")
    result = runner.invoke(main, ["export", str(notes), "--wacz", str(tmp_path / "x.wacz")])
    assert result.exit_code == 2
    assert result.stderr == (
        f"preserve: error: {notes} is not a bag: it has no bagit.txt, no data/ and no manifest\n"
    )
    bags = tmp_path / "bags"
    build_bag(bags / "one")
    build_bag(bags / "two")
    result = runner.invoke(main, ["export", str(bags), "--wacz", str(tmp_path / "x.wacz")])
    assert result.exit_code == 2
    assert "(it holds 2 bags: export them one at a time)" in result.stderr
    assert not (tmp_path / "x.wacz").exists()


def test_missing_folders_above_the_wacz_are_created(bag: Path, tmp_path: Path) -> None:
    target = tmp_path / "exports" / "2024" / "capture.wacz"
    result = CliRunner().invoke(main, ["export", str(bag), "--wacz", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["capture.wacz"]
    passed, printed = wacz_validate(target)
    assert passed, printed
    again = CliRunner().invoke(main, ["export", str(bag), "--wacz", str(target)])
    assert again.exit_code == 4
    assert "already exists" in again.stderr


def test_a_failed_export_leaves_no_folder_it_made(bag: Path, tmp_path: Path) -> None:
    warc = warc_of(bag)
    data = bytearray(warc.read_bytes())
    data[-1] ^= 0xFF
    warc.write_bytes(bytes(data))
    target = tmp_path / "exports" / "2024" / "capture.wacz"
    result = CliRunner().invoke(main, ["export", str(bag), "--wacz", str(target)])
    assert result.exit_code == 1
    assert not (tmp_path / "exports").exists()


def test_a_file_in_the_way_of_the_folder_is_exit_4(bag: Path, tmp_path: Path) -> None:
    (tmp_path / "exports").write_text("a file, not a folder")
    target = tmp_path / "exports" / "capture.wacz"
    result = CliRunner().invoke(main, ["export", str(bag), "--wacz", str(target)])
    assert result.exit_code == 4
    assert result.stderr == (
        f"preserve: error: cannot write into {tmp_path / 'exports'}: it is not a folder\n"
    )
    assert (tmp_path / "exports").read_text() == "a file, not a folder"
    deeper = tmp_path / "exports" / "2024" / "capture.wacz"
    result = CliRunner().invoke(main, ["export", str(bag), "--wacz", str(deeper)])
    assert result.exit_code == 4
    assert result.stderr == (
        f"preserve: error: cannot write into {tmp_path / 'exports'}: it is not a folder\n"
    )
    assert list(tmp_path.glob("**/.*partial*")) == []
