"""`capture --browser`: a page whose scripts fetch, insert and lazy-load, captured in Chromium.

The site is served on loopback by a server that counts every request. Its page fetches a JSON
list of images and inserts them, asks for a text file with XMLHttpRequest, inserts a
stylesheet (whose background image static discovery then finds too), sets a background image
from script and lazy-loads an image when scrolled into view: 13 files, of which static
discovery sees 3. Chromium is Debian's (`CHROMIUM` names another); nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bagit
import pytest
from lxml import etree
from PIL import Image
from warcio.archiveiterator import ArchiveIterator

import preserve

from .conftest import Server, serve

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM") or "/usr/bin/chromium")
PREMIS = "{http://www.loc.gov/premis/v3}"
FAST = {"browser_timeout": 10.0, "browser_quiet_ms": 200, "browser_scrolls": 20}

PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Dynamic page</title>
<link rel="stylesheet" href="style.css"></head>
<body>
<h1>Dynamic page</h1>
<div id="out">waiting</div><div id="note"></div><div id="painted" class="banner"></div>
<div class="spacer"></div>
<img id="lazy" alt="lazy" width="40" height="40">
<script src="app.js"></script>
</body></html>
"""
STYLE = b"""body { background: #fdf6e3; font-family: sans-serif; }
h1 { color: #b22222; }
.spacer { height: 4000px; background: linear-gradient(#268bd2, #2aa198); }
"""
SCRIPT = b"""
fetch('data/list.json').then(r => r.json()).then(list => {
  for (const src of list) {
    const img = document.createElement('img');
    img.src = src; img.width = 40; img.height = 40;
    document.body.insertBefore(img, document.querySelector('.spacer'));
  }
  document.getElementById('out').textContent = 'Rendered by script: ' + list.length + ' images';
});
const sheet = document.createElement('link');
sheet.rel = 'stylesheet'; sheet.href = 'dyn/dynamic.css';
document.head.appendChild(sheet);
const xhr = new XMLHttpRequest();
xhr.open('GET', 'data/note.txt');
xhr.onload = () => { document.getElementById('note').textContent = xhr.responseText; };
xhr.send();
document.getElementById('painted').style.backgroundImage = 'url(img/e.png)';
const lazy = document.getElementById('lazy');
new IntersectionObserver((entries, observer) => {
  if (entries.some(entry => entry.isIntersecting)) {
    lazy.src = 'img/' + 'lazy.png';
    observer.disconnect();
  }
}).observe(lazy);
"""
DYNAMIC_CSS = b""".banner { height: 60px; background: url(banner.png) repeat-x; }
"""


