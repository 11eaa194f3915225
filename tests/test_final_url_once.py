"""A final URL reached by several URLs is captured once: one file, one digest, for all of them.

The server's final URL answers different bytes each time it is asked (a counter, a clock, an
ad), so a second answer must never be described by one digest and stored as another.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import bagit
import pytest

import preserve

from .conftest import Server
from .warc_reading import Rec, read_warc, warc_of, warcio_check

HTML = {"Content-Type": "text/html"}


def changing(http: Server, path: str, *, coding: str | None = None) -> list[bytes]:
    """Answer `path` with new bytes on every request; return the bodies sent, in order."""
    sent: list[bytes] = []
    counter = itertools.count(1)
    lock = threading.Lock()

    def handler(request: BaseHTTPRequestHandler) -> None:
        with lock:
            body = b"GIF89a answer %d " % next(counter) + b"x" * 200
            sent.append(body)
        wire = gzip.compress(body, mtime=0) if coding == "gzip" else body
        request.send_response(200)
        request.send_header("Content-Type", "image/gif")
        if coding is not None:
            request.send_header("Content-Encoding", coding)
        request.send_header("Content-Length", str(len(wire)))
        request.end_headers()
        request.wfile.write(wire)

    http.routes[path] = handler
    return sent


def entries(bag: Path) -> list[dict[str, object]]:
    lines = (bag / "data/logs/capture-log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def index_rows(bag: Path) -> list[list[str]]:
    lines = (bag / "data/logs/urls.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[1:]]


def digests_of(data: bytes) -> dict[str, str]:
    return {alg: hashlib.new(alg, data).hexdigest() for alg in ("sha512", "sha256")}


def capture_redirected_twice(
    http: Server, tmp_path: Path, payload: str, coding: str | None
) -> tuple[Path, list[bytes]]:
    """Capture a page whose two images redirect to one final URL, also named directly."""
    page = b'<img src="/a.gif"><img src="/b.gif"><img src="/final.gif"><img src="/other.gif">'
    http.route("/", body=page, headers=HTML)
    http.route("/a.gif", status=302, headers={"Location": "/final.gif"})
    http.route("/b.gif", status=301, headers={"Location": "/hop"})
    http.route("/hop", status=302, headers={"Location": "/final.gif"})
    http.route("/other.gif", body=b"GIF89a-other", headers={"Content-Type": "image/gif"})
    sent = changing(http, "/final.gif", coding=coding)
    options = preserve.CaptureOptions(payload=payload)
    result = preserve.capture(http.url("/"), tmp_path / payload, options)
    bagit.Bag(str(result.bag_path)).validate()
    assert preserve.validate(result.bag_path).valid
    return result.bag_path, sent


@pytest.mark.parametrize("coding", [None, "gzip"])
@pytest.mark.parametrize("payload", ["both", "files", "warc"])
def test_urls_reaching_one_final_url_share_its_first_capture(
    http: Server, tmp_path: Path, payload: str, coding: str | None
) -> None:
    bag, sent = capture_redirected_twice(http, tmp_path, payload, coding)
    final = http.url("/final.gif")
    # /a.gif, /b.gif and /final.gif itself, all found at once, so all fetched: three answers.
    assert len(set(sent)) == len(sent) == 3
    log = {str(entry["url"]): entry for entry in entries(bag)}
    reaching = [log[http.url(path)] for path in ("/a.gif", "/b.gif", "/final.gif")]
    assert [entry["outcome"] for entry in reaching] == ["captured"] * 3
    assert [entry.get("final_url") for entry in reaching] == [final, final, None]
    hops = [entry.get("redirects") or [] for entry in reaching]
    assert [len(chain) for chain in hops] == [1, 2, 0]  # type: ignore[arg-type]
    # One capture of the final URL, the first answer handled: all three describe it.
    described = {json.dumps(entry["digests"], sort_keys=True) for entry in reaching}
    assert len(described) == 1
    digests = reaching[0]["digests"]
    assert isinstance(digests, dict)
    (first,) = [body for body in sent if hashlib.sha256(body).hexdigest() == digests["sha256"]]
    assert {entry["size"] for entry in reaching} == {len(first)}
    # The entries that met it again say so, and how their own answer differed.
    notes = [entry.get("note") for entry in reaching]
    assert notes.count(None) == 1
    kept = "kept only in the WARC" if payload != "files" else "not kept"
    algorithm = "sha256" if payload == "warc" else "sha512"
    others = {hashlib.new(algorithm, body).hexdigest() for body in sent if body != first}
    told = set()
    for note in [str(note) for note in notes if note is not None]:
        lead = f"{final} was captured before: this entry describes that capture; this answer"
        assert note.startswith(f"{lead} differed ({algorithm} ")
        assert note.endswith(f"), {kept}")
        told.add(note.removeprefix(f"{lead} differed ({algorithm} ").split(")")[0])
    assert told == others
    rows = index_rows(bag)
    assert len({row[0] for row in rows}) == len(rows), "a URL listed twice in urls.tsv"
    if payload == "warc":
        check_warc_offsets(bag, rows, log)
        assert not (bag / "data/web").exists()
    else:
        path = reaching[0]["payload_path"]
        assert {entry["payload_path"] for entry in reaching} == {path}
        assert (bag / str(path)).read_bytes() == first
        assert {row[0]: row[1] for row in rows}[final] == path
        names = sorted(p.name for p in (bag / str(path)).parent.iterdir())
        assert names == ["final.gif", "index.html", "other.gif"]
    for entry in log.values():
        if entry.get("payload_path"):
            assert digests_of((bag / str(entry["payload_path"])).read_bytes()) == entry["digests"]
    if payload == "both":
        # The WARC keeps every answer as received; the payload file is the first of them.
        answers = [rec for rec in read_warc(warc_of(bag)) if final_answer(rec, final)]
        assert sorted(rec.decoded() for rec in answers) == sorted(sent)
        assert answers[0].decoded() == first


def final_answer(rec: Rec, final: str) -> bool:
    return rec.type in ("response", "revisit") and rec.uri == final


def check_warc_offsets(bag: Path, rows: list[list[str]], log: dict[str, dict[str, object]]) -> None:
    """Each urls.tsv row points at the record whose payload the log's digests describe."""
    warc = warc_of(bag)
    value, printed = warcio_check(warc)
    assert value == 0, printed
    at = {rec.offset: rec for rec in read_warc(warc)}
    for url, where, offset in rows:
        assert where == f"data/warc/{warc.name}"
        rec = at[int(offset)]
        assert rec.type == "response"
        for entry in log.values():
            if url in (entry["url"], entry.get("final_url")) and entry["outcome"] == "captured":
                digests = entry["digests"]
                assert isinstance(digests, dict)
                assert hashlib.sha256(rec.decoded()).hexdigest() == digests["sha256"], url
                if entry.get("received_digests"):
                    received = entry["received_digests"]
                    assert isinstance(received, dict)
                    assert hashlib.sha256(rec.raw).hexdigest() == received["sha256"], url


