"""Qualified Dublin Core for the capture of a seed page (`data/metadata/dc.xml`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"dc": DC, "dcterms": DCTERMS, "xsi": XSI}

# Characters XML 1.0 forbids; a page title may carry any of them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(value: str) -> str:
    """Return `value` with characters illegal in XML 1.0 removed and whitespace collapsed."""
    return " ".join(_XML_ILLEGAL.sub("", value).split())


def dcmi_type(media_type: str | None) -> str:
    """Return the DCMI Type term for a media type (`Text` for HTML, `Dataset` if unknown)."""
    main = (media_type or "").split(";")[0].strip().lower()
    if main in ("text/html", "application/xhtml+xml") or main.startswith("text/"):
        return "Text"
    if main.startswith("image/"):
        return "StillImage"
    if main.startswith("video/"):
        return "MovingImage"
    if main.startswith("audio/"):
        return "Sound"
    return "Dataset"


def w3cdtf(moment: datetime) -> str:
    """Return a UTC date-time in W3CDTF form, e.g. `2001-10-15T09:30:00Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class CaptureDescription:
    """The facts about a capture that its Dublin Core record states."""

    identifier: str
    source: str
    created: datetime
    media_type: str | None
    title: str | None = None


def dc_xml(desc: CaptureDescription) -> bytes:
    """Return the qualified DC record (`<qualifieddc>` with dcterms elements) as UTF-8 XML."""
    root = etree.Element("qualifieddc", nsmap=NSMAP)

    def add(name: str, value: str, scheme: str | None = None) -> None:
        text = xml_text(value)
        if not text:
            return
        element = etree.SubElement(root, f"{{{DCTERMS}}}{name}")
        element.text = text
        if scheme is not None:
            element.set(f"{{{XSI}}}type", f"dcterms:{scheme}")

    if desc.title:
        add("title", desc.title)
    add("identifier", desc.identifier, "URI")
    add("source", desc.source, "URI")
    add("created", w3cdtf(desc.created), "W3CDTF")
    if desc.media_type:
        add("format", desc.media_type.split(";")[0].strip().lower(), "IMT")
    add("type", dcmi_type(desc.media_type), "DCMIType")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
