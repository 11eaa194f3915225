"""Simple Dublin Core in the OAI-PMH container (`oai_dc.xml`), for harvesters and repositories."""

from __future__ import annotations

from lxml import etree

from preserve.metadata.record import Record
from preserve.metadata.terms import SIMPLE, simple_element

OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC_XSD = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"


def oai_dc(record: Record) -> bytes:
    """Return a record as `oai_dc:dc` with the fifteen simple elements, UTF-8 XML.

    Each refinement is written as the element it refines (issued and created as `dc:date`,
    hasPart as `dc:relation`, license as `dc:rights`); terms that refine none (provenance)
    have no simple form and are left out. No `xsi:type`: simple DC has no encoding schemes.
    """
    root = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} {OAI_DC_XSD}")
    for simple in SIMPLE:
        for name, values in record.elements:
            if simple_element(name) != simple:
                continue
            for value in values:
                etree.SubElement(root, f"{{{DC}}}{simple}").text = value.text
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
