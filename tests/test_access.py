"""The offline access copy: links rewritten span by span, encodings kept, originals untouched."""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

import preserve
from preserve.access import (
    CONTENT_SECURITY_POLICY,
    INDEX_PATH,
    CaptureInfo,
    Catalog,
    Document,
    Linker,
    access_path,
    build_access_copy,
    relative_url,
    rewrite_css,
    rewrite_html,
    rewrite_stylesheet,
)
from preserve.access.tokens import tokenize, unescape_attribute
from preserve.cli import main
from preserve.layout import payload_path
from preserve.models import LogRecord

from .conftest import EXAMPLE_SITE, Server
from .test_metadata import load_schema

BASE = "http://example.org/dir/page.html"
PAGE = Document(
    "html", BASE, "data/web/example.org/dir/page.html", "data/access/web/example.org/dir/page.html"
)
CSS_URL = "http://example.org/css/site.css"
SHEET = Document(
    "css", CSS_URL, "data/web/example.org/css/site.css", "data/access/web/example.org/css/site.css"
)
INFO = CaptureInfo(
    "urn:uuid:00000000-0000-4000-8000-000000000000",
    "http://h.example/",
    datetime(2001, 10, 5, 12, 0, tzinfo=UTC),
    "h.example-20011005T120000Z-00000000",
)
POLICY = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
PREMIS = "{http://www.loc.gov/premis/v3}"


def catalog(*urls: str, documents: tuple[Document, ...] = (PAGE, SHEET)) -> Catalog:
    """A capture holding `urls` (and the page and stylesheet above) under their layout paths."""
    known = [document.url for document in documents]
    return Catalog([(url, "data/" + payload_path(url)) for url in [*known, *urls]], documents)


def rewrite(markup: str, *urls: str, charset: str | None = "utf-8") -> str:
    """Rewrite a UTF-8 page at BASE whose capture holds `urls`; return the copy's text."""
    document = Document("html", PAGE.url, PAGE.source, PAGE.path, charset)
    return rewrite_html(markup.encode("utf-8"), document, catalog(*urls)).data.decode("utf-8")


def body(markup: str, *urls: str) -> str:
    """Return what the copy of `<head></head>` + markup holds after its head."""
    return rewrite("<head></head>" + markup, *urls).split("</head>", 1)[1]


# --- where copies go --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "kind", "expected"),
    [
        ("data/web/h/a/page.html", "html", "data/access/web/h/a/page.html"),
        ("data/web/h/a/page.htm", "html", "data/access/web/h/a/page.htm"),
        ("data/web/h/i@t=x~1a2b3c4d.php", "html", "data/access/web/h/i@t=x~1a2b3c4d.php~.html"),
        ("data/web/h/a~1a2b3c4d", "html", "data/access/web/h/a~1a2b3c4d~.html"),
        ("data/web/h/css/site.css", "css", "data/access/web/h/css/site.css"),
        ("data/web/h/css@f=x~1a2b3c4d", "css", "data/access/web/h/css@f=x~1a2b3c4d~.css"),
        ("data/web/file/index.html", "html", "data/access/web/file/index.html"),
    ],
)
def test_access_path_mirrors_the_payload_with_a_name_a_browser_opens(
    source: str, kind: str, expected: str
) -> None:
    assert access_path(source, kind) == expected  # type: ignore[arg-type]


def test_access_path_of_a_plain_name_never_meets_a_suffixed_one() -> None:
    # /page.php.html is plain; /page.php gets the suffix with a `~` no plain name has.
    plain = access_path("data/web/h/page.php.html", "html")
    suffixed = access_path("data/web/h/page.php", "html")
    assert plain != suffixed
    assert suffixed.endswith("page.php~.html")


def test_access_path_stays_within_the_length_limit() -> None:
    source = "data/web/h/" + "/".join(["d" * 200] * 4) + "/" + "f" * 210 + ".php"
    assert len(source.removeprefix("data/").encode()) == 1024
    copy = access_path(source, "html")
    assert copy.startswith("data/access/web/h/~long/") and copy.endswith(".html")
    assert len(copy.removeprefix("data/").encode()) <= 1024


