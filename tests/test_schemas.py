"""What preserve writes is valid against the schemas in `schemas/`, in every payload mode."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from preserve.cli import main

from .conftest import ROOT, Server


def schema(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("payload", ["both", "files", "warc"])
def test_capture_log_and_report_valid_in_every_payload_mode(
    payload: str, site: Server, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["-q", "capture", site.url("/"), "-o", str(out), "--depth", "1", "--payload", payload]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    jsonschema.validate(report, schema("capture-report.schema.json"))
    (bag,) = out.iterdir()
    entries = [
        json.loads(line)
        for line in (bag / "data/logs/capture-log.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    log_schema = schema("capture-log.schema.json")
    validator = jsonschema.Draft202012Validator(log_schema)
    problems = [(e["url"], err.message) for e in entries for err in validator.iter_errors(e)]
    assert problems == []
    captured = [e for e in entries if e["outcome"] == "captured"]
    assert len(captured) > 30
    # Files are named in the log exactly when the mode writes them.
    with_path = [e for e in captured if "payload_path" in e]
    assert len(with_path) == (0 if payload == "warc" else len(captured))
    for entry in with_path:
        assert (bag / entry["payload_path"]).is_file()


def test_a_captured_record_without_size_is_refused_by_the_schema() -> None:
    record = {"url": "http://x.test/", "role": "seed", "outcome": "captured", "depth": 0}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, schema("capture-log.schema.json"))
