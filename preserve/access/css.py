"""Stylesheets for the access copy: each `url()`, `@import` and `image-set()` rewritten in place."""

from __future__ import annotations

import re

import tinycss2

from preserve.access.catalog import Catalog, Document, Linker, base_url
from preserve.access.charsets import decode, encode, split_bom, web_label
from preserve.discover import url_tokens
from preserve.webdoc import charset_codec

_CHARSET_RULE = re.compile(rb'@charset "([^"]*)";')
_CHARSET_TEXT = re.compile(r'@charset "([^"]*)";')
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x0c]")


def rewrite_stylesheet(data: bytes, document: Document, catalog: Catalog) -> bytes:
    """Return the access copy of a stylesheet: its references rewritten, its encoding kept.

    Decoded as browsers do (byte order mark, HTTP charset, `@charset`, else UTF-8) and
    re-encoded with the same codec, so bytes not rewritten stay as they were. When only the
    HTTP header named the encoding and the text is not ASCII, an `@charset` rule names it in
    the copy, which a browser reads from disk without that header.
    """
    bom, body, codec = split_bom(data)
    from_http = False
    if codec is None:
        codec = charset_codec(document.charset)
        from_http = codec is not None
    if codec is None and (rule := _CHARSET_RULE.match(body)) is not None:
        codec = charset_codec(rule.group(1).decode("latin-1"))
    if codec is None or (codec.startswith("utf-16") and not bom):
        # CSS Syntax: a UTF-16 @charset without a byte order mark means UTF-8.
        codec = "utf-8"
    text = decode(body, codec)
    rewritten = rewrite_css(text, base_url(document.url), Linker(catalog, document.path))
    out = text if rewritten is None else rewritten
    if from_http and not out.isascii():
        out, codec = _declare(out, codec)
    elif rewritten is None:
        return data
    return bom + encode(out, codec)


def rewrite_css(text: str, base: str, linker: Linker) -> str | None:
    """Return CSS text with its references rewritten for the access copy; None if none changes.

    `base` is the URL relative references resolve against: the stylesheet's own URL, or the
    page's base for a `<style>` block or a `style=""` attribute.
    """
    if "(" not in text and "@import" not in text.lower():
        # No url(), image-set() nor @import: most style="" attributes, skipped unparsed.
        return None
    try:
        tokens = tinycss2.parse_component_value_list(text)
    except (ValueError, RecursionError):
        return None
    lines = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]
    edits: list[tuple[int, int, str]] = []
    for token, is_url_string in url_tokens(tokens, imports=True):
        start = lines[token.source_line - 1] + token.source_column - 1
        reference = str(token.value)
        new = linker.rewrite(reference, base).text
        if new is None:
            continue
        if is_url_string or token.type == "string":
            end = _string_end(text, start)
            edits.append((start, end, _css_string(new)))
        else:
            end = _url_end(text, start)
            edits.append((start, end, f"url({_css_string(new)})"))
    if not edits:
        return None
    parts, position = [], 0
    for start, end, replacement in sorted(edits):
        parts += [text[position:start], replacement]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _string_end(text: str, start: int) -> int:
    """Return the end of the CSS string token that starts (with its quote) at `start`."""
    quote_char, position, size = text[start], start + 1, len(text)
    while position < size:
        char = text[position]
        if char == "\\":
            position += 2
        elif char == quote_char:
            return position + 1
        elif char in "\r\n\x0c":
            return position
        else:
            position += 1
    return size


def _url_end(text: str, start: int) -> int:
    """Return the end of the unquoted `url(…)` token that starts at `start`."""
    position, size = text.index("(", start) + 1, len(text)
    while position < size:
        char = text[position]
        if char == "\\":
            position += 2
        elif char == ")":
            return position + 1
        else:
            position += 1
    return size


def _css_string(value: str) -> str:
    """Return `value` as a double-quoted CSS string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ")
    return f'"{escaped}"'


def _declare(text: str, codec: str) -> tuple[str, str]:
    """Return the stylesheet with an `@charset` rule naming its encoding, and the codec to use.

    An encoding no browser label names is replaced by UTF-8.
    """
    label = web_label(codec)
    if label is None:
        label, codec = "utf-8", "utf-8"
    rule = f'@charset "{label}";'
    existing = _CHARSET_TEXT.match(text)
    if existing is not None:
        return rule + text[existing.end() :], codec
    return f"{rule}\n{text}", codec