def test_access_path_refuses_files_outside_data_web() -> None:
    with pytest.raises(ValueError, match="data/web"):
        access_path("data/logs/urls.tsv", "html")


def test_relative_url_climbs_to_the_originals_and_encodes_what_needs_it() -> None:
    origin = "data/access/web/h/a/page.html"
    assert relative_url(origin, "data/web/h/img/x.gif") == "../../../../web/h/img/x.gif"
    assert relative_url(origin, "data/access/web/h/a/b.html") == "b.html"
    assert relative_url(origin, "data/web/h/a/x,y (1)&'.gif") == (
        "../../../../web/h/a/x%2Cy%20%281%29%26%27.gif"
    )
    assert relative_url(origin, "data/web/h/é.gif") == "../../../../web/h/%C3%A9.gif"


# --- tokens -----------------------------------------------------------------------------------


def test_tokenizer_finds_each_attribute_value_span() -> None:
    text = """<img src="a.gif" alt='x > y' width=10 hidden data-x = "q">"""
    (tag,) = list(tokenize(text))
    assert tag.kind == "start" and tag.name == "img"
    spans = {a.name: a.raw(text) for a in tag.attributes}
    assert spans == {"src": "a.gif", "alt": "x > y", "width": "10", "hidden": "", "data-x": "q"}
    src = tag.attribute("src")
    assert src is not None and text[src.start : src.end] == 'src="a.gif"'


def test_tokenizer_skips_comments_and_raw_text_and_drops_a_tag_cut_short() -> None:
    text = (
        '<!-- <img src="no.gif"> --><script>if (a<b) x = "<img src=no.gif>"</script>'
        "<style>p{}</style><title>A &amp; B</title><img src=yes.gif><a href='cut"
    )
    tokens = list(tokenize(text))
    starts = [t.name for t in tokens if t.kind == "start"]
    assert starts == ["script", "style", "title", "img"]
    raw = {t.name: text[t.start : t.end] for t in tokens if t.kind == "raw"}
    assert raw == {
        "script": 'if (a<b) x = "<img src=no.gif>"',
        "style": "p{}",
        "title": "A &amp; B",
    }


def test_attribute_references_are_decoded_as_in_attributes() -> None:
    assert unescape_attribute("a.php?x=1&amp;y=2") == "a.php?x=1&y=2"
    assert unescape_attribute("a.php?x=1&copy=2") == "a.php?x=1&copy=2"
    assert unescape_attribute("&copy; &copy &#x41;&#66") == "© © AB"


# --- pages ------------------------------------------------------------------------------------


def test_links_lead_to_originals_copies_or_the_live_web() -> None:
    img = "http://example.org/img/a.gif"
    other = "http://example.org/dir/other.html"
    out = body(
        '<img src="../img/a.gif"><a href="other.html#s">x</a><a href="#top">t</a>'
        '<a href="gone.html?a=1&amp;b=2">g</a><a href="https://elsewhere.example/x">e</a>'
        '<a href="mailto:a@b.c">m</a><img src="data:image/gif;base64,R0l">',
        img,
        other,
    )
    assert '<img src="../../../../web/example.org/img/a.gif">' in out
    # other.html is captured but is not a page with a copy here: it leads to its original.
    assert '<a href="../../../../web/example.org/dir/other.html#s">' in out
    assert '<a href="#top">' in out
    assert '<a href="http://example.org/dir/gone.html?a=1&amp;b=2">' in out
    assert '<a href="https://elsewhere.example/x">' in out
    assert '<a href="mailto:a@b.c">' in out
    assert 'src="data:image/gif;base64,R0l"' in out


def test_links_between_pages_lead_to_their_copies() -> None:
    other = Document(
        "html", "http://example.org/b/", "data/web/example.org/b/index.html",
        "data/access/web/example.org/b/index.html",
    )  # fmt: skip
    page = rewrite_html(
        b'<a href="/b/">b</a><link rel=stylesheet href="/css/site.css">',
        PAGE,
        catalog(documents=(PAGE, SHEET, other)),
    ).data
    assert b'<a href="../b/index.html">' in page
    assert b'<link rel=stylesheet href="../css/site.css">' in page


