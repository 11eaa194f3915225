"""The WARC written while capturing: records, digests, revisits, compression, index."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner

import preserve
from preserve.cli import main

from .conftest import EXAMPLE_SITE, SHARED, Server
from .corpus_proxy import CorpusProxy, corpus_proxy
from .test_warc_members import holds_stored
from .warc_reading import Rec, check_bag_warc, log_entries, warc_of

CORPUS = SHARED / "corpus"
EXPECTED_FILE = CORPUS / "expected-requisites.json"
CORPUS_SEEDS = (
    sorted(json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))) if EXPECTED_FILE.is_file() else []
)

PNG = b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(200_000)
CSS = b"body { color: #333; margin: 0 auto; font-family: Verdana, sans-serif }\n" * 200
SCRIPT = b"console.log('the same bytes at two URLs');\n" * 20
CHUNKS = [b"var one = 1;\n" * 50, b"var two = 2;\n" * 50]
MAX_SIZE = 256 * 1024


def _send_body_then_close(
    request: BaseHTTPRequestHandler, headers: dict[str, str], body: bytes
) -> None:
    request.close_connection = True
    request.send_response(200)
    for name, value in headers.items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)
    request.wfile.flush()


def _chunked(request: BaseHTTPRequestHandler) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "text/javascript")
    request.send_header("Transfer-Encoding", "chunked")
    request.end_headers()
    for chunk in CHUNKS:
        request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    request.wfile.write(b"0\r\n\r\n")


def _cut_short(request: BaseHTTPRequestHandler) -> None:
    headers = {"Content-Type": "text/javascript", "Content-Length": "5000"}
    _send_body_then_close(request, headers, b"x" * 1000)


def _over_max_size(request: BaseHTTPRequestHandler) -> None:
    # No Content-Length: the body is read until --max-size stops it.
    _send_body_then_close(request, {"Content-Type": "image/jpeg"}, b"\xff" * (MAX_SIZE + 70_000))


def _declared_too_large(request: BaseHTTPRequestHandler) -> None:
    headers = {"Content-Type": "image/jpeg", "Content-Length": str(10 * MAX_SIZE)}
    _send_body_then_close(request, headers, b"")


REQUISITES = [
    '<link rel=stylesheet href="/style.css">',
    '<link rel=stylesheet href="/plain.css">',
    '<link rel=stylesheet href="/err.css">',
    '<img src="/old.png">',
    '<img src="/gone.gif">',
    '<script src="/a.js"></script>',
    '<script src="/b.js"></script>',
    '<script src="/chunked.js"></script>',
    '<script src="/cut.js"></script>',
    '<img src="/huge.jpg">',
    '<img src="/declared.jpg">',
    '<img src="/skipped.gif">',
]


def hard_site(http: Server) -> None:
    """Routes with every case the WARC must record as it happened."""
    page = "<html><head><title>Hard cases</title></head><body>" + "".join(REQUISITES)
    http.route("/", body=page.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
    http.route(
        "/style.css",
        body=gzip.compress(CSS, mtime=0),
        headers={"Content-Type": "text/css", "Content-Encoding": "gzip"},
    )
    http.route("/plain.css", body=CSS, headers={"Content-Type": "text/css"})
    http.route("/err.css", status=500, body=b"server error", headers={"Content-Type": "text/plain"})
    http.route("/old.png", status=301, headers={"Location": "/new.png"})
    http.route("/new.png", body=PNG, headers={"Content-Type": "image/png"})
    http.route("/a.js", body=SCRIPT, headers={"Content-Type": "text/javascript"})
    http.route("/b.js", body=SCRIPT, headers={"Content-Type": "text/javascript"})
    http.routes["/chunked.js"] = _chunked
    http.routes["/cut.js"] = _cut_short
    http.routes["/huge.jpg"] = _over_max_size
    http.routes["/declared.jpg"] = _declared_too_large


@pytest.fixture
def hard_capture(http: Server, tmp_path: Path) -> Iterator[tuple[Server, Path, list[Rec]]]:
    hard_site(http)
    options = preserve.CaptureOptions(
        retries=0, timeout=10, max_size=MAX_SIZE, max_requisites=len(REQUISITES) - 1
    )
    result = preserve.capture(http.url("/"), tmp_path / "bags", options)
    bagit.Bag(str(result.bag_path)).validate()
    assert preserve.validate(result.bag_path).valid
    records = check_bag_warc(result.bag_path, tmp_path)
    yield http, result.bag_path, records


def responses(records: list[Rec], url: str) -> list[Rec]:
    return [r for r in records if r.uri == url and r.type in ("response", "revisit")]


def member_bytes(bag: Path, rec: Rec) -> bytes:
    with warc_of(bag).open("rb") as handle:
        handle.seek(rec.offset)
        return handle.read(rec.length)


def test_every_exchange_has_its_records_as_it_happened(
    hard_capture: tuple[Server, Path, list[Rec]],
) -> None:
    http, _bag, records = hard_capture
    (redirect,) = responses(records, http.url("/old.png"))
    assert redirect.status == 301 and redirect.http_header("Location") == "/new.png"
    (image,) = responses(records, http.url("/new.png"))
    assert image.raw == PNG
    assert [r.status for r in responses(records, http.url("/gone.gif"))] == [404]
    (error,) = responses(records, http.url("/err.css"))
    assert (error.status, error.raw) == (500, b"server error")
    (css,) = responses(records, http.url("/style.css"))
    assert css.http_header("Content-Encoding") == "gzip"
    assert css.raw == gzip.compress(CSS, mtime=0)  # content coding kept
    assert css.decoded() == CSS
    assert not responses(records, http.url("/skipped.gif"))
    request = next(r for r in records if r.type == "request" and r.uri == http.url("/new.png"))
    assert request.raw == b""
    assert request.headers["WARC-Concurrent-To"] == image.headers["WARC-Record-ID"]


def test_request_records_hold_the_request_as_sent(
    hard_capture: tuple[Server, Path, list[Rec]],
) -> None:
    http, bag, _records = hard_capture
    warc = warc_of(bag)
    with gzip.open(warc) as stream:
        text = stream.read()
    host = http.url("/").split("//")[1].rstrip("/")
    assert b"GET /new.png HTTP/1.1\r\nHost: " + host.encode() + b"\r\n" in text
    assert b"User-Agent: preserve/" in text
    assert b"Referer: " + http.url("/").encode() in text


def test_identical_payloads_become_revisits(hard_capture: tuple[Server, Path, list[Rec]]) -> None:
    http, _bag, records = hard_capture
    first, second = (responses(records, http.url(p))[0] for p in ("/a.js", "/b.js"))
    if first.type == "revisit":
        first, second = second, first
    assert (first.type, second.type) == ("response", "revisit")
    assert second.headers["WARC-Refers-To"] == first.headers["WARC-Record-ID"]
    assert second.headers["WARC-Refers-To-Target-URI"] == first.uri
    assert second.headers["WARC-Payload-Digest"] == first.headers["WARC-Payload-Digest"]
    assert second.headers["WARC-Profile"].endswith("/revisit/identical-payload-digest")
    assert second.raw == b"" and second.status == 200


def test_cut_short_and_oversized_bodies_are_kept_as_received_and_marked(
    hard_capture: tuple[Server, Path, list[Rec]],
) -> None:
    http, bag, records = hard_capture
    (cut,) = responses(records, http.url("/cut.js"))
    assert cut.headers["WARC-Truncated"] == "disconnect"
    assert cut.raw == b"x" * 1000
    (huge,) = responses(records, http.url("/huge.jpg"))
    assert huge.headers["WARC-Truncated"] == "length"
    assert MAX_SIZE < len(huge.raw) <= MAX_SIZE + 70_000
    (declared,) = responses(records, http.url("/declared.jpg"))
    assert (declared.headers["WARC-Truncated"], declared.raw) == ("length", b"")
    outcomes = {e["url"]: e["outcome"] for e in log_entries(bag)}
    for path in ("/cut.js", "/huge.jpg", "/declared.jpg"):
        assert outcomes[http.url(path)] == "failed"
    assert not list((bag / "data/web").rglob("huge.jpg"))


def test_chunked_bodies_are_recorded_without_the_chunk_framing(
    hard_capture: tuple[Server, Path, list[Rec]],
) -> None:
    http, _bag, records = hard_capture
    (chunked,) = responses(records, http.url("/chunked.js"))
    assert chunked.raw == b"".join(CHUNKS)
    assert chunked.http_header("Transfer-Encoding") is None
    assert chunked.http_header("X-Archive-Orig-Transfer-Encoding") == "chunked"


def test_what_does_not_shrink_is_stored_and_what_does_is_deflated(
    hard_capture: tuple[Server, Path, list[Rec]],
) -> None:
    http, bag, records = hard_capture
    (image,) = responses(records, http.url("/new.png"))
    member = member_bytes(bag, image)
    assert holds_stored(member, PNG)
    assert len(member) > len(PNG)
    # gzip-encoded, yet 200 identical lines make gzip's own output repeat: deflate shrinks
    # it, so it is deflated; a content coding does not decide either.
    (coded,) = responses(records, http.url("/style.css"))
    assert not holds_stored(member_bytes(bag, coded), coded.raw)
    (css,) = responses(records, http.url("/plain.css"))
    member = member_bytes(bag, css)
    assert not holds_stored(member, CSS)
    assert len(member) * 5 < len(zlib.decompress(member, 31))
    # Declared an image, but its bytes shrink: the type does not decide, the bytes do.
    (repeated,) = responses(records, http.url("/huge.jpg"))
    member = member_bytes(bag, repeated)
    assert not holds_stored(member, repeated.raw)
    assert len(member) * 100 < len(repeated.raw)


def test_metadata_records_carry_the_capture_log_and_warcinfo_the_options(
    hard_capture: tuple[Server, Path, list[Rec]],
) -> None:
    http, _bag, records = hard_capture
    info = records[0].raw.decode()
    assert f"software: preserve/{preserve.__version__}" in info
    for field in ("scope: host", "depth: 0", "robots: obey", f"max-size: {MAX_SIZE}"):
        assert field in info
    assert "http-header-user-agent: preserve/" in info
    skipped = next(r for r in records if r.type == "metadata" and r.uri == http.url("/skipped.gif"))
    fields = dict(line.split(": ", 1) for line in skipped.raw.decode().splitlines())
    assert (fields["outcome"], fields["reason"]) == ("skipped", "limit")
    assert "WARC-Concurrent-To" not in skipped.headers
    new = next(r for r in records if r.type == "metadata" and r.uri == http.url("/old.png"))
    fields = dict(line.split(": ", 1) for line in new.raw.decode().splitlines())
    assert json.loads(fields["redirects"])[0]["status"] == 301
    assert fields["final_url"] == http.url("/new.png")
    assert new.headers["WARC-Warcinfo-ID"] == records[0].headers["WARC-Record-ID"]


def test_the_example_site_warc(site: Server, tmp_path: Path) -> None:
    result = preserve.capture(site.url("/"), tmp_path / "bags", preserve.CaptureOptions(depth=1))
    records = check_bag_warc(result.bag_path, tmp_path)
    payload_files = [p for p in (result.bag_path / "data/web").rglob("*") if p.is_file()]
    full = [r for r in records if r.type == "response" and r.status == 200]
    assert len(full) + sum(r.type == "revisit" for r in records) >= len(payload_files)
    premis = (result.bag_path / "data/metadata/premis.xml").read_text(encoding="utf-8")
    assert warc_of(result.bag_path).relative_to(result.bag_path).as_posix() in premis


def test_a_local_file_capture_has_resource_records_and_no_local_path(tmp_path: Path) -> None:
    result = preserve.capture(str(EXAMPLE_SITE / "index.html"), tmp_path / "bags")
    records = check_bag_warc(result.bag_path, tmp_path)
    resources = [r for r in records if r.type == "resource"]
    assert resources and all(r.uri.startswith("file:") for r in resources)
    seed = next(r for r in resources if r.uri == "file:index.html")
    assert seed.raw == (EXAMPLE_SITE / "index.html").read_bytes()
    with gzip.open(warc_of(result.bag_path)) as stream:
        assert str(EXAMPLE_SITE).encode() not in stream.read()


def test_payload_files_writes_no_warc(site: Server, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(payload="files")
    result = preserve.capture(site.url("/"), tmp_path / "bags", options)
    assert not (result.bag_path / "data/warc").exists()
    bagit.Bag(str(result.bag_path)).validate()


def test_payload_warc_maps_every_url_to_its_record(http: Server, tmp_path: Path) -> None:
    hard_site(http)
    options = preserve.CaptureOptions(retries=0, timeout=10, max_size=MAX_SIZE, payload="warc")
    result = preserve.capture(http.url("/"), tmp_path / "bags", options)
    bag = result.bag_path
    assert not (bag / "data/web").exists()
    assert all(r.payload_path is None for r in result.records)
    assert result.title == "Hard cases"
    bagit.Bag(str(bag)).validate()
    assert preserve.validate(bag).valid
    records = check_bag_warc(bag, tmp_path)
    by_offset = {r.offset: r for r in records}
    rows = (bag / "data/logs/urls.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "url\tpath\toffset"
    mapped = {}
    for row in rows[1:]:
        url, path, offset = row.split("\t")
        assert path == warc_of(bag).relative_to(bag).as_posix()
        mapped[url] = by_offset[int(offset)]
    captured = [e for e in log_entries(bag) if e["outcome"] == "captured"]
    assert {e["url"] for e in captured} <= mapped.keys()
    assert mapped[http.url("/old.png")].uri == http.url("/new.png")
    assert original_payload(mapped[http.url("/b.js")], records) == SCRIPT
    # No payload files: each URL's log digest is its payload's sha256, the bag's algorithms
    # (sha512 and sha256) being spent on the WARC the manifests list.
    for entry in captured:
        payload = original_payload(mapped[str(entry["url"])], records)
        assert entry["digests"] == {"sha256": hashlib.sha256(payload).hexdigest()}


def test_payload_option_on_the_command_line_and_in_the_environment(
    site: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["capture", site.url("/"), "-o", str(tmp_path / "a"), "--payload", "warc"]
    )
    assert result.exit_code == 0, result.output
    bag = Path(result.stdout.strip())
    assert (bag / "data/warc").is_dir() and not (bag / "data/web").exists()
    monkeypatch.setenv("PRESERVE_PAYLOAD", "files")
    result = runner.invoke(main, ["capture", site.url("/"), "-o", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    bag = Path(result.stdout.strip())
    assert (bag / "data/web").is_dir() and not (bag / "data/warc").exists()
    result = runner.invoke(
        main, ["capture", site.url("/"), "-o", str(tmp_path / "c"), "--payload", "x"]
    )
    assert result.exit_code == 2
    assert "--payload" in runner.invoke(main, ["capture", "--help"]).output
    assert "--wacz" in runner.invoke(main, ["export", "--help"]).output


def original_payload(rec: Rec, records: list[Rec]) -> bytes:
    from .warc_reading import original_of

    return original_of(rec, records).decoded()


@pytest.mark.corpus
@pytest.mark.shared("corpus")
def test_every_corpus_seed_gives_a_checked_warc(tmp_path: Path) -> None:
    with corpus_proxy(CORPUS, tmp_path) as proxy:
        check_corpus(proxy, tmp_path)


def check_corpus(proxy: CorpusProxy, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(proxy=proxy.url, ca_bundle=proxy.ca_bundle)
    for number, seed in enumerate(CORPUS_SEEDS):
        result = preserve.capture(seed, tmp_path / f"bags-{number}", options)
        records = check_bag_warc(result.bag_path, tmp_path)
        assert any(r.type == "response" and r.uri == seed for r in records), seed


def test_a_long_error_body_is_kept_up_to_its_bound(http: Server, tmp_path: Path) -> None:
    from preserve.fetch import ERROR_BODY_LIMIT

    page = b'<html><title>e</title><img src="/missing.png"></html>'
    http.route("/", body=page, headers={"Content-Type": "text/html"})
    body = b"<p>not here</p>" * (ERROR_BODY_LIMIT // 10)
    http.route("/missing.png", status=404, body=body, headers={"Content-Type": "text/html"})
    result = preserve.capture(http.url("/"), tmp_path / "bags", preserve.CaptureOptions(retries=0))
    records = check_bag_warc(result.bag_path, tmp_path)
    (missing,) = responses(records, http.url("/missing.png"))
    assert missing.status == 404
    assert missing.headers["WARC-Truncated"] == "length"
    assert missing.raw == body[:ERROR_BODY_LIMIT]


def test_an_answer_that_was_retried_is_recorded_before_the_one_kept(
    http: Server, tmp_path: Path
) -> None:
    asked: list[str] = []

    def busy_once(request: BaseHTTPRequestHandler) -> None:
        asked.append(request.path)
        status, body = (503, b"busy") if len(asked) == 1 else (200, b"GIF89a-at-last")
        request.send_response(status)
        request.send_header("Content-Type", "text/plain" if status == 503 else "image/gif")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    http.route(
        "/", body=b'<title>r</title><img src="/pic.gif">', headers={"Content-Type": "text/html"}
    )
    http.routes["/pic.gif"] = busy_once
    options = preserve.CaptureOptions(retry_backoff=0.01)
    result = preserve.capture(http.url("/"), tmp_path / "bags", options)
    records = check_bag_warc(result.bag_path, tmp_path)
    answers = responses(records, http.url("/pic.gif"))
    assert [r.status for r in answers] == [503, 200]
    assert [r.raw for r in answers] == [b"busy", b"GIF89a-at-last"]
    requests = [r for r in records if r.type == "request" and r.uri == http.url("/pic.gif")]
    assert len(requests) == 2
    # The retry is not a hop: the log's entry has no redirect chain, and its metadata record
    # names both responses as records of the same fetch.
    (entry,) = [e for e in log_entries(result.bag_path) if e["url"] == http.url("/pic.gif")]
    assert entry["outcome"] == "captured"
    assert not entry.get("redirects")
    (metadata,) = [r for r in records if r.type == "metadata" and r.uri == http.url("/pic.gif")]
    head = gzip.decompress(member_bytes(result.bag_path, metadata)).split(b"\r\n\r\n")[0]
    concurrent = [
        line.split(b": ", 1)[1].decode()
        for line in head.split(b"\r\n")
        if line.startswith(b"WARC-Concurrent-To: ")
    ]
    assert concurrent == [r.headers["WARC-Record-ID"] for r in answers]
