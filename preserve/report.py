"""What a capture tells its reader: capture-log lines, the run's JSON document, the summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from preserve._version import __version__
from preserve.models import CaptureResult, LogRecord

LOG_SCHEMA_ID = "capture-log.schema.json"
REPORT_SCHEMA_ID = "capture-report.schema.json"


def record_dict(record: LogRecord) -> dict[str, Any]:
    """Return a capture-log record as a JSON-ready dict, leaving out empty fields."""
    data: dict[str, Any] = {
        "url": record.url,
        "role": record.role,
        "outcome": record.outcome,
        "depth": record.depth,
    }
    optional: dict[str, Any] = {
        "referrer": record.referrer,
        "via": record.via,
        "final_url": record.final_url,
        "redirects": list(record.redirects) or None,
        "status": record.status,
        "headers": [list(h) for h in record.headers] or None,
        "content_type": record.content_type,
        "size": record.size,
        "digests": record.digests or None,
        "received_size": record.received_size,
        "received_digests": record.received_digests or None,
        "payload_path": record.payload_path,
        "started": record.started,
        "error": record.error,
        "reason": record.reason,
        "received_bytes": record.received_bytes,
        "tls_unverified": record.tls_unverified or None,
        "note": record.note,
    }
    data.update({k: v for k, v in optional.items() if v is not None})
    return data


def capture_log(records: Sequence[LogRecord]) -> bytes:
    """Return the capture log: one JSON object per line, in the order URLs were found."""
    lines = [json.dumps(record_dict(r), ensure_ascii=False, sort_keys=False) for r in records]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def result_dict(result: CaptureResult) -> dict[str, Any]:
    """Return one capture's summary for the run's JSON document."""
    missing = [
        {"url": r.url, "role": r.role, "error": r.error, "status": r.status}
        for r in result.records
        if r.outcome == "failed"
    ]
    skipped = [
        {"url": r.url, "role": r.role, "reason": r.reason, "detail": r.error}
        for r in result.records
        if r.outcome == "skipped"
    ]
    document: dict[str, Any] = {
        "seed": result.seed,
        "ok": True,
        "bag": str(result.bag_path),
        "capture_id": result.capture_id,
        "title": result.title,
        "pages": result.count(role="seed") + result.count(role="page", outcome="captured"),
        "frames": result.count(role="frame", outcome="captured"),
        "requisites": {
            "captured": result.count(role="requisite", outcome="captured"),
            "failed": result.count(role="requisite", outcome="failed"),
            "skipped": result.count(role="requisite", outcome="skipped"),
        },
        "media": {
            "captured": result.count(role="media", outcome="captured"),
            "failed": result.count(role="media", outcome="failed"),
            "skipped": result.count(role="media", outcome="skipped"),
        },
        "payload_bytes": result.payload_bytes,
        "seconds": round(result.seconds, 3),
        "failed": missing,
        "skipped": skipped,
    }
    if result.sha256 is not None:
        document["sha256"] = result.sha256
    if result.notes:
        document["notes"] = list(result.notes)
    return document


@dataclass(frozen=True, slots=True)
class SeedFailure:
    """A seed whose capture did not produce a bag, with the reason and exit code.

    `attempted` is False for a seed never started (the run was interrupted before it).
    """

    seed: str
    message: str
    exit_code: int
    attempted: bool = True


def failure_dict(failure: SeedFailure) -> dict[str, Any]:
    """Return a seed without a bag as the run's JSON document lists it."""
    document: dict[str, Any] = {
        "seed": failure.seed,
        "ok": False,
        "error": failure.message,
        "exit_code": failure.exit_code,
    }
    if not failure.attempted:
        document["attempted"] = False
    return document


def run_document(outcomes: Sequence[CaptureResult | SeedFailure], exit_code: int) -> dict[str, Any]:
    """Return the JSON document `capture --json` prints: one entry per seed, in order."""
    return {
        "software": f"preserve/{__version__}",
        "exit_code": exit_code,
        "captures": [
            failure_dict(o) if isinstance(o, SeedFailure) else result_dict(o) for o in outcomes
        ],
    }


def summary_text(result: CaptureResult) -> str:
    """Return the few lines a person reads after a capture."""
    req_ok = result.count(role="requisite", outcome="captured")
    req_failed = result.count(role="requisite", outcome="failed")
    req_skipped = result.count(role="requisite", outcome="skipped")
    pages = result.count(role="seed") + result.count(role="page", outcome="captured")
    frames = result.count(role="frame", outcome="captured")
    media = result.count(role="media", outcome="captured")
    left_out = result.count(outcome="skipped")
    lines = [f"bag: {result.bag_path}"]
    if result.sha256 is not None:
        lines.append(f"  sha256 {result.sha256}")
    lines += [
        f"  pages {pages}, frames {frames}, requisites {req_ok} captured, "
        f"{req_failed} failed, {req_skipped} skipped",
        f"  linked media {media}, URLs left out {left_out} (see the capture log)"
        if media or left_out
        else "",
        f"  {result.payload_bytes:,} bytes in {result.seconds:.1f} s",
    ]
    lines = [line for line in lines if line]
    lines += [
        f"  failed: {r.url} ({r.error or r.status})"
        for r in result.records
        if r.outcome == "failed"
    ]
    return "\n".join(lines)