def test_redirected_urls_and_both_names_lead_to_the_same_file() -> None:
    stored = "data/" + payload_path("http://example.org/new.gif")
    pairs = [("http://example.org/old.gif", stored), ("http://example.org/new.gif", stored)]
    found = Catalog(pairs, [])
    linker = Linker(found, PAGE.path)
    assert linker.rewrite("/old.gif", BASE).text == "../../../../web/example.org/new.gif"
    assert linker.rewrite("HTTP://EXAMPLE.ORG:80/new.gif", BASE).local


def test_every_kind_of_url_attribute_is_rewritten() -> None:
    urls = [f"http://example.org/r/{name}" for name in "abcdefghijk"]
    out = body(
        '<body background="/r/a"><table><td background=/r/b></td></table>'
        '<video poster="/r/c" src="/r/d"><track src="/r/e"></video>'
        '<object data="/r/f"><param name="movie" value="/r/g"><param name=flashvars value="/r/x">'
        '</object><embed src="/r/h"><img data-src="/r/i" lowsrc="/r/j">'
        '<svg><image xlink:href="/r/k"/></svg>',
        *urls,
    )
    for url in urls:
        assert f'"../../../../{payload_path(url)}"' in out, url
    assert 'value="/r/x"' in out


def test_srcset_keeps_the_candidates_captured() -> None:
    small, large = "http://example.org/s.jpg", "http://example.org/l.jpg"
    out = body('<img src="/s.jpg" srcset="/s.jpg 1x, /l.jpg 2x, /xl.jpg 3x">', small, large)
    web = "../../../../web/example.org"
    assert f'srcset="{web}/s.jpg 1x, {web}/l.jpg 2x"' in out
    out = body('<img srcset="/none.jpg 100w, /other,v2.jpg 200w">')
    assert 'srcset="http://example.org/none.jpg 100w, http://example.org/other,v2.jpg 200w"' in out


def test_style_attributes_and_style_blocks_are_rewritten() -> None:
    bg, font = "http://example.org/bg.png", "http://example.org/f.woff"
    out = body(
        "<div style=\"background: url('/bg.png')\">x</div>"
        '<style>@import "/css/site.css"; @font-face { src: url(/f.woff) format("woff") }'
        " p { background: url(/missing.png) }</style>",
        bg,
        font,
    )
    assert 'style="background: url(&quot;../../../../web/example.org/bg.png&quot;)"' in out
    assert '@import "../css/site.css";' in out
    assert 'src: url("../../../../web/example.org/f.woff") format("woff")' in out
    assert 'url("http://example.org/missing.png")' in out


def test_base_href_is_followed_then_removed() -> None:
    img = "http://cdn.example.org/i/a.gif"
    out = rewrite(
        '<head><base href="http://cdn.example.org/i/" target="_top"></head><img src="a.gif">', img
    )
    assert '<base  target="_top">' in out
    assert '<img src="../../../../web/cdn.example.org/i/a.gif">' in out


def test_the_policy_and_charset_come_first_in_head() -> None:
    out = rewrite('<!DOCTYPE html><html lang="en"><head><title>T</title></head></html>')
    assert out.startswith(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{POLICY}<title>'
    )


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>hello", "HEADER<p>hello"),
        ("<!DOCTYPE html>\n<!-- c -->\n<p>x", "<!DOCTYPE html>\n<!-- c -->HEADER\n<p>x"),
        ("<html><body>x", "<html>HEADER<body>x"),
        ("text first <b>x</b>", "HEADERtext first <b>x</b>"),
        ("<html>\n<head>\n<title>t", "<html>\n<head>HEADER\n<title>t"),
    ],
)
def test_the_header_goes_where_a_browser_reads_it_as_head(markup: str, expected: str) -> None:
    header = f'<meta charset="utf-8">{POLICY}'
    assert rewrite(markup) == expected.replace("HEADER", header)


