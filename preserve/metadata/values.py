"""Metadata values and their encoding schemes: cleaning, W3CDTF dates, BCP 47 tags, URIs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

# Characters XML 1.0 forbids; a page may carry any of them in a title or a meta value.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Any of these ends a line for some reader (RFC 8493's CR/LF, str.splitlines, NEL), so a
# value holding one could smuggle a second field into a line-based file.
# Unicode's Cc (control), Zl (line separator) and Zp (paragraph separator) characters.
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_ISO_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?\s*([Zz]|[+-]\d{2}:?\d{2})?)?)?)?"
)
# The year of an RFC 2822 date as written: after an optional day name, the day and month.
_RFC2822_YEAR = re.compile(r"\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+(\d{2,4})(?!\d)")
_LANGUAGE_TAG = re.compile(r"(?:[A-Za-z]{2,8}|[xXiI])(?:-[A-Za-z0-9]{1,8})*")
# Far longer than any registered tag with a few extensions; longer text is not read as a tag.
MAX_LANGUAGE_TAG = 128
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# RFC 3986 absolute URI, checked after non-ASCII characters are percent-encoded (an IRI), the
# way XML Schema's anyURI is checked.
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|{_PCT})"
_HOST = rf"(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|{_PCT})*)"
_AUTHORITY = rf"(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|{_PCT})*@)?{_HOST}(?::[0-9]+)?"
_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.-]*:(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"
    rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
)
# xs:dateTime allows offsets up to 14 hours either way.
_MAX_OFFSET = timedelta(hours=14)

DCMI_TYPES = frozenset(
    {
        "Collection",
        "Dataset",
        "Event",
        "Image",
        "InteractiveResource",
        "MovingImage",
        "PhysicalObject",
        "Service",
        "Software",
        "Sound",
        "StillImage",
        "Text",
    }
)


@dataclass(frozen=True, slots=True)
class Value:
    """One metadata value, where it came from, and its encoding scheme when it has one.

    `source` names what stated the value (`<title>`, `meta name="DC.creator"`, `HTTP
    Content-Language`, `capture`, `user (--dc)`); `scheme` is a DC terms encoding scheme
    (`URI`, `W3CDTF`, `RFC4646`, `IMT`, `DCMIType`) the text is known to satisfy.
    """

    text: str
    source: str
    scheme: str | None = None


def clean_text(value: str) -> str:
    """Return `value` with characters illegal in XML 1.0 removed and whitespace collapsed."""
    return " ".join(_XML_ILLEGAL.sub("", value).split())


def single_line(value: str) -> str:
    """Return `value` on one line: control and line-separator characters become spaces."""
    spaced = _LINE_BREAKING.sub(" ", value)
    return " ".join(_XML_ILLEGAL.sub("", spaced).split())


def w3cdtf(moment: datetime) -> str:
    """Return a date-time in W3CDTF form, in UTC: `2001-10-15T09:30:00Z` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _stamp(moment.astimezone(UTC)) + "Z"


def parse_date(text: str) -> str | None:
    """Return a stated date in W3CDTF form, or None when it is not an unambiguous date.

    Accepts ISO 8601 / W3CDTF (`2001`, `2001-10`, `2001-10-15`, `2001-10-15T09:30+05:00`)
    and RFC 2822 / HTTP dates (`Mon, 15 Oct 2001 09:30:00 GMT`). A date-time is kept with
    the zone it states; one that states no zone keeps only its date, since the instant it
    names is unknown. Anything else (`15/10/2001`, `last Tuesday`) is None, never guessed.
    """
    text = text.strip()
    match = _ISO_DATE.fullmatch(text)
    if match is not None:
        return _iso(match)
    moment = _rfc2822(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.date().isoformat()
    return _format_aware(moment, None)


def _rfc2822(text: str) -> datetime | None:
    """Return an RFC 2822 / HTTP date, its year read as written, or None.

    A four-digit year is that year (`0001` is year 1, not 2001); a two-digit year is 20xx
    below 50 and 19xx from 50, a three-digit one 1900 more (RFC 2822 §4.3), where Python's
    reader would make `55` 2055.
    """
    written = _RFC2822_YEAR.match(text)
    if written is None or len(text) > 100:
        return None
    digits = written.group(1)
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year < 50 else 1900
    elif len(digits) == 3:
        year += 1900
    try:
        # Python's reader gets the rest right (and a date without a zone naive); the year
        # it guessed is replaced by the year written.
        return parsedate_to_datetime(text).replace(year=year)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _iso(match: re.Match[str]) -> str | None:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if month is None:
            return f"{int(year):04d}" if int(year) > 0 else None
        if day is None:
            date(int(year), int(month), 1)
            return f"{int(year):04d}-{int(month):02d}"
        day_only = date(int(year), int(month), int(day))
        if hour is None or zone is None:
            return (
                day_only.isoformat() if hour is None or _valid_time(hour, minute, second) else None
            )
        offset = _offset(zone)
        if offset is None:
            return None
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            tzinfo=timezone(offset),
        )
    except (ValueError, OverflowError):
        return None
    return _format_aware(moment, fraction)


