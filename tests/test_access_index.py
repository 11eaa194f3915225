"""The access copy's front page: what it lists, and that nothing from a capture runs on it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import lxml.html
import pytest
from hypothesis import given
from hypothesis import strategies as st

from preserve.access import INDEX_PATH, CaptureInfo, Listed, build_access_copy, index_page
from preserve.access.index import web_link
from preserve.models import LogRecord

INFO = CaptureInfo(
    "urn:uuid:3f2c9a4e-1b7d-4e8a-9c61-0d5e7f8a9b10",
    "http://h.example/",
    datetime(2001, 10, 5, 14, 30, 9, tzinfo=timezone(timedelta(hours=5))),
    "h.example-20011005T093009Z-3f2c9a4e",
)
HOSTILE_TITLE = "x</td><script>alert('title')</script><img src=x onerror=alert(1)> &amp; 'q\""
# What a capture log could hold if a server or page tried to smuggle script into the index.
HOSTILE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(2)",
    " javascript:alert(3)",
    "java\tscript:alert(4)",
    "\x01javascript:alert(5)",
    "data:text/html,<script>alert(6)</script>",
    "vbscript:msgbox(7)",
    "file:///etc/passwd",
    "http ://h.example/space",
]
QUOTED = 'http://h.example/a"onmouseover="alert(8)\'<script>alert(9)</script>'
WEB = re.compile(r"https?://", re.IGNORECASE)


def page(title: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body>p</body></html>".encode()


def record(url: str, role: str, path: str, content_type: str, size: int = 10) -> LogRecord:
    return LogRecord(
        url, role, "captured", content_type=content_type, size=size,  # type: ignore[arg-type]
        payload_path=f"data/web/h.example/{path}",
    )  # fmt: skip


def build(records: list[LogRecord], data: bytes, info: CaptureInfo = INFO) -> str:
    url_map = [(r.url, r.payload_path or "") for r in records]
    files = list(build_access_copy(records, url_map, lambda path: data, info))
    assert files[-1].path == INDEX_PATH
    return files[-1].data.decode("utf-8")


def check_nothing_runs(index: str) -> lxml.html.HtmlElement:
    """Parse the index as a browser would; fail if anything from the capture could run."""
    tree = lxml.html.document_fromstring(index)
    scripts = tree.xpath("//script")
    assert scripts == []
    assert tree.xpath("//iframe | //object | //embed | //img | //meta[@http-equiv='refresh']") == []
    for element in tree.iter():
        for name in element.attrib:
            assert not name.lower().startswith("on"), (element.tag, name)
    for anchor in tree.xpath("//a"):
        href = anchor.get("href")
        if anchor.get("class") == "original":
            assert WEB.match(href), href
        else:
            assert anchor.get("class") == "local", anchor.attrib
            assert ":" not in href.split("/")[0], href  # relative: no scheme
    return tree


def test_hostile_titles_and_urls_are_shown_as_text_and_never_run() -> None:
    records = [
        record("http://h.example/", "seed", "index.html", "text/html"),
        *(
            record(url, "media", f"m{number}.bin", "application/octet-stream")
            for number, url in enumerate([*HOSTILE_URLS, QUOTED])
        ),
    ]
    index = build(records, page(HOSTILE_TITLE))
    tree = check_nothing_runs(index)
    seed_link = tree.xpath("//table[1]//a[@class='local']")[0]
    # The title as the page's own parser read it: its text, entity decoded, never markup.
    assert seed_link.text_content() == HOSTILE_TITLE.replace("&amp;", "&")
    assert tree.get_element_by_id("title").text_content() == seed_link.text_content()
    hrefs = [anchor.get("href") for anchor in tree.xpath("//a")]
    cells = [cell.text_content() for cell in tree.xpath("//table[2]//tr/td[4]")]
    for url in HOSTILE_URLS:
        assert url not in hrefs
        assert url.replace("\x01", "") in [cell.replace("\x01", "") for cell in cells]
    # A quote cannot end the attribute: the link is the URL, all of it.
    assert hrefs.count(QUOTED) == 1
    assert tree.xpath("//table[2]//a[@class='original']")[0].text_content() == QUOTED


def test_a_hostile_seed_url_is_not_a_link_in_the_header() -> None:
    info = CaptureInfo(
        INFO.identifier, "javascript:alert(document.domain)", INFO.created, HOSTILE_TITLE
    )
    records = [record("javascript:alert(document.domain)", "seed", "index.html", "text/html")]
    tree = check_nothing_runs(build(records, page("T"), info))
    seed = tree.get_element_by_id("seed")
    assert seed.text_content() == "javascript:alert(document.domain)"
    assert seed.xpath(".//a") == []


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("http://h.example/a?b=c&d=e#f", True),
        ("HTTPS://H.EXAMPLE/", True),
        ("https://h.example/a b", False),
        ("https://h.example/\n", False),
        ("//h.example/", False),
        ("javascript://h.example/%0Aalert(1)", False),
        ("ftp://h.example/", False),
    ],
)
def test_only_http_urls_become_links(url: str, linked: bool) -> None:
    html = web_link(url)
    assert html.startswith("<a ") is linked
    assert "<" not in html.removeprefix("<a ").removesuffix("</a>").split(">", 1)[-1]


def test_the_header_names_the_capture() -> None:
    records = [
        LogRecord("http://h.example/", "seed", "captured", final_url="http://h.example/home",
                  content_type="text/html", size=40,
                  payload_path="data/web/h.example/home~.html"),
    ]  # fmt: skip
    tree = check_nothing_runs(build(records, page("Home &amp; away")))
    header = {
        dt.text_content(): dd for dt, dd in zip(tree.xpath("//dt"), tree.xpath("//dd"), strict=True)
    }
    assert list(header) == ["Bag", "Identifier", "Seed", "Captured", "Title"]
    assert header["Identifier"].text_content() == INFO.identifier
    # The seed as asked for, then where it led.
    assert [a.get("href") for a in header["Seed"].xpath(".//a")] == [
        "http://h.example/",
        "http://h.example/home",
    ]
    # 14:30:09 at UTC+5 is 09:30:09 UTC.
    captured = header["Captured"].xpath(".//time")[0]
    assert captured.get("datetime") == "2001-10-05T09:30:09Z"
    assert captured.text_content() == "2001-10-05 09:30:09 UTC"
    assert header["Title"].text_content() == "Home & away"
    assert header["Bag"].text_content() == INFO.bag_name


def test_pages_and_media_are_listed_apart_each_file_once() -> None:
    records = [
        record("http://h.example/", "seed", "index.html", "text/html"),
        record("http://h.example/logo.gif", "requisite", "logo.gif", "image/gif"),
        record("http://h.example/talk.mp3", "media", "talk.mp3", "audio/mpeg", 3 * 1024 * 1024),
        record("http://h.example/b.html", "page", "b.html", "text/html; charset=utf-8"),
        record("http://h.example/f.html", "frame", "f.html", "text/html"),
        record("http://h.example/report.pdf", "page", "report.pdf", "application/pdf", 2048),
        record("http://h.example/talk.mp3?again", "media", "talk.mp3", "audio/mpeg"),
        record("http://h.example/scan.jpg", "media", "scan.jpg", "image/jpeg", 900),
    ]
    index = build(records, page("Title"))
    tree = check_nothing_runs(index)
    pages, media = tree.xpath("//table")
    assert [a.get("href") for a in pages.xpath(".//a[@class='local']")] == [
        "web/h.example/index.html",
        "web/h.example/b.html",
        # Not a page to rewrite: the original, as captured.
        "../web/h.example/report.pdf",
        "web/h.example/f.html",
    ]
    assert [td.text_content() for td in pages.xpath(".//tr/td[2]")] == [
        "seed",
        "page",
        "page",
        "frame",
    ]
    assert pages.xpath(".//a[@class='local']")[2].text_content() == "report.pdf"
    rows = [[td.text_content() for td in row.xpath("td")] for row in media.xpath(".//tbody/tr")]
    assert rows == [
        ["talk.mp3", "audio/mpeg", "3.0 MiB", "http://h.example/talk.mp3"],
        ["scan.jpg", "image/jpeg", "900 bytes", "http://h.example/scan.jpg"],
    ]
    assert [a.get("href") for a in media.xpath(".//a[@class='local']")] == [
        "../web/h.example/talk.mp3",
        "../web/h.example/scan.jpg",
    ]
    assert "logo.gif" not in index
    assert tree.get_element_by_id("pages").text_content() == "Pages (4)"
    assert tree.get_element_by_id("media").text_content() == "Linked media (2)"


def test_an_empty_capture_says_so() -> None:
    tree = check_nothing_runs(index_page(INFO, []).decode("utf-8"))
    assert "No page was captured." in tree.text_content()
    assert "No linked media was captured." in tree.text_content()
    assert tree.get_element_by_id("title").text_content() == "none"


@given(
    title=st.text(),
    url=st.text(),
    path=st.text(min_size=1).filter(lambda text: "\x00" not in text),
    media_type=st.text(),
)
def test_any_title_url_or_name_leaves_only_safe_links(
    title: str, url: str, path: str, media_type: str
) -> None:
    entries = [
        Listed("seed", url, f"data/web/{path}", f"data/access/web/{path}", media_type, 1, title),
        Listed("media", url, f"data/web/{path}", f"data/web/{path}", media_type, None),
    ]
    index = index_page(CaptureInfo(url, url, INFO.created, url), entries).decode("utf-8")
    # lxml keeps no NUL or other C0 characters a browser would drop; the check is on structure.
    check_nothing_runs(re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", index))
    linked = web_link(url).startswith("<a ")
    # Two files in the bag; the URL in the header and in each table, if it is a web URL.
    assert index.count("<a ") == 2 + (3 if linked else 0)
