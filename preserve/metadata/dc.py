"""Qualified Dublin Core for the capture of a seed page (`dc.xml`)."""

from __future__ import annotations

from lxml import etree

from preserve.metadata.record import Record
from preserve.metadata.values import clean_text, dcmi_type, w3cdtf

DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"dc": DC, "dcterms": DCTERMS, "xsi": XSI}
# Where DCMI publishes the container schema; the tests resolve it offline through a catalog.
QUALIFIED_DC_XSD = "http://dublincore.org/schemas/xmls/qdc/2008/02/11/qualifieddc.xsd"

__all__ = ["dcmi_type", "qualified_dc", "w3cdtf", "xml_text"]


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