def test_a_final_url_captured_once_is_not_fetched_again_for_a_later_link(
    http: Server, tmp_path: Path
) -> None:
    # The page links /final.gif only from the stylesheet read after /a.gif reached it.
    page = b'<img src="/a.gif"><link rel="stylesheet" href="/late.css">'
    http.route("/", body=page, headers=HTML)
    http.route("/a.gif", status=302, headers={"Location": "/final.gif"})
    sent = changing(http, "/final.gif")
    css = b"body { background: url(/final.gif) }"
    http.route("/late.css", body=css, headers={"Content-Type": "text/css"})
    options = preserve.CaptureOptions(workers=1)
    result = preserve.capture(http.url("/"), tmp_path, options)
    bagit.Bag(str(result.bag_path)).validate()
    assert len(sent) == 1
    assert [path for path, _ in http.requests].count("/final.gif") == 1
    urls = [str(entry["url"]) for entry in entries(result.bag_path)]
    assert http.url("/final.gif") not in urls
    rows = {row[0]: row[1] for row in index_rows(result.bag_path)}
    assert rows[http.url("/final.gif")] == rows[http.url("/a.gif")]


@pytest.mark.parametrize("payload", ["both", "files", "warc"])
def test_urls_reaching_an_unchanging_final_url_point_at_its_first_capture(
    http: Server, tmp_path: Path, payload: str
) -> None:
    page = b'<img src="/a.gif"><img src="/b.gif">'
    http.route("/", body=page, headers=HTML)
    http.route("/a.gif", status=302, headers={"Location": "/same.gif"})
    http.route("/b.gif", status=302, headers={"Location": "/same.gif"})
    http.route("/same.gif", body=b"GIF89a-same", headers={"Content-Type": "image/gif"})
    options = preserve.CaptureOptions(payload=payload)
    result = preserve.capture(http.url("/"), tmp_path, options)
    bagit.Bag(str(result.bag_path)).validate()
    log = {str(entry["url"]): entry for entry in entries(result.bag_path)}
    pair = [log[http.url("/a.gif")], log[http.url("/b.gif")]]
    assert pair[0]["digests"] == pair[1]["digests"]
    assert pair[0].get("payload_path") == pair[1].get("payload_path")
    notes = sorted(str(entry.get("note")) for entry in pair)
    same = http.url("/same.gif")
    assert notes == ["None", f"{same} was captured before: this entry describes that capture"]
    rows = {row[0]: row[1:] for row in index_rows(result.bag_path)}
    assert len(rows) == len(index_rows(result.bag_path))
    assert rows[http.url("/a.gif")] == rows[http.url("/b.gif")] == rows[same]
