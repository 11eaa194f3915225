"""Whole captures against a real HTTP server on loopback, checked with the bagit library."""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import bagit
import pytest

import preserve
from preserve.models import LogRecord

from .conftest import EXAMPLE_SITE, Server
from .warc_reading import read_warc, warc_of

BAG_INFO_ORDER = [
    "Bagging-Date",
    "Payload-Oxum",
    "Bag-Size",
    "Bag-Software-Agent",
    "External-Identifier",
    "Internal-Sender-Identifier",
    "Internal-Sender-Description",
    "BagIt-Profile-Identifier",
]


def expected_requisites() -> list[str]:
    lines = (EXAMPLE_SITE / "EXPECTED.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def manifest(bag_dir: Path, algorithm: str) -> dict[str, str]:
    entries = {}
    for line in (bag_dir / f"manifest-{algorithm}.txt").read_text(encoding="utf-8").splitlines():
        digest, path = line.split("  ", 1)
        entries[path] = digest
    return entries


def bag_info(bag_dir: Path) -> list[tuple[str, str]]:
    text = (bag_dir / "bag-info.txt").read_text(encoding="utf-8")
    return [tuple(line.split(": ", 1)) for line in text.splitlines()]  # type: ignore[misc]


def log_records(bag_dir: Path) -> list[dict[str, object]]:
    text = (bag_dir / "data" / "logs" / "capture-log.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def fixed_clock() -> datetime:
    return datetime(2001, 10, 15, 12, 30, 5, tzinfo=UTC)


FIXED_ID = uuid.UUID("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")


def test_example_site_over_http_makes_one_valid_bag(site: Server, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(
        bag_info=preserve.BagInfo(source_organization="Test Archive", extra=(("Zeta", "z"),))
    )
    result = preserve.capture(
        site.url("/index.html"), tmp_path, options, clock=fixed_clock, new_id=lambda: FIXED_ID
    )
    assert [p.name for p in tmp_path.iterdir()] == [result.bag_path.name]
    bag = bagit.Bag(str(result.bag_path))
    bag.validate()
    bag.validate(fast=True)
    own = preserve.validate(
        result.bag_path, profile=EXAMPLE_SITE.parent.parent / "schemas" / "bagit-profile.json"
    )
    assert own.valid, own.problems
    assert own.warnings == ()
    assert bag.version_info == (1, 0)
    for algorithm in ("sha512", "sha256"):
        assert (result.bag_path / f"manifest-{algorithm}.txt").is_file()
        tags = (result.bag_path / f"tagmanifest-{algorithm}.txt").read_text(encoding="utf-8")
        listed = {line.split("  ", 1)[1] for line in tags.splitlines()}
        assert {"bagit.txt", "bag-info.txt", f"manifest-{algorithm}.txt"} <= listed
    bagit_txt = (result.bag_path / "bagit.txt").read_text(encoding="utf-8")
    assert bagit_txt == "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

    # Every requisite is present, byte for byte, by checksum.
    stored = set(manifest(result.bag_path, "sha256").values())
    for relative in expected_requisites():
        digest = hashlib.sha256((EXAMPLE_SITE / relative).read_bytes()).hexdigest()
        assert digest in stored, relative

    fields = bag_info(result.bag_path)
    labels = [label for label, _ in fields]
    mirrored = ["External-Description", "DC-Title", "DC-Source"]
    assert labels == [*BAG_INFO_ORDER, "Source-Organization", *mirrored, "Zeta"]
    info = dict(fields)
    assert info["Bagging-Date"] == "2001-10-15"
    assert info["External-Identifier"] == f"urn:uuid:{FIXED_ID}"
    assert info["Internal-Sender-Identifier"] == site.url("/index.html")
    assert info["Internal-Sender-Description"] == "MQM - News and Statements, October 2001"
    assert info["Bag-Software-Agent"] == f"preserve/{preserve.__version__}"
    assert info["DC-Title"] == info["Internal-Sender-Description"]
    assert info["DC-Source"] == site.url("/index.html")
    assert info["External-Description"].startswith("MQM news, statements of Mr Altaf Hussain")
    files = [p for p in (result.bag_path / "data").rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    assert info["Payload-Oxum"] == f"{size}.{len(files)}"
    assert result.bag_path.name == f"127.0.0.1-20011015T123005Z-{FIXED_ID.hex[:8]}"
    assert result.count(role="requisite", outcome="captured") == len(expected_requisites()) - 1
    assert result.count(outcome="failed") == 0


def test_capture_log_and_url_index_describe_every_url(site: Server, tmp_path: Path) -> None:
    result = preserve.capture(site.url("/"), tmp_path)
    records = log_records(result.bag_path)
    assert records[0]["role"] == "seed"
    assert records[0]["outcome"] == "captured"
    by_url = {r["url"]: r for r in records}
    css = by_url[site.url("/css/base.css")]
    assert css["via"] == "css@import"
    assert css["referrer"] == site.url("/css/style.css")
    assert css["status"] == 200
    path = css["payload_path"]
    assert isinstance(path, str)
    content = (result.bag_path / path).read_bytes()
    assert content == (EXAMPLE_SITE / "css" / "base.css").read_bytes()
    digests = css["digests"]
    assert isinstance(digests, dict)
    assert digests["sha256"] == hashlib.sha256(content).hexdigest()
    headers = dict(css["headers"])  # type: ignore[arg-type]
    assert headers["Content-Type"].startswith("text/css")
    tsv = (result.bag_path / "data" / "logs" / "urls.tsv").read_text(encoding="utf-8")
    rows = dict(line.split("\t")[:2] for line in tsv.splitlines()[1:])
    assert rows[site.url("/css/base.css")] == path
    host = path.split("/")[2]
    assert rows[site.url("/")] == f"data/web/{host}/index.html"


def test_missing_requisite_is_recorded_and_the_bag_still_written(
    http: Server, tmp_path: Path
) -> None:
    page = b'<html><title>t</title><img src="/gone.gif"><img src="/here.gif"></html>'
    http.route("/", body=page, headers={"Content-Type": "text/html"})
    http.route("/here.gif", body=b"GIF89a", headers={"Content-Type": "image/gif"})
    result = preserve.capture(http.url("/"), tmp_path)
    bagit.Bag(str(result.bag_path)).validate()
    failed = [r for r in result.records if r.outcome == "failed"]
    assert [(r.url, r.status, r.error) for r in failed] == [
        (http.url("/gone.gif"), 404, "HTTP 404 Not Found")
    ]
    assert {r["url"]: r["outcome"] for r in log_records(result.bag_path)} == {
        http.url("/"): "captured",
        http.url("/gone.gif"): "failed",
        http.url("/here.gif"): "captured",
    }


def test_strict_fails_on_a_missing_requisite_and_leaves_nothing(
    http: Server, tmp_path: Path
) -> None:
    http.route("/", body=b'<img src="/gone.gif">', headers={"Content-Type": "text/html"})
    with pytest.raises(preserve.FetchFailed, match=r"gone\.gif"):
        preserve.capture(http.url("/"), tmp_path, preserve.CaptureOptions(strict=True))
    assert list(tmp_path.iterdir()) == []


def test_redirected_requisite_is_named_from_its_final_url(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b'<img src="/old.gif">', headers={"Content-Type": "text/html"})
    http.route("/old.gif", status=301, headers={"Location": "/new/final.gif"})
    http.route("/new/final.gif", body=b"GIF89a-final", headers={"Content-Type": "image/gif"})
    result = preserve.capture(http.url("/"), tmp_path)
    record = next(r for r in result.records if r.url == http.url("/old.gif"))
    assert record.final_url == http.url("/new/final.gif")
    assert record.redirects == (
        {"url": http.url("/old.gif"), "status": 301, "location": "/new/final.gif"},
    )
    assert record.payload_path is not None
    assert record.payload_path.endswith("/new/final.gif")
    tsv = (result.bag_path / "data/logs/urls.tsv").read_text(encoding="utf-8")
    assert f"{http.url('/old.gif')}\t{record.payload_path}" in tsv
    assert f"{http.url('/new/final.gif')}\t{record.payload_path}" in tsv


def test_gzip_body_is_stored_decoded_with_both_digests(http: Server, tmp_path: Path) -> None:
    css = b"body { background: url(bg.gif) }\n" * 50
    packed = gzip.compress(css, mtime=0)
    http.route(
        "/", body=b'<link rel=stylesheet href="/s.css">', headers={"Content-Type": "text/html"}
    )
    http.route(
        "/s.css",
        body=packed,
        headers={"Content-Type": "text/css", "Content-Encoding": "gzip"},
    )
    http.route("/bg.gif", body=b"GIF89a", headers={"Content-Type": "image/gif"})
    result = preserve.capture(http.url("/"), tmp_path)
    record = next(r for r in result.records if r.url == http.url("/s.css"))
    assert record.payload_path is not None
    assert (result.bag_path / record.payload_path).read_bytes() == css
    assert record.digests["sha256"] == hashlib.sha256(css).hexdigest()
    assert record.received_digests["sha256"] == hashlib.sha256(packed).hexdigest()
    assert record.received_size == len(packed)
    assert result.count(outcome="captured") == 3


def test_retries_a_server_error_then_captures(http: Server, tmp_path: Path) -> None:
    calls: list[int] = []

    def flaky(request: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        status, body = (503, b"busy") if len(calls) == 1 else (200, b"<title>ok</title>")
        request.send_response(status)
        request.send_header("Content-Type", "text/html")
        request.send_header("Retry-After", "0")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    http.routes["/"] = flaky
    result = preserve.capture(http.url("/"), tmp_path)
    assert len(calls) == 2
    assert result.title == "ok"


def test_oversized_requisite_is_refused_by_content_length(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b'<img src="/big.gif">', headers={"Content-Type": "text/html"})
    http.route("/big.gif", body=b"x" * 5000, headers={"Content-Type": "image/gif"})
    result = preserve.capture(http.url("/"), tmp_path, preserve.CaptureOptions(max_size=1000))
    record = next(r for r in result.records if r.url == http.url("/big.gif"))
    assert record.outcome == "failed"
    assert record.error is not None
    assert "--max-size" in record.error
    assert not any("big" in p.name for p in result.bag_path.rglob("*"))


def test_headers_and_user_agent_are_sent(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b"<title>x</title>", headers={"Content-Type": "text/html"})
    options = preserve.CaptureOptions(user_agent="archive-bot/1", headers=(("X-Archive", "yes"),))
    preserve.capture(http.url("/"), tmp_path, options)
    _path, headers = http.requests[0]
    assert headers["User-Agent"] == "archive-bot/1"
    assert headers["X-Archive"] == "yes"


@pytest.mark.parametrize(
    ("route", "message"),
    [("/missing", "404"), ("/error", "500"), ("/loop", "redirect loop")],
)
def test_seed_failures_raise_fetch_failed_and_leave_nothing(
    http: Server, tmp_path: Path, route: str, message: str
) -> None:
    http.route("/error", status=500, body=b"oops")
    http.route("/loop", status=302, headers={"Location": "/loop2"})
    http.route("/loop2", status=302, headers={"Location": "/loop"})
    with pytest.raises(preserve.FetchFailed, match=message):
        preserve.capture(http.url(route), tmp_path, preserve.CaptureOptions(retries=0))
    assert list(tmp_path.iterdir()) == []


def test_refused_connection_fails_the_seed(refused_url: str, tmp_path: Path) -> None:
    with pytest.raises(preserve.FetchFailed, match="refused"):
        preserve.capture(refused_url, tmp_path, preserve.CaptureOptions(retries=0))
    assert list(tmp_path.iterdir()) == []


def test_an_exception_mid_capture_leaves_nothing_at_the_destination(
    site: Server, tmp_path: Path
) -> None:
    seen: list[LogRecord] = []

    def explode(record: LogRecord) -> None:
        seen.append(record)
        if len(seen) == 5:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        preserve.capture(site.url("/"), tmp_path, observer=explode)
    assert list(tmp_path.iterdir()) == []


def test_a_taken_name_fails_packaging_and_keeps_the_existing_folder(
    site: Server, tmp_path: Path
) -> None:
    existing = tmp_path / "mybag"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(preserve.PackagingFailed, match="exists"):
        preserve.capture(site.url("/"), tmp_path, preserve.CaptureOptions(name="mybag"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mybag"]
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]


def test_local_file_capture_stays_in_its_folder(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "img").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    (site / "img" / "a.gif").write_bytes(b"GIF89a")
    (site / "link.gif").symlink_to(tmp_path / "secret.txt")
    (site / "page.html").write_text(
        '<title>local</title><img src="img/a.gif"><img src="../secret.txt">'
        '<img src="link.gif"><img src="nothere.gif">',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = preserve.capture(str(site / "page.html"), out)
    bagit.Bag(str(result.bag_path)).validate()
    assert (result.bag_path / "data/web/file/img/a.gif").read_bytes() == b"GIF89a"
    assert (result.bag_path / "data/web/file/page.html").is_file()
    outcomes = {r.url: (r.outcome, r.error) for r in result.records}
    assert outcomes["file:page.html"] == ("captured", None)
    assert outcomes["file:img/a.gif"] == ("captured", None)
    assert outcomes["file:link.gif"][0] == "failed"
    assert outcomes["file:nothere.gif"] == ("failed", "no such file")
    assert not any(r.outcome == "captured" and "secret" in r.url for r in result.records)
    for path in result.bag_path.rglob("*"):
        if path.is_file():
            assert str(tmp_path).encode() not in path.read_bytes(), path
    assert not any("secret" in p.name for p in result.bag_path.rglob("*"))


def test_file_url_seed_is_accepted(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text("<title>f</title>", encoding="utf-8")
    result = preserve.capture(page.as_uri(), tmp_path / "out")
    assert result.title == "f"
    assert result.seed == "file:p.html"


@pytest.mark.parametrize(
    "bad", ["", "ftp://example.com/x", "javascript:alert(1)", "not a url", "http://", "http:///x"]
)
def test_bad_input_is_refused_before_any_work(bad: str, tmp_path: Path) -> None:
    with pytest.raises(preserve.BadInput):
        preserve.capture(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_page_too_large_to_parse_is_stored_and_says_so(
    http: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import preserve.capture.ingest

    monkeypatch.setattr(preserve.capture.ingest, "PARSE_LIMIT", 100)
    page = b"<title>big</title>" + b" " * 200 + b'<img src="/a.gif">'
    http.route("/", body=page, headers={"Content-Type": "text/html"})
    http.route("/a.gif", body=b"GIF89a", headers={"Content-Type": "image/gif"})
    result = preserve.capture(http.url("/"), tmp_path)
    (seed,) = result.records
    assert seed.outcome == "captured"
    assert seed.note == "HTML over 0 MiB: not searched for links"
    logged = log_records(result.bag_path)
    assert logged[0]["note"] == seed.note
    # The WARC's copy of the log entry says so too.
    (metadata,) = [r for r in read_warc(warc_of(result.bag_path)) if r.type == "metadata"]
    fields = dict(line.split(": ", 1) for line in metadata.raw.decode().splitlines())
    assert fields["note"] == seed.note