def png(seed: int) -> bytes:
    """Return a small, valid, distinct 8x8 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes([(seed * 37 + x * 11 + y) % 256 for x in range(8)]) for y in range(8)
    )
    header = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


SITE: dict[str, bytes] = {
    "index.html": PAGE,
    "style.css": STYLE,
    "app.js": SCRIPT,
    "data/list.json": json.dumps(["img/a.png", "img/b.png", "img/c.png", "img/d.png"]).encode(),
    "img/a.png": png(1),
    "img/b.png": png(2),
    "img/c.png": png(3),
    "img/d.png": png(4),
    "img/e.png": png(5),
    "img/lazy.png": png(6),
    "dyn/dynamic.css": DYNAMIC_CSS,
    "dyn/banner.png": png(7),
    "data/note.txt": b"Note fetched with XMLHttpRequest\n",
}
STATIC = {"index.html", "style.css", "app.js"}


@pytest.fixture
def dynamic(tmp_path: Path) -> Iterator[Server]:
    """The dynamic site on loopback; `requests` lists every request it answered."""
    root = tmp_path / "site"
    for name, data in SITE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    yield from serve(root)


@pytest.fixture(autouse=True)
def _chromium() -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium, or set CHROMIUM")


def manifest(bag: Path, algorithm: str) -> dict[str, str]:
    """Return a payload manifest as path -> digest."""
    lines = (bag / f"manifest-{algorithm}.txt").read_text(encoding="utf-8").splitlines()
    return {path: digest for digest, path in (line.split(maxsplit=1) for line in lines)}


def log(bag: Path) -> list[dict[str, Any]]:
    text = (bag / "data/logs/capture-log.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def warc_responses(bag: Path) -> dict[str, bytes]:
    """Return each URL's response payload in the bag's WARC, as received."""
    found: dict[str, bytes] = {}
    for path in (bag / "data/warc").glob("*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    found[url] = record.content_stream().read()
    return found


def premis(bag: Path) -> etree._Element:
    return etree.parse(str(bag / "data/metadata/premis.xml")).getroot()


def rendering_notes(bag: Path) -> list[str]:
    root = premis(bag)
    notes = []
    for event in root.iter(f"{PREMIS}event"):
        if event.findtext(f"{PREMIS}eventType") == "creation":
            notes += [n.text or "" for n in event.iter(f"{PREMIS}eventOutcomeDetailNote")]
    return notes


def test_the_browser_captures_what_the_scripts_fetch_each_url_once(
    dynamic: Server, tmp_path: Path
) -> None:
    options = preserve.CaptureOptions(browser=True, **FAST)  # type: ignore[arg-type]
    result = preserve.capture(dynamic.url("/index.html"), tmp_path / "out", options)
    bag = result.bag_path

    # The server saw each URL once: the browser was answered from what preserve fetched.
    seen = Counter(path for path, _headers in dynamic.requests)
    assert set(seen) == {f"/{name}" for name in SITE}, seen
    assert all(count == 1 for count in seen.values()), seen

    # Every file, by checksum, as a payload file and in the WARC.
    sha256, sha512 = manifest(bag, "sha256"), manifest(bag, "sha512")
    records = {record["url"]: record for record in log(bag)}
    responses = warc_responses(bag)
    for name, data in SITE.items():
        url = dynamic.url(f"/{name}")
        record = records[url]
        assert record["outcome"] == "captured", record
        path = record["payload_path"]
        assert path.startswith("data/web/")
        assert sha256[path] == hashlib.sha256(data).hexdigest()
        assert sha512[path] == hashlib.sha512(data).hexdigest()
        assert responses[url] == data
        if name not in STATIC and name != "dyn/banner.png":
            assert record["via"].startswith("browser:"), record
            assert record["role"] == "requisite"
    assert records[dynamic.url("/data/list.json")]["via"] == "browser:fetch"
    assert records[dynamic.url("/data/note.txt")]["via"] == "browser:xhr"
    assert records[dynamic.url("/img/a.png")]["via"] == "browser:image"
    assert records[dynamic.url("/img/lazy.png")]["via"] == "browser:image"
    assert records[dynamic.url("/dyn/dynamic.css")]["via"] == "browser:stylesheet"

    # The derivatives, named by the page's payload file.
    page = records[dynamic.url("/index.html")]["payload_path"]
    rendered = "data/access/rendered/" + page.removeprefix("data/web/")
    shot = Image.open(io.BytesIO((bag / f"{rendered}~.png").read_bytes()))
    shot.load()
    assert shot.width == 1280 and shot.height > 4000
    colours = shot.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 10
    dom = (bag / f"{rendered}~.html").read_text(encoding="utf-8")
    assert "Rendered by script: 4 images" in dom
    assert "Note fetched with XMLHttpRequest" in dom
    assert 'http-equiv="Content-Security-Policy"' in dom
    assert (bag / f"{rendered}~.pdf").read_bytes().startswith(b"%PDF-")
    for suffix in ("~.png", "~.html", "~.pdf"):
        assert f"{rendered}{suffix}" in sha256
    # The original is unchanged.
    assert (bag / page).read_bytes() == PAGE

    # PREMIS: one creation event by Chromium, from the page to its three derivatives.
    root = premis(bag)
    agents = [a.findtext(f"{PREMIS}agentName") for a in root.iter(f"{PREMIS}agent")]
    assert "Chromium" in agents
    events = [
        e for e in root.iter(f"{PREMIS}event") if e.findtext(f"{PREMIS}eventType") == "creation"
    ]
    assert len(events) == 1
    linked = [v.text for v in events[0].iter(f"{PREMIS}linkingObjectIdentifierValue")]
    assert linked == [page, f"{rendered}~.png", f"{rendered}~.html", f"{rendered}~.pdf"]
    agent = events[0].findtext(f".//{PREMIS}linkingAgentIdentifierValue") or ""
    assert agent.startswith("Chromium ")

    # The access copy's index links them.
    index = (bag / "data/access/index.html").read_text(encoding="utf-8")
    assert "rendered/" in index and "~.png" in index and "~.pdf" in index

    bagit.Bag(str(bag)).validate()
    assert preserve.validate(bag).valid


def test_without_the_browser_the_dynamic_files_are_absent(dynamic: Server, tmp_path: Path) -> None:
    result = preserve.capture(dynamic.url("/index.html"), tmp_path / "out")
    captured = {r.url for r in result.records if r.outcome == "captured"}
    assert captured == {dynamic.url(f"/{name}") for name in STATIC}
    assert not (result.bag_path / "data/access/rendered").exists()
    index = (result.bag_path / "data/access/index.html").read_text(encoding="utf-8")
    assert "only a script would have fetched was not captured" in index


def test_without_scrolling_the_lazy_image_is_not_asked_for(dynamic: Server, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(browser=True, **{**FAST, "browser_scrolls": 0})  # type: ignore[arg-type]
    result = preserve.capture(dynamic.url("/index.html"), tmp_path / "out", options)
    captured = {r.url for r in result.records if r.outcome == "captured"}
    assert dynamic.url("/img/a.png") in captured
    assert dynamic.url("/img/lazy.png") not in captured
    bagit.Bag(str(result.bag_path)).validate()


def test_a_frame_inserted_by_script_through_a_redirect_with_payload_warc(
    http: Server, tmp_path: Path
) -> None:
    html = {"Content-Type": "text/html"}
    http.route(
        "/",
        body=b"<!DOCTYPE html><title>outer</title><p>outer page</p><script>"
        b"const f = document.createElement('iframe'); f.src = '/frame-old';"
        b"document.body.append(f);</script>",
        headers=html,
    )
    http.route("/frame-old", status=301, headers={"Location": "/frame.html"})
    http.route(
        "/frame.html",
        body=b"<!DOCTYPE html><title>inner</title><p id='p'>inner</p><script>"
        b"fetch('/inner.txt').then(r => r.text()).then(t => {"
        b"document.getElementById('p').textContent = t })</script>",
        headers=html,
    )
    http.route("/inner.txt", body=b"written in the frame", headers={"Content-Type": "text/plain"})
    options = preserve.CaptureOptions(browser=True, payload="warc", **FAST)  # type: ignore[arg-type]
    result = preserve.capture(http.url("/"), tmp_path / "out", options)
    bag = result.bag_path

    seen = Counter(path for path, _headers in http.requests)
    assert seen == {"/": 1, "/frame-old": 1, "/frame.html": 1, "/inner.txt": 1}
    [frame] = [r for r in result.records if r.url == http.url("/frame-old")]
    assert (frame.role, frame.via, frame.final_url) == (
        "frame",
        "browser:document",
        http.url("/frame.html"),
    )
    [inner] = [r for r in result.records if r.url == http.url("/inner.txt")]
    assert (inner.role, inner.via, inner.referrer) == (
        "requisite",
        "browser:fetch",
        http.url("/frame.html"),
    )
    responses = warc_responses(bag)
    assert responses[http.url("/inner.txt")] == b"written in the frame"
    assert not (bag / "data/web").exists()
    # Both documents rendered; the frame's DOM shows what its script wrote.
    events = [
        e for e in premis(bag).iter(f"{PREMIS}event")
        if e.findtext(f"{PREMIS}eventType") == "creation"
    ]  # fmt: skip
    assert len(events) == 2
    doms = sorted((bag / "data/access/rendered").rglob("*~.html"))
    assert len(doms) == 2
    assert any("written in the frame" in p.read_text(encoding="utf-8") for p in doms)
    bagit.Bag(str(bag)).validate()
    assert preserve.validate(bag).valid


def test_the_example_site_goes_quiet_though_its_audio_stays_open(
    site: Server, tmp_path: Path
) -> None:
    # The front page embeds a WAV file: Chromium keeps its stream open while it could play,
    # but once answered it is not waited for.
    options = preserve.CaptureOptions(browser=True, browser_timeout=20.0)
    result = preserve.capture(site.url("/index.html"), tmp_path / "out", options)
    [(outcome, notes)] = [
        (e.findtext(f".//{PREMIS}eventOutcome"), rendering_notes(result.bag_path))
        for e in premis(result.bag_path).iter(f"{PREMIS}event")
        if e.findtext(f"{PREMIS}eventType") == "creation"
    ]
    assert (outcome, notes) == ("success", [])
    assert any(r.url.endswith("/media/audio-report.wav") for r in result.records)
    seen = Counter(path for path, _headers in site.requests)
    assert all(count == 1 for count in seen.values()), seen
    bagit.Bag(str(result.bag_path)).validate()
    assert preserve.validate(result.bag_path).valid
