"""The access copy opened from disk in a real browser: Debian's Chromium, driven by Playwright.

Every http(s) and ws(s) request is intercepted, recorded and refused; a request the page's
policy refuses before it is made is recorded apart. The browser is Debian's `chromium`
package (`make check` installs it as root on Debian), never one Playwright downloads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import tinycss2

import preserve
from preserve.access import INDEX_PATH, access_path

from .conftest import EXAMPLE_SITE, SHARED, need_shared, serve
from .corpus_proxy import corpus_proxy

pytestmark = pytest.mark.browser

# `make check CHROMIUM=…` names another build; the default is Debian's package.
CHROMIUM = Path(os.environ.get("CHROMIUM") or "/usr/bin/chromium")
# Chromium's own traffic (updates, safe browsing, sync) would otherwise count, and fail.
ARGUMENTS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NETWORK = re.compile(r"^(https?|wss?)://", re.IGNORECASE)
CORPUS = SHARED / "corpus"
IANA = "http://www.iana.org/"
GEOCITIES = "http://www.geocities.jp/gamehouse_grindcrusher2/videogame_top.htm"
FONT_FACES = """async () => Promise.all([...document.fonts].map(face => face.load().then(
    () => ({family: face.family, status: "loaded"}),
    error => ({family: face.family, status: String(error)}))))"""
# Sheets whose media does not apply (print) add no font faces; their rules are unreadable
# from a file: page, but their address and media are not.
INACTIVE_SHEETS = """() => [...document.styleSheets]
    .filter(sheet => sheet.href && sheet.media.mediaText
                     && !matchMedia(sheet.media.mediaText).matches)
    .map(sheet => sheet.href)"""
IMAGES = """() => [...document.images].map(image => ({
    src: image.currentSrc || image.src, complete: image.complete, width: image.naturalWidth}))"""


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the module, with a new empty profile."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: on Debian run `apt-get install -y chromium` as root "
            "(make check does so), or set CHROMIUM=/path/to/chromium; -m 'not browser' skips "
            "these tests"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGUMENTS,
            viewport={"width": 1024, "height": 768},
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class Visit:
    """What opening one access page did: its requests, failures, images, sheets and fonts."""

    network: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    sheets: list[dict[str, Any]] = field(default_factory=list)
    fonts: list[dict[str, str]] = field(default_factory=list)
    page: Any = None
    inactive: list[str] = field(default_factory=list)


def visit(context: Any, path: Path, screenshot: Path) -> Visit:
    """Open the file at `path` as a person would, from disk, and record what happened."""
    network: list[str] = []
    refused: list[str] = []
    failures: list[tuple[str, str]] = []
    page = context.new_page()

    def refuse(route: Any) -> None:
        network.append(route.request.url)
        route.abort()

    def failed(request: Any) -> None:
        if not NETWORK.match(request.url):
            failures.append((request.url, request.failure or ""))
        elif request.url not in network:
            refused.append(request.url)

    page.route(NETWORK, refuse)
    page.on("websocket", lambda socket: network.append(socket.url))
    page.on("requestfailed", failed)
    page.goto(path.as_uri(), wait_until="load")
    fonts = page.evaluate(FONT_FACES)
    images = page.evaluate(IMAGES)
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshot))
    # Taken before DevTools is asked for the sheets: it fetches their text again itself.
    seen = Visit(list(network), list(refused), list(failures), images, [], fonts, page)
    seen.inactive = page.evaluate(INACTIVE_SHEETS)
    session = context.new_cdp_session(page)
    headers: list[dict[str, Any]] = []
    session.on("CSS.styleSheetAdded", lambda event: headers.append(event["header"]))
    session.send("DOM.enable")
    session.send("CSS.enable")
    page.wait_for_timeout(100)
    seen.sheets = [h for h in headers if str(h.get("sourceURL", "")).startswith("file:")]
    session.detach()
    return seen


def distinct_colours(png: Path) -> tuple[int, float]:
    """Return how many colours a screenshot has and the share of the commonest one."""
    from PIL import Image

    with Image.open(png) as image:
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 24) or []
        total = pixels.width * pixels.height
    return len(colours), max(count for count, _ in colours) / total


def loadable_faces(sheets: list[Path]) -> tuple[int, int]:
    """Return (@font-face rules in `sheets`, those with a source in the bag)."""
    faces: list[bool] = []
    for sheet in sheets:
        for rule in tinycss2.parse_stylesheet(sheet.read_text(encoding="utf-8", errors="replace")):
            if rule.type != "at-rule" or rule.lower_at_keyword != "font-face":
                continue
            tokens = list(_walk(rule.content or []))
            sources = [t.value for t in tokens if t.type == "url"] + [
                s.value
                for t in tokens
                if t.type == "function" and t.lower_name == "url"
                for s in t.arguments
                if s.type == "string"
            ]
            local = [s for s in sources if not NETWORK.match(s) and not s.startswith("data:")]
            faces.append(
                any((sheet.parent / unquote(s.split("#")[0])).resolve().is_file() for s in local)
            )
    return len(faces), sum(faces)


def _walk(tokens: list[Any]) -> Iterator[Any]:
    for token in tokens:
        yield token
        if token.type == "function":
            yield from _walk(token.arguments)
        elif token.type in ("() block", "[] block", "{} block"):
            yield from _walk(token.content)


def check_offline(visit_: Visit, result: preserve.CaptureResult, screenshot: Path) -> None:
    """The checks every access page must pass, whatever the site."""
    assert visit_.network == [], "the access copy reached for the network"
    not_captured = {r.url for r in result.records if r.outcome != "captured"}
    for url in visit_.refused:
        assert url in not_captured, f"{url} was captured but the copy still names it on the web"
    assert visit_.failed == [], "a file of the bag failed to load"
    assert visit_.images, "the page shows no image"
    for image in visit_.images:
        assert image["src"].startswith("file:"), image
        assert image["complete"] and image["width"] > 0, image
    assert visit_.sheets, "no stylesheet applied"
    for sheet in visit_.sheets:
        assert sheet["length"] > 0 and not sheet.get("loadingFailed"), sheet
        assert "/data/access/" in sheet["sourceURL"], sheet
    sheets = [
        Path(unquote(urlsplit(sheet["sourceURL"]).path))
        for sheet in visit_.sheets
        if sheet["sourceURL"] not in visit_.inactive
    ]
    rules, loadable = loadable_faces(sheets)
    loaded = [face for face in visit_.fonts if face["status"] == "loaded"]
    assert len(visit_.fonts) == rules
    assert len(loaded) == loadable, visit_.fonts
    colours, commonest = distinct_colours(screenshot)
    assert colours > 100 and commonest < 0.9, (colours, commonest)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> preserve.CaptureResult:
    """The example site captured with its linked pages, from a loopback server."""
    server_iterator = serve(EXAMPLE_SITE)
    server = next(server_iterator)
    try:
        output = tmp_path_factory.mktemp("example-bags")
        return preserve.capture(server.url("/"), output, preserve.CaptureOptions(depth=1))
    finally:
        server_iterator.close()


def copy_of(result: preserve.CaptureResult, role: str = "seed") -> Path:
    record = next(r for r in result.records if r.role == role and r.outcome == "captured")
    assert record.payload_path is not None
    return result.bag_path / access_path(record.payload_path, "html")


def test_the_example_site_opens_from_disk_complete_and_offline(
    context: Any, example: preserve.CaptureResult, tmp_path: Path
) -> None:
    screenshot = tmp_path / "example.png"
    seen = visit(context, copy_of(example), screenshot)
    check_offline(seen, example, screenshot)
    assert seen.refused == []
    html = (EXAMPLE_SITE / "index.html").read_text(encoding="cp1252")
    assert len(seen.images) == len(re.findall(r"<img\b", html, re.IGNORECASE)) == 11
    assert len(seen.sheets) == 2  # style.css and the base.css it imports
    styles = seen.page.evaluate(
        """() => [document.body, document.querySelector('td.masthead'),
                  document.querySelector('hr'), document.querySelector('a.more')]
                 .map(element => getComputedStyle(element).backgroundImage)"""
    )
    web = (example.bag_path / "data/web").as_uri()
    # The body's background= attribute, style.css, and base.css through @import.
    for style, image in zip(styles, ["bg-tile", "masthead-bg", "rule", "arrow"], strict=True):
        assert style.startswith(f'url("{web}/') and f"/images/{image}.gif" in style, style
    seen.page.close()


def test_links_between_captured_pages_open_their_copies(
    context: Any, example: preserve.CaptureResult, tmp_path: Path
) -> None:
    seen = visit(context, copy_of(example), tmp_path / "seed.png")
    page = seen.page
    page.click("text=Rally Against Terrorism")
    page.wait_for_load_state("load")
    story = copy_of(example, "page").parent / "stories/rally-against-terrorism.html"
    assert page.url == story.as_uri()
    assert page.title() == "MQM Rally Against Terrorism - 26 September 2001"
    images = page.evaluate(IMAGES)
    assert images and all(image["width"] > 0 for image in images)
    assert seen.network == []
    page.close()


def test_the_index_names_the_capture_and_lists_pages_and_media_offline(
    context: Any, example: preserve.CaptureResult
) -> None:
    bag = example.bag_path
    page = context.new_page()
    network: list[str] = []
    failures: list[str] = []
    page.route(NETWORK, lambda route: (network.append(route.request.url), route.abort()))
    page.on("websocket", lambda socket: network.append(socket.url))
    page.on("requestfailed", lambda request: failures.append(request.url))
    page.goto((bag / INDEX_PATH).as_uri(), wait_until="load")
    page.wait_for_timeout(300)
    assert network == [] and failures == []

    header = dict(
        zip(
            page.eval_on_selector_all("dl dt", "cells => cells.map(cell => cell.innerText)"),
            page.eval_on_selector_all("dl dd", "cells => cells.map(cell => cell.innerText)"),
            strict=True,
        )
    )
    # The default bag name carries the capture's start, second by second, as the header does.
    stamp = re.search(r"-(\d{8}T\d{6}Z)-[0-9a-f]{8}$", bag.name)
    assert stamp is not None
    started = datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%SZ")
    assert header == {
        "Bag": bag.name,
        "Identifier": example.capture_id,
        "Seed": example.seed,
        "Captured": f"{started:%Y-%m-%d %H:%M:%S} UTC",
        "Title": example.title,
    }
    assert example.capture_id.startswith("urn:uuid:")

    captured = [r for r in example.records if r.outcome == "captured" and r.payload_path]
    pages = [r for r in captured if r.role in ("seed", "page", "frame")]
    media = [r for r in captured if r.role == "media"]
    assert len(pages) == 6 and len(media) == 7
    local = page.eval_on_selector_all("a.local", "links => links.map(link => link.href)")
    opened = [Path(unquote(urlsplit(href).path)) for href in local]
    assert all(path.is_file() and path.is_relative_to(bag / "data") for path in opened), local
    assert sorted(opened) == sorted(
        [bag / access_path(r.payload_path or "", "html") for r in pages]
        + [bag / (r.payload_path or "") for r in media]
    )
    originals = page.eval_on_selector_all(
        "a.original", "links => links.map(link => link.getAttribute('href'))"
    )
    assert all(NETWORK.match(href) for href in originals)
    assert sorted(set(originals)) == sorted(r.url for r in pages + media)
    assert page.eval_on_selector_all("a", "links => links.length") == len(local) + len(originals)

    page.click("text=rally-1.jpg")
    page.wait_for_load_state("load")
    photo = next(r.payload_path or "" for r in media if r.url.endswith("/rally-1.jpg"))
    assert Path(unquote(urlsplit(page.url).path)) == bag / photo
    assert page.evaluate(IMAGES)[0]["width"] > 0
    page.go_back(wait_until="load")
    page.click("text=Photographs of MQM's Rally - September 2001")
    page.wait_for_load_state("load")
    assert page.evaluate(IMAGES)
    assert all(image["width"] > 0 for image in page.evaluate(IMAGES))
    assert network == [] and failures == []
    page.close()


def test_an_original_address_in_the_index_leads_to_the_web_only_when_clicked(
    context: Any, example: preserve.CaptureResult
) -> None:
    page = context.new_page()
    network: list[str] = []
    page.route(NETWORK, lambda route: (network.append(route.request.url), route.abort()))
    page.goto((example.bag_path / INDEX_PATH).as_uri(), wait_until="load")
    assert network == []
    with page.expect_request(NETWORK):
        page.click("#seed a.original")
    assert network == [example.seed]
    page.close()


@pytest.fixture(scope="module")
def corpus_captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, preserve.CaptureResult]:
    """Corpus seeds captured from their WARC records through the loopback proxy.

    www.iana.org has web fonts and SVG; the geocities.jp page is Shift_JIS, declared only in
    its `<meta>`.
    """
    need_shared("corpus")
    workdir = tmp_path_factory.mktemp("corpus")
    captures = {}
    with corpus_proxy(CORPUS, workdir) as proxy:
        options = preserve.CaptureOptions(proxy=proxy.url, ca_bundle=proxy.ca_bundle)
        for seed in (IANA, GEOCITIES):
            captures[seed] = preserve.capture(seed, workdir / "bags", options)
    return captures


@pytest.mark.corpus
def test_a_corpus_seed_opens_from_disk_with_its_fonts_and_offline(
    context: Any, corpus_captures: dict[str, preserve.CaptureResult], tmp_path: Path
) -> None:
    corpus_seed = corpus_captures[IANA]
    screenshot = tmp_path / "iana.png"
    seen = visit(context, copy_of(corpus_seed), screenshot)
    check_offline(seen, corpus_seed, screenshot)
    assert len([face for face in seen.fonts if face["status"] == "loaded"]) == 4
    body_font = seen.page.evaluate(
        "() => document.fonts.check(`16px ${getComputedStyle(document.body).fontFamily}`)"
    )
    assert body_font
    seen.page.close()


@pytest.mark.corpus
def test_a_shift_jis_page_reads_the_same_from_its_copy(
    context: Any, corpus_captures: dict[str, preserve.CaptureResult]
) -> None:
    """The original and its copy decode alike, each opened from disk."""
    result = corpus_captures[GEOCITIES]
    record = next(r for r in result.records if r.role == "seed")
    assert record.payload_path is not None
    texts, requests = [], []
    for path in (result.bag_path / record.payload_path, copy_of(result)):
        page = context.new_page()
        network: list[str] = []
        page.route(NETWORK, lambda route, request, seen=network: _refuse(route, seen))
        page.goto(path.as_uri(), wait_until="load")
        texts.append((page.evaluate("document.characterSet"), page.inner_text("body")))
        requests.append(network)
        page.close()
    # The original, opened as it is, asks the web for its images; its copy asks nothing.
    assert requests[0] and requests[1] == []
    (original_charset, original), (copy_charset, copy) = texts
    assert original_charset == copy_charset == "Shift_JIS"
    assert "ヒヨコのかくれんぼ" in copy
    assert copy == original


def _refuse(route: Any, seen: list[str]) -> None:
    seen.append(route.request.url)
    route.abort()