def test_a_page_with_nothing_to_rewrite_only_gains_its_header() -> None:
    original = "<html><head><title>Ünïcode ✓</title></head><body><p>Ç'est ça</p></body></html>"
    out = rewrite(original)
    assert out.replace(f'<meta charset="utf-8">{POLICY}', "") == original


def test_the_page_policy_and_a_refresh_off_the_bag_are_disabled() -> None:
    target = "http://example.org/dir/next.html"
    out = body(
        '<meta http-equiv="Content-Security-Policy" content="img-src https:">'
        '<meta http-equiv="refresh" content="0; url=next.html">'
        "<meta http-equiv=refresh content=\"5;URL='http://away.example/'\">",
        target,
    )
    assert 'http-equiv="x-archived-content-security-policy"' in out
    assert 'content="0; url=../../../../web/example.org/dir/next.html"' in out
    assert 'http-equiv="x-archived-refresh"' in out


def test_checksums_crossorigin_and_network_hints_are_dropped_for_local_files() -> None:
    script = "http://example.org/app.js"
    out = body(
        '<script src="/app.js" integrity="sha384-x" crossorigin="anonymous"></script>'
        '<script src="https://cdn.example/lib.js" integrity="sha384-y" crossorigin></script>'
        '<link rel="preconnect dns-prefetch" href="https://fonts.example">'
        '<link rel="icon prefetch" href="/app.js">',
        script,
    )
    assert '<script src="../../../../web/example.org/app.js"  ></script>' in out
    assert 'integrity="sha384-y" crossorigin' in out
    assert '<link rel="" href="https://fonts.example">' in out
    assert '<link rel="icon" href="../../../../web/example.org/app.js">' in out


def test_a_shift_jis_page_stays_shift_jis_and_readable() -> None:
    text = (
        "<html><head><title>ゲームの部屋</title></head><body><p>ようこそ</p><img src=a.gif></body>"
    )
    original = text.encode("shift_jis")
    document = Document("html", BASE, PAGE.source, PAGE.path, charset="Shift_JIS")
    copy = rewrite_html(original, document, catalog("http://example.org/dir/a.gif"))
    assert copy.title == "ゲームの部屋"
    assert b'<meta charset="Shift_JIS">' in copy.data
    decoded = copy.data.decode("cp932")
    assert "<p>ようこそ</p>" in decoded
    assert '<img src="../../../../web/example.org/dir/a.gif">' in decoded
    # Every byte outside the rewritten spans is the original's.
    stripped = copy.data.replace(b'<meta charset="Shift_JIS">' + POLICY.encode(), b"")
    assert stripped == original.replace(
        b"src=a.gif", b'src="../../../../web/example.org/dir/a.gif"'
    )


def test_a_page_declared_only_in_its_meta_keeps_that_declaration() -> None:
    page = '<meta charset="euc-jp"><title>日本語</title><a href="x.html">リンク</a>'.encode(
        "euc_jp"
    )
    document = Document("html", BASE, PAGE.source, PAGE.path, charset=None)
    copy = rewrite_html(page, document, catalog())
    assert copy.data.startswith(b'<meta charset="EUC-JP">')
    assert "リンク" in copy.data.decode("euc_jp")
    assert copy.title == "日本語"


def test_undecodable_bytes_are_kept_as_they_were() -> None:
    page = b'<p>caf\xe9 \x81\x8d</p><img src="a.gif">'
    document = Document("html", BASE, PAGE.source, PAGE.path, charset="windows-1252")
    copy = rewrite_html(page, document, catalog()).data
    assert b"<p>caf\xe9 \x81\x8d</p>" in copy
    assert b'<meta charset="windows-1252">' in copy


