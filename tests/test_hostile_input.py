"""Hostile names and markup: each captured under a safe, distinct, portable name, inside --output.

A page names requisites crafted to climb out of the bag or to break a file system: `../`,
`%2e%2e`, backslashes, NUL, names over 255 bytes, Windows device names, trailing spaces and
dots, `%`, CR/LF, Unicode and case twins, query variants. Its title and meta values carry
XML-illegal characters, `]]>` and `Label: value` lines. Hypothesis feeds arbitrary input to the
naming function and the HTML and CSS extractors, 1,000 examples each.
"""

from __future__ import annotations

import re
import socket
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import bagit
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

import preserve
from preserve.discover import find_css_links, find_html_links
from preserve.discover.css import find_style_attribute_links
from preserve.layout import is_portable_name, payload_path
from preserve.models import CaptureOptions
from preserve.urls import canonicalize

from .hostile_server import HostileServer, Request, answer

HOSTILE_NAMES = [
    "../../../../../../etc/passwd.gif",
    "..%2f..%2f..%2fescape.gif",
    "%2e%2e/%2e%2e/%2e%2e/dots.gif",
    "%2E%2E%2F%2E%2E%2Fupper.gif",
    "a\\..\\..\\..\\back.gif",
    "dir%5c..%5c..%5cencoded-back.gif",
    "nul%00byte.gif",
    "x" * 300 + ".gif",
    "é" * 200 + ".gif",
    "/".join(["deep"] * 120) + "/long-path.gif",
    "CON",
    "con.gif",
    "aux.txt",
    "NUL.png",
    "com1.css",
    "LPT9",
    "trailing%20",
    "trailing-dot.",
    "space%20.gif",
    "100%25.gif",
    "bad%zzpercent.gif",
    "lone%",
    "cr%0dlf%0a.gif",
    "tab%09name.gif",
    "caf%C3%A9.gif",
    "cafe%CC%81.gif",
    "Photo.GIF",
    "photo.gif",
    "PHOTO.gif",
    "q.gif?a=1",
    "q.gif?a=2",
    "q.gif?a=1&b=../../../x",
    "q.gif?%00%0d%0a",
    "q.gif?" + "v" * 400,
    "c:%5cwindows%5cwin.ini",
    "pipe%7Cstar%2Aquestion%3F.gif",
    "colon%3Aname.gif",
    "rtl%E2%80%AEfig.gif",
    "emoji-%F0%9F%98%80.gif",
    "dir.with.dots/inner.gif",
    "-leading-dash.gif",
    ".hidden.gif",
    "index.html",
    "folder/",
]


def serve_anything(server: HostileServer, sock: socket.socket, request: Request) -> None:
    """Answer any path with a small body unique to that path."""
    answer(
        sock, "200 OK", b"GIF89a" + request.path.encode("latin-1"), [("Content-Type", "image/gif")]
    )


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        running.fallback = serve_anything
        yield running


def snapshot(folder: Path, skip: Path) -> set[str]:
    """Return every path under `folder`, except those under `skip`."""
    return {
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_relative_to(skip)
    }