def _valid_time(hour: str, minute: str, second: str | None) -> bool:
    return int(hour) < 24 and int(minute) < 60 and int(second or 0) < 60


def _offset(zone: str) -> timedelta | None:
    if zone in ("Z", "z"):
        return timedelta(0)
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if minutes >= 60:
        return None
    offset = timedelta(hours=hours, minutes=minutes)
    if offset > _MAX_OFFSET:
        return None
    return -offset if zone.startswith("-") else offset


def _format_aware(moment: datetime, fraction: str | None) -> str:
    offset = moment.utcoffset() or timedelta(0)
    if offset:
        sign = "-" if offset < timedelta(0) else "+"
        minutes = abs(int(offset.total_seconds())) // 60
        zone = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    else:
        zone = "Z"
    return _stamp(moment) + (fraction or "") + zone


def _stamp(moment: datetime) -> str:
    """Return `YYYY-MM-DDTHH:MM:SS`, the year in four digits whatever it is (0099 stays 0099)."""
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def language_tag(text: str) -> str | None:
    """Return a valid BCP 47 language tag in conventional case (`en_US` gives `en-US`), or None.

    Valid means well-formed (RFC 5646's grammar) and made of subtags the IANA Language Subtag
    Registry holds, as the `langcodes` package reads it: `english`, `jp`, `en-US-POSIX` and
    four-letter primary subtags are None; private use (`x-klingon`, `qaa`) and the
    grandfathered tags (`i-klingon`, `en-GB-oed`) are kept as written. Each subtag gets its
    conventional case: language lower, script title, region upper. At most
    `MAX_LANGUAGE_TAG` characters are read.
    """
    tag = text.strip().replace("_", "-")
    if len(tag) > MAX_LANGUAGE_TAG or not _LANGUAGE_TAG.fullmatch(tag) or not _registered(tag):
        return None
    subtags = tag.split("-")
    out = [subtags[0].lower()]
    singleton = len(subtags[0]) == 1
    for subtag in subtags[1:]:
        if singleton or len(subtag) == 1:
            singleton = True
            out.append(subtag.lower())
        elif len(subtag) == 2 and subtag.isalpha():
            out.append(subtag.upper())
        elif len(subtag) == 4 and subtag.isalpha():
            out.append(subtag.title())
        else:
            out.append(subtag.lower())
    return "-".join(out)


def _registered(tag: str) -> bool:
    """Return True when a well-shaped tag is grandfathered or each of its subtags is registered."""
    # Loaded on the first language value, not with the module: `preserve --help` and captures
    # of pages that state no language never pay for the registry.
    from langcodes import Language
    from langcodes.tag_parser import EXCEPTIONS as GRANDFATHERED
    from langcodes.tag_parser import LanguageTagError

    if tag.lower() in GRANDFATHERED:
        return True
    try:
        # Not normalised: `iw` is checked as `iw`, not as its replacement `he`, and `root`
        # (which normalising would turn into `und`) is not a tag at all.
        return Language.get(tag, normalize=False).is_valid()
    except LanguageTagError:
        return False


def media_type(content_type: str | None) -> str | None:
    """Return the media type of a Content-Type value without parameters, lower case, or None."""
    main = (content_type or "").split(";")[0].strip().lower()
    return main if _MEDIA_TYPE.fullmatch(main) else None


def is_uri(text: str) -> bool:
    """Return True when `text` is an absolute URI (a scheme, then no space or delimiter)."""
    escaped = "".join(c if ord(c) < 128 else "%00" for c in text)
    return _URI.fullmatch(escaped) is not None


def dcmi_type(media: str | None) -> str:
    """Return the DCMI Type term for a media type (`Text` for HTML, `Dataset` if unknown)."""
    main = (media or "").split(";")[0].strip().lower()
    if main == "application/xhtml+xml" or main.startswith("text/"):
        return "Text"
    if main.startswith("image/"):
        return "StillImage"
    if main.startswith("video/"):
        return "MovingImage"
    if main.startswith("audio/"):
        return "Sound"
    return "Dataset"