def test_a_title_with_undecodable_bytes_still_makes_an_index() -> None:
    page = b"<title>caf\xe9 \x81</title>"
    records = [
        LogRecord("http://h.example/", "seed", "captured", content_type="text/html; charset=cp1252",
                  size=len(page), payload_path="data/web/h.example/index.html"),
    ]  # fmt: skip
    files = list(build_access_copy(records, [(records[0].url, "data/web/h.example/index.html")],
                                   lambda path: page, INFO))  # fmt: skip
    assert "café \ufffd" in files[-1].data.decode("utf-8")
    assert b"<title>caf\xe9 \x81</title>" in files[0].data


def test_a_utf16_page_keeps_its_byte_order_mark_and_declares_no_charset() -> None:
    page = codecs.BOM_UTF16_LE + "<title>Ω</title><img src=a.gif>".encode("utf-16-le")
    copy = rewrite_html(page, PAGE, catalog("http://example.org/dir/a.gif")).data
    assert copy.startswith(codecs.BOM_UTF16_LE)
    text = copy[2:].decode("utf-16-le")
    assert "<meta charset" not in text and POLICY in text
    assert '<img src="../../../../web/example.org/dir/a.gif">' in text


@settings(deadline=None, max_examples=200)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' &;#!-abcdefghimrstyl()url:\n\x00é"))))
def test_any_text_gives_a_copy_with_the_policy(text: str) -> None:
    copy = rewrite_html(text.encode("utf-8", "surrogatepass"), PAGE, catalog())
    assert CONTENT_SECURITY_POLICY.encode() in copy.data


# --- stylesheets ------------------------------------------------------------------------------


def test_every_reference_form_in_a_stylesheet_is_rewritten() -> None:
    urls = [f"http://example.org/css/{name}" for name in ("a.png", "b.png", "c.css", "d.png")]
    css = (
        '@import url(c.css) screen;\r\n@import "c.css";\r\n'
        "p { background: url( a.png ) }\r\n"
        "q { background-image: url('b.png'), -webkit-image-set(\"d.png\" 1x) }\r\n"
        "r { background: url(data:image/png;base64,AAAA) }\n"
    )
    linker = Linker(catalog(*urls), SHEET.path)
    out = rewrite_css(css, CSS_URL, linker)
    assert out is not None
    assert out == (
        '@import url("../../../../web/example.org/css/c.css") screen;\r\n'
        '@import "../../../../web/example.org/css/c.css";\r\n'
        'p { background: url("../../../../web/example.org/css/a.png") }\r\n'
        'q { background-image: url("../../../../web/example.org/css/b.png"), '
        '-webkit-image-set("../../../../web/example.org/css/d.png" 1x) }\r\n'
        "r { background: url(data:image/png;base64,AAAA) }\n"
    )


def test_a_stylesheet_with_nothing_to_rewrite_keeps_its_bytes() -> None:
    data = b"/* \xff not utf-8 */ p { color: red }"
    assert rewrite_stylesheet(data, SHEET, catalog()) == data


def test_a_stylesheet_named_only_by_http_declares_its_charset() -> None:
    data = 'p::before { content: "é"; background: url(x.png) }'.encode("cp1252")
    sheet = Document("css", CSS_URL, SHEET.source, SHEET.path, charset="windows-1252")
    copy = rewrite_stylesheet(data, sheet, catalog("http://example.org/css/x.png"))
    assert copy.startswith(b'@charset "windows-1252";\n')
    assert b'content: "\xe9"' in copy


def test_a_stylesheet_keeps_its_byte_order_mark() -> None:
    data = codecs.BOM_UTF8 + b"p { background: url(x.png) }"
    copy = rewrite_stylesheet(data, SHEET, catalog("http://example.org/css/x.png"))
    assert copy.startswith(codecs.BOM_UTF8)
    assert b'url("../../../../web/example.org/css/x.png")' in copy


@settings(deadline=None, max_examples=200)
@given(st.text(alphabet=st.sampled_from(list("url()@import'\"\\;{} \n\r/*:-image-set,x"))))
def test_any_css_is_rewritten_without_error(text: str) -> None:
    rewrite_css(text, CSS_URL, Linker(catalog("http://example.org/css/x"), SHEET.path))


