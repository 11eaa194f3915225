"""What a web document is: its media type and parameters, its charset, its kind, its text.

One reader per value: a Content-Type header value is parsed here and nowhere else, and a
charset label is looked up in the WHATWG Encoding Standard's table (through `webencodings`,
the table tinycss2 uses too), so a label no browser honours (`cp037`, `utf-32`) is no label
at all. Pure functions of bytes and strings; any input gives a value, never an exception.
"""

from __future__ import annotations

import codecs
import posixpath
import re
from dataclasses import dataclass
from typing import Literal

import charset_normalizer
import webencodings

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
"""The media types of HTML documents."""

# Byte-order marks and the codec each announces; a BOM outranks any declared charset.
BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

DocumentKind = Literal["html", "css"]

# A Content-Type value longer than this is not a media type anyone sends; only its start is read.
CONTENT_TYPE_LIMIT = 4096
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_WHITESPACE = " \t\n\r\x0c"
# Browsers decode GBK with the gb18030 decoder (WHATWG Encoding, "gbk decoder"), which reads
# every GBK byte sequence and more; x-user-defined has no Python codec and is read as
# windows-1252, whose bytes it keeps in the same places.
_DECODER_OF = {"gbk": "gb18030", "x-user-defined": "cp1252"}
_PRESCAN_BYTES = 4096
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_META = re.compile(r"<meta[\s/]([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")
_CONTENT_CHARSET = re.compile(r"""charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))""", re.I)
_HTML_SUFFIXES = (".html", ".htm", ".xhtml")


@dataclass(frozen=True, slots=True)
class ContentType:
    """A Content-Type value as RFC 9110 reads it: `type/subtype` and its parameters.

    `media` is lower case, or "" when the value names no media type; parameter names are
    lower case, values unquoted, in the order given (the first of a repeated name counts).
    """

    media: str = ""
    parameters: tuple[tuple[str, str], ...] = ()

    def parameter(self, name: str) -> str | None:
        """Return the value of parameter `name` (any case), or None when it is absent."""
        wanted = name.lower()
        return next((value for key, value in self.parameters if key == wanted), None)

    @property
    def charset(self) -> str | None:
        """Return the charset parameter, or None (empty values count as absent)."""
        return self.parameter("charset") or None


def parse_content_type(value: str | None) -> ContentType:
    """Return the media type and parameters of a Content-Type value; malformed parts are left out.

    `text/html; xcharset=koi8-r` has no charset; a parameter without `=` or with a name that
    is not a token is skipped; a quoted value may hold `;` and backslash escapes. Only the
    first CONTENT_TYPE_LIMIT characters are read.
    """
    text = (value or "")[:CONTENT_TYPE_LIMIT]
    parts = _split_parameters(text)
    main = parts[0].strip(_WHITESPACE).lower()
    kind, slash, subtype = main.partition("/")
    media = main if slash and _TOKEN.fullmatch(kind) and _TOKEN.fullmatch(subtype) else ""
    parameters: list[tuple[str, str]] = []
    for part in parts[1:]:
        name, equals, raw = part.partition("=")
        name = name.strip(_WHITESPACE).lower()
        if not equals or not _TOKEN.fullmatch(name):
            continue
        parameters.append((name, _unquote(raw.strip(_WHITESPACE))))
    return ContentType(media, tuple(parameters))


def _split_parameters(text: str) -> list[str]:
    """Return `text` split at each `;` outside a quoted string."""
    parts: list[str] = []
    start = 0
    quoted = escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw.strip("'")


def media_type(value: str | None) -> str:
    """Return the media type of a Content-Type value, lower case and without parameters, or ""."""
    return parse_content_type(value).media


def charset_codec(label: str | None) -> str | None:
    """Return the Python codec a browser decodes a charset label with, or None if it knows none.

    Labels are looked up in the WHATWG table, so `iso-8859-1` is windows-1252, `shift_jis`
    is cp932 and `gbk` is gb18030, while labels no browser honours (`cp037`, `utf-32`,
    `utf-7`) and the `replacement` encoding give None: the caller goes on to the next way of
    finding the encoding, as a browser does.
    """
    if not label or len(label) > 64:
        return None
    encoding = webencodings.lookup(label.strip(_WHITESPACE + "\"'"))
    if encoding is None or encoding.name == "replacement":
        return None
    codec = _DECODER_OF.get(encoding.name, encoding.codec_info.name)
    return codecs.lookup(codec).name