def fold(path: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", path).casefold())


def test_hostile_requisite_names_are_stored_safely_inside_the_bag(
    server: HostileServer, tmp_path: Path
) -> None:
    base = "/pages/here/"
    html = "".join(f'<img src="{name}">' for name in HOSTILE_NAMES)
    # Raw control characters in an attribute, as a hostile page may hold them.
    html += '<img src="raw\x00nul.gif"><img src="raw\rcr\nlf.gif"><img src="raw\x7fdel.gif">'
    server.page(base, f"<html><title>names</title><body>{html}</body></html>")
    output = tmp_path / "deep" / "out"
    before = snapshot(tmp_path, output)
    result = preserve.capture(server.url(base), output, CaptureOptions(retries=0))
    # Nothing written anywhere but inside --output.
    assert snapshot(tmp_path, output) == before | {"deep"}
    bag = result.bag_path
    assert bag.parent == output
    bagit.Bag(str(bag)).validate()
    report = preserve.validate(bag)
    assert report.valid, report.problems
    assert report.warnings == ()

    captured = [r for r in result.records if r.role == "requisite"]
    assert captured, "no requisite was found"
    assert all(r.outcome == "captured" for r in captured), [
        (r.url, r.error) for r in captured if r.outcome != "captured"
    ]
    paths = {r.final_url or r.url: r.payload_path for r in captured}
    for url, path in paths.items():
        assert path is not None
        assert path.startswith("data/web/127.0.0.1+"), (url, path)
        parts = path.split("/")
        assert all(is_portable_name(part) for part in parts), (url, path)
        assert len(path.encode()) <= 1024 + len("data/")
        assert (bag / path).resolve().is_relative_to(bag.resolve())
    # Distinct URLs, distinct names, even on case-insensitive or normalising disks.
    assert len(set(paths.values())) == len(paths)
    assert len({fold(path) for path in paths.values()}) == len(paths)
    on_disk = {p.relative_to(bag).as_posix() for p in (bag / "data/web").rglob("*") if p.is_file()}
    assert on_disk == {*paths.values(), result.records[0].payload_path}
    # Each file holds the answer to its own URL.
    for path in paths.values():
        assert (bag / path).read_bytes().startswith(b"GIF89a/")


HOSTILE_TEXT = "Evil\x00\x01\x0b\x1f title ]]> <![CDATA[ & <b>\ufffe\ud800\nContact-Name: injected"


def test_hostile_title_and_meta_make_parseable_xml_and_an_unchanged_bag_info(
    server: HostileServer, tmp_path: Path
) -> None:
    def attribute(text: str) -> str:
        return text.replace("&", "&amp;").replace('"', "&quot;")

    page = (
        "<html><head>"
        f"<title>{HOSTILE_TEXT.replace('<', '&lt;')}\r\nSource-Organization: evil</title>"
        f'<meta name="description" content="{attribute(HOSTILE_TEXT)}&#1;&#x1F;">'
        f'<meta name="DC.creator" content="a&#10;External-Identifier: urn:evil">'
        '<meta name="keywords" content="]]>, &#0;, \u202eevil">'
        "</head><body>x</body></html>"
    )
    server.page("/", page.encode("utf-8", "surrogatepass"))
    result = preserve.capture(server.url("/"), tmp_path, CaptureOptions(retries=0))
    bag = result.bag_path
    bagit.Bag(str(bag)).validate()
    for name in ("dc.xml", "oai_dc.xml", "premis.xml"):
        etree.parse(str(bag / "data/metadata" / name))
    lines = (bag / "bag-info.txt").read_text(encoding="utf-8").splitlines()
    labels = [line.split(":", 1)[0] for line in lines]
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z-]*: .*", line) for line in lines), lines
    assert "Contact-Name" not in labels
    assert "Source-Organization" not in labels
    assert labels.count("External-Identifier") == 1
    assert all(not any(ord(c) < 32 for c in line) for line in lines)
    title = next(line for line in lines if line.startswith("Internal-Sender-Description: "))
    assert "Contact-Name: injected" in title
    assert result.title is not None
    assert "\x00" not in result.title


# Property tests: arbitrary input never makes these raise


URL_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Z", "C"]),
    max_size=80,
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=URL_TEXT,
    query=st.none() | URL_TEXT,
    host=st.sampled_from(["h.test", "H.test:8080", "[::1]", "xn--caf-dma.test"]),
)
def test_naming_never_escapes_and_stays_portable(path: str, query: str | None, host: str) -> None:
    raw = f"http://{host}/{path}" + ("" if query is None else "?" + query)
    try:
        url = canonicalize(raw)
    except ValueError:
        assume(False)
        raise
    assume(url.startswith("http://"))
    try:
        path_out = payload_path(url)
    except ValueError:
        # Only for what is not an absolute http(s) URL with a host.
        assume(False)
        raise
    parts = path_out.split("/")
    assert parts[0] == "web"
    assert all(is_portable_name(part) for part in parts), path_out
    assert len(path_out.encode()) <= 1024
    assert payload_path(url) == path_out


HTML_BITS = st.sampled_from(
    [
        "<img src=", "<a href=", "<base href=", "<link rel=stylesheet href=", "<style>",
        "</style>", "<iframe src=", "<meta charset=", "<meta http-equiv=refresh content=",
        "<title>", "</title>", "<!--", "-->", "<![CDATA[", "]]>", "<svg><image href=",
        "<object data=", "<param name=movie value=", "srcset=\"", "1x,", "\"", "'", ">", "=",
        " ", "../", "%2e%2e/", "\\", "\x00", "&#0;", "&#x110000;", "&amp", "url(", "@import ",
        "http://[::1", "//", "javascript:", "data:", "\ud800", "é", "\u202e",
    ]
)  # fmt: skip
CSS_BITS = st.sampled_from(
    [
        "@import ", "url(", ")", "(", "{", "}", ";", '"', "'", "\\", "\\0", "image-set(",
        "@font-face", "src:", "/*", "*/", "@charset \"x\";", "../", "%", "\x00", "\ud800",
        "@media ", "!important", "//h/", "http://[", "é", "\n",
    ]
)  # fmt: skip
BASE = "http://example.test/a/b/page.html"


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=600)
    | st.lists(HTML_BITS | st.text(max_size=6), max_size=40).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
    st.none() | st.sampled_from(["utf-8", "utf-16", "latin-1", "bogus"]),
)
def test_html_extractor_never_raises(data: bytes, charset: str | None) -> None:
    found = find_html_links(data, BASE, http_charset=charset)
    assert all(link.url.startswith(("http://", "https://", "file:")) for link in found.links)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=600)
    | st.lists(CSS_BITS | st.text(max_size=6), max_size=40).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    )
)
def test_css_extractor_never_raises(data: bytes) -> None:
    links = find_css_links(data, BASE)
    text = data.decode("utf-8", "replace")
    links += find_style_attribute_links(text, BASE)
    assert all(link.url.startswith(("http://", "https://", "file:")) for link in links)
