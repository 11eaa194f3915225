"""Find the tags of an HTML document with the exact position of every attribute value.

Not an HTML parser: a tokenizer that follows the WHATWG tokenization rules closely enough to
find, in decoded text, where each start tag, attribute value and raw-text element (`<style>`,
`<script>`, `<title>`) begins and ends, so that a rewrite can replace those spans and leave
every other character of the document as it was. A tree-building parser (lxml) would write the
document out again in its own way.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.entities import html5
from typing import Literal

_SPACE = "\t\n\x0c\r "
_TAG_NAME = re.compile(r"[^\t\n\x0c\r />]*")
_ATTRIBUTE_NAME = re.compile(r"[^\t\n\x0c\r />][^\t\n\x0c\r />=]*")
_UNQUOTED = re.compile(r"[^\t\n\x0c\r >]*")
_SPACES = re.compile(r"[\t\n\x0c\r ]*")
# Elements whose content is text up to their end tag, never markup. `<noembed>`,
# `<noframes>` and `<noscript>` are raw text to a browser with plug-ins, frames and scripts, but
# hold markup meant for those without, so their links are rewritten too.
_RAW_TEXT = frozenset({"script", "style", "xmp", "iframe", "textarea", "title"})
_REFERENCE = re.compile(r"&(#[xX][0-9a-fA-F]+;?|#[0-9]+;?|[A-Za-z][A-Za-z0-9]*;?)")
# Named references a browser also reads without the semicolon (`&amp`, `&copy`).
_LEGACY = frozenset(name for name in html5 if not name.endswith(";"))


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute of a start tag: its name, lower-cased, and where it and its value lie.

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
    """A start tag (with its attributes), the text of a raw-text element, or other markup."""

    kind: Literal["start", "raw", "doctype", "comment", "end"]
    name: str
    start: int
    end: int
    attributes: tuple[Attribute, ...] = ()

    def attribute(self, name: str) -> Attribute | None:
        """Return the first attribute called `name`; browsers ignore later duplicates."""
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None


def tokenize(text: str) -> Iterator[Token]:
    """Yield the start tags, raw-text contents, doctypes, comments and end tags of `text`.

    Text between them is not yielded. A tag cut short by the end of the document is dropped,
    as browsers drop it. `<plaintext>` makes the rest of the document raw text.
    """
    position, size = 0, len(text)
    while True:
        position = text.find("<", position)
        if position < 0 or position + 1 >= size:
            return
        following = text[position + 1]
        if text.startswith("<!--", position):
            end = _comment_end(text, position + 4)
            yield Token("comment", "", position, end)
        elif following in "!?":
            end = _after(text, ">", position + 2)
            doctype = text[position : position + 9].lower() == "<!doctype"
            yield Token("doctype" if doctype else "comment", "", position, end)
        elif following == "/":
            end = _after(text, ">", position + 2)
            name = _TAG_NAME.match(text, position + 2)
            yield Token("end", name.group().lower() if name else "", position, end)
        elif following.isascii() and following.isalpha():
            token = _start_tag(text, position)
            if token is None:
                return
            yield token
            end = token.end
            if token.name == "plaintext":
                yield Token("raw", token.name, end, size)
                return
            if token.name in _RAW_TEXT:
                close = _raw_end(text, token.name, end)
                yield Token("raw", token.name, end, close)
                end = close
        else:
            end = position + 1
        position = end


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


def _raw_end(text: str, name: str, start: int) -> int:
    """Return where the content of raw-text element `name` opened at `start` ends."""
    pattern = re.compile(rf"</{re.escape(name)}[\t\n\x0c\r />]", re.IGNORECASE)
    match = pattern.search(text, start)
    if match is not None:
        return match.start()
    if text[-len(name) - 2 :].lower() == f"</{name}":
        return len(text) - len(name) - 2
    return len(text)


def _start_tag(text: str, start: int) -> Token | None:
    """Return the start tag at `start` (a `<` followed by a letter), None if cut short."""
    name_match = _TAG_NAME.match(text, start + 1)
    assert name_match is not None
    name = name_match.group().lower()
    position, size = name_match.end(), len(text)
    attributes: list[Attribute] = []
    while position < size:
        char = text[position]
        if char in _SPACE or char == "/":
            position += 1
            continue
        if char == ">":
            return Token("start", name, start, position + 1, tuple(attributes))
        name_found = _ATTRIBUTE_NAME.match(text, position)
        assert name_found is not None
        attribute_start, position = position, name_found.end()
        after_name = position
        position = _skip_spaces(text, position)
        if position >= size:
            return None
        if text[position] != "=":
            attributes.append(
                Attribute(name_found.group().lower(), attribute_start, after_name, after_name,
                          after_name, "")
            )  # fmt: skip
            position = after_name
            continue
        position = _skip_spaces(text, position + 1)
        if position >= size:
            return None
        quote = text[position]
        if quote in "\"'":
            close = text.find(quote, position + 1)
            if close < 0:
                return None
            value_start, value_end, position = position + 1, close, close + 1
        else:
            quote = ""
            unquoted = _UNQUOTED.match(text, position)
            assert unquoted is not None
            value_start, value_end = position, unquoted.end()
            position = value_end
        attributes.append(
            Attribute(name_found.group().lower(), attribute_start, position, value_start,
                      value_end, quote)
        )  # fmt: skip
    return None


def _skip_spaces(text: str, position: int) -> int:
    match = _SPACES.match(text, position)
    return match.end() if match else position
