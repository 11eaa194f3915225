"""Read what a page and its server state about the page, and nothing else: no guesses.

Every value comes with its source. Each element has an order of preference; the first source
that states a usable value wins. Sources that state nothing usable (an empty title, a date that
does not parse, a malformed language tag) are passed over, never repaired.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from preserve.metadata.jsonld import JsonLd, looks_like_url
from preserve.metadata.page import Candidate, Page, parse_page
from preserve.metadata.values import Value, clean_text, is_uri, language_tag, parse_date
from preserve.urls import is_web_url, resolve

ELEMENTS = (
    "title",
    "alternative",
    "creator",
    "subject",
    "description",
    "publisher",
    "created",
    "issued",
    "modified",
    "language",
    "rights",
    "license",
    "source",
)
_KEYWORD_SEPARATORS = re.compile("[,\uff0c\u3001]")


@dataclass(frozen=True, slots=True)
class Extracted:
    """What the page and its server state, element by element, each value with its source."""

    title: tuple[Value, ...] = ()
    alternative: tuple[Value, ...] = ()
    creator: tuple[Value, ...] = ()
    subject: tuple[Value, ...] = ()
    description: tuple[Value, ...] = ()
    publisher: tuple[Value, ...] = ()
    created: tuple[Value, ...] = ()
    issued: tuple[Value, ...] = ()
    modified: tuple[Value, ...] = ()
    language: tuple[Value, ...] = ()
    rights: tuple[Value, ...] = ()
    license: tuple[Value, ...] = ()
    source: tuple[Value, ...] = ()
    encoding: str | None = None

    def elements(self) -> tuple[tuple[str, tuple[Value, ...]], ...]:
        """Return (element, values) for every element, in the order of `ELEMENTS`."""
        return tuple((name, getattr(self, name)) for name in ELEMENTS)


def extract(
    page: bytes | None,
    *,
    final_url: str,
    requested_url: str | None = None,
    http_charset: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> Extracted:
    """Return what an HTML page and its response headers state about the page, with sources.

    `page` is the page's bytes as stored (None for a response that is not HTML: then only
    the headers and URLs speak). Decodes as a browser does (BOM, HTTP charset, `<meta>`,
    detection). Never raises: unparseable bytes state nothing.
    """
    parsed, encoding = parse_page(page, http_charset) if page is not None else (Page(), None)
    jsonld = JsonLd.from_scripts(parsed.jsonld)
    base = final_url
    titles = _values(
        [
            parsed.meta("dc.title", "dcterms.title"),
            _said("<title>", parsed.title),
            parsed.meta("og:title"),
            _said("JSON-LD headline", *jsonld.strings("headline")),
            _said("JSON-LD name", *jsonld.strings("name")),
            _said("<h1>", parsed.h1),
        ],
        _text,
        keep_rest=True,
    )
    title = titles[:1]
    seen = {title[0].text} if title else set()
    alternative: list[Value] = []
    for value in titles[1:]:
        if value.text not in seen:
            seen.add(value.text)
            alternative.append(value)
    return Extracted(
        title=title,
        alternative=tuple(alternative),
        creator=_values(
            [
                parsed.meta("dc.creator", "dcterms.creator"),
                _said("JSON-LD author", *jsonld.names("author")),
                [(s, a) for s, a in parsed.meta("author") if not looks_like_url(a)],
            ],
            _text,
        ),
        subject=_values(
            [
                parsed.meta("dc.subject", "dcterms.subject"),
                _split(parsed.meta("keywords")),
                parsed.meta("article:tag"),
                _split(_said("JSON-LD keywords", *jsonld.strings("keywords"))),
            ],
            _text,
            unique=True,
        ),
        description=_values(
            [
                parsed.meta("dc.description", "dcterms.description", "dcterms.abstract"),
                parsed.meta("description"),
                parsed.meta("og:description"),
                _said("JSON-LD description", *jsonld.strings("description")),
            ],
            _text,
            first_only=True,
        ),
        publisher=_values(
            [
                parsed.meta("dc.publisher", "dcterms.publisher"),
                _said("JSON-LD publisher", *jsonld.names("publisher")),
                parsed.meta("og:site_name"),
            ],
            _text,
        ),
        created=_values(
            [
                *parsed.metas_each("dcterms.created", "dc.date.created"),
                _said("JSON-LD dateCreated", *jsonld.strings("dateCreated")),
            ],
            _date,
            first_only=True,
        ),
        issued=_values(
            [
                *parsed.metas_each("dcterms.issued", "dc.date.issued", "dc.date", "dcterms.date"),
                _said("JSON-LD datePublished", *jsonld.strings("datePublished")),
                parsed.meta("article:published_time"),
                _said("<time itemprop=datePublished>", *parsed.times),
            ],
            _date,
            first_only=True,
        ),
        modified=_values(
            [
                *parsed.metas_each("dcterms.modified", "dc.date.modified"),
                _said("JSON-LD dateModified", *jsonld.strings("dateModified")),
                parsed.meta("article:modified_time"),
                _said("HTTP Last-Modified", _last_modified(headers)),
            ],
            _date,
            first_only=True,
        ),
        language=_values(
            [
                _said("<html lang>", parsed.html_lang),
                _said("<html xml:lang>", parsed.html_xml_lang),
                parsed.meta("dc.language", "dcterms.language"),
                _said("HTTP Content-Language", *_header_list(headers, "Content-Language")),
                parsed.meta("content-language"),
                parsed.meta("og:locale"),
            ],
            _language,
            unique=True,
        ),
        rights=_values([parsed.meta("dc.rights", "dcterms.rights")], _text),
        license=_values(
            [
                _said('link rel="license"', *_resolved(_link_hrefs(parsed, "license"), base)),
                _said("JSON-LD license", *jsonld.urls("license")),
            ],
            _uri_or_text,
            unique=True,
        ),
        source=_sources(parsed, final_url, requested_url),
        encoding=encoding,
    )


def _values(
    candidates: Iterable[Candidate],
    convert: Callable[[str], tuple[str, str | None] | None],
    *,
    keep_rest: bool = False,
    first_only: bool = False,
    unique: bool = False,
) -> tuple[Value, ...]:
    """Return the values of the first candidate that states a usable one (all, with keep_rest)."""
    out: list[Value] = []
    seen: set[str] = set()
    for candidate in candidates:
        found: list[Value] = []
        for label, raw in candidate:
            converted = convert(raw)
            if converted is None:
                continue
            text, scheme = converted
            key = text.casefold()
            if unique and key in seen:
                continue
            seen.add(key)
            found.append(Value(text, label, scheme))
            if first_only:
                break
        out.extend(found)
        if found and not keep_rest:
            break
    return tuple(out)


def _text(raw: str) -> tuple[str, str | None] | None:
    text = clean_text(raw)
    return (text, None) if text else None


def _date(raw: str) -> tuple[str, str | None] | None:
    text = parse_date(clean_text(raw))
    return (text, "W3CDTF") if text else None


def _language(raw: str) -> tuple[str, str | None] | None:
    tag = language_tag(clean_text(raw))
    return (tag, "RFC4646") if tag else None


def _uri_or_text(raw: str) -> tuple[str, str | None] | None:
    text = clean_text(raw)
    if not text:
        return None
    return text, "URI" if is_uri(text) else None


def _said(label: str, *raws: str | None) -> Candidate:
    """Return the candidate of one source that states `raws` (None states nothing)."""
    return [(label, raw) for raw in raws if raw is not None]


def _split(candidate: Candidate) -> Candidate:
    """Return a candidate whose comma-separated values (`keywords`) are split apart."""
    return [(label, part) for label, raw in candidate for part in _KEYWORD_SEPARATORS.split(raw)]


def _link_hrefs(page: Page, rel: str) -> list[str]:
    return [href for rels, href in page.links if rel in rels]


def _resolved(references: Iterable[str], base: str) -> list[str]:
    out = []
    for reference in references:
        url = resolve(reference, base)
        if url is not None and is_web_url(url):
            out.append(url)
    return out


def _sources(page: Page, final_url: str, requested_url: str | None) -> tuple[Value, ...]:
    """Return the page's stated address (canonical, og:url), then where it was fetched from."""
    og_url = [
        (label, url) for label, raw in page.meta("og:url") for url in _resolved([raw], final_url)
    ]
    stated = _values(
        [
            _said(
                'link rel="canonical"', *_resolved(_link_hrefs(page, "canonical"), final_url)[:1]
            ),
            og_url[:1],
        ],
        _uri_or_text,
    )
    out = list(stated)
    fetched: tuple[tuple[str, str | None], ...] = (
        ("final URL", final_url),
        ("requested URL", requested_url),
    )
    if final_url.startswith("file:"):
        # A local capture names its file relative to the seed's folder; nothing was fetched.
        fetched = (("the file's path relative to the seed's folder", final_url),)
    for label, url in fetched:
        text = clean_text(url or "")
        if text and all(value.text != text for value in out):
            out.append(Value(text, label, "URI" if is_uri(text) else None))
    return tuple(out)


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers if key.lower() == lowered), None)


def _header_list(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    value = _header(headers, name)
    return value.split(",") if value else []


def _last_modified(headers: Sequence[tuple[str, str]]) -> str | None:
    """Return Last-Modified, unless it equals the response's Date to the minute.

    A server that generates a page on request often sends the current time as Last-Modified:
    that says when the page was served, not when it was changed.
    """
    stated = _header(headers, "Last-Modified")
    if stated is None:
        return None
    served = _header(headers, "Date")
    if served is not None:
        try:
            modified, date = parsedate_to_datetime(stated), parsedate_to_datetime(served)
            same = modified.replace(second=0, microsecond=0) == date.replace(
                second=0, microsecond=0
            )
        except (TypeError, ValueError, IndexError, OverflowError):
            same = False
        if same:
            return None
    return stated
