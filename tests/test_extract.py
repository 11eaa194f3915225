"""Explicit-only extraction: every source in its order, real encodings, real pages, no guesses.

Real pages come from `../shared/corpus/` (its single pages and every HTML page its WARCs
hold) and from `tests/fixtures/metadata/pages/` (encodings the corpus lacks). Their titles
below were read off each page by hand.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preserve.metadata import Extracted, Value, extract
from preserve.metadata.values import language_tag, parse_date

from .conftest import SHARED

CORPUS = SHARED / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "metadata"
W3CDTF = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?")
needs_corpus = pytest.mark.shared("corpus")


@dataclass(frozen=True)
class RealPage:
    """An HTML page as a server sent it, and what a person reads as its title and language."""

    name: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    title: str
    language: str | None = None

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k.lower() == "content-type"), "text/html")


# Titles as a reader sees them in the browser's title bar (entities decoded, spaces collapsed).
CORPUS_TITLES = {
    "pages/xkcd.com_1.html": ("xkcd: Barrel - Part 1", "en"),
    "pages/geocities.jp_videogame_top.htm": ("VIDEO GAME TOP", None),
    "http://books.toscrape.com/": ("All products | Books to Scrape - Sandbox", "en-US"),
    "http://stringjs.com/": ("string.js", None),
    "http://www.iana.org/": ("Internet Assigned Numbers Authority", None),
    "http://www.iana.org/numbers": ("IANA — Number Resources", None),
    "http://www.iana.org/about": ("IANA — About the Internet Assigned Numbers Authority", None),
    "http://www.iana.org/protocols": ("IANA — Protocol Registries", None),
    "http://www.iana.org/time-zones": ("IANA — Time Zone Database", None),
    "http://www.iana.org/performance/ietf-statistics": ("IANA — IETF Statistics Reporting", None),
    "http://www.iana.org/performance/ietf-draft-status": (
        "IANA — Status of IETF Internet Drafts",
        None,
    ),
    "http://www.iana.org/domains": ("IANA — Domain Name Services", None),
    "http://www.iana.org/domains/root": ("IANA — Root Zone Management", None),
    "http://www.iana.org/domains/root/db": ("IANA — Root Zone Database", None),
    "http://www.iana.org/domains/reserved": ("IANA — IANA-managed Reserved Domains", None),
    "http://www.iana.org/domains/idn-tables": ("IANA — Repository of IDN Practices", None),
    "http://www.iana.org/domains/root/servers": ("IANA — Root Servers", None),
    "http://www.iana.org/domains/int": ("IANA — Intergovernmental Treaty (.INT) Domains", None),
    "http://www.iana.org/domains/arpa": ("IANA — .ARPA Zone Database", None),
    "https://www.iana.org/dnssec": ("IANA — DNSSEC Information", None),
    "https://www.wikipedia.org/": ("Wikipedia", "mul"),
    "http://www.archiveteam.org/index.php?title=Main_Page": ("Archiveteam", "en"),
}

FIXTURE_PAGES = (
    RealPage(
        "windows-1251.html",
        "http://culture.example/news/",
        (("Content-Type", "text/html"),),
        b"",
        "Новости культуры — Москва, 15 октября 2001 года",
        "ru",
    ),
    RealPage(
        "gb2312-declared-gbk.html",
        "http://news.example/zh/",
        (("Content-Type", "text/html"),),
        b"",
        "国务院总理朱镕基会见外宾——新闻中心",
        "zh-CN",
    ),
    RealPage(
        "utf-16le-bom-meta-latin1.html",
        "http://nea.example/",
        (("Content-Type", "text/html"),),
        b"",
        "Ελληνικά νέα – ημερολόγιο της Αθήνας",
        "el",
    ),
    RealPage(
        "undeclared-windows-1252.html",
        "http://procope.example/menu",
        (("Content-Type", "text/html"),),
        b"",
        "Café “Le Procope” – menu d’été, crème brûlée à volonté",
        None,
    ),
)


def fixture_pages() -> list[RealPage]:
    """Return the encoding fixtures with their bytes."""
    return [
        RealPage(
            p.name,
            p.url,
            p.headers,
            (FIXTURES / "pages" / p.name).read_bytes(),
            p.title,
            p.language,
        )
        for p in FIXTURE_PAGES
    ]


def corpus_pages() -> list[RealPage]:
    """Return every HTML page of the corpus: its single pages and each 2xx HTML response."""
    if not CORPUS.is_dir():
        return []
    pages = []
    for name, url in (
        ("xkcd.com_1.html", "http://xkcd.com/1/"),
        (
            "geocities.jp_videogame_top.htm",
            "http://www.geocities.jp/gamehouse_grindcrusher2/videogame_top.htm",
        ),
    ):
        title, language = CORPUS_TITLES[f"pages/{name}"]
        body = (CORPUS / "pages" / name).read_bytes()
        pages.append(RealPage(name, url, (("Content-Type", "text/html"),), body, title, language))
    for warc in sorted((CORPUS / "warcs").iterdir()):
        for url, status, headers, body in _warc_responses(warc):
            kind = next((v for k, v in headers if k.lower() == "content-type"), "")
            if 200 <= status < 300 and kind.lower().startswith("text/html"):
                title, language = CORPUS_TITLES[url]
                pages.append(RealPage(url, url, headers, body, title, language))
    return pages


def _warc_responses(path: Path) -> list[tuple[str, int, tuple[tuple[str, str], ...], bytes]]:
    """Return (URL, status, headers, decoded body) of each response record of a WARC file."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    out = []
    position = 0
    while (start := data.find(b"WARC/1.", position)) >= 0:
        end = data.index(b"\r\n\r\n", start)
        head = data[start:end].decode("utf-8", "replace")
        length = int(re.search(r"Content-Length:\s*(\d+)", head, re.I).group(1))
        block = data[end + 4 : end + 4 + length]
        position = end + 4 + length
        if not re.search(r"^WARC-Type:\s*response", head, re.M | re.I):
            continue
        url = re.search(r"^WARC-Target-URI:\s*<?([^>\s]+)", head, re.M).group(1)
        split = block.index(b"\r\n\r\n")
        lines = block[:split].decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = tuple(
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in lines[1:])
        )
        out.append((url, status, headers, _decode_body(headers, block[split + 4 :])))
    return out


