"""Qualified Dublin Core for the capture of a seed page (`dc.xml`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from preserve.metadata.record import Record
from preserve.metadata.values import clean_text, dcmi_type, w3cdtf

DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"dc": DC, "dcterms": DCTERMS, "xsi": XSI}
# Where DCMI publishes the container schema; the tests resolve it offline through a catalog.
QUALIFIED_DC_XSD = "http://dublincore.org/schemas/xmls/qdc/2008/02/11/qualifieddc.xsd"

__all__ = ["CaptureDescription", "dc_xml", "dcmi_type", "qualified_dc", "w3cdtf", "xml_text"]


def xml_text(value: str) -> str:
    """Return `value` with characters illegal in XML 1.0 removed and whitespace collapsed."""
    return clean_text(value)


def qualified_dc(record: Record) -> bytes:
    """Return a record as qualified DC (`<qualifieddc>` of dcterms elements), UTF-8 XML.

    Each value whose text satisfies an encoding scheme carries it as `xsi:type`
    (`dcterms:W3CDTF`, `dcterms:URI`, `dcterms:RFC4646`, `dcterms:IMT`, `dcterms:DCMIType`).
    """
    root = etree.Element("qualifieddc", nsmap=NSMAP)
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", QUALIFIED_DC_XSD)
    for name, values in record.elements:
        for value in values:
            element = etree.SubElement(root, f"{{{DCTERMS}}}{name}")
            element.text = value.text
            if value.scheme is not None:
                element.set(f"{{{XSI}}}type", f"dcterms:{value.scheme}")
    return _serialise(root)


def _serialise(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@dataclass(frozen=True, slots=True)
class CaptureDescription:
    """The few facts of a capture the minimal record states (superseded by `qualified_dc`)."""

    identifier: str
    source: str
    created: datetime
    media_type: str | None
    title: str | None = None


def dc_xml(desc: CaptureDescription) -> bytes:
    """Return the minimal qualified DC record of a capture as UTF-8 XML."""
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
    return _serialise(root)
