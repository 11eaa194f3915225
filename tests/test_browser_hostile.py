"""Hostile markup captured from a loopback server, its access copy opened from disk in Chromium.

Each case is a page the seed links to; the seed holds them all. Opened as captured (the
original under data/web/), every case reaches for http://evil.test/ or navigates there, which
shows the markup is live. Opened from its access copy, no case and not the seed makes any
http(s) request or leaves the page. Every http(s) and ws(s) request, from any page, frame or
popup, is intercepted, recorded and refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import preserve
from preserve.access import access_path

from .conftest import serve
from .test_browser import ARGUMENTS, CHROMIUM, NETWORK

pytestmark = pytest.mark.browser

EVIL = "http://evil.test/"


def refresh(name: str) -> str:
    return f'<meta http-equiv=refresh content="0;url={EVIL}{name}">'


# Each leaves the bag, by itself, when opened from disk as it was captured.
CASES = {
    # The issue: raw-text elements hold markup in SVG and MathML, where <meta> breaks out.
    "svg-style": f"<svg><style>{refresh('svg-style')}</style></svg>",
    "svg-script": f"<svg><script>{refresh('svg-script')}</script></svg>",
    "svg-title": f"<svg><title>{refresh('svg-title')}</title></svg>",
    "math-style": f"<math><style>{refresh('math-style')}</style></math>",
    # Markup a browser reads otherwise than a naive tokenizer would.
    "noscript-comment": f"<noscript><!--</noscript>{refresh('noscript-comment')}<!-- -->",
    "script-escape": f"<script><!--<script></script><!--</script>{refresh('script-escape')}-->",
    "end-tag-attribute": f'</x a=">"<!--">{refresh("end-tag-attribute")}-->',
    "meta-refresh": refresh("meta-refresh"),
    # Scripts that are not captured files: inline, in SVG, in handlers, in URLs.
    "inline-script": f'<script>location.href = "{EVIL}inline-script"</script>',
    "svg-inline-script": f'<svg><script>location.href = "{EVIL}svg-inline-script"</script></svg>',
    "event-handler": f"<svg onload=\"location.href = '{EVIL}event-handler'\"></svg>",
    "javascript-url": f"<iframe src=\"javascript:top.location = '{EVIL}javascript-url'\"></iframe>",
    "page-policy": (
        "<meta http-equiv=Content-Security-Policy content=\"script-src * 'unsafe-inline'\">"
        f'<script>location.href = "{EVIL}page-policy"</script>'
    ),
    # Base URLs, in HTML and inside an SVG integration point.
    "base": f'<base href="{EVIL}base/"><meta http-equiv=refresh content="0;url=next.html">',
    "base-in-svg": f'<svg><desc><base href="{EVIL}base-in-svg/"></desc></svg><img src="i.png">',
    # SVG that loads by itself.
    "svg-image": f'<svg><image href="{EVIL}svg-image.png" width="9" height="9"/></svg>',
    "svg-script-href": f'<svg><script href="{EVIL}svg-script-href.js"></script></svg>',
    "fe-image": (
        f'<svg><filter id="f"><feImage href="{EVIL}fe-image.png"/></filter>'
        '<rect filter="url(#f)" width="9" height="9"/></svg>'
    ),
    "set-href": (
        '<svg><image width="9" height="9" href="../ok.gif">'
        f'<set attributeName="href" to="{EVIL}set-href.png"/></image></svg>'
    ),
    "animate-href": (
        '<svg><image width="9" height="9" href="../ok.gif">'
        f'<animate attributeName="href" values="{EVIL}animate-href.png" dur="9s"/></image></svg>'
    ),
    # Documents inside the page.
    "srcdoc": (
        f"<iframe srcdoc=\"<img src='{EVIL}srcdoc.png'>"
        f"<meta http-equiv=refresh content='0;url={EVIL}srcdoc'>\"></iframe>"
    ),
    "object-svg": '<object data="../frame.svg" type="image/svg+xml"></object>',
    "iframe-svg": '<iframe src="../frame.svg"></iframe>',
}
# Hostile too, but only on a click, or not through any request a page can see.
SEED_ONLY = (
    f'<svg><a xlink:href="{EVIL}svg-a"><text y="20">svg link</text></a></svg>'
    f'<a href="ok.gif" ping="{EVIL}ping">ping</a>'
    f'<link rel="preconnect dns-prefetch" href="{EVIL}">'
    f'<svg><link rel="stylesheet" href="{EVIL}svg-link.css"/><base href="{EVIL}svg-base/"/></svg>'
    f'<svg><use href="{EVIL}use.svg#a"/></svg>'
)
FRAME_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg">'
    f'<image href="{EVIL}frame-svg.png" width="9" height="9"/>'
    f'<script>fetch("{EVIL}frame-svg-fetch")</script></svg>'
)
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def seed_page() -> str:
    links = "".join(f'<a href="case/{name}.html">{name}</a> ' for name in CASES)
    cases = "".join(f"<div>{markup}</div>" for markup in CASES.values())
    return (
        '<!DOCTYPE html><html><head><title>Hostile</title><script src="app.js"></script>'
        '</head><body><script>document.documentElement.dataset.inline = "ran"</script>'
        f'<img src="ok.gif" width="9" height="9"><p>{links}</p>{cases}{SEED_ONLY}</body></html>'
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> preserve.CaptureResult:
    """The seed and each case captured (depth 1) from a loopback server; evil.test is not."""
    server_iterator = serve(None)
    server = next(server_iterator)
    html = {"Content-Type": "text/html; charset=utf-8"}
    server.route("/", body=seed_page().encode(), headers=html)
    for name, markup in CASES.items():
        page = f"<!DOCTYPE html><html><head><title>{name}</title></head><body>{markup}</body>"
        server.route(f"/case/{name}.html", body=page.encode(), headers=html)
    server.route("/ok.gif", body=GIF, headers={"Content-Type": "image/gif"})
    script = b'document.documentElement.dataset.captured = "ran";'
    server.route("/app.js", body=script, headers={"Content-Type": "text/javascript"})
    server.route("/frame.svg", body=FRAME_SVG.encode(), headers={"Content-Type": "image/svg+xml"})
    try:
        options = preserve.CaptureOptions(depth=1, exclude=(r"evil\.test",), retries=0)
        return preserve.capture(server.url("/"), tmp_path_factory.mktemp("hostile"), options)
    finally:
        server_iterator.close()


@dataclass
class Browser:
    """A headless Chromium, and the http(s) requests no page's own route took."""

    context: Any
    elsewhere: list[str] = field(default_factory=list)

    def open_all(self, paths: list[Path], wait: int) -> list[tuple[Any, list[str]]]:
        """Open each file in a tab of its own, wait `wait` ms, return each tab and its requests."""
        opened = []
        for path in paths:
            page = self.context.new_page()
            requests: list[str] = []
            page.route(NETWORK, lambda route, _, seen=requests: _refuse(route, seen))
            page.on("websocket", lambda socket, seen=requests: seen.append(socket.url))
            page.goto(path.as_uri(), wait_until="commit")
            opened.append((page, requests))
        opened[-1][0].wait_for_timeout(wait)
        return opened


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium for the module, with a new empty profile."""
    if not CHROMIUM.is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}; -m 'not browser' skips these tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGUMENTS,
        )
        browser = Browser(context)
        # Popups and workers have no route of their own: this one takes their requests.
        context.route(NETWORK, lambda route, _: _refuse(route, browser.elsewhere))
        try:
            yield browser
        finally:
            context.close()


def _refuse(route: Any, seen: list[str]) -> None:
    seen.append(route.request.url)
    route.abort()


def files(result: preserve.CaptureResult, url: str) -> tuple[Path, Path]:
    """Return the original of a captured page and its access copy."""
    record = next(r for r in result.records if r.url == url and r.outcome == "captured")
    assert record.payload_path is not None
    return (
        result.bag_path / record.payload_path,
        result.bag_path / access_path(record.payload_path, "html"),
    )


def test_no_hostile_case_leaves_the_bag_from_its_copy(
    chromium: Browser, hostile: preserve.CaptureResult
) -> None:
    base = hostile.seed.rstrip("/")
    pairs = {name: files(hostile, f"{base}/case/{name}.html") for name in CASES}

    copies = chromium.open_all([copy for _, copy in pairs.values()], wait=2000)
    for (name, (_, copy)), (page, requests) in zip(pairs.items(), copies, strict=True):
        assert (name, requests) == (name, [])
        assert (name, page.url) == (name, copy.as_uri())
        assert page.title() == name
        page.close()
    assert chromium.elsewhere == []

    # The same markup, opened as it was captured, does leave: each case is live.
    originals = chromium.open_all([original for original, _ in pairs.values()], wait=1500)
    for name, (page, requests) in zip(pairs, originals, strict=True):
        left = any(request.startswith(EVIL) for request in requests + chromium.elsewhere)
        assert left or page.url.startswith(EVIL), name
        page.close()


def test_the_seed_full_of_hostile_markup_stays_and_runs_only_captured_scripts(
    chromium: Browser, hostile: preserve.CaptureResult
) -> None:
    chromium.elsewhere.clear()
    _, copy = files(hostile, hostile.seed)
    ((page, requests),) = chromium.open_all([copy], wait=2000)
    assert requests == [] and chromium.elsewhere == []
    assert page.url == copy.as_uri()
    assert page.title() == "Hostile"
    flags = page.evaluate("() => ({...document.documentElement.dataset})")
    assert flags == {"captured": "ran"}
    width = page.evaluate("() => document.images[0].naturalWidth")
    assert width == 1
    page.close()