def _decode_body(headers: tuple[tuple[str, str], ...], body: bytes) -> bytes:
    """Remove chunked transfer coding and gzip/deflate content coding, as a browser would."""
    fields = {name.lower(): value.lower() for name, value in headers}
    if "chunked" in fields.get("transfer-encoding", ""):
        body = _dechunk(body)
    coding = fields.get("content-encoding", "")
    if coding == "gzip":
        body = gzip.decompress(body)
    elif coding == "deflate":
        body = zlib.decompress(body)
    return body


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    position = 0
    try:
        while True:
            end = body.index(b"\r\n", position)
            size = int(body[position:end].split(b";")[0], 16)
            if size == 0:
                return bytes(out)
            out += body[end + 2 : end + 2 + size]
            position = end + 2 + size + 2
    except ValueError:
        # Some tools stored the body already de-chunked but kept the header.
        return body if not out else bytes(out)


ALL_PAGES = corpus_pages() + fixture_pages()


def extract_page(page: RealPage) -> Extracted:
    charset = re.search(r"charset=([^;\s]+)", page.content_type)
    return extract(
        page.body,
        final_url=page.url,
        requested_url=page.url,
        http_charset=charset.group(1) if charset else None,
        headers=page.headers,
    )


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda p: p.name)
def test_real_page_title_and_language(page: RealPage) -> None:
    found = extract_page(page)
    assert [v.text for v in found.title] == [page.title]
    assert "\ufffd" not in page.title
    languages = [v.text for v in found.language]
    if page.language is None:
        assert languages == []
    else:
        assert languages[0] == page.language
        assert all(language_tag(tag) == tag for tag in languages)
    for value in (*found.issued, *found.modified):
        assert W3CDTF.fullmatch(value.text), value


@needs_corpus
def test_corpus_holds_the_pages_the_issue_names() -> None:
    names = {page.name for page in ALL_PAGES}
    # UTF-8 declared only in <meta>, Shift_JIS slightly misnamed, and an <?xml?> XHTML page.
    assert {
        "http://books.toscrape.com/",
        "geocities.jp_videogame_top.htm",
        "xkcd.com_1.html",
    } <= names
    assert len([p for p in ALL_PAGES if p.name.startswith("http")]) >= 18


