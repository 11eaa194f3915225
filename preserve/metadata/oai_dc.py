"""Simple Dublin Core in the OAI-PMH container (`oai_dc.xml`), for harvesters and repositories."""

from __future__ import annotations

from lxml import etree

from preserve.metadata.record import Record
from preserve.metadata.terms import SIMPLE, simple_element

# Simple DC has one unlabelled date element, which harvesters show as the item's date. Only
# one goes there, the first of these that has a value: the user's own `date`, else the
# page's publication, creation or modification date. Never the capture's time (that is in
# dc.xml's provenance and PREMIS): a page of 2001 would otherwise be listed under the day it
# was archived.
DATE_PREFERENCE = ("date", "issued", "created", "modified")
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC_XSD = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"


def oai_dc(record: Record) -> bytes:
    """Return a record as `oai_dc:dc` with the fifteen simple elements, UTF-8 XML.

    Each refinement is written as the element it refines (hasPart and references as
    `dc:relation`, license as `dc:rights`); terms that refine none (provenance) have no simple
    form and are left out. Dates are the exception: one `dc:date` at most, chosen by
    `DATE_PREFERENCE`. No `xsi:type`: simple DC has no encoding schemes.
    """
    root = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} {OAI_DC_XSD}")
    for simple in SIMPLE:
        if simple == "date":
            date = next(filter(None, map(record.first, DATE_PREFERENCE)), None)
            if date is not None:
                etree.SubElement(root, f"{{{DC}}}date").text = date
            continue
        for name, values in record.elements:
            if simple_element(name) != simple:
                continue
            for value in values:
                etree.SubElement(root, f"{{{DC}}}{simple}").text = value.text
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
