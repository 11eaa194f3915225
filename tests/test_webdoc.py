"""What a web document is: Content-Type parameters, WHATWG charset labels, kinds, decoding."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from preserve.webdoc import (
    ContentType,
    charset_codec,
    decode_html,
    document_kind,
    media_type,
    parse_content_type,
)

from .conftest import Server

UTF8_PAGE = "<title>Café Zürich — ein Ort</title><p>Grüße</p>".encode()


@pytest.mark.parametrize(
    ("value", "media", "charset"),
    [
        ("text/html; charset=utf-8", "text/html", "utf-8"),
        ('Text/HTML ;  Charset = "koi8-r"', "text/html", "koi8-r"),
        ("text/html; xcharset=koi8-r", "text/html", None),
        ("text/html; charset", "text/html", None),
        ("text/html; charset=", "text/html", None),
        ('text/html; title="a;b"; charset=gbk', "text/html", "gbk"),
        ('text/html; title="a\\"; charset=x"; charset=big5', "text/html", "big5"),
        ("text/html; charset=utf-8; charset=koi8-r", "text/html", "utf-8"),
        ("html", "", None),
        ("text/ html", "", None),
        ("", "", None),
        (None, "", None),
    ],
)
def test_content_type_parameters(value: str | None, media: str, charset: str | None) -> None:
    parsed = parse_content_type(value)
    assert (parsed.media, parsed.charset) == (media, charset)
    assert media_type(value) == media


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("utf-8", "utf-8"),
        (" UTF8 ", "utf-8"),
        ("iso-8859-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("latin1", "cp1252"),
        ("shift_jis", "cp932"),
        ("x-sjis", "cp932"),
        ("euc-kr", "cp949"),
        ("gb2312", "gb18030"),
        ("gbk", "gb18030"),
        ("koi8-r", "koi8-r"),
        ("x-mac-cyrillic", "mac-cyrillic"),
        ("windows-1251", "cp1251"),
        ("utf-16", "utf-16-le"),
        # Python knows these; no browser decodes a page with them.
        ("cp037", None),
        ("ibm037", None),
        ("cp500", None),
        ("utf-32", None),
        ("utf-7", None),
        ("rot13", None),
        ("idna", None),
        ("undefined", None),
        # WHATWG's replacement encoding: never a way to read the page.
        ("iso-2022-kr", None),
        ("", None),
        (None, None),
    ],
)
def test_charset_labels_read_as_the_whatwg_table_reads_them(
    label: str | None, codec: str | None
) -> None:
    assert charset_codec(label) == codec


@pytest.mark.parametrize("label", ["cp037", "ibm037", "cp500", "utf-32", "utf-7", "x-nonsense"])
def test_a_meta_label_no_browser_honours_falls_back_as_a_browser_does(label: str) -> None:
    page = f'<meta charset="{label}">'.encode() + UTF8_PAGE
    text, encoding = decode_html(page)
    assert encoding == "utf-8"
    assert "Café Zürich" in text


@pytest.mark.parametrize("label", ["utf-32", "ibm037", "cp500"])
def test_an_http_label_no_browser_honours_falls_back_as_a_browser_does(label: str) -> None:
    text, encoding = decode_html(UTF8_PAGE, http_charset=label)
    assert encoding == "utf-8"
    assert "Grüße" in text


def test_an_honoured_label_still_wins_over_detection() -> None:
    page = '<meta charset="windows-1251"><title>Новости</title>'.encode("cp1251")
    text, encoding = decode_html(page)
    assert encoding == "windows-1251"
    assert "Новости" in text
    text, encoding = decode_html("Привет".encode("koi8-r"), http_charset="koi8-r")
    assert (text, encoding) == ("Привет", "koi8-r")


def test_a_utf16_meta_label_means_utf8() -> None:
    text, encoding = decode_html(b'<meta charset="utf-16">' + UTF8_PAGE)
    assert encoding == "utf-8"
    assert "Grüße" in text


@pytest.mark.parametrize(
    ("content_type", "via", "path", "kind"),
    [
        ("text/html; charset=utf-8", None, "a.gif", "html"),
        ("application/xhtml+xml", None, "a", "html"),
        ("text/css", None, "a.txt", "css"),
        ("text/plain", "link[stylesheet]@href", "a.txt", "css"),
        (None, "css@import", "a", "css"),
        ("application/octet-stream", "link[preload as=style]@href", "a", "css"),
        ("text/plain", None, "a.css", None),
        (None, None, "page.HTM", "html"),
        (None, None, "style.css", "css"),
        ("image/gif", "link[stylesheet]@href", "a.css", None),
        ("text/html; xcharset=koi8-r", None, "a", "html"),
    ],
)
def test_document_kind(content_type: str | None, via: str | None, path: str, kind: str) -> None:
    assert document_kind(content_type, via, path) == kind


@settings(max_examples=2000)
@given(st.text(max_size=300))
def test_any_content_type_gives_a_value(value: str) -> None:
    parsed = parse_content_type(value)
    assert isinstance(parsed, ContentType)
    assert parsed.media == parsed.media.lower()
    assert all(name == name.lower() for name, _ in parsed.parameters)


@settings(max_examples=2000)
@given(st.text(max_size=80))
def test_any_label_gives_a_text_codec_or_none(label: str) -> None:
    codec = charset_codec(label)
    if codec is not None:
        assert isinstance(b"abcd".decode(codec, "replace"), str)
        assert codecs.lookup(codec).name == codec


@settings(max_examples=300)
@given(st.binary(max_size=600), st.one_of(st.none(), st.text(max_size=20)))
def test_any_bytes_and_label_decode_to_text(data: bytes, label: str | None) -> None:
    text, encoding = decode_html(data, http_charset=label)
    assert isinstance(text, str)
    assert encoding


@pytest.mark.parametrize("label", ["idna", "punycode", "rot13", "utf-7", "cp037", "utf-32"])
def test_a_stylesheet_declaring_a_label_no_browser_honours_is_captured_and_copied(
    http: Server, tmp_path: Path, label: str
) -> None:
    http.route(
        "/", body=b'<link rel=stylesheet href="/s.css">', headers={"Content-Type": "text/html"}
    )
    sheet = f'@charset "{label}";\nbody {{ background: url("bg-ü.png") }}\n'.encode()
    http.route("/s.css", body=sheet, headers={"Content-Type": "text/css"})
    http.route("/bg-%C3%BC.png", body=b"\x89PNG\r\n\x1a\n", headers={"Content-Type": "image/png"})
    result = preserve.capture(http.url("/"), tmp_path / "out")
    outcomes = {r.url.rsplit("/", 1)[-1]: r.outcome for r in result.records}
    # Read as UTF-8, as a browser reads it: the image it names is found and fetched.
    assert outcomes["bg-%C3%BC.png"] == "captured"
    copies = list((result.bag_path / "data/access").rglob("s.css*"))
    assert len(copies) == 1
    assert "bg-" in copies[0].read_text(encoding="utf-8")
