"""The Python API the commands are a thin layer over: describe, export_wacz, capture_many."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import preserve
from preserve.cli import main

from .conftest import ROOT, Server

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def captured(site: Server, tmp_path: Path) -> preserve.CaptureResult:
    """A bag of the example site with its linked pages, captured through the API."""
    options = preserve.CaptureOptions(depth=1)
    return preserve.capture(site.url("/"), tmp_path / "bags", options)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- the package ------------------------------------------------------------------------------


def test_import_preserve_loads_what_a_name_needs_only_when_it_is_used() -> None:
    probe = (
        "import sys\n"
        "import preserve\n"
        "heavy = ('requests', 'lxml', 'click', 'preserve.capture.run', 'preserve.bag.inspect',"
        " 'preserve.bag.validate', 'preserve.wacz', 'preserve.metadata')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
        "preserve.describe, preserve.export_wacz\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    on_import, after_use = done.stdout.splitlines()
    assert on_import == ""
    # describe loads the bag reader when called, not when named; export_wacz is its module's.
    assert "preserve.wacz" in after_use.split(",")
    assert "preserve.bag.inspect" not in after_use.split(",")
    assert "requests" not in after_use.split(",")


def test_every_public_name_exists_and_readme_documents_it() -> None:
    section = README.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    for name in preserve.__all__:
        assert getattr(preserve, name) is not None, name
        assert re.search(rf"\b{re.escape(name)}\b", section), f"README's Python API: {name}"


# --- describe ---------------------------------------------------------------------------------


def test_describe_is_what_info_prints(captured: preserve.CaptureResult, site: Server) -> None:
    bag = captured.bag_path
    description = preserve.describe(bag)
    assert isinstance(description, preserve.BagDescription)
    assert description.path == bag
    assert description.serialization is None
    assert description.bagit_version == "1.0"
    assert description.title == captured.title
    assert description.source == site.url("/")
    assert description.values("External-Identifier") == [captured.capture_id]
    payload = [p for p in (bag / "data").rglob("*") if p.is_file()]
    assert description.payload_files == len(payload)
    assert description.payload_bytes == sum(p.stat().st_size for p in payload)
    assert description.algorithms == ("sha256", "sha512")
    assert description.capture is not None
    pages = captured.count(role="seed", outcome="captured") + captured.count(
        role="page", outcome="captured"
    )
    assert pages > 1
    assert description.capture.pages == pages
    assert description.capture.count("requisite", "captured") == captured.count(
        role="requisite", outcome="captured"
    )
    with pytest.raises(AttributeError):
        description.title = "changed"  # type: ignore[misc]
    # `info` adds nothing of its own: its JSON is to_dict(), its text is text().
    code, out, _ = invoke("info", "--json", str(bag))
    assert code == 0
    assert json.loads(out) == description.to_dict()
    code, out, _ = invoke("info", str(bag))
    assert code == 0
    assert out == description.text() + "\n"


def test_describe_reads_a_serialised_bag_in_place(site: Server, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(serialize="zip")
    result = preserve.capture(site.url("/"), tmp_path / "bags", options)
    description = preserve.describe(result.bag_path)
    assert description.serialization == "zip"
    assert description.title == result.title
    assert description.values("Internal-Sender-Identifier") == [site.url("/")]
    assert [p.name for p in (tmp_path / "bags").iterdir()] == [result.bag_path.name]


def test_describe_refuses_what_is_not_a_bag(tmp_path: Path) -> None:
    with pytest.raises(preserve.BadInput, match="no such file or folder") as missing:
        preserve.describe(tmp_path / "absent")
    assert missing.value.exit_code == 2
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.txt").write_text("not a bag")
    with pytest.raises(preserve.BadInput, match="is not a bag"):
        preserve.describe(tmp_path / "folder")


# --- export_wacz ------------------------------------------------------------------------------


def test_export_wacz_returns_what_it_wrote(
    captured: preserve.CaptureResult, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "site.wacz"
    result = preserve.export_wacz(captured.bag_path, target)
    assert isinstance(result, preserve.WaczSummary)
    assert result.path == target
    assert result.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    warcs = sorted(p.name for p in (captured.bag_path / "data" / "warc").glob("*.warc.gz"))
    assert list(result.warcs) == warcs
    pages = captured.count(role="seed", outcome="captured") + captured.count(
        role="page", outcome="captured"
    )
    assert result.pages == pages
    with zipfile.ZipFile(target) as archive:
        assert sorted(n for n in archive.namelist() if n.startswith("archive/")) == [
            f"archive/{w}" for w in warcs
        ]
        listed = archive.read("pages/pages.jsonl").splitlines()[1:]
    assert len(listed) == result.pages


def test_export_wacz_raises_the_errors_export_exits_with(site: Server, tmp_path: Path) -> None:
    bag = preserve.capture(site.url("/"), tmp_path / "bags").bag_path
    taken = tmp_path / "taken.wacz"
    taken.write_bytes(b"mine")
    with pytest.raises(preserve.PackagingFailed, match="already exists") as exists:
        preserve.export_wacz(bag, taken)
    assert exists.value.exit_code == 4
    assert taken.read_bytes() == b"mine"

    files_only = preserve.CaptureOptions(payload="files")
    no_warc = preserve.capture(site.url("/"), tmp_path / "files", files_only).bag_path
    with pytest.raises(preserve.BadInput, match="holds no WARC") as refused:
        preserve.export_wacz(no_warc, tmp_path / "a.wacz")
    assert refused.value.exit_code == 2

    warc = next((bag / "data" / "warc").glob("*.warc.gz"))
    original = warc.read_bytes()
    warc.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    with pytest.raises(preserve.InvalidBag, match="does not match") as changed:
        preserve.export_wacz(bag, tmp_path / "b.wacz")
    assert changed.value.exit_code == 1
    assert not (tmp_path / "a.wacz").exists()
    assert not (tmp_path / "b.wacz").exists()


def test_a_damaged_capture_log_or_index_is_bad_input_not_a_bug(
    captured: preserve.CaptureResult, tmp_path: Path
) -> None:
    log = captured.bag_path / "data" / "logs" / "capture-log.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    for n, damage in enumerate((b"{not json\n", b"[1, 2]\n", b"\xff\xfe\n")):
        log.write_bytes(b"".join(lines[:2]) + damage + b"".join(lines[2:]))
        target = tmp_path / "out" / f"{n}.wacz"
        with pytest.raises(preserve.BadInput, match=r"capture-log\.jsonl line 3 cannot be read"):
            preserve.export_wacz(captured.bag_path, target)
        assert not (tmp_path / "out").exists()
    code, out, err = invoke("export", str(captured.bag_path), "--wacz", str(target))
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    assert err.count("\n") == 1
    log.write_bytes(b"".join(lines))
    index = next((captured.bag_path / "data" / "warc").glob("*.cdxj"))
    index.write_bytes(index.read_bytes() + b"\xff\n")
    with pytest.raises(preserve.BadInput, match=r"\.cdxj cannot be read: it is not UTF-8"):
        preserve.export_wacz(captured.bag_path, target)
    assert not (tmp_path / "out").exists()


# --- capture_many -----------------------------------------------------------------------------


def test_capture_many_gives_one_outcome_per_seed_in_order(site: Server, tmp_path: Path) -> None:
    seeds = [site.url("/"), site.url("/gone.html"), site.url("/gallery.html")]
    heard: list[preserve.CaptureResult | preserve.SeedFailure] = []
    records: list[preserve.LogRecord] = []
    outcomes = preserve.capture_many(
        seeds, tmp_path / "bags", observer=records.append, on_outcome=heard.append
    )
    assert heard == outcomes
    first, gone, gallery = outcomes
    assert isinstance(first, preserve.CaptureResult)
    assert isinstance(gallery, preserve.CaptureResult)
    assert (first.seed, gallery.seed) == (seeds[0], seeds[2])
    assert isinstance(gone, preserve.SeedFailure)
    assert gone.seed == seeds[1]
    assert gone.exit_code == preserve.FetchFailed.exit_code
    assert "404" in gone.message
    assert sorted(p.name for p in (tmp_path / "bags").iterdir()) == sorted(
        [first.bag_path.name, gallery.bag_path.name]
    )
    # The observer hears every URL of the bags written, as the command's -v lines do.
    assert {r.url for r in records} >= {seeds[0], seeds[2], *(r.url for r in first.records)}


def test_capture_many_checks_every_seed_before_the_first_request(
    site: Server, tmp_path: Path
) -> None:
    with pytest.raises(preserve.BadInput) as refused:
        preserve.capture_many([site.url("/"), "ftp://example.org/"], tmp_path / "bags")
    assert refused.value.exit_code == 2
    assert site.requests == []
    assert not (tmp_path / "bags").exists()
