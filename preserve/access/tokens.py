"""Find the tags of an HTML document with the exact position of every attribute value.

Not an HTML parser: a tokenizer that follows the WHATWG tokenization rules closely enough to
find, in decoded text, where each start tag, attribute value and raw-text element (`<style>`,
`<script>`, `<title>`) begins and ends, so that a rewrite can replace those spans and leave
every other character of the document as it was. A tree-building parser (lxml) would write the
document out again in its own way. Whether `<style>` holds text or markup depends on where it
is (HTML, or SVG and MathML content): `foreign.OpenElements` follows that part of tree building.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.entities import html5
from typing import Literal

from preserve.access.foreign import Namespace, OpenElements

_SPACE = "\t\n\x0c\r "
_TAG_NAME = re.compile(r"[^\t\n\x0c\r />]*")
_ATTRIBUTE_NAME = re.compile(r"[^\t\n\x0c\r />][^\t\n\x0c\r />=]*")
_UNQUOTED = re.compile(r"[^\t\n\x0c\r >]*")
_SPACES = re.compile(r"[\t\n\x0c\r ]*")
# HTML elements whose content is text up to their end tag, never markup (in SVG and MathML
# they are elements like any other). `<noscript>` is raw text with scripting on, as in every
# browser that opens the copy; `<noembed>` and `<noframes>` always are. The rewrite reads
# those three again as markup, for a reader with scripting off.
RAW_TEXT = frozenset(
    {"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title"}
)
_RAW_OR_PLAINTEXT = RAW_TEXT | {"plaintext"}
_REFERENCE = re.compile(r"&(#[xX][0-9a-fA-F]+;?|#[0-9]+;?|[A-Za-z][A-Za-z0-9]*;?)")
# Named references a browser also reads without the semicolon (`&amp`, `&copy`).
_LEGACY = frozenset(name for name in html5 if not name.endswith(";"))
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Script data (WHATWG 13.2.5.4 onwards): `<!--` escapes it, and inside that, `<script>` starts a
# part where `</script>` does not end the script. Only ASCII letters make a tag name.
_SCRIPT_DATA = re.compile(r"<(?:!--|/script[\t\n\x0c\r />])", re.IGNORECASE | re.ASCII)
_SCRIPT_ESCAPED = re.compile(r"-->|<(/?)script[\t\n\x0c\r />]", re.IGNORECASE | re.ASCII)
_SCRIPT_DOUBLE = re.compile(r"-->|</script[\t\n\x0c\r />]", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute of a tag: its name, ASCII lower-cased, and where it and its value lie.

    `start`-`end` spans the whole attribute (name, `=`, value and quotes); `value_start`-
    `value_end` the value as written, inside its quotes (equal to `end` when there is none).
    """

    name: str
    start: int
    end: int
    value_start: int
    value_end: int
    quote: str

    def raw(self, text: str) -> str:
        """Return the value as written in `text`, character references not decoded."""
        return text[self.value_start : self.value_end]

    def value(self, text: str) -> str:
        """Return the value as a browser reads it, character references decoded."""
        return unescape_attribute(self.raw(text))


@dataclass(frozen=True, slots=True)
class Token:
    """A tag (with its attributes), the text of a raw-text element or CDATA section, or markup.

    A start tag carries the namespace of the element it opens (`html`, `svg`, `math`) and
    whether it ends with `/>`; a `raw` or `cdata` token spans the text alone.
    """

    kind: Literal["start", "raw", "cdata", "doctype", "comment", "end"]
    name: str
    start: int
    end: int
    attributes: tuple[Attribute, ...] = ()
    namespace: Namespace = "html"
    self_closing: bool = False

    def attribute(self, name: str) -> Attribute | None:
        """Return the first attribute called `name`; browsers ignore later duplicates."""
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None


def tokenize(text: str) -> Iterator[Token]:
    """Yield the tags, raw-text contents, CDATA sections, doctypes and comments of `text`.

    Text between them is not yielded. A tag cut short by the end of the document is dropped,
    as browsers drop it. `<plaintext>` makes the rest of the document raw text. Inside SVG and
    MathML, `<style>` and the other raw-text elements hold markup and `<![CDATA[` opens a
    section, as the HTML standard's tree builder decides.
    """
    elements = OpenElements()
    position, size = 0, len(text)
    while True:
        position = text.find("<", position)
        if position < 0 or position + 1 >= size:
            return
        following = text[position + 1]
        if text.startswith("<!--", position):
            end = _comment_end(text, position + 4)
            yield Token("comment", "", position, end)
        elif elements.foreign and text.startswith("<![CDATA[", position):
            close = text.find("]]>", position + 9)
            close = size if close < 0 else close
            yield Token("cdata", "", position + 9, close)
            end = min(close + 3, size)
        elif following in "!?" or (following == "/" and not _letter(text, position + 2)):
            if text.startswith("</>", position):
                end = position + 3
            else:
                end = _after(text, ">", position + 2)
                doctype = text[position : position + 9].translate(_LOWER) == "<!doctype"
                yield Token("doctype" if doctype else "comment", "", position, end)
        elif following.isascii() and (following.isalpha() or following == "/"):
            token = read_tag(text, position)
            if token is None:
                return
            end = token.end
            if token.kind == "end":
                elements.end(token.name)
                yield token
            else:
                token = _opened(text, token, elements)
                yield token
                if token.namespace == "html" and token.name in _RAW_OR_PLAINTEXT:
                    end = _raw_end(text, token)
                    yield Token("raw", token.name, token.end, end)
        else:
            end = position + 1
        position = end