def test_encoding_fixtures_decode_as_written() -> None:
    found = {page.name: extract_page(page) for page in fixture_pages()}
    assert found["windows-1251.html"].encoding == "windows-1251"
    assert [v.text for v in found["windows-1251.html"].creator] == ["Редакция «Культура»"]
    assert [v.text for v in found["windows-1251.html"].issued] == ["2001-10-15"]
    assert found["gb2312-declared-gbk.html"].encoding == "gb18030"
    assert [v.text for v in found["gb2312-declared-gbk.html"].subject] == [
        "朱镕基",
        "国务院",
        "外交",
        "新闻",
    ]
    # The BOM wins over a <meta> that claims iso-8859-1.
    assert found["utf-16le-bom-meta-latin1.html"].encoding == "utf-16-le"
    assert found["undeclared-windows-1252.html"].encoding == "windows-1252"
    description = found["undeclared-windows-1252.html"].description[0].text
    assert "bœuf bourguignon" in description


def page(head: str = "", body: str = "", html: str = "<html>") -> bytes:
    return f"<!DOCTYPE html>{html}<head>{head}</head><body>{body}</body></html>".encode()


def texts(values: tuple[Value, ...]) -> list[str]:
    return [v.text for v in values]


def sources(values: tuple[Value, ...]) -> list[str]:
    return [v.source for v in values]


URL = "http://example.test/a/page.html"


def run(data: bytes, **kwargs: Any) -> Extracted:
    return extract(data, final_url=URL, **kwargs)


def test_title_order_and_alternatives() -> None:
    head = (
        '<meta name="og:ignored" content="x"><title> The  &amp; Title </title>'
        '<meta property="og:title" content="OG title">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "LD"}</script>'
    )
    found = run(page(head, "<svg><title>icon</title></svg><h1>The &amp; Title</h1>"))
    assert texts(found.title) == ["The & Title"]
    assert sources(found.title) == ["<title>"]
    assert texts(found.alternative) == ["OG title", "LD"]
    dc_first = run(page('<meta name="dcterms:Title" content="DC"><title>T</title>'))
    assert texts(dc_first.title) == ["DC"]
    assert sources(dc_first.title) == ['meta name="dcterms:Title"']
    h1_only = run(page("<title>   </title>", "<h1>Only <em>heading</em></h1>"))
    assert texts(h1_only.title) == ["Only heading"]
    assert texts(run(page()).title) == []


def test_jsonld_page_node_not_the_organisation() -> None:
    ld = (
        '{"@context": "https://schema.org", "@graph": ['
        '{"@type": "Organization", "@id": "#org", "name": "Daily Planet"},'
        '{"@type": ["NewsArticle"], "headline": "Headline", "author": [{"name": "Lois Lane"}, '
        '{"@type": "Person", "name": "Clark Kent"}], "publisher": {"@id": "#org"},'
        '"datePublished": "2001-10-15T09:30:00+05:00", "dateModified": "2001-10-16",'
        '"keywords": "news, metropolis", "license": {"url": "https://creativecommons.org/licenses/by/4.0/"},'
        '"description": "What happened."}]}'
    )
    found = run(
        page(
            f'<script type="application/ld+json">{ld}</script>'
            '<script type="application/ld+json">{broken</script>'
        )
    )
    assert texts(found.title) == ["Headline"]
    assert texts(found.creator) == ["Lois Lane", "Clark Kent"]
    assert texts(found.publisher) == ["Daily Planet"]
    assert texts(found.issued) == ["2001-10-15T09:30:00+05:00"]
    assert texts(found.modified) == ["2001-10-16"]
    assert texts(found.subject) == ["news", "metropolis"]
    assert texts(found.license) == ["https://creativecommons.org/licenses/by/4.0/"]
    assert texts(found.description) == ["What happened."]
    only_org = run(
        page('<script type="application/ld+json">{"@type": "Organization", "name": "Org"}</script>')
    )
    assert texts(only_org.title) == []


