"""README's batch example runs as written: a CSV of the example site's pages, run twice."""

from __future__ import annotations

import json
import re
from pathlib import Path

import bagit

from .conftest import ROOT, free_port
from .test_readme import run_example

README = (ROOT / "README.md").read_text(encoding="utf-8")


def batch_example() -> str:
    """Return the shell block of README's "Batch ingestion" section."""
    section = README.split("\n## Batch ingestion\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1
    return str(blocks[0])


def test_the_batch_example_runs_as_written(tmp_path: Path) -> None:
    commands = batch_example()
    # The port is the only thing changed: 8001 may be taken where the tests run.
    port = str(free_port())
    assert "8001" in commands
    stdout, stderr = run_example(commands.replace("8001", port), tmp_path, timeout=120)
    # The first run: a line per row; the second: nothing to do; then validate's verdicts.
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert sorted(line["id"] for line in lines) == ["front", "gallery", "karachi", "rally"]
    assert "4 done, 0 failed, 0 already done" in stderr
    assert "0 done, 0 failed, 4 already done" in stderr
    assert "archive/mqm-front: valid" in stdout
    assert "archive/mqm-gallery: valid" in stdout
    report = (tmp_path / "report.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in report] == ["front", "rally", "karachi", "gallery"]
    archive = tmp_path / "archive"
    assert sorted(p.name for p in archive.iterdir() if not p.name.startswith(".")) == [
        "mqm-front",
        "mqm-gallery",
        "mqm-karachi",
        "mqm-rally",
    ]
    front = archive / "mqm-front"
    bagit.Bag(str(front)).validate()
    dc = (front / "data" / "metadata" / "dc.xml").read_text(encoding="utf-8")
    assert "<dcterms:title>MQM news and statements, October 2001</dcterms:title>" in dc
    assert "<dcterms:isPartOf>MQM website 2001</dcterms:isPartOf>" in dc
    info = (front / "bag-info.txt").read_text(encoding="utf-8")
    assert "Collection-Code: MQM-2001\n" in info
    assert "Source-Organization: City Archive\n" in info
    gallery = next(line for line in lines if line["id"] == "gallery")
    assert gallery["counts"]["media"] == 7