def display_name(codec: str) -> str:
    """Return the name a codec is known by on the web (windows-1252 rather than cp1252)."""
    if re.fullmatch(r"cp125\d", codec):
        return "windows-" + codec[2:]
    return codec


def document_kind(content_type: str | None, via: str | None, path: str) -> DocumentKind | None:
    """Return whether a stored file is an HTML page or a stylesheet, or None for anything else.

    The Content-Type decides; a file linked as a stylesheet and served as text/plain or
    without a type is CSS; a file with no type (a local file) is judged by its name.
    """
    media = media_type(content_type)
    if media in HTML_TYPES:
        return "html"
    if media == "text/css":
        return "css"
    stylesheet = via is not None and (
        "stylesheet" in via or via.endswith("@import") or "as=style" in via
    )
    if stylesheet and media in ("", "text/plain", "application/octet-stream"):
        return "css"
    suffix = posixpath.splitext(path)[1].lower()
    if not media and suffix in _HTML_SUFFIXES:
        return "html"
    if not media and suffix == ".css":
        return "css"
    return None


def decode_html(data: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """Return the text of an HTML document and the name of the encoding it was decoded with.

    Tries, in order: a byte order mark, the HTTP charset, a `<meta>` declaration in the first
    4096 bytes, detection, then windows-1252, each label read through the WHATWG table.
    Undecodable bytes become U+FFFD.
    """
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace"), encoding
    for declared in (charset_codec(http_charset), _meta_charset(data[:_PRESCAN_BYTES])):
        if declared is not None:
            return data.decode(declared, "replace"), display_name(declared)
    detected = _detect(data)
    return data.decode(detected, "replace"), display_name(detected)


def _meta_charset(head: bytes) -> str | None:
    """Return the codec a `<meta charset>` or `<meta http-equiv=content-type>` declares."""
    text = _COMMENT.sub("", head.decode("latin-1"))
    for meta in _META.finditer(text):
        attributes: dict[str, str] = {}
        for match in _ATTRIBUTE.finditer(meta.group(1)):
            name = match.group(1).lower()
            attributes.setdefault(name, (match.group(2) or "").strip("\"'"))
        label = attributes.get("charset")
        if label is None and attributes.get("http-equiv", "").strip().lower() == "content-type":
            found = _CONTENT_CHARSET.search(attributes.get("content", ""))
            label = next((group for group in found.groups() if group), None) if found else None
        encoding = charset_codec(label)
        if encoding is not None:
            # A document whose <meta> could be read as ASCII is not UTF-16, whatever it says.
            return "utf-8" if encoding.startswith("utf-16") else encoding
    return None


def _detect(data: bytes) -> str:
    """Return the codec of undeclared bytes: UTF-8 if valid, else the detector's best guess."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    best = charset_normalizer.from_bytes(data).best()
    guess = _web_codec_of_python_name(best.encoding) if best is not None else None
    return guess or "cp1252"


def _web_codecs() -> dict[str, str]:
    """Return, for each Python codec a WHATWG label names, the codec browsers use for it."""
    found: dict[str, str] = {}
    for label in webencodings.LABELS:
        web = charset_codec(label)
        if web is None:
            continue
        found.setdefault(web, web)
        try:
            found.setdefault(codecs.lookup(label).name, web)
        except LookupError:
            continue
    return found


_WEB_CODECS: dict[str, str] = {}


def _web_codec_of_python_name(name: str) -> str | None:
    """Return the codec a browser would use for a Python codec name (a detector's guess)."""
    if not _WEB_CODECS:
        _WEB_CODECS.update(_web_codecs())
    try:
        python = codecs.lookup(name).name
    except LookupError:
        return None
    return _WEB_CODECS.get(python)
