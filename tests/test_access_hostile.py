"""Hostile markup in the access copy: foreign content read as browsers read it, nothing live.

A `<meta http-equiv=refresh>` inside `<svg><style>` is an HTML `<meta>` to a browser: in SVG
and MathML, `<style>` holds markup. These tests read pages the way the HTML standard does
and check that nothing able to leave the bag by itself survives the rewrite, wherever a
parser might find it. `test_browser_hostile.py` opens the same markup in Chromium.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preserve.access import CONTENT_SECURITY_POLICY, Document, rewrite_html
from preserve.access.hazards import disarm, hazardous, read_refresh, stays_in_place
from preserve.access.tokens import read_tag, tokenize

from .test_access import PAGE, body, catalog

EVIL = "http://evil.test/"
REFRESH = f'<meta http-equiv=refresh content="0;url={EVIL}">'
LIVE = 'http-equiv=refresh content="0;url=http://evil.test/">'
DEAD = 'http-equiv="x-archived-refresh" content="0;url=http://evil.test/">'
IMAGE = "http://example.org/i.png"
LOCAL_IMAGE = "../../../../web/example.org/i.png"


def read(markup: str) -> list[tuple[str, str, str]]:
    """Return the start tags and raw texts of `markup`: (kind, name or text, namespace)."""
    found = []
    for token in tokenize(markup):
        if token.kind == "start":
            found.append(("start", token.name, token.namespace))
        elif token.kind in ("raw", "cdata"):
            found.append((token.kind, markup[token.start : token.end], token.namespace))
    return found


# --- the tokenizer in SVG and MathML ----------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        # In SVG and MathML, `<style>` and the other raw-text elements hold markup, and a
        # `<meta>` breaks out of the foreign content into HTML.
        ("<svg><style><meta>", [("start", "svg", "svg"), ("start", "style", "svg"),
                                ("start", "meta", "html")]),
        ("<math><style><b>x", [("start", "math", "math"), ("start", "style", "math"),
                               ("start", "b", "html")]),
        ("<svg><script><img>", [("start", "svg", "svg"), ("start", "script", "svg"),
                                ("start", "img", "html")]),
        ("<svg><textarea><xmp><iframe><noembed><noframes><noscript><plaintext><a>",
         [("start", "svg", "svg")] + [("start", name, "svg") for name in
          ("textarea", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext", "a")]),
        # SVG's <title> is an integration point: a tag inside is read as HTML.
        ("<svg><title><meta></title>", [("start", "svg", "svg"), ("start", "title", "svg"),
                                        ("start", "meta", "html")]),
        # HTML integration points read HTML, where <style> is raw text again.
        ("<svg><foreignObject><style><meta></style>",
         [("start", "svg", "svg"), ("start", "foreignobject", "svg"), ("start", "style", "html"),
          ("raw", "<meta>", "html")]),
        ("<svg><desc><title><b></title>",
         [("start", "svg", "svg"), ("start", "desc", "svg"), ("start", "title", "html"),
          ("raw", "<b>", "html")]),
        ("<math><mi><style><b></style>",
         [("start", "math", "math"), ("start", "mi", "math"), ("start", "style", "html"),
          ("raw", "<b>", "html")]),
        ('<math><annotation-xml encoding="Text/HTML"><style><b></style>',
         [("start", "math", "math"), ("start", "annotation-xml", "math"),
          ("start", "style", "html"), ("raw", "<b>", "html")]),
        ("<math><annotation-xml><style><b>",
         [("start", "math", "math"), ("start", "annotation-xml", "math"),
          ("start", "style", "math"), ("start", "b", "html")]),
        ("<math><annotation-xml><svg><style>",
         [("start", "math", "math"), ("start", "annotation-xml", "math"), ("start", "svg", "svg"),
          ("start", "style", "svg")]),
        ("<math><mi><mglyph><style><b>",
         [("start", "math", "math"), ("start", "mi", "math"), ("start", "mglyph", "math"),
          ("start", "style", "math"), ("start", "b", "html")]),
        # What closes foreign content: its end tag, an HTML end tag of an element open below
        # it, a breakout tag; `</body>` does not, nor a self-closing `<style/>`.
        ("<svg></svg><style><b>", [("start", "svg", "svg"), ("start", "style", "html"),
                                  ("raw", "<b>", "html")]),
        ("<div><svg><g></div><style><b>",
         [("start", "div", "html"), ("start", "svg", "svg"), ("start", "g", "svg"),
          ("start", "style", "html"), ("raw", "<b>", "html")]),
        ("<svg></body><style><b>", [("start", "svg", "svg"), ("start", "style", "svg"),
                                   ("start", "b", "html")]),
        ("<svg><style/><p><style><b>",
         [("start", "svg", "svg"), ("start", "style", "svg"), ("start", "p", "html"),
          ("start", "style", "html"), ("raw", "<b>", "html")]),
        ("<svg><font color=red><style><b>",
         [("start", "svg", "svg"), ("start", "font", "html"), ("start", "style", "html"),
          ("raw", "<b>", "html")]),
        ("<svg><font><style><b>", [("start", "svg", "svg"), ("start", "font", "svg"),
                                   ("start", "style", "svg"), ("start", "b", "html")]),
        ("<svg/><style><b>", [("start", "svg", "svg"), ("start", "style", "html"),
                              ("raw", "<b>", "html")]),
        ("<svg><desc><div></svg><style><b>",
         [("start", "svg", "svg"), ("start", "desc", "svg"), ("start", "div", "html"),
          ("start", "style", "html"), ("raw", "<b>", "html")]),
        # CDATA sections exist only in foreign content; in HTML `<![CDATA[` is a comment.
        ("<svg><![CDATA[<meta>]]><b>", [("start", "svg", "svg"), ("cdata", "<meta>", "html"),
                                        ("start", "b", "html")]),
        ("<![CDATA[<meta>]]><b>", [("start", "b", "html")]),
    ],
)  # fmt: skip
def test_foreign_content_is_tokenised_as_the_html_standard_does(
    markup: str, expected: list[tuple[str, str, str]]
) -> None:
    assert read(markup) == expected


def test_a_script_ends_where_its_escapes_let_it() -> None:
    # `<!--` then `<script>` inside a script: the next `</script>` does not end it.
    markup = "<script><!--<script></script><b><!--</script><i>--><script>x</script><u>"
    assert read(markup) == [
        ("start", "script", "html"),
        ("raw", "<!--<script></script><b><!--", "html"),
        ("start", "i", "html"),
        ("start", "script", "html"),
        ("raw", "x", "html"),
        ("start", "u", "html"),
    ]
    assert read("<script><!--></script><b>") == [
        ("start", "script", "html"),
        ("raw", "<!-->", "html"),
        ("start", "b", "html"),
    ]


def test_an_end_tag_ends_after_its_quoted_attributes() -> None:
    assert read('</x a=">"<!--"><b>-->') == [("start", "b", "html")]


def test_tag_names_are_lower_cased_as_ascii_only() -> None:
    (tag,) = tokenize("<STYLE\u212a>x")
    assert tag.name == "style\u212a"
    tag = read_tag("<a HREF=x/>", 0)
    assert tag is not None and tag.attributes[0].name == "href" and not tag.self_closing
    tag = read_tag("<path d=x />", 0)
    assert tag is not None and tag.self_closing


# --- what the rewrite neutralises -------------------------------------------------------------


@pytest.mark.parametrize(
    "markup",
    [
        f"<svg><style>{REFRESH}</style></svg>",
        f"<svg><script>{REFRESH}</script></svg>",
        f"<svg><title>{REFRESH}</title></svg>",
        f"<math><style>{REFRESH}</style></math>",
        f"<svg><foreignObject>{REFRESH}</foreignObject></svg>",
        f"<math><mi>{REFRESH}</mi></math>",
    ],
)
def test_a_refresh_inside_svg_or_mathml_is_made_inactive(markup: str) -> None:
    out = body(markup)
    assert LIVE not in out
    assert DEAD in out


def test_a_refresh_inside_noscript_is_inactive_for_a_reader_with_scripting_off() -> None:
    out = body(f'<noscript>{REFRESH}<img src="/i.png"></noscript>', IMAGE)
    assert f'<noscript><meta {DEAD}<img src="{LOCAL_IMAGE}"></noscript>' in out


def test_markup_read_two_ways_is_inactive_either_way() -> None:
    # With scripting on, the first <noscript> ends at </noscript> and the <meta> is live; with
    # scripting off, the <!-- hides it and the <script> after it is a tag.
    out = body(
        "<noscript><!--</noscript><script>--></script>"
        f"{REFRESH}<script>'{REFRESH}'</script><!-- {REFRESH} -->"
    )
    assert LIVE not in out.replace("&lt;meta " + LIVE, "")
    assert out.count(DEAD) == 1
    assert out.count("&lt;meta " + LIVE) == 2


def test_svg_links_images_and_animations_lead_into_the_bag() -> None:
    out = body(
        '<svg><a xlink:href="/i.png"><image href="/i.png"/></a><use href="/i.png#x"/>'
        '<animate attributeName="href" values="/i.png; http://evil.test/a.png;#top"/>'
        '<set attributeName="xlink:href" to="/i.png"/><set attributeName="fill" to="/x"/></svg>',
        IMAGE,
    )
    assert f'<a xlink:href="{LOCAL_IMAGE}"><image href="{LOCAL_IMAGE}"/></a>' in out
    assert f'<use href="{LOCAL_IMAGE}#x"/>' in out
    assert f'values="{LOCAL_IMAGE}; http://evil.test/a.png;#top"' in out
    assert f'<set attributeName="xlink:href" to="{LOCAL_IMAGE}"/>' in out
    assert '<set attributeName="fill" to="/x"/>' in out


def test_svg_style_sheets_are_rewritten_as_css() -> None:
    out = body(
        "<svg><style>a &gt; b { background: url(/i.png) }</style>"
        "<style> <![CDATA[ c { background: url(/i.png) } ]]> </style>"
        "<style>d { background: url(/i.png) }<!-- x --></style></svg>",
        IMAGE,
    )
    assert f'<style>a > b {{ background: url("{LOCAL_IMAGE}") }}</style>' in out
    assert f'<![CDATA[ c {{ background: url("{LOCAL_IMAGE}") }} ]]>' in out
    # Text and a comment: not a style sheet this rewrite can write back whole.
    assert "<style>d { background: url(/i.png) }<!-- x --></style>" in out


def test_a_srcdoc_frame_is_rewritten_as_a_page_with_the_policy() -> None:
    refresh = REFRESH.replace('"', "'")
    out = body(f"<iframe srcdoc=\"<img src='/i.png'>{refresh}\"></iframe>", IMAGE)
    assert f"<img src=&quot;{LOCAL_IMAGE}&quot;>" in out
    assert "x-archived-refresh" in out and "http-equiv=refresh" not in out
    assert CONTENT_SECURITY_POLICY in out.split("srcdoc=", 1)[1]
    # Each level is a page of its own, down to the third; a fourth is emptied.
    deep = "<iframe srcdoc=x>"
    for _ in range(4):
        deep = '<iframe srcdoc="' + deep.replace("&", "&amp;").replace('"', "&quot;") + '">'
    chain = srcdocs(rewrite_html(deep.encode(), PAGE, catalog()).data.decode())
    assert len(chain) == 4 and chain[-1] == ""
    assert all(CONTENT_SECURITY_POLICY in level for level in chain[:-1])


def srcdocs(text: str) -> list[str]:
    """Return the `srcdoc` of the first `<iframe>`, the `srcdoc` of the first in that, and so on."""
    chain = []
    while True:
        frame = next((t for t in tokenize(text) if t.name == "iframe" and t.kind == "start"), None)
        value = None if frame is None else frame.attribute("srcdoc")
        if value is None:
            return chain
        text = value.value(text)
        chain.append(text)


def test_a_document_original_is_not_opened_in_a_frame() -> None:
    svg, png = "http://example.org/f.svg", "http://example.org/f.png"
    out = body(
        '<object data="/f.svg"></object><embed src="/f.svg"><iframe src="/f.svg"></iframe>'
        '<img src="/f.svg"><object data="/f.png"></object>',
        svg,
        png,
    )
    assert out.count(f'"{svg}"') == 3
    assert '<img src="../../../../web/example.org/f.svg">' in out
    assert '<object data="../../../../web/example.org/f.png">' in out


def test_requests_sent_on_the_side_are_removed() -> None:
    out = body(
        f'<a href="/i.png" ping="{EVIL}p" PING="{EVIL}q">x</a>'
        f'<img src="/i.png" attributionsrc="{EVIL}a" integrity="sha256-x" integrity="y">',
        IMAGE,
    )
    assert "ping" not in out.lower() and "attributionsrc" not in out and "integrity" not in out


def test_every_base_href_goes_and_only_an_html_base_is_followed() -> None:
    out = body(
        f'<svg><base href="{EVIL}"></svg><img src="i.png">'
        f'<base href="http://cdn.example/" href="{EVIL}"><img src="x.png">'
    )
    assert "evil.test" not in out and "href" not in out
    assert '<img src="http://example.org/dir/i.png">' in out
    assert '<img src="http://cdn.example/x.png">' in out


def test_the_page_policy_cannot_come_before_ours_nor_allow_inline_scripts() -> None:
    page = '<html><meta http-equiv="Content-Security-Policy" content="script-src *"><head>'
    document = Document("html", PAGE.url, PAGE.source, PAGE.path, "utf-8")
    out = rewrite_html(page.encode(), document, catalog()).data.decode()
    ours = out.index(CONTENT_SECURITY_POLICY)
    assert ours < out.index("x-archived-content-security-policy")
    script = CONTENT_SECURITY_POLICY.split("script-src", 1)[1].split(";", 1)[0]
    assert script.split() == ["file:", "'unsafe-eval'"]


@pytest.mark.parametrize(
    ("content", "url"),
    [
        ("5", ""),
        ("0; url=next.html", "next.html"),
        ("0;URL = 'a b.html'c", "a b.html"),
        ('.5, "x"', "x"),
        ("0 uri=x", "uri=x"),
        ("0;urlx", "urlx"),
        ("0;url x", "url x"),
        ("x", None),
        ("-1;url=y", None),
        ("1x;url=y", None),
    ],
)
def test_a_refresh_is_read_as_the_html_standard_reads_it(content: str, url: str | None) -> None:
    refresh = read_refresh(content)
    assert (refresh.url if refresh is not None else None) == url


@pytest.mark.parametrize(
    ("content", "stays"),
    [
        ("5", True),
        ("0;url=../../web/a.html#top", True),
        ("0;url=/a", True),
        ("0;url=http://evil.test/", False),
        ("0;url=//evil.test/", False),
        ("0;url=/\t/evil.test/", False),
        ("0;url=\\\\evil.test\\x", False),
        ("-1;url=javascript:x", False),
    ],
)
def test_a_refresh_stays_in_place_only_without_scheme_or_host(content: str, stays: bool) -> None:
    assert stays_in_place(content) is stays


def test_disarm_makes_text_of_hazards_outside_tags_and_leaves_the_rest() -> None:
    text = (
        f"<script>'{REFRESH}<base href=x><link rel=PreConnect href=//e>'</script>"
        "<!-- <meta http-equiv=refresh content=5><link rel=stylesheet href=a.css> -->"
        "<meta name=x content=y><meta http-equiv=refresh content=5><link rel=icon href=i><meta"
    )
    out = disarm(text)
    assert out.count("&lt;") == 3
    assert out.replace("&lt;", "<") == text


def test_disarm_reads_a_bounded_amount_of_overlapping_tags() -> None:
    # Each `<meta` here runs to the end of the text: read one by one, the cost is quadratic.
    text = "<meta x " * 40000 + "<meta http-equiv=refresh content=5>"
    out = disarm(text)
    assert out.endswith("&lt;meta http-equiv=refresh content=5>")
    assert 0 < out.count("&lt;") < 40001


# --- any input --------------------------------------------------------------------------------

FRAGMENTS = [
    "<svg>", "</svg>", "<math>", "</math>", "<style>", "</style>", "<script>", "</script>",
    "<title>", "</title>", "<textarea>", "<noscript>", "</noscript>", "<foreignObject>",
    "</foreignObject>", "<desc>", "<mi>", "</mi>", '<annotation-xml encoding="text/html">',
    "<![CDATA[", "]]>", "<!--", "-->", "--!>", "<p>", "</p>", "<div>", "</div>", "<table>",
    "<select>", "<plaintext>", "<xmp>", "<template>", "<font color=red>", "</br>", "<br/>",
    REFRESH, "<meta http-equiv=refresh content='0;url=/i.png'>", f"<base href={EVIL}>",
    "<link rel=preconnect href=//evil.test>", "<img src=/i.png>", "<iframe srcdoc='", "'>",
    "<a href=\"", '">', "<meta ", "http-equiv=refresh ", "content=0;url=//e ", "<link ",
    "rel=dns-prefetch ", "<base ", "href=x ", '"', "'", "<", ">", "/", "=", " ", "&lt;", "&amp;",
    "<object data=/f.svg>", "<set attributeName=href to=//e>", "<b>", "<svg/>", "<style/>",
]  # fmt: skip
CHARACTERS = "<>/=\"' &;#!-?[]abcdehilmrstuvxy\n\x00é"
hostile_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet=CHARACTERS, max_size=6)), max_size=40
).map("".join)


@settings(max_examples=2000)
@given(hostile_text)
def test_any_text_is_tokenised_in_order_within_bounds(text: str) -> None:
    position = 0
    for token in tokenize(text):
        assert position <= token.start <= token.end <= len(text)
        position = token.start


@settings(max_examples=2000)
@given(hostile_text)
def test_any_page_gives_a_copy_with_the_policy_and_nothing_live(text: str) -> None:
    copy = rewrite_html(text.encode("utf-8"), PAGE, catalog(IMAGE, "http://example.org/f.svg"))
    out = copy.data.decode("utf-8")
    assert CONTENT_SECURITY_POLICY in out
    # Read as a tag from every `<`, wherever it is: no refresh away, base or connection hint.
    for position in range(len(out)):
        if out.startswith("<", position):
            tag = read_tag(out, position) if out[position + 1 : position + 2].isalpha() else None
            assert tag is None or not hazardous(tag, out), out[position : position + 80]