# --- a whole capture --------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> preserve.CaptureResult:
    from .conftest import serve

    output = tmp_path_factory.mktemp("bags")
    server_iterator = serve(EXAMPLE_SITE)
    server = next(server_iterator)
    try:
        return preserve.capture(server.url("/"), output, preserve.CaptureOptions(depth=1))
    finally:
        server_iterator.close()


def test_the_originals_match_the_capture_log_digests(captured: preserve.CaptureResult) -> None:
    bag = captured.bag_path
    lines = (bag / "data/logs/capture-log.jsonl").read_text(encoding="utf-8").splitlines()
    stored = [json.loads(line) for line in lines]
    checked = 0
    for record in stored:
        if record["outcome"] == "captured":
            assert sha256(bag / record["payload_path"]) == record["digests"]["sha256"]
            checked += 1
    assert checked > 40
    bagit.Bag(str(bag)).validate()
    assert preserve.validate(bag).valid


def test_each_page_and_stylesheet_has_a_copy_named_in_urls_tsv(
    captured: preserve.CaptureResult,
) -> None:
    bag = captured.bag_path
    rows = [line.split("\t") for line in (bag / "data/logs/urls.tsv").read_text().splitlines()]
    assert rows[0] == ["url", "path", "access"]
    copies = {row[1]: row[2] for row in rows[1:] if row[2]}
    assert len(copies) == 8  # 6 pages (/ and /index.html are two URLs) and 2 stylesheets
    for source, copy in copies.items():
        assert copy == access_path(source, "css" if source.endswith(".css") else "html")
        assert (bag / copy).is_file()
    files = [p.relative_to(bag).as_posix() for p in (bag / "data/access").rglob("*") if p.is_file()]
    assert sorted([*copies.values(), INDEX_PATH]) == sorted(files)


def test_the_index_lists_every_page_and_linked_media_file(
    captured: preserve.CaptureResult,
) -> None:
    bag = captured.bag_path
    index = (bag / INDEX_PATH).read_text(encoding="utf-8")
    assert CONTENT_SECURITY_POLICY in index
    pages, media = index.split('<h2 id="media">')
    page_links = re.findall(r'<a class="local" href="([^"]+)">([^<]+)</a>', pages)
    media_links = re.findall(r'<a class="local" href="([^"]+)">([^<]+)</a>', media)
    assert len(page_links) == 6  # the seed, / again as /index.html, 3 stories, the gallery
    assert page_links[0][1] == "MQM - News and Statements, October 2001"
    assert "Photographs of MQM&#x27;s Rally - September 2001" in pages
    captured_media = [r for r in captured.records if r.role == "media" and r.outcome == "captured"]
    assert len(captured_media) == len(media_links) == 7
    assert [name for _, name in media_links] == [
        Path(r.payload_path or "").name for r in captured_media
    ]
    for href, _ in page_links + media_links:
        assert (bag / "data/access" / href).resolve().is_file(), href
    assert '<td>video/mpeg</td><td><span title="88,064 bytes">86.0 KiB</span>' in media
    originals = re.findall(r'<a class="original" href="([^"]+)">', index)
    expected = [
        r.url for r in captured.records if r.role != "requisite" and r.outcome == "captured"
    ]
    assert sorted(set(originals)) == sorted(expected)


def test_the_copy_of_the_seed_leads_only_into_the_bag(captured: preserve.CaptureResult) -> None:
    bag = captured.bag_path
    seed = next(r for r in captured.records if r.role == "seed")
    assert seed.payload_path is not None
    copy = bag / access_path(seed.payload_path, "html")
    text = copy.read_text(encoding="cp1252")
    for reference in re.findall(r'(?:src|href|background)="([^"]+)"', text):
        if reference.startswith(("http:", "https:", "mailto:", "#")):
            continue
        target = (copy.parent / reference.split("#")[0]).resolve()
        assert target.is_file(), reference
        assert target.is_relative_to(bag.resolve() / "data")