def test_creator_publisher_description_subject_orders() -> None:
    head = (
        '<meta name="author" content="https://example.test/me">'
        '<meta name="author" content="Jane Roe">'
        '<meta property="og:site_name" content="Site">'
        '<meta name="description" content="Plain description">'
        '<meta property="og:description" content="OG description">'
        '<meta name="keywords" content="one, two，three、four, ONE">'
        '<meta property="article:tag" content="tag">'
    )
    found = run(page(head))
    assert texts(found.creator) == ["Jane Roe"]
    assert texts(found.publisher) == ["Site"]
    assert texts(found.description) == ["Plain description"]
    assert texts(found.subject) == ["one", "two", "three", "four"]
    dc = run(
        page(
            head
            + '<meta name="DC.creator" content="A"><meta name="dc:creator" content="B">'
            + '<meta name="DC.publisher" content="P"><meta name="DCTERMS.abstract" content="Abs">'
            + '<meta name="DC.subject" content="History; Politics">'
        )
    )
    assert texts(dc.creator) == ["A", "B"]
    assert texts(dc.publisher) == ["P"]
    assert texts(dc.description) == ["Abs"]
    assert texts(dc.subject) == ["History; Politics"]
    tags = run(
        page('<meta property="article:tag" content="a"><meta property="article:tag" content="b">')
    )
    assert texts(tags.subject) == ["a", "b"]


def test_dates_are_explicit_w3cdtf_or_dropped() -> None:
    head = (
        '<meta name="DC.date" content="15/10/2001">'
        '<meta property="article:published_time" content="2001-10-15T09:30:00">'
        '<meta property="article:modified_time" content="2001-13-45">'
    )
    found = run(
        page(head, '<time itemprop="datePublished" datetime="2001-10-14">Sunday</time>'),
        headers=(("Last-Modified", "Tue, 16 Oct 2001 08:00:00 GMT"),),
    )
    # 15/10/2001 is ambiguous and dropped; a date-time without a zone keeps only its date.
    assert texts(found.issued) == ["2001-10-15"]
    assert sources(found.issued) == ['meta property="article:published_time"']
    assert texts(found.modified) == ["2001-10-16T08:00:00Z"]
    assert sources(found.modified) == ["HTTP Last-Modified"]
    generated = run(
        page(),
        headers=(
            ("Date", "Tue, 16 Oct 2001 08:00:59 GMT"),
            ("Last-Modified", "Tue, 16 Oct 2001 08:00:00 GMT"),
        ),
    )
    assert texts(generated.modified) == []
    time_only = run(page("", '<time itemprop="datePublished">2001-10-14</time>'))
    assert texts(time_only.issued) == ["2001-10-14"]


def test_created_is_the_page_s_stated_creation_date() -> None:
    ld = '{"@type": "Article", "dateCreated": "2001-09-01T12:00:00+05:00"}'
    jsonld = run(page(f'<script type="application/ld+json">{ld}</script>'))
    assert texts(jsonld.created) == ["2001-09-01T12:00:00+05:00"]
    assert sources(jsonld.created) == ["JSON-LD dateCreated"]
    meta = run(
        page(
            '<meta name="DC.date.created" content="2001-08">'
            '<meta name="dcterms:created" content="not a date">'
            f'<script type="application/ld+json">{ld}</script>'
        )
    )
    assert texts(meta.created) == ["2001-08"]
    assert sources(meta.created) == ['meta name="DC.date.created"']
    # Nothing the server says is a creation date: without a statement there is none.
    served = run(page(), headers=(("Last-Modified", "Tue, 16 Oct 2001 08:00:00 GMT"),))
    assert texts(served.created) == []


