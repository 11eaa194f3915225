"""Documents nested deeper than libxml2 builds a tree: every link after the nesting is found.

libxml2 stops a tree at 256 levels (2,048 with huge_tree) and drops the rest of the document;
old hand-made pages with hundreds of unclosed <font> tags pass that easily.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import bagit
import pytest
from hypothesis import given
from hypothesis import strategies as st

import preserve
from preserve.discover import find_html_links
from preserve.discover.html import MAX_DEPTH

from .conftest import Server

BASE = "http://example.com/dir/page.html"
AFTER = (
    b'<title>Old page</title><base href="http://other.example/base/">'
    b'<img src="after.gif"><a href="next.html">next</a>'
    b'<table background="bg.gif"><tr><td style="background: url(cell.png)">x</td></tr></table>'
    b'<style>@import "late.css";</style><iframe src="frame.html"></iframe>'
)
AFTER_LINKS = [
    ("http://other.example/base/after.gif", "requisite", "img@src"),
    ("http://other.example/base/next.html", "page", "a@href"),
    ("http://other.example/base/bg.gif", "requisite", "table@background"),
    ("http://other.example/base/cell.png", "requisite", "style-attr:url()"),
    ("http://other.example/base/late.css", "requisite", "style@import"),
    ("http://other.example/base/frame.html", "frame", "iframe@src"),
]


def links_of(data: bytes) -> list[tuple[str, str, str]]:
    return [(link.url, link.role, link.via) for link in find_html_links(data, BASE).links]


@pytest.mark.parametrize("depth", [300, 2100, 5000])
@pytest.mark.parametrize("tag", [b"font", b"div", b"table", b"b", b"span", b"blockquote"])
def test_links_after_deep_unclosed_nesting_are_found(tag: bytes, depth: int) -> None:
    data = b"<html><body>" + b"<" + tag + b' color="red">' * depth + AFTER
    found = find_html_links(data, BASE)
    assert [(link.url, link.role, link.via) for link in found.links] == AFTER_LINKS
    assert found.title == "Old page"
    assert found.base_url == "http://other.example/base/"


def test_links_inside_and_around_the_nesting_keep_document_order() -> None:
    data = b"".join(
        b'<font size="%d"><img src="i%d.gif">' % (level % 7, level) for level in range(3000)
    )
    found = links_of(data)
    assert found == [
        (f"http://example.com/dir/i{level}.gif", "requisite", "img@src") for level in range(3000)
    ]


def test_deep_mixed_table_markup_loses_nothing() -> None:
    cell = b'<table><tr><td><font><div><center><img src="c%d.gif">'
    data = b"".join(cell % n for n in range(2000))
    assert [url for url, _, _ in links_of(data)] == [
        f"http://example.com/dir/c{n}.gif" for n in range(2000)
    ]


def test_closing_the_deepest_elements_never_turns_script_or_comment_text_into_markup() -> None:
    # Past MAX_DEPTH the parser is fed end tags; inside a script, a style, a title or a
    # comment they would be text, and markup in that text must still not count.
    deep = b"<div>" * (MAX_DEPTH + 100)
    script = b"<script>" + b'document.write("<img src=s.gif>");' * 400 + b"</script>"
    comment = b"<!--" + b'<img src="c.gif">' * 400 + b"-->"
    style = b"<style>" + b"p { color: red }" * 400 + b"i { background: url(st.png) }</style>"
    data = deep + script + deep + comment + deep + style + b'<img src="after.gif">'
    assert links_of(data) == [
        ("http://example.com/dir/st.png", "requisite", "style:url()"),
        ("http://example.com/dir/after.gif", "requisite", "img@src"),
    ]


def test_a_title_read_across_the_nesting_limit_is_whole() -> None:
    data = b"<div>" * (MAX_DEPTH + 50) + b"<title>" + b"word " * 2000 + b"</title>"
    assert find_html_links(data, BASE).title == " ".join(["word"] * 2000)


def test_an_attribute_longer_than_libxml2_s_limit_is_read_whole() -> None:
    # Without huge_tree libxml2 drops an attribute value over 10,000,000 bytes: here the
    # style attribute whose inline data: image comes before the real requisite.
    inline = b"url('data:image/png;base64," + b"A" * 10_100_000 + b"')"
    data = b'<div style="background: ' + inline + b', url(real.png)">x</div><img src=after.gif>'
    assert [url for url, _, _ in links_of(data)] == [
        "http://example.com/dir/real.png",
        "http://example.com/dir/after.gif",
    ]


@pytest.mark.parametrize(
    "name,data",
    [
        ("100,000 unclosed <div>", b"<div>" * 100_000 + b'<img src="x.gif">'),
        ("100,000 unclosed <b>", b"<b>" * 100_000 + b'<img src="x.gif">'),
        (
            "100,000 <div> then 100,000 end tags that match nothing",
            b"<div>" * 100_000 + b"</span>" * 100_000 + b'<img src="x.gif">',
        ),
        (
            "500 <div> (under the limit) then 200,000 end tags that match nothing",
            b"<div>" * 500 + b"</x>" * 200_000 + b'<img src="x.gif">',
        ),
    ],
)
def test_pathological_nesting_is_read_in_bounded_time(name: str, data: bytes) -> None:
    started = time.monotonic()
    assert links_of(data) == [("http://example.com/dir/x.gif", "requisite", "img@src")]
    # Loose: measured at well under a second; libxml2 searching an unbounded stack for each
    # unmatched end tag took minutes.
    assert time.monotonic() - started < 20, name


WRAPPERS = st.sampled_from(
    ["font", "div", "table", "b", "i", "span", "center", "blockquote", "ul", "dl", "em", "tt"]
)


@given(
    st.lists(st.tuples(WRAPPERS, st.integers(1, 1200)), min_size=1, max_size=4),
    st.sampled_from([b"", b"text ", b"<br>", b"<p>para"]),
)
def test_any_depth_of_unclosed_wrappers_keeps_every_later_link(
    wrappers: list[tuple[str, int]], filler: bytes
) -> None:
    prefix = b"".join((b"<%s>" % tag.encode() + filler) * count for tag, count in wrappers)
    assert links_of(prefix + AFTER) == AFTER_LINKS


@pytest.mark.parametrize("depth", [300, 5000])
@pytest.mark.parametrize("tag", ["font", "div", "table"])
def test_capture_of_a_deeply_nested_page_keeps_its_image(
    http: Server, tmp_path: Path, tag: str, depth: int
) -> None:
    page = (
        f"<html><head><title>Nested {depth}</title></head><body>"
        + f'<{tag} face="Arial">text ' * depth
        + '<img src="/deep.gif"></body></html>'
    ).encode()
    http.route("/", body=page, headers={"Content-Type": "text/html"})
    http.route("/deep.gif", body=b"GIF89a-deep", headers={"Content-Type": "image/gif"})
    result = preserve.capture(http.url("/"), tmp_path)
    bagit.Bag(str(result.bag_path)).validate()
    assert result.title == f"Nested {depth}"
    logged = [
        json.loads(line)
        for line in (result.bag_path / "data/logs/capture-log.jsonl").read_text().splitlines()
    ]
    image = next(r for r in logged if r["url"] == http.url("/deep.gif"))
    assert image["outcome"] == "captured"
    assert image["via"] == "img@src"
    assert (result.bag_path / image["payload_path"]).read_bytes() == b"GIF89a-deep"
