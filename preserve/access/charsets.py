"""Text encodings of access copies: the bytes decoded losslessly and the label a browser reads."""

from __future__ import annotations

import codecs
import re

from preserve.webdoc import BOMS

# Python codec names (as codecs.lookup spells them) and the WHATWG label a page declares so
# that a browser, opening it from disk with no HTTP header, decodes it with the same table.
# Supersets (cp932 for Shift_JIS, cp949 for EUC-KR) are what browsers decode those labels with.
_WEB_LABELS = {
    "utf-8": "utf-8",
    "cp866": "IBM866",
    "koi8-r": "KOI8-R",
    "koi8-u": "KOI8-U",
    "mac-roman": "macintosh",
    "mac-cyrillic": "x-mac-cyrillic",
    "cp874": "windows-874",
    "gb18030": "gb18030",
    "gbk": "GBK",
    "big5": "Big5",
    "big5hkscs": "Big5",
    "cp950": "Big5",
    "euc_jp": "EUC-JP",
    "iso2022_jp": "ISO-2022-JP",
    "cp932": "Shift_JIS",
    "shift_jis": "Shift_JIS",
    "euc_kr": "EUC-KR",
    "cp949": "EUC-KR",
}
_WINDOWS = re.compile(r"cp(125[0-8])")
# ISO-8859-1 and -9 are not listed: browsers read those labels as windows-1252 and -1254.
_ISO = re.compile(r"iso8859-(2|3|4|5|6|7|8|10|13|14|15|16)")


def split_bom(data: bytes) -> tuple[bytes, bytes, str | None]:
    """Return (byte order mark, the rest, the codec the mark names); empty and None if none."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return bom, data[len(bom) :], codec
    return b"", data, None


def codec_name(label: str | None) -> str | None:
    """Return Python's name for an encoding preserve decoded with, or None if no text codec.

    For the names discovery reports (`windows-1252`, `cp932`); a label from a page or a
    server is read by `preserve.webdoc.charset_codec`, as a browser reads it.
    """
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip(" \t\n\r\x0c\"'").lower()).name
        b"a".decode(name)
    except (LookupError, ValueError):
        return None
    return name


def web_label(codec: str) -> str | None:
    """Return the WHATWG label that makes a browser decode with `codec`, or None if none does."""
    label = _WEB_LABELS.get(codec)
    if label is not None:
        return label
    if match := _WINDOWS.fullmatch(codec):
        return f"windows-{match.group(1)}"
    if match := _ISO.fullmatch(codec):
        return f"ISO-8859-{match.group(1)}"
    return None


def decode(data: bytes, codec: str) -> str:
    """Return `data` decoded with `codec`; bytes it cannot decode are kept as lone surrogates.

    `encode(decode(data, codec), codec)` gives `data` back wherever the codec round-trips, so
    the parts of a document that are not rewritten keep their bytes.
    """
    try:
        return data.decode(codec, "surrogateescape")
    except UnicodeDecodeError:
        # UTF-16 cannot carry undecodable bytes as surrogates; they become U+FFFD, as shown.
        return data.decode(codec, "replace")


def encode(text: str, codec: str) -> bytes:
    """Return `text` encoded with `codec`, undecodable bytes restored as they were."""
    try:
        return text.encode(codec, "surrogateescape")
    except UnicodeEncodeError:
        # Unreachable for text this module decoded, unless the codec does not round-trip.
        return text.encode(codec, "xmlcharrefreplace")