def test_a_local_file_s_source_is_its_relative_path() -> None:
    found = extract(page(), final_url="file:saved/page.html", requested_url="file:saved/page.html")
    assert [(v.text, v.source) for v in found.source] == [
        ("file:saved/page.html", "the file's path relative to the seed's folder")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2001", "2001"),
        ("2001-10", "2001-10"),
        ("2001-10-15", "2001-10-15"),
        ("2001-10-15T09:30Z", "2001-10-15T09:30:00Z"),
        ("2001-10-15 09:30:05.25+0530", "2001-10-15T09:30:05.25+05:30"),
        ("2001-10-15T09:30:00-00:00", "2001-10-15T09:30:00Z"),
        ("2001-10-15T09:30:00", "2001-10-15"),
        ("Mon, 15 Oct 2001 09:30:00 GMT", "2001-10-15T09:30:00Z"),
        ("Mon, 15 Oct 2001 09:30:00 +0200", "2001-10-15T09:30:00+02:00"),
        ("2001-02-30", None),
        ("2001-10-15T25:00Z", None),
        ("2001-10-15T09:30+15:00", None),
        ("0000", None),
        ("15/10/2001", None),
        ("October 2001", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


def test_language_order_and_normalisation() -> None:
    assert texts(run(page(html='<html lang="en_us">')).language) == ["en-US"]
    xml_lang = run(page(html='<html xml:lang="pt-br">'))
    assert texts(xml_lang.language) == ["pt-BR"]
    assert sources(xml_lang.language) == ["<html xml:lang>"]
    bad_then_meta = run(
        page('<meta name="DC.language" content="zh-hant-tw">', html='<html lang="not a tag">')
    )
    assert texts(bad_then_meta.language) == ["zh-Hant-TW"]
    header = run(page(html='<html lang="">'), headers=(("Content-Language", "de, fr-CH"),))
    assert texts(header.language) == ["de", "fr-CH"]
    og = run(page('<meta property="og:locale" content="en_GB">'))
    assert texts(og.language) == ["en-GB"]
    assert texts(run(page()).language) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EN", "en"),
        ("en_us", "en-US"),
        ("sr-latn-rs", "sr-Latn-RS"),
        ("es-419", "es-419"),
        ("x-klingon", "x-klingon"),
        ("english", None),
        ("jp", None),
        ("", None),
        ("en US", None),
        ("e", None),
        ("toolongtag9", None),
    ],
)
def test_language_tag(text: str, expected: str | None) -> None:
    assert language_tag(text) == expected


def test_rights_license_and_source() -> None:
    head = (
        '<meta name="DC.rights" content="© 2001 The Authors">'
        '<link rel="license" href="/licence.html">'
        '<link rel="canonical" href="../canonical/">'
        '<meta property="og:url" content="http://example.test/og">'
    )
    found = run(page(head), requested_url="http://example.test/start")
    assert texts(found.rights) == ["© 2001 The Authors"]
    assert texts(found.license) == ["http://example.test/licence.html"]
    assert [(v.text, v.source) for v in found.source] == [
        ("http://example.test/canonical/", 'link rel="canonical"'),
        (URL, "final URL"),
        ("http://example.test/start", "requested URL"),
    ]
    og = run(
        page(
            '<meta property="og:url" content="javascript:alert(1)">'
            '<meta property="og:url" content="/og">'
        )
    )
    assert texts(og.source) == ["http://example.test/og", URL]


def test_not_html_speaks_only_through_headers() -> None:
    found = extract(
        None,
        final_url="http://example.test/a.pdf",
        headers=(("Content-Language", "en"), ("Last-Modified", "Mon, 15 Oct 2001 09:30:00 GMT")),
    )
    assert texts(found.title) == []
    assert texts(found.language) == ["en"]
    assert texts(found.modified) == ["2001-10-15T09:30:00Z"]
    assert found.encoding is None


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=4096))
def test_extract_never_raises_on_bytes(data: bytes) -> None:
    extract(data, final_url=URL, headers=(("Content-Language", "xx"),))


HTML_PIECES = st.sampled_from(
    [
        "<title>",
        "</title>",
        "<h1>",
        "<meta name='DC.title' content='",
        "'>",
        "<meta ",
        "property=og:title content=",
        "<html lang=",
        "<script type=application/ld+json>",
        "</script>",
        '{"@type":"Article","headline":',
        "[",
        "]",
        "{",
        "}",
        '"',
        "<svg>",
        "<time itemprop=datePublished datetime=",
        "<link rel=canonical href=",
        "\x00",
        "\ufeff",
        "]]>",
        "&amp;",
        "&#0;",
        "\u202e",
        "\U0001f600",
        "\n",
        "2001-10-15T09:30Z",
        "<?xml ?>",
    ]
)


@settings(deadline=None, max_examples=300)
@given(st.lists(st.one_of(HTML_PIECES, st.text(max_size=20)), max_size=40))
def test_extract_never_raises_on_html_like_text(pieces: list[str]) -> None:
    data = "".join(pieces).encode("utf-8", "surrogatepass")
    found = extract(data, final_url=URL, http_charset="utf-8")
    for _, values in found.elements():
        for value in values:
            assert value.text == value.text.strip()
            assert "\n" not in value.text
            assert "\x00" not in value.text
