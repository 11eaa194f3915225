"""Which namespace each element of an HTML document is created in: HTML, SVG or MathML.

The HTML standard reads `<style>`, `<script>`, `<title>`, `<textarea>` and the other raw-text
elements as text only in HTML content; inside `<svg>` and `<math>` (foreign content) they are
elements like any other and what they hold is markup, where a `<meta>` breaks out and is an
HTML `<meta>` again. Which rule applies is decided by the tree builder from its stack of open
elements, so this keeps the part of that stack that decides it: foreign elements, the HTML
integration points inside them (`<foreignObject>`, `<desc>`, `<title>`, MathML's text
elements and `<annotation-xml encoding="text/html">`), the start tags that break out of
foreign content and the end tags that close it. The rest of tree building (implied end tags,
tables, `<select>`) moves no element in or out of foreign content and is only counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Namespace = Literal["html", "svg", "math"]

# WHATWG "in foreign content": these start tags close the foreign elements and are HTML.
_BREAKOUT = frozenset(
    {"b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
     "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing",
     "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong", "strike",
     "sub", "sup", "table", "tt", "u", "ul", "var"}
)  # fmt: skip
_FONT_BREAKOUT = ("color", "face", "size")
# HTML elements with no end tag, and the raw-text ones whose end tag the tokenizer finds.
_NOT_OPENED = frozenset(
    {"area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
     "input", "keygen", "link", "meta", "param", "source", "track", "wbr", "script", "style",
     "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title", "plaintext"}
)  # fmt: skip
_SVG_INTEGRATION = frozenset({"foreignobject", "desc", "title"})
_MATH_TEXT = frozenset({"mi", "mo", "mn", "ms", "mtext"})
_HTML_ENCODINGS = frozenset({"text/html", "application/xhtml+xml"})
# HTML elements an end tag's search for its element does not pass ("has an element in scope").
_SCOPE = frozenset(
    {"applet", "caption", "html", "table", "td", "th", "marquee", "object", "template"}
)
# Chromium nests no deeper than 512 elements; past that, an element is not tracked.
_MAX_DEPTH = 512


@dataclass(frozen=True, slots=True)
class _Element:
    namespace: Namespace
    name: str
    reads_html: bool  # an HTML integration point or MathML text integration point
    boundary: bool


class OpenElements:
    """The open elements that decide whether the next tag is read as HTML or foreign content.

    Elements are tracked from the outermost open `<svg>` or `<math>`; HTML elements open
    outside it are only counted by name, which is all an end tag closing the foreign
    content needs. Every operation is O(1) amortised, whatever the nesting.
    """

    def __init__(self) -> None:
        self._stack: list[_Element] = []
        self._outside: Counter[str] = Counter()
        self._named: dict[str, list[int]] = {}
        self._html_named: dict[str, list[int]] = {}
        self._html: list[int] = []
        self._boundaries: list[int] = []

    @property
    def foreign(self) -> bool:
        """Whether the current element is SVG or MathML (where `<![CDATA[` opens a section)."""
        return bool(self._stack) and self._stack[-1].namespace != "html"

    def start(
        self, name: str, self_closing: bool, attribute: Callable[[str], str | None]
    ) -> Namespace:
        """Open the element a start tag creates; return its namespace.

        `name` is lower-case; `attribute` returns the value of one of the tag's attributes.
        """
        if self._reads_html(name):
            return self._start_html(name, self_closing)
        breakout = name in _BREAKOUT or (
            name == "font" and any(attribute(a) is not None for a in _FONT_BREAKOUT)
        )
        if breakout:
            self._close_foreign()
            return self._start_html(name, self_closing)
        namespace = self._stack[-1].namespace
        if not self_closing:
            if namespace == "svg":
                point = name in _SVG_INTEGRATION
            else:
                encoding = (attribute("encoding") or "").lower()
                point = name in _MATH_TEXT or (
                    name == "annotation-xml" and encoding in _HTML_ENCODINGS
                )
            boundary = point or (namespace == "math" and name == "annotation-xml")
            self._push(_Element(namespace, name, point, boundary))
        return namespace

    def end(self, name: str) -> None:
        """Close what an end tag closes."""
        if not self._stack:
            if self._outside[name] > 0:
                self._outside[name] -= 1
            return
        if self._stack[-1].namespace == "html":
            self._end_html(name)
            return
        if name in ("br", "p"):
            # As a breakout start tag: the foreign elements close, then it is read as HTML.
            self._close_foreign()
            if name == "p":
                self._end_html(name)
            return
        found = self._named.get(name)
        topmost_html = self._html[-1] if self._html else -1
        if found and found[-1] > topmost_html:
            self._pop_to(found[-1])
            return
        self._end_html(name)

    def _reads_html(self, name: str) -> bool:
        """Whether a start tag is read by the HTML rules (the tree builder's dispatcher)."""
        if not self._stack:
            return True
        current = self._stack[-1]
        if current.namespace == "html":
            return True
        if current.namespace == "math" and current.name in _MATH_TEXT:
            return name not in ("mglyph", "malignmark")
        if current.namespace == "math" and current.name == "annotation-xml" and name == "svg":
            return True
        return current.reads_html

    def _close_foreign(self) -> None:
        """Close foreign elements down to an HTML element or an integration point."""
        while (
            self._stack and self._stack[-1].namespace != "html" and not self._stack[-1].reads_html
        ):
            self._pop()

    def _start_html(self, name: str, self_closing: bool) -> Namespace:
        if name in ("svg", "math"):
            namespace: Namespace = "svg" if name == "svg" else "math"
            if not self_closing:
                self._push(_Element(namespace, name, reads_html=False, boundary=False))
            return namespace
        if name in _NOT_OPENED:
            return "html"
        if self._stack:
            self._push(_Element("html", name, reads_html=False, boundary=name in _SCOPE))
        else:
            self._outside[name] += 1
        return "html"

    def _end_html(self, name: str) -> None:
        if name in ("body", "html"):
            return  # they change the insertion mode; every element stays open
        found = self._html_named.get(name)
        position = found[-1] if found else -1
        boundary = self._boundaries[-1] if self._boundaries else -1
        if position > boundary:
            self._pop_to(position)
        elif boundary < 0 and self._outside[name] > 0:
            # An HTML element open below the foreign content: closing it closes them all.
            self._outside[name] -= 1
            self._pop_to(0)

    def _push(self, element: _Element) -> None:
        if len(self._stack) >= _MAX_DEPTH:
            return
        position = len(self._stack)
        self._stack.append(element)
        self._named.setdefault(element.name, []).append(position)
        if element.namespace == "html":
            self._html.append(position)
            self._html_named.setdefault(element.name, []).append(position)
        if element.boundary:
            self._boundaries.append(position)

    def _pop(self) -> None:
        element = self._stack.pop()
        self._named[element.name].pop()
        if element.namespace == "html":
            self._html.pop()
            self._html_named[element.name].pop()
        if element.boundary:
            self._boundaries.pop()

    def _pop_to(self, position: int) -> None:
        while len(self._stack) > position:
            self._pop()
