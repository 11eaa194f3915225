"""Readers of small values from outside: decimal numbers and `Location` values.

Each reader is bounded and returns a value or None, never raising: `'²'.isdigit()` is true
and `int('²')` raises, so numbers are read as ASCII digits only, and at most a stated count
of them (Python refuses to read integers past 4,300 digits).
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")
# No size, count or number of seconds anyone sends needs more digits than this.
MAX_DIGITS = 30


def decimal(text: str | None, max_digits: int = MAX_DIGITS) -> int | None:
    """Return the non-negative integer `text` writes in ASCII digits, or None.

    Surrounding spaces and tabs are allowed; signs, other digits (`²`, `٣`), underscores
    and more than `max_digits` digits are not.
    """
    if text is None:
        return None
    value = text.strip(" \t")
    if not value or len(value) > max_digits or not _DIGITS.fullmatch(value):
        return None
    return int(value)


def location_reference(value: str) -> str:
    """Return a `Location` header value as a browser reads its bytes: UTF-8, else escaped.

    The HTTP client hands header values over decoded as Latin-1. Their bytes are read as
    UTF-8 when they are valid UTF-8 (`/café.gif` sent raw); otherwise each byte above 0x7F
    is percent-encoded, so a Latin-1 server's `/caf\\xe9.gif` asks for `/caf%E9.gif`.
    """
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        return value
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)
