"""Readers of small values from outside: decimal numbers, sizes, `Location` values, JSON options.

Each reader is bounded and returns a value or None, never raising: `'²'.isdigit()` is true
and `int('²')` raises, so numbers are read as ASCII digits only, and at most a stated count
of them (Python refuses to read integers past 4,300 digits).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

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


# Digits bounded: a size past 1024T is refused by the capture anyway, and a float of 400
# digits is infinite.
_SIZE = re.compile(r"\s*([0-9]{1,20}(?:\.[0-9]{1,9})?)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def byte_size(text: str) -> int | None:
    """Return the bytes a size such as `500K`, `1.5M` or `2G` means (powers of 1024), or None.

    A plain number is bytes; `B`, `KB` and `KiB` are read alike, in any case. At most 20
    digits before the point and 9 after, in ASCII digits.
    """
    match = _SIZE.fullmatch(text)
    if match is None:
        return None
    return int(Decimal(match.group(1)) * _UNITS[match.group(2).upper()])


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


MAX_JSON_BYTES = 16 * 1024 * 1024
"""Bytes in a JSON file given as an option (a profile, a metadata file)."""
MAX_JSON_DEPTH = 64
"""Arrays and objects inside one another in such a file."""


class JsonProblem(ValueError):
    """A JSON document that cannot be read within the bounds; the message says why."""


def read_json(data: bytes, *, pairs: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """Return the value of a JSON document read within bounds, or raise JsonProblem.

    UTF-8 (a byte-order mark allowed), at most MAX_JSON_BYTES, nested at most MAX_JSON_DEPTH
    deep, numbers of at most MAX_DIGITS digits, no NaN or Infinity. `pairs`, when given,
    builds each object from its key-value pairs (to refuse a key given twice, say).
    """
    if len(data) > MAX_JSON_BYTES:
        raise JsonProblem(f"larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonProblem(f"not UTF-8 text ({exc.reason})") from exc
    # Fewer brackets than the bound cannot nest past it: most documents skip the scan.
    brackets = text.count("[") + text.count("{")
    if brackets > MAX_JSON_DEPTH and _depth(text) > MAX_JSON_DEPTH:
        raise JsonProblem(f"nested more than {MAX_JSON_DEPTH} deep")
    try:
        return json.loads(
            text,
            object_pairs_hook=pairs,
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=_json_constant,
        )
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise JsonProblem(f"not valid JSON: {exc.msg} at {where}") from exc
    except RecursionError as exc:
        raise JsonProblem(f"nested more than {MAX_JSON_DEPTH} deep") from exc


def _depth(text: str) -> int:
    """Return how deep arrays and objects nest in JSON text (strings skipped)."""
    deepest = depth = 0
    for match in _JSON_TOKEN.finditer(text):
        found = match.group()
        if found in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif found in ("]", "}"):
            depth -= 1
    return deepest


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _json_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_DIGITS:
        raise JsonProblem(f"a number of more than {MAX_DIGITS} digits")
    return int(text)


def _json_float(text: str) -> float:
    if len(text) > 2 * MAX_DIGITS:
        raise JsonProblem(f"a number of more than {2 * MAX_DIGITS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise JsonProblem(f"a number too large: {text[:20]}")
    return value


def _json_constant(name: str) -> Any:
    raise JsonProblem(f"{name} is not a JSON number")