def test_premis_links_each_copy_to_its_original(captured: preserve.CaptureResult) -> None:
    path = captured.bag_path / "data/metadata/premis.xml"
    document = etree.parse(str(path))
    load_schema("premis-v3-0.xsd").assertValid(document)
    events = {
        e.findtext(f"{PREMIS}eventIdentifier/{PREMIS}eventIdentifierValue"): e
        for e in document.iter(f"{PREMIS}event")
    }
    derivations = {k: v for k, v in events.items() if k and k.startswith("access-copy-")}
    assert len(derivations) == 8
    for event in derivations.values():
        assert event.findtext(f"{PREMIS}eventType") == "modification"
        roles = {
            link.findtext(f"{PREMIS}linkingObjectRole"): link.findtext(
                f"{PREMIS}linkingObjectIdentifierValue"
            )
            for link in event.iter(f"{PREMIS}linkingObjectIdentifier")
        }
        assert roles["source"].startswith("data/web/")
        assert roles["outcome"] == access_path(
            roles["source"], "css" if roles["source"].endswith(".css") else "html"
        )
    subtypes = [e.text for e in document.iter(f"{PREMIS}relationshipSubType")]
    assert subtypes.count("has source") == 8 and subtypes.count("is source of") == 8


def test_no_access_writes_no_copy(site: Server, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["-q", "capture", site.url("/"), "-o", str(tmp_path), "--no-access"]
    )
    assert result.exit_code == 0, result.output
    bag = Path(result.stdout.strip())
    assert not (bag / "data/access").exists()
    rows = (bag / "data/logs/urls.tsv").read_text().splitlines()
    assert rows[0] == "url\tpath\taccess" and all(row.endswith("\t") for row in rows[1:])
    premis = (bag / "data/metadata/premis.xml").read_text(encoding="utf-8")
    assert "access-copy-" not in premis


def test_a_warc_only_capture_has_no_files_to_open_and_no_copy(site: Server, tmp_path: Path) -> None:
    result = preserve.capture(site.url("/"), tmp_path, preserve.CaptureOptions(payload="warc"))
    assert not (result.bag_path / "data/access").exists()


def test_a_local_capture_gets_a_copy_with_relative_links(tmp_path: Path) -> None:
    result = preserve.capture(str(EXAMPLE_SITE / "index.html"), tmp_path)
    copy = result.bag_path / "data/access/web/file/index.html"
    text = copy.read_text(encoding="cp1252")
    assert 'href="css/style.css"' in text
    assert 'src="../../../web/file/images/masthead.gif"' in text
    assert str(EXAMPLE_SITE) not in text
    css = (result.bag_path / "data/access/web/file/css/style.css").read_text()
    assert 'url("../../../../web/file/images/masthead-bg.gif")' in css
    # A local file has no address on the web to link to; its copy is still a link.
    index = (result.bag_path / INDEX_PATH).read_text(encoding="utf-8")
    assert 'class="original"' not in index
    assert '<a class="local" href="web/file/index.html">' in index
    assert "<td>file:index.html</td>" in index


def test_build_access_copy_is_pure_and_reads_only_what_it_copies() -> None:
    page = b'<html><head><title>P</title></head><img src="/i.gif"></html>'
    records = [
        LogRecord("http://h.example/", "seed", "captured", content_type="text/html",
                  size=len(page), payload_path="data/web/h.example/index.html"),
        LogRecord("http://h.example/i.gif", "requisite", "captured", content_type="image/gif",
                  size=6, payload_path="data/web/h.example/i.gif"),
    ]  # fmt: skip
    url_map = [(r.url, r.payload_path or "") for r in records]
    reads: list[str] = []

    def read(path: str) -> bytes:
        reads.append(path)
        return page

    files = list(build_access_copy(records, url_map, read, INFO))
    assert reads == ["data/web/h.example/index.html"]
    assert [f.path for f in files] == ["data/access/web/h.example/index.html", INDEX_PATH]
    assert b'<img src="../../../web/h.example/i.gif">' in files[0].data
    assert files[0].source == "data/web/h.example/index.html"
    assert files == list(build_access_copy(records, url_map, read, INFO))
