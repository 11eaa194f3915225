"""Link discovery in HTML and CSS: roles, base URLs, srcset, encodings and hostile input."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preserve.discover import (
    find_css_links,
    find_html_links,
    find_style_attribute_links,
    is_media_url,
    parse_srcset,
)
from preserve.models import Link
from preserve.urls import encode_query
from preserve.webdoc import decode_html

BASE = "http://example.test/dir/page.html"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "site-2001"
CORPUS = ROOT.parent / "shared" / "corpus"


def links_of(html: str, base: str = BASE, **kwargs: str) -> list[Link]:
    return list(find_html_links(html.encode("utf-8"), base, **kwargs).links)


def urls_of(html: str, base: str = BASE) -> list[str]:
    return [link.url for link in links_of(html, base)]


def triples(links: list[Link]) -> list[tuple[str, str, str]]:
    return [(link.url, link.role, link.via) for link in links]


def assert_absolute(links: list[Link] | tuple[Link, ...]) -> None:
    for link in links:
        parts = urlsplit(link.url)
        assert parts.scheme in ("http", "https", "file"), link
        assert parts.scheme == "file" or parts.hostname, link
        assert "#" not in link.url, link


@pytest.mark.parametrize(
    ("html", "url", "role", "via"),
    [
        ('<img src="a.png">', "http://example.test/dir/a.png", "requisite", "img@src"),
        ('<img srcset="a.png 2x">', "http://example.test/dir/a.png", "requisite", "img@srcset"),
        (
            '<picture><source srcset="p.webp" type="image/webp"></picture>',
            "http://example.test/dir/p.webp",
            "requisite",
            "source@srcset",
        ),
        (
            '<video><source src="v.mp4" type="video/mp4"></video>',
            "http://example.test/dir/v.mp4",
            "requisite",
            "source@src",
        ),
        (
            '<link rel="stylesheet" href="/s.css">',
            "http://example.test/s.css",
            "requisite",
            "link[stylesheet]@href",
        ),
        (
            '<link rel="icon" href="/i.png">',
            "http://example.test/i.png",
            "requisite",
            "link[icon]@href",
        ),
        (
            '<link rel="shortcut icon" href="/favicon.ico">',
            "http://example.test/favicon.ico",
            "requisite",
            "link[icon]@href",
        ),
        (
            '<link rel="apple-touch-icon" href="/t.png">',
            "http://example.test/t.png",
            "requisite",
            "link[icon]@href",
        ),
        (
            '<link rel="preload" href="/f.woff2" as="font">',
            "http://example.test/f.woff2",
            "requisite",
            "link[preload as=font]@href",
        ),
        (
            '<link rel="modulepreload" href="/m.js">',
            "http://example.test/m.js",
            "requisite",
            "link[preload]@href",
        ),
        ('<script src="s.js"></script>', "http://example.test/dir/s.js", "requisite", "script@src"),
        ('<audio src="a.ogg"></audio>', "http://example.test/dir/a.ogg", "requisite", "audio@src"),
        (
            '<video src="v.webm"></video>',
            "http://example.test/dir/v.webm",
            "requisite",
            "video@src",
        ),
        (
            '<video poster="poster.jpg"></video>',
            "http://example.test/dir/poster.jpg",
            "requisite",
            "video@poster",
        ),
        (
            '<video><track src="subs.vtt" kind="subtitles"></video>',
            "http://example.test/dir/subs.vtt",
            "requisite",
            "track@src",
        ),
        ('<embed src="clip.swf">', "http://example.test/dir/clip.swf", "requisite", "embed@src"),
        (
            '<object data="movie.swf"></object>',
            "http://example.test/dir/movie.swf",
            "requisite",
            "object@data",
        ),
        (
            '<form><input type="image" src="go.gif"></form>',
            "http://example.test/dir/go.gif",
            "requisite",
            "input[image]@src",
        ),
        (
            '<body background="bg.gif"><p>x</p></body>',
            "http://example.test/dir/bg.gif",
            "requisite",
            "body@background",
        ),
        (
            '<table background="t.gif"><tr><td>x</td></tr></table>',
            "http://example.test/dir/t.gif",
            "requisite",
            "table@background",
        ),
        (
            '<table><tr background="r.gif"><td>x</td></tr></table>',
            "http://example.test/dir/r.gif",
            "requisite",
            "tr@background",
        ),
        (
            '<table><tr><td background="c.gif">x</td></tr></table>',
            "http://example.test/dir/c.gif",
            "requisite",
            "td@background",
        ),
        (
            '<table><tr><th background="h.gif">x</th></tr></table>',
            "http://example.test/dir/h.gif",
            "requisite",
            "th@background",
        ),
        (
            '<div background="d.gif">x</div>',
            "http://example.test/dir/d.gif",
            "requisite",
            "div@background",
        ),
        (
            '<iframe src="/frame.html"></iframe>',
            "http://example.test/frame.html",
            "frame",
            "iframe@src",
        ),
        ('<a href="next.html">next</a>', "http://example.test/dir/next.html", "page", "a@href"),
        (
            '<map name="m"><area href="/area.html" shape="rect" coords="0,0,1,1"></map>',
            "http://example.test/area.html",
            "page",
            "area@href",
        ),
        (
            "<style>body { background: url(bg.png) }</style>",
            "http://example.test/dir/bg.png",
            "requisite",
            "style:url()",
        ),
        (
            '<style>@import "x.css";</style>',
            "http://example.test/dir/x.css",
            "requisite",
            "style@import",
        ),
        (
            "<p style=\"background-image: url('s.png')\">x</p>",
            "http://example.test/dir/s.png",
            "requisite",
            "style-attr:url()",
        ),
    ],
)
def test_each_element_and_attribute(html: str, url: str, role: str, via: str) -> None:
    assert triples(links_of(html)) == [(url, role, via)]


D = "http://example.test/dir/"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            '<img src="f.jpg" srcset="s.jpg 480w, l.jpg 1080w" '
            'sizes="(max-width: 600px) 480px, 800px">',
            [(D + "f.jpg", "requisite", "img@src"), (D + "s.jpg", "requisite", "img@srcset"),
             (D + "l.jpg", "requisite", "img@srcset")],
            id="srcset-with-sizes",
        ),
        pytest.param(
            '<picture><source media="(min-width: 800px)" srcset="w.webp 1x, w2.webp 2x" '
            'sizes="100vw"><img src="n.jpg"></picture>',
            [(D + "w.webp", "requisite", "source@srcset"),
             (D + "w2.webp", "requisite", "source@srcset"), (D + "n.jpg", "requisite", "img@src")],
            id="picture-source",
        ),
        pytest.param(
            '<img src="ph.gif" data-src="real.jpg">',
            [(D + "ph.gif", "requisite", "img@src"), (D + "real.jpg", "requisite", "img@data-src")],
            id="data-src",
        ),
        pytest.param(
            '<img data-srcset="a.jpg 1x, b.jpg 2x">',
            [(D + "a.jpg", "requisite", "img@data-srcset"),
             (D + "b.jpg", "requisite", "img@data-srcset")],
            id="data-srcset",
        ),
        pytest.param(
            '<img class="lazy" data-original="orig.jpg">',
            [(D + "orig.jpg", "requisite", "img@data-original")],
            id="data-original",
        ),
        pytest.param(
            '<img data-lazy-src="lz.jpg" data-lazy-srcset="lz2.jpg 2x">',
            [(D + "lz.jpg", "requisite", "img@data-lazy-src"),
             (D + "lz2.jpg", "requisite", "img@data-lazy-srcset")],
            id="data-lazy-src",
        ),
        pytest.param(
            '<picture><source data-srcset="p.avif" type="image/avif"></picture>',
            [(D + "p.avif", "requisite", "source@data-srcset")],
            id="source-data-srcset",
        ),
        pytest.param(
            '<iframe data-src="/embed.html"></iframe>',
            [("http://example.test/embed.html", "frame", "iframe@data-src")],
            id="iframe-data-src",
        ),
        pytest.param(
            '<img loading="lazy" src="below-the-fold.jpg">',
            [(D + "below-the-fold.jpg", "requisite", "img@src")],
            id="loading-lazy",
        ),
        pytest.param(
            '<link rel="preload" href="late.css" as="style">',
            [(D + "late.css", "requisite", "link[preload as=style]@href")],
            id="preload-as-style",
        ),
        pytest.param(
            '<link rel="manifest" href="/site.webmanifest">',
            [("http://example.test/site.webmanifest", "requisite", "link[manifest]@href")],
            id="manifest",
        ),
        pytest.param(
            '<link rel="mask-icon" href="/pin.svg" color="#000">',
            [("http://example.test/pin.svg", "requisite", "link[icon]@href")],
            id="mask-icon",
        ),
        pytest.param(
            '<link rel="apple-touch-icon-precomposed" href="/t.png">',
            [("http://example.test/t.png", "requisite", "link[icon]@href")],
            id="apple-touch-icon-precomposed",
        ),
        pytest.param(
            '<svg><image href="pic.png" width="10" height="10"/></svg>',
            [(D + "pic.png", "requisite", "image@href")],
            id="svg-image-href",
        ),
        pytest.param(
            '<svg xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="old.png"/></svg>',
            [(D + "old.png", "requisite", "image@xlink:href")],
            id="svg-image-xlink-href",
        ),
        pytest.param(
            '<svg><use href="/icons.svg#star"></use><use xlink:href="#local"></use></svg>',
            [("http://example.test/icons.svg", "requisite", "use@href")],
            id="svg-use-file-not-fragment",
        ),
        pytest.param(
            '<svg><use xlink:href="sprite.svg#a"/></svg>',
            [(D + "sprite.svg", "requisite", "use@xlink:href")],
            id="svg-use-xlink-href",
        ),
        pytest.param(
            '<svg><filter><feImage href="tex.png"/></filter></svg>',
            [(D + "tex.png", "requisite", "feimage@href")],
            id="svg-feimage",
        ),
        pytest.param(
            '<object data="m.swf" type="application/x-shockwave-flash">'
            '<param name="movie" value="m.swf"><param name="quality" value="high"></object>',
            [(D + "m.swf", "requisite", "object@data")],
            id="object-and-param-movie-same-url",
        ),
        pytest.param(
            '<object classid="clsid:D27CDB6E" codebase="http://download.test/swflash.cab">'
            '<PARAM NAME="Movie" VALUE="intro.swf"></object>',
            [(D + "intro.swf", "requisite", "param[movie]@value")],
            id="param-movie-without-data",
        ),
        pytest.param(
            '<object><param name="src" value="clip.mov"></object>',
            [(D + "clip.mov", "requisite", "param[src]@value")],
            id="param-src",
        ),
        pytest.param(
            '<object><param name="FileName" value="talk.asf"></object>',
            [(D + "talk.asf", "requisite", "param[filename]@value")],
            id="param-filename",
        ),
        pytest.param(
            '<object><param name="URL" value="show.wmv"></object>',
            [(D + "show.wmv", "requisite", "param[url]@value")],
            id="param-url",
        ),
        pytest.param(
            '<object data="inner.html"></object><object data="x" type="text/html"></object>',
            [(D + "inner.html", "frame", "object@data"), (D + "x", "frame", "object@data")],
            id="object-html-is-a-frame",
        ),
        pytest.param(
            '<applet code="Clock.class" codebase="java" width="10" height="10"></applet>',
            [(D + "java/Clock.class", "requisite", "applet@code")],
            id="applet-code",
        ),
        pytest.param(
            '<applet code="com.acme.Ticker" width="10" height="10"></applet>',
            [(D + "com/acme/Ticker.class", "requisite", "applet@code")],
            id="applet-code-package",
        ),
        pytest.param(
            '<applet code="Game.class" codebase="/classes/" archive="game.jar, lib/x.jar">'
            "</applet>",
            [("http://example.test/classes/game.jar", "requisite", "applet@archive"),
             ("http://example.test/classes/lib/x.jar", "requisite", "applet@archive")],
            id="applet-archive",
        ),
        pytest.param(
            '<bgsound src="tune.mid" loop="infinite">',
            [(D + "tune.mid", "requisite", "bgsound@src")],
            id="bgsound",
        ),
        pytest.param(
            '<img lowsrc="low.gif" src="high.jpg">',
            [(D + "high.jpg", "requisite", "img@src"), (D + "low.gif", "requisite", "img@lowsrc")],
            id="lowsrc",
        ),
        pytest.param(
            '<img dynsrc="clip.avi" src="still.jpg">',
            [(D + "still.jpg", "requisite", "img@src"),
             (D + "clip.avi", "requisite", "img@dynsrc")],
            id="dynsrc",
        ),
        pytest.param(
            '<image src="legacy.gif">',
            [(D + "legacy.gif", "requisite", "image@src")],
            id="image-element-as-img",
        ),
        pytest.param(
            '<center background="c.gif">x</center><font background="f.gif">y</font>',
            [(D + "c.gif", "requisite", "center@background"),
             (D + "f.gif", "requisite", "font@background")],
            id="background-on-any-element",
        ),
        pytest.param(
            '<meta http-equiv="refresh" content="0; url=next.html">',
            [(D + "next.html", "page", "meta[refresh]@content")],
            id="meta-refresh",
        ),
        pytest.param(
            "<meta http-equiv=Refresh content=\"5;URL='/moved/'\">",
            [("http://example.test/moved/", "page", "meta[refresh]@content")],
            id="meta-refresh-quoted-url",
        ),
        pytest.param(
            '<meta http-equiv="refresh" content="2.5, url = a b.html">',
            [(D + "a%20b.html", "page", "meta[refresh]@content")],
            id="meta-refresh-comma",
        ),
        pytest.param(
            '<meta http-equiv="refresh" content="0;report.pdf">',
            [(D + "report.pdf", "media", "meta[refresh]@content")],
            id="meta-refresh-to-media",
        ),
        pytest.param(
            '<meta http-equiv="refresh" content="30"><meta http-equiv="refresh" content="x; '
            'url=no.html"><meta name="refresh" content="0; url=not-http-equiv.html">',
            [],
            id="meta-refresh-without-url",
        ),
        pytest.param(
            '<a href="talk.MP3">a</a><a href="v.mp4?dl=1">v</a><a href="doc.pdf#page=2">d</a>'
            '<area href="/big.JPG"><a href="/music/">dir</a><a href="x.html">p</a>',
            [(D + "talk.MP3", "media", "a@href"), (D + "v.mp4?dl=1", "media", "a@href"),
             (D + "doc.pdf", "media", "a@href"),
             ("http://example.test/big.JPG", "media", "area@href"),
             ("http://example.test/music/", "page", "a@href"), (D + "x.html", "page", "a@href")],
            id="linked-media-by-extension",
        ),
        pytest.param(
            '<a href="//other.test/p.html">x</a><img src="//cdn.test/i.png">',
            [("http://other.test/p.html", "page", "a@href"),
             ("http://cdn.test/i.png", "requisite", "img@src")],
            id="protocol-relative",
        ),
        pytest.param(
            '<img src=" \n\t spaced.png \t\n"><img src="new&#10;li&#9;ne.png">'
            '<img src="q.png?a=1&amp;b=2"><a href="s.html?a=1&copy=2">x</a>',
            [(D + "spaced.png", "requisite", "img@src"),
             (D + "newline.png", "requisite", "img@src"),
             (D + "q.png?a=1&b=2", "requisite", "img@src"),
             (D + "s.html?a=1&copy=2", "page", "a@href")],
            id="whitespace-and-entities",
        ),
    ],
)  # fmt: skip
def test_each_requisite_form(html: str, expected: list[tuple[str, str, str]]) -> None:
    assert triples(links_of(html)) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param('<img src="a.png"alt="x">', ["a.png"], id="no-space-after-value"),
        pytest.param('<img alt="He said "hi"" src="b.png">', ["b.png"], id="quote-in-alt"),
        pytest.param('<img src="c.png" alt="6" screen">', ["c.png"], id="stray-quote-after"),
        pytest.param("<img src='it's.png'>", ["it"], id="apostrophe-ends-the-value"),
        pytest.param("<a href='s.html'title=\"t\">x</a>", ["s.html"], id="single-then-double"),
        pytest.param('<img src="r.png"/alt="x">', ["r.png"], id="slash-between-attributes"),
        pytest.param('<img\nsrc\n=\n"z.png">', ["z.png"], id="newlines-around-equals"),
        pytest.param('<img src=u.png alt=x><img src="v.png" src="w.png">', ["u.png", "v.png"],
                     id="unquoted-and-duplicate-attribute"),
        pytest.param('<img src="x.png" alt=">" >', ["x.png"], id="gt-inside-quoted-value"),
        pytest.param('<img src="u.png" <img src="v.png">', ["u.png"], id="tag-inside-tag"),
        pytest.param('<p><table><tr><td><img src="deep.png"><div><span>', ["deep.png"],
                     id="unclosed-elements"),
        pytest.param('<a href="one.html"><a href="two.html">x', ["one.html", "two.html"],
                     id="unclosed-anchor"),
        pytest.param("<noscript><img src=\"ns.png\"></noscript>", ["ns.png"], id="noscript"),
        pytest.param('<style>.a{background:url(st.png)}', ["st.png"], id="unclosed-style"),
        pytest.param("<Body BackGround='bg.gif'><IMG SRC=\"UP.GIF\">", ["bg.gif", "UP.GIF"],
                     id="upper-case-markup"),
    ],
)  # fmt: skip
def test_malformed_markup_where_browsers_still_find_the_url(html: str, expected: list[str]) -> None:
    assert urls_of(html) == [D + name for name in expected]


@pytest.mark.parametrize(
    ("encoding", "query"),
    [
        ("utf-8", "q=caf%C3%A9"),
        ("windows-1252", "q=caf%E9"),
        ("iso-8859-15", "q=caf%E9"),
        ("shift_jis", "q=%83J%83t%83F"),
        ("koi8-r", "q=caf%26%23233%3B"),
    ],
)
def test_non_ascii_path_is_utf8_and_query_is_in_the_document_encoding(
    encoding: str, query: str
) -> None:
    word = "café" if encoding != "shift_jis" else "カフェ"
    html = f'<meta charset="{encoding}"><img src="{word}/menu.png?q={word}">'
    data = html.encode(encoding, "xmlcharrefreplace")
    path = "caf%C3%A9" if encoding != "shift_jis" else "%E3%82%AB%E3%83%95%E3%82%A7"
    if encoding == "koi8-r":
        # é is not in KOI8-R: the page holds it as &#233;, and the query gets it as a reference.
        assert b"&#233;" in data
    [url] = urls_of_bytes(data)
    assert url == f"{D}{path}/menu.png?{query}"


def urls_of_bytes(data: bytes) -> list[str]:
    return [link.url for link in find_html_links(data, BASE).links]


def test_base_href_with_protocol_relative_and_non_ascii() -> None:
    html = '<base href="//cdn.test/static/"><img src="ü.png"><a href="/top.html">t</a>'
    assert urls_of(html) == ["http://cdn.test/static/%C3%BC.png", "http://cdn.test/top.html"]


@pytest.mark.parametrize(
    ("url", "media"),
    [
        ("http://h/a.mp3", True),
        ("http://h/a.WAV", True),
        ("http://h/v/clip.mpg?x=1", True),
        ("http://h/report.pdf", True),
        ("http://h/slides.pptx", True),
        ("http://h/photo.jpeg", True),
        ("http://h/page.html", False),
        ("http://h/dir/", False),
        ("http://h/.mp3", False),
        ("http://h/mp3", False),
        ("http://h/page.php?file=a.mp3", False),
        ("http://h/caf%C3%A9.png", True),
    ],
)
def test_is_media_url(url: str, media: bool) -> None:
    assert is_media_url(url) is media


@pytest.mark.parametrize(
    ("reference", "encoding", "expected"),
    [
        ("a.png", "windows-1252", "a.png"),
        ("é.png?x=é#é", "windows-1252", "é.png?x=%E9#é"),
        ("p?x=é", "utf-8", "p?x=é"),
        ("p?x=é", "utf-16-le", "p?x=é"),
        ("p?x=é", "no-such-encoding", "p?x=é"),
        ("p?x=€", "iso-8859-1", "p?x=%26%238364%3B"),
    ],
)
def test_encode_query(reference: str, encoding: str, expected: str) -> None:
    assert encode_query(reference, encoding) == expected


def test_frames_in_a_frameset() -> None:
    html = (
        '<html><frameset cols="20%,*"><frame src="nav.html">'
        '<frame src="main.html"></frameset></html>'
    )
    assert triples(links_of(html)) == [
        ("http://example.test/dir/nav.html", "frame", "frame@src"),
        ("http://example.test/dir/main.html", "frame", "frame@src"),
    ]


def test_links_are_in_document_order() -> None:
    html = (
        '<html><head><link rel=stylesheet href="1.css"><script src="2.js"></script></head>'
        '<body background="3.gif"><img src="4.png"><a href="5.html">x</a>'
        '<p style="background:url(6.png)"><img src="7.png"></p></body></html>'
    )
    assert [url.rsplit("/", 1)[1] for url in urls_of(html)] == [
        "1.css", "2.js", "3.gif", "4.png", "5.html", "6.png", "7.png",
    ]  # fmt: skip


def test_input_that_is_not_an_image_button_names_nothing() -> None:
    assert urls_of('<input type="text" src="no.gif"><input type="IMAGE" src="yes.gif">') == [
        "http://example.test/dir/yes.gif"
    ]


def test_base_href_applies_to_what_follows() -> None:
    html = (
        '<html><head><link rel="stylesheet" href="before.css">'
        '<base href="../assets/"><base href="http://ignored.test/">'
        '<link rel="stylesheet" href="after.css"></head>'
        '<body><img src="i.png"><a href="/root.html">r</a>'
        "<style>.a { background: url(s.png) }</style></body></html>"
    )
    result = find_html_links(html.encode(), BASE)
    assert result.base_url == "http://example.test/assets/"
    assert [link.url for link in result.links] == [
        "http://example.test/dir/before.css",
        "http://example.test/assets/after.css",
        "http://example.test/assets/i.png",
        "http://example.test/root.html",
        "http://example.test/assets/s.png",
    ]


def test_base_url_is_the_document_url_without_a_base_element() -> None:
    assert find_html_links(b"<p>hi</p>", BASE).base_url == BASE


def test_unusable_base_href_is_ignored() -> None:
    result = find_html_links(b'<base href="javascript:void(0)"><img src="a.png">', BASE)
    assert [link.url for link in result.links] == ["http://example.test/dir/a.png"]


@pytest.mark.parametrize(
    ("srcset", "expected"),
    [
        ("a.png", ["a.png"]),
        ("a.png 1x, b.png 2x", ["a.png", "b.png"]),
        ("a.png 100w,b.png 200w", ["a.png", "b.png"]),
        ("  a.png  ,  b.png  ", ["a.png", "b.png"]),
        ("a.png,b.png", ["a.png,b.png"]),
        (
            "img/x,w_100,h_50.jpg 1x, img/x,w_200,h_100.jpg 2x",
            ["img/x,w_100,h_50.jpg", "img/x,w_200,h_100.jpg"],
        ),
        ("a.png 1x (junk, more), b.png 2x", ["a.png", "b.png"]),
        (",,, a.png 1x,,,", ["a.png"]),
        ("", []),
        (" , ", []),
    ],
)
def test_parse_srcset(srcset: str, expected: list[str]) -> None:
    assert parse_srcset(srcset) == expected


def test_srcset_urls_with_commas_are_resolved_whole() -> None:
    html = (
        '<img src="fallback.jpg" srcset="https://cdn.test/c_fill,w_400/p.jpg 400w, '
        'https://cdn.test/c_fill,w_800/p.jpg 800w" sizes="50vw">'
    )
    assert triples(links_of(html)) == [
        ("http://example.test/dir/fallback.jpg", "requisite", "img@src"),
        ("https://cdn.test/c_fill,w_400/p.jpg", "requisite", "img@srcset"),
        ("https://cdn.test/c_fill,w_800/p.jpg", "requisite", "img@srcset"),
    ]


def test_rel_tokens_are_case_insensitive_and_space_separated() -> None:
    html = (
        '<link REL="StyleSheet" href="a.css">'
        '<link rel="alternate  stylesheet" href="b.css">'
        '<link rel="SHORTCUT ICON" href="c.ico">'
        '<link rel=" Preload " href="d.woff2">'
        '<link rel="alternate" href="feed.xml">'
        '<link rel="prefetch" href="later.html">'
        '<link rel="stylesheets" href="not-a-token.css">'
    )
    assert triples(links_of(html)) == [
        ("http://example.test/dir/a.css", "requisite", "link[stylesheet]@href"),
        ("http://example.test/dir/b.css", "requisite", "link[stylesheet]@href"),
        ("http://example.test/dir/c.ico", "requisite", "link[icon]@href"),
        ("http://example.test/dir/d.woff2", "requisite", "link[preload]@href"),
    ]


def test_preload_image_srcset() -> None:
    html = (
        '<link rel="preload" as="image" href="hero.jpg" imagesrcset="hero-1.jpg 1x, hero-2.jpg 2x">'
    )
    assert triples(links_of(html)) == [
        ("http://example.test/dir/hero.jpg", "requisite", "link[preload as=image]@href"),
        ("http://example.test/dir/hero-1.jpg", "requisite", "link[preload]@imagesrcset"),
        ("http://example.test/dir/hero-2.jpg", "requisite", "link[preload]@imagesrcset"),
    ]


def test_duplicates_keep_the_first_occurrence() -> None:
    html = (
        '<img src="a.png"><img src="a.png#frag"><img srcset="a.png 2x, b.png 3x">'
        '<a href="b.png">b</a><a href="page.html">1</a><a href="page.html#top">2</a>'
    )
    assert triples(links_of(html)) == [
        ("http://example.test/dir/a.png", "requisite", "img@src"),
        ("http://example.test/dir/b.png", "requisite", "img@srcset"),
        ("http://example.test/dir/page.html", "page", "a@href"),
    ]


def test_a_linked_file_that_is_also_embedded_stays_a_requisite_in_its_first_place() -> None:
    html = '<a href="talk.wav">listen</a><img src="x.png"><embed src="talk.wav">'
    assert triples(links_of(html)) == [
        ("http://example.test/dir/talk.wav", "requisite", "embed@src"),
        ("http://example.test/dir/x.png", "requisite", "img@src"),
    ]


def test_non_web_and_fragment_only_references_are_skipped() -> None:
    html = (
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
        '<script src="javascript:alert(1)"></script>'
        '<a href="mailto:someone@example.test">mail</a>'
        '<a href="tel:+1234">call</a><a href="#top">top</a><img src="">'
        "<p style=\"background: url('data:image/gif;base64,R0lGOD')\">x</p>"
        '<img src="ok.png">'
    )
    assert urls_of(html) == ["http://example.test/dir/ok.png"]


def test_malformed_urls_are_skipped_without_raising() -> None:
    html = (
        '<img src="http://[bad"><img src="http://host:notaport/x.png">'
        '<img srcset="http://[bad 1x, good.png 2x"><a href="https://">x</a>'
        '<style>.a{background:url("http://[bad")}</style>'
    )
    assert urls_of(html) == ["http://example.test/dir/good.png"]


def test_protocol_relative_and_absolute_references() -> None:
    html = '<img src="//cdn.test/a.png"><img src="HTTPS://Other.TEST:443/b.png">'
    assert urls_of(html) == ["http://cdn.test/a.png", "https://other.test/b.png"]


def test_title_is_whitespace_collapsed_or_none() -> None:
    html = b"<html><head><title>\n  Hello \t  world\n</title></head><body></body></html>"
    assert find_html_links(html, BASE).title == "Hello world"
    assert find_html_links(b"<p>untitled</p>", BASE).title is None
    assert find_html_links(b"<title>   </title>", BASE).title is None


def test_style_blocks_and_attributes() -> None:
    html = (
        "<style>@import url(print.css) print; @media (min-width: 10em) "
        "{ .w { background: url('wide.png') } }</style>"
        '<div style="background: url(&quot;attr.png&quot;), url(two.png)">x</div>'
        '<span style="color: red">no url</span>'
    )
    assert triples(links_of(html)) == [
        ("http://example.test/dir/print.css", "requisite", "style@import"),
        ("http://example.test/dir/wide.png", "requisite", "style:url()"),
        ("http://example.test/dir/attr.png", "requisite", "style-attr:url()"),
        ("http://example.test/dir/two.png", "requisite", "style-attr:url()"),
    ]


def test_find_style_attribute_links_directly() -> None:
    found = find_style_attribute_links("background: image-set('a.png' 1x, url(b.png) 2x)", BASE)
    assert [link.url for link in found] == [
        "http://example.test/dir/a.png",
        "http://example.test/dir/b.png",
    ]
    assert find_style_attribute_links("color: red; url(", BASE) == []


WINDOWS_1252_PAGE = (
    "<html><head>{meta}<title>Caf\u00e9 \u201cmenu\u201d</title></head>"
    '<body><img src="caf\u00e9.png"></body></html>'
)


def test_windows_1252_declared_by_meta() -> None:
    data = WINDOWS_1252_PAGE.format(meta='<meta charset="windows-1252">').encode("cp1252")
    result = find_html_links(data, BASE)
    assert result.encoding == "windows-1252"
    assert result.title == "Café “menu”"
    assert [link.url for link in result.links] == ["http://example.test/dir/caf%C3%A9.png"]


def test_http_charset_wins_over_meta() -> None:
    data = WINDOWS_1252_PAGE.format(meta='<meta charset="utf-8">').encode("cp1252")
    result = find_html_links(data, BASE, http_charset="windows-1252")
    assert result.encoding == "windows-1252"
    assert result.title == "Café “menu”"
    assert [link.url for link in result.links] == ["http://example.test/dir/caf%C3%A9.png"]


def test_http_equiv_content_type_declares_the_charset() -> None:
    meta = '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=ISO-8859-1">'
    data = WINDOWS_1252_PAGE.format(meta=meta).encode("cp1252")
    result = find_html_links(data, BASE)
    # Browsers read iso-8859-1 as windows-1252, so 0x93/0x94 are curly quotes, not C1 controls.
    assert result.encoding == "windows-1252"
    assert result.title == "Café “menu”"


@pytest.mark.parametrize("label", ["iso-8859-1", "latin-1", "US-ASCII", " Windows-1252 "])
def test_latin_1_labels_decode_as_windows_1252(label: str) -> None:
    assert decode_html(b"\x93x\x94", label) == ("“x”", "windows-1252")


def test_unknown_http_charset_falls_through_to_meta() -> None:
    data = WINDOWS_1252_PAGE.format(meta='<meta charset="windows-1252">').encode("cp1252")
    assert find_html_links(data, BASE, http_charset="x-no-such-charset").encoding == "windows-1252"
    assert decode_html("é".encode(), "rot13") == ("é", "utf-8")


def test_utf8_bom_wins_over_every_declaration() -> None:
    html = WINDOWS_1252_PAGE.format(meta='<meta charset="windows-1252">')
    data = b"\xef\xbb\xbf" + html.encode("utf-8")
    result = find_html_links(data, BASE, http_charset="windows-1252")
    assert result.encoding == "utf-8"
    assert result.title == "Café “menu”"
    assert [link.url for link in result.links] == ["http://example.test/dir/caf%C3%A9.png"]


def test_utf16_bom() -> None:
    data = b"\xff\xfe" + "<title>Ünïcode</title>".encode("utf-16-le")
    result = find_html_links(data, BASE)
    assert (result.encoding, result.title) == ("utf-16-le", "Ünïcode")


def test_meta_claiming_utf16_is_read_as_utf8() -> None:
    data = '<meta charset="utf-16"><title>naïve</title>'.encode()
    assert find_html_links(data, BASE).title == "naïve"


def test_undeclared_encoding_is_detected() -> None:
    data = WINDOWS_1252_PAGE.format(meta="").encode("utf-8")
    result = find_html_links(data, BASE)
    assert result.encoding == "utf-8"
    assert result.title == "Café “menu”"
    assert [link.url for link in result.links] == ["http://example.test/dir/caf%C3%A9.png"]


def test_undecodable_bytes_never_raise() -> None:
    text, encoding = decode_html(b"caf\xe9 \xfd\xff\x00\x81", "utf-8")
    assert encoding == "utf-8"
    assert "\ufffd" in text


def test_xml_declaration_is_accepted() -> None:
    data = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>X</title>'
        b'<link rel="stylesheet" href="x.css"/></head></html>'
    )
    result = find_html_links(data, BASE)
    assert result.title == "X"
    assert [link.url for link in result.links] == ["http://example.test/dir/x.css"]


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"<!--", b"\x00\x01\x02\xff", b"<img src=", b"<html><body><img", b"\x89PNG\r\n"],
)
def test_garbage_gives_empty_links(data: bytes) -> None:
    result = find_html_links(data, BASE)
    assert result.links == ()
    assert result.base_url == BASE


def test_unclosed_tags_still_yield_links() -> None:
    html = '<html><body><div><p><img src="a.png"><table><tr><td background="b.gif">cut'
    assert urls_of(html) == ["http://example.test/dir/a.png", "http://example.test/dir/b.gif"]
    assert urls_of('<img src="a.png"><img src="b.png') == ["http://example.test/dir/a.png"]


CSS_BASE = "http://example.test/css/site.css"


def css_triples(css: str | bytes, **kwargs: str) -> list[tuple[str, str, str]]:
    return triples(find_css_links(css, CSS_BASE, **kwargs))


CSS_DECLARATIONS = {
    "url-unquoted": ("background: url(u1.png)", ["u1.png"]),
    "url-quoted": ("background-image: url('u2.png'), url(\"u3.png\")", ["u2.png", "u3.png"]),
    "image-set": ("background: image-set('i1.png' 1x, url(i2.png) 2x)", ["i1.png", "i2.png"]),
    "webkit-image-set": ("background: -webkit-image-set(url(w1.png) 1x)", ["w1.png"]),
    "cursor": ("cursor: url(c.cur), pointer", ["c.cur"]),
    "list-style": ("list-style: square url(bullet.gif)", ["bullet.gif"]),
    "protocol-relative": ("background: url(//cdn.test/p.png)", ["http://cdn.test/p.png"]),
}
CSS_RULES = {
    "import-string": ('@import "imp.css";', ["imp.css"]),
    "import-url-media": ("@import url(imp2.css) screen and (min-width: 1px);", ["imp2.css"]),
    "font-face": (
        "@font-face { font-family: F; src: url(f.woff2) format('woff2'), url(f.ttf); }",
        ["f.woff2", "f.ttf"],
    ),
    "media-block": ("@media print { .x { background: url(pr.png) } }", ["pr.png"]),
}


def _css_expected(names: list[str], base: str) -> list[str]:
    return [name if name.startswith("http") else base + name for name in names]


@pytest.mark.parametrize("form", sorted(CSS_DECLARATIONS))
@pytest.mark.parametrize("where", ["file", "style-element", "style-attribute"])
def test_css_declaration_forms_everywhere(form: str, where: str) -> None:
    declaration, names = CSS_DECLARATIONS[form]
    if where == "file":
        found = [link.url for link in find_css_links(f".a {{ {declaration} }}", CSS_BASE)]
        assert found == _css_expected(names, "http://example.test/css/")
    elif where == "style-element":
        found = urls_of(f"<style>.a {{ {declaration} }}</style>")
        assert found == _css_expected(names, D)
    else:
        found = urls_of(f'<p style="{declaration.replace(chr(34), "&quot;")}">x</p>')
        assert found == _css_expected(names, D)


@pytest.mark.parametrize("form", sorted(CSS_RULES))
@pytest.mark.parametrize("where", ["file", "style-element"])
def test_css_rule_forms_in_files_and_style_elements(form: str, where: str) -> None:
    rule, names = CSS_RULES[form]
    if where == "file":
        found = [link.url for link in find_css_links(rule, CSS_BASE)]
        assert found == _css_expected(names, "http://example.test/css/")
    else:
        assert urls_of(f"<style>{rule}</style>") == _css_expected(names, D)


def test_css_import_both_forms() -> None:
    css = (
        '@import "a.css";\n@import url(b.css) screen;\n'
        "@import url(\"c.css\") layer(x);\n@import 'd.css';"
    )
    assert css_triples(css) == [
        ("http://example.test/css/a.css", "requisite", "css@import"),
        ("http://example.test/css/b.css", "requisite", "css@import"),
        ("http://example.test/css/c.css", "requisite", "css@import"),
        ("http://example.test/css/d.css", "requisite", "css@import"),
    ]


def test_css_url_in_nested_at_rules() -> None:
    css = """
    @media screen {
      @supports (display: grid) { .a { background: url(media.png) } }
      .b { background: url("media2.png") }
    }
    @layer base { .c { background: url(layer.png) } }
    @container (min-width: 1px) { .d { background: url(container.png) } }
    .e { &:hover { background: url(nested-rule.png) } }
    """
    assert [url for url, _, _ in css_triples(css)] == [
        "http://example.test/css/media.png",
        "http://example.test/css/media2.png",
        "http://example.test/css/layer.png",
        "http://example.test/css/container.png",
        "http://example.test/css/nested-rule.png",
    ]


def test_css_font_face_src_list() -> None:
    css = """@font-face {
      font-family: "X";
      src: url(x.eot);
      src: url(x.eot?#iefix) format("embedded-opentype"), url("../fonts/x.woff2") format("woff2"),
           url('x.woff') format('woff'), local("X");
    }"""
    assert [url for url, _, _ in css_triples(css)] == [
        "http://example.test/css/x.eot",
        "http://example.test/fonts/x.woff2",
        "http://example.test/css/x.woff",
    ]


def test_css_url_forms_and_escapes() -> None:
    css = r"""
    .a { background: url(plain.png) }
    .b { background: url( "double.png" ) }
    .c { background: url('single.png') }
    .d { background: url(sp\ ace.png) }
    .e { background: url("q\"uote.png") }
    .f { background: url(\66 ile.png) }
    .g { background: u\72l(escaped-function.png) }
    .h { background: URL(upper.png) }
    .i { cursor: url(/cursor.cur), auto }
    """
    assert [url for url, _, _ in css_triples(css)] == [
        "http://example.test/css/plain.png",
        "http://example.test/css/double.png",
        "http://example.test/css/single.png",
        "http://example.test/css/sp%20ace.png",
        "http://example.test/css/q%22uote.png",
        "http://example.test/css/file.png",
        "http://example.test/css/escaped-function.png",
        "http://example.test/css/upper.png",
        "http://example.test/cursor.cur",
    ]


def test_css_image_set() -> None:
    css = (
        '.a { background: image-set("a1.png" 1x, url(a2.png) 2x, "a3.avif" type("image/avif")) }'
        ".b { background: -webkit-image-set(url(b1.png) 1x, 'b2.png' 2x) }"
    )
    assert [url for url, _, _ in css_triples(css)] == [
        "http://example.test/css/a1.png",
        "http://example.test/css/a2.png",
        "http://example.test/css/a3.avif",
        "http://example.test/css/b1.png",
        "http://example.test/css/b2.png",
    ]


def test_css_strings_outside_url_and_selectors_are_not_urls() -> None:
    css = '.a::before { content: "not.png" } a[href="x.png"] { color: red } @namespace url(ns);'
    assert css_triples(css) == []


def test_css_skips_data_and_malformed_and_dedups() -> None:
    css = (
        ".a { background: url(data:image/png;base64,AAAA) }"
        '.b { background: url("http://[bad") }'
        ".c { background: url(x.png#one) } .d { background: url(x.png) }"
    )
    assert css_triples(css) == [("http://example.test/css/x.png", "requisite", "css:url()")]


def test_css_charset_rule_decodes_bytes() -> None:
    css = '@charset "windows-1252";\n.a { background: url(café.png) }'.encode("cp1252")
    assert [url for url, _, _ in css_triples(css)] == ["http://example.test/css/caf%C3%A9.png"]


def test_css_http_charset_and_bom() -> None:
    latin = ".a { background: url(café.png) }".encode("cp1252")
    assert [u for u, _, _ in css_triples(latin, http_charset="iso-8859-1")] == [
        "http://example.test/css/caf%C3%A9.png"
    ]
    bom = b"\xef\xbb\xbf" + '@charset "windows-1252"; .a { background: url(café.png) }'.encode()
    assert [u for u, _, _ in css_triples(bom)] == ["http://example.test/css/caf%C3%A9.png"]


def test_css_text_input_and_via_prefix() -> None:
    found = find_css_links(
        '\ufeff@import "a.css"; p { background: url(b.png) }', CSS_BASE, via_prefix="x"
    )
    assert [link.via for link in found] == ["x@import", "x:url()"]


@pytest.mark.parametrize(
    "css",
    ["", "}}}{{{", "@import", "@import ;", ".a { background: url(", "/* unclosed", "@media {"],
)
def test_css_garbage_never_raises(css: str) -> None:
    assert_absolute(find_css_links(css, CSS_BASE))
    assert_absolute(find_css_links(css.encode(), CSS_BASE))


def test_deeply_nested_css_does_not_exhaust_the_stack() -> None:
    css = ".a { x: " + "(" * 5000 + "url(deep.png)" + ")" * 5000 + " }"
    assert [u for u, _, _ in css_triples(css)] == ["http://example.test/css/deep.png"]


def test_example_site_index() -> None:
    data = (EXAMPLE / "index.html").read_bytes()
    result = find_html_links(data, "http://example.test/")
    assert result.encoding == "windows-1252"
    assert result.title == "MQM - News and Statements, October 2001"
    found = {link.url: (link.role, link.via) for link in result.links}
    assert found["http://example.test/css/style.css"] == ("requisite", "link[stylesheet]@href")
    assert found["http://example.test/favicon.ico"] == ("requisite", "link[icon]@href")
    assert found["http://example.test/images/bg-tile.gif"] == ("requisite", "body@background")
    assert found["http://example.test/images/cell-bg.gif"] == ("requisite", "td@background")
    assert found["http://example.test/images/masthead.gif"] == ("requisite", "img@src")
    assert found["http://example.test/media/audio-report.wav"] == ("requisite", "embed@src")
    assert found["http://example.test/gallery.html"] == ("page", "a@href")
    for path in ("images/thumbs/podium.jpg", "images/spacer.gif", "images/icon-video.png"):
        assert found["http://example.test/" + path][0] == "requisite"
    assert_absolute(result.links)


def test_example_site_stylesheet() -> None:
    data = (EXAMPLE / "css" / "style.css").read_bytes()
    assert triples(find_css_links(data, "http://example.test/css/style.css")) == [
        ("http://example.test/css/base.css", "requisite", "css@import"),
        ("http://example.test/images/masthead-bg.gif", "requisite", "css:url()"),
        ("http://example.test/images/arrow.gif", "requisite", "css:url()"),
        ("http://example.test/images/footer-bg.gif", "requisite", "css:url()"),
    ]


@pytest.mark.corpus
@pytest.mark.shared("corpus")
def test_corpus_xhtml_page_with_xml_declaration() -> None:
    page = CORPUS / "pages" / "xkcd.com_1.html"
    result = find_html_links(page.read_bytes(), "http://xkcd.com/1/")
    assert result.title == "xkcd: Barrel - Part 1"
    urls = {link.url for link in result.links if link.role == "requisite"}
    assert "http://xkcd.com/s/d16ebb.css" in urls
    assert "http://imgs.xkcd.com/comics/barrel_cropped_(1).jpg" in urls


@pytest.mark.corpus
@pytest.mark.shared("corpus")
def test_corpus_shift_jis_page_served_without_charset() -> None:
    page = CORPUS / "pages" / "geocities.jp_videogame_top.htm"
    base = "http://www.geocities.jp/gamehouse_grindcrusher2/videogame_top.htm"
    result = find_html_links(page.read_bytes(), base)
    # Browsers decode Shift_JIS as Windows-31J (cp932), which holds the vendor extensions.
    assert result.encoding == "cp932"
    assert result.title == "VIDEO GAME TOP"
    urls = {link.url for link in result.links}
    assert "http://www.geocities.jp/gamehouse_grindcrusher2/gamehouse_logo.gif" in urls


HTML_FRAGMENTS = st.sampled_from(
    [
        "<img src=", "<img srcset=\"", "<a href=", "<base href=", "<link rel=stylesheet href=",
        "<style>", "</style>", "<p style=\"", "<td background=", "<iframe src=", "<meta charset=",
        "<?xml version='1.0' encoding='utf-8'?>", "<title>", "<!--", "-->", '"', "'", ">", " ",
        ",", "1x", "url(", ")", "@import ", "image-set(", "http://[bad", "//host/", "../",
        "data:", "javascript:", "mailto:x", "file:///etc/", "https://", "#", "\x00", "é", "utf-16",
        "\\", "%", "%zz", "http://h:99999/",
    ]
)  # fmt: skip
CSS_FRAGMENTS = st.sampled_from(
    [
        "@import ", "url(", ")", "(", "{", "}", ";", '"', "'", "\\", "image-set(", "@media x",
        "@font-face", "src:", "a", "/*", "*/", "http://[bad", "data:x", "//h/", "../", "\x00",
        "@charset \"utf-16\";", "é", ",", " ",
    ]
)  # fmt: skip


@settings(deadline=None, max_examples=200)
@given(
    st.binary(max_size=2000), st.one_of(st.none(), st.sampled_from(["utf-8", "bogus", "utf-16"]))
)
def test_find_html_links_never_raises_on_bytes(data: bytes, charset: str | None) -> None:
    result = find_html_links(data, BASE, http_charset=charset)
    assert_absolute(result.links)


@settings(deadline=None, max_examples=300)
@given(st.lists(st.one_of(HTML_FRAGMENTS, st.text(max_size=8)), max_size=60))
def test_find_html_links_never_raises_on_html_like_text(parts: list[str]) -> None:
    result = find_html_links("".join(parts).encode("utf-8", "surrogatepass"), BASE)
    assert_absolute(result.links)
    assert len({link.url for link in result.links}) == len(result.links)


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=2000))
def test_find_css_links_never_raises_on_bytes(data: bytes) -> None:
    assert_absolute(find_css_links(data, CSS_BASE))


@settings(deadline=None, max_examples=300)
@given(st.lists(st.one_of(CSS_FRAGMENTS, st.text(max_size=8)), max_size=60))
def test_find_css_links_never_raises_on_css_like_text(parts: list[str]) -> None:
    css = "".join(parts)
    assert_absolute(find_css_links(css, CSS_BASE))
    assert_absolute(find_style_attribute_links(css, CSS_BASE))


@pytest.mark.parametrize("markup", [b"<object data=a://[>", b"<object data='http://[::1'>"])
def test_object_with_a_malformed_authority_is_skipped(markup: bytes) -> None:
    found = find_html_links(markup, "http://example.test/")
    assert [link.url for link in found.links] == []
