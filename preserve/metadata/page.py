"""A page parsed for what it states about itself: its meta elements, title, links, JSON-LD."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

from preserve.webdoc import decode_html

_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*>")
Candidate = list[tuple[str, str]]
"""What one source states: (source label, raw value) pairs, in document order."""


@dataclass(slots=True)
class Page:
    """The statements found in one pass over a parsed page."""

    metas: list[tuple[str, str, str]] = field(default_factory=list)
    title: str | None = None
    h1: str | None = None
    html_lang: str | None = None
    html_xml_lang: str | None = None
    links: list[tuple[frozenset[str], str]] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    jsonld: list[str] = field(default_factory=list)

    def meta(self, *keys: str) -> Candidate:
        """Return the contents of `<meta>` elements named one of `keys`, in document order."""
        return [(label, content) for key, label, content in self.metas if key in keys]

    def metas_each(self, *keys: str) -> list[Candidate]:
        """Return one candidate per key, in the order of `keys`."""
        return [self.meta(key) for key in keys]


def parse_page(page: bytes, http_charset: str | None) -> tuple[Page, str | None]:
    """Return the statements of a page, and the encoding its bytes were decoded with."""
    text, encoding = decode_html(page, http_charset)
    text = _XML_DECLARATION.sub("", text, count=1)
    found = Page()
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.LxmlError, ValueError):
        return found, encoding
    if isinstance(root.tag, str) and root.tag.lower() == "html":
        found.html_lang = root.get("lang")
        found.html_xml_lang = root.get("xml:lang")
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        tag = tag.lower()
        if tag == "meta":
            _read_meta(element, found)
        elif tag == "title" and found.title is None and not _in_svg(element):
            found.title = _text_of(element)
        elif tag == "h1" and found.h1 is None:
            found.h1 = _text_of(element)
        elif tag == "link" and element.get("href") is not None:
            rels = frozenset((element.get("rel") or "").lower().split())
            found.links.append((rels, element.get("href") or ""))
        elif tag == "time" and "datepublished" in (element.get("itemprop") or "").lower().split():
            found.times.append(element.get("datetime") or _text_of(element))
        elif tag == "script" and (element.get("type") or "").strip().lower() == (
            "application/ld+json"
        ):
            found.jsonld.append(element.text or "")
    return found, encoding


def _read_meta(element: etree._Element, found: Page) -> None:
    content = element.get("content")
    if content is None:
        return
    for attribute in ("name", "property", "http-equiv"):
        name = element.get(attribute)
        if name:
            found.metas.append((_meta_key(name), f'meta {attribute}="{name.strip()}"', content))


def _meta_key(name: str) -> str:
    """Return a meta name as looked up: lower case, `dc:x` as `dc.x`, `dcterms:x` likewise."""
    key = name.strip().lower()
    for prefix in ("dc:", "dcterms:"):
        if key.startswith(prefix):
            return prefix[:-1] + "." + key[len(prefix) :]
    return key


def _text_of(element: etree._Element) -> str:
    """Return the text an element shows (its descendants' text, not comments)."""
    return str(etree.tostring(element, method="text", encoding="unicode", with_tail=False))


def _in_svg(element: etree._Element) -> bool:
    return any(isinstance(a.tag, str) and a.tag.lower() == "svg" for a in element.iterancestors())