def _opened(text: str, tag: Token, elements: OpenElements) -> Token:
    """Return a start tag with the namespace of the element it opens, and open it."""

    def attribute(name: str) -> str | None:
        found = tag.attribute(name)
        return None if found is None else found.value(text)

    namespace = elements.start(tag.name, tag.self_closing, attribute)
    return tag if namespace == "html" else dataclasses.replace(tag, namespace=namespace)


def read_tag(text: str, start: int, stop: int | None = None) -> Token | None:
    """Return the start or end tag at `start` (`<` then a letter, or `</` then a letter).

    None if the tag is cut short by the end of `text`, or by `stop` when given: the tag then
    runs at least that far. An end tag's attributes are read only to find where it ends.
    """
    stop = len(text) if stop is None else min(stop, len(text))
    closing = text.startswith("</", start)
    name_match = _TAG_NAME.match(text, start + 1 + closing, stop)
    assert name_match is not None
    name = name_match.group().translate(_LOWER)
    kind: Literal["start", "end"] = "end" if closing else "start"
    position = name_match.end()
    attributes: list[Attribute] = []
    self_closing = False
    while position < stop:
        char = text[position]
        if char == ">":
            return Token(kind, name, start, position + 1, tuple(attributes),
                         self_closing=self_closing)  # fmt: skip
        self_closing = char == "/"
        if char in _SPACE or self_closing:
            position += 1
            continue
        attribute = _attribute(text, position, stop)
        if attribute is None:
            return None
        attributes.append(attribute)
        position = attribute.end
    return None


def unescape_attribute(value: str) -> str:
    """Return an attribute value with its character references decoded as a browser would.

    In attributes, a named reference without `;` followed by `=` or a letter or digit is left
    as written (`?a=1&copy=2` keeps `&copy`), unlike in text.
    """
    if "&" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        reference = match.group(1)
        if reference.startswith("#") or (reference.endswith(";") and reference in html5):
            return html.unescape(match.group(0))
        for cut in range(len(reference), 1, -1):
            name = reference[:cut]
            if name in _LEGACY:
                following = value[match.start(1) + cut : match.start(1) + cut + 1]
                if following == "=" or following.isalnum():
                    return match.group(0)
                return html5[name] + reference[cut:]
        return match.group(0)

    return _REFERENCE.sub(replace, value)


def _letter(text: str, position: int) -> bool:
    return position < len(text) and text[position].isascii() and text[position].isalpha()


def _comment_end(text: str, start: int) -> int:
    """Return where a comment whose body starts at `start` ends (`-->`, `--!>`, or abruptly)."""
    if text.startswith(">", start):
        return start + 1
    if text.startswith("->", start):
        return start + 2
    ends = [found for mark in ("-->", "--!>") if (found := text.find(mark, start)) >= 0]
    if not ends:
        return len(text)
    first = min(ends)
    return first + (3 if text.startswith("-->", first) else 4)


def _after(text: str, mark: str, start: int) -> int:
    """Return the position just after the next `mark` from `start`, or the end of `text`."""
    found = text.find(mark, start)
    return len(text) if found < 0 else found + len(mark)


def _raw_end(text: str, tag: Token) -> int:
    """Return where the content of the raw-text element opened by `tag` ends."""
    name, start = tag.name, tag.end
    if name == "plaintext":
        return len(text)
    if name == "script":
        return _script_end(text, start)
    pattern = re.compile(rf"</{re.escape(name)}[\t\n\x0c\r />]", re.IGNORECASE | re.ASCII)
    match = pattern.search(text, start)
    if match is not None:
        return match.start()
    if text[-len(name) - 2 :].translate(_LOWER) == f"</{name}":
        return len(text) - len(name) - 2
    return len(text)


def _script_end(text: str, start: int) -> int:
    """Return where a `<script>`'s content that starts at `start` ends, escapes included."""
    position, state = start, "data"
    while True:
        if state == "data":
            match = _SCRIPT_DATA.search(text, position)
            if match is None:
                return len(text)
            if not match.group().startswith("<!"):
                return match.start()
            # After `<!--` more dashes may follow; a `>` then closes the escape at once.
            position = match.end()
            while text.startswith("-", position):
                position += 1
            if text.startswith(">", position):
                position += 1
            else:
                state = "escaped"
            continue
        pattern = _SCRIPT_ESCAPED if state == "escaped" else _SCRIPT_DOUBLE
        match = pattern.search(text, position)
        if match is None:
            return len(text)
        position = match.end()
        if match.group() == "-->":
            state = "data"
        elif state == "double":
            state = "escaped"
        elif match.group(1):
            return match.start()
        else:
            state = "double"


def _attribute(text: str, start: int, stop: int) -> Attribute | None:
    """Return the attribute whose name starts at `start`; None if cut short at `stop`."""
    name_found = _ATTRIBUTE_NAME.match(text, start, stop)
    assert name_found is not None
    name = name_found.group().translate(_LOWER)
    after_name = name_found.end()
    position = _skip_spaces(text, after_name, stop)
    if position >= stop:
        return None
    if text[position] != "=":
        return Attribute(name, start, after_name, after_name, after_name, "")
    position = _skip_spaces(text, position + 1, stop)
    if position >= stop:
        return None
    quote = text[position]
    if quote in "\"'":
        close = text.find(quote, position + 1, stop)
        if close < 0:
            return None
        return Attribute(name, start, close + 1, position + 1, close, quote)
    unquoted = _UNQUOTED.match(text, position, stop)
    assert unquoted is not None
    return Attribute(name, start, unquoted.end(), position, unquoted.end(), "")


def _skip_spaces(text: str, position: int, stop: int) -> int:
    match = _SPACES.match(text, position, stop)
    return match.end() if match else position
