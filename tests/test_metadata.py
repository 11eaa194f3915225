"""The Dublin Core record of a capture validates against the DCMI schemas."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from preserve.metadata.dc import CaptureDescription, dc_xml, dcmi_type

from .conftest import SHARED

XSD = SHARED / "xsd"
DCTERMS = "{http://purl.org/dc/terms/}"


@pytest.fixture(scope="module")
def qualified_dc() -> Iterator[etree.XMLSchema]:
    """The DCMI qualifieddc schema, its imports resolved through the bundled catalog."""
    previous = os.environ.get("XML_CATALOG_FILES")
    os.environ["XML_CATALOG_FILES"] = str(XSD / "catalog.xml")
    try:
        yield etree.XMLSchema(etree.parse(str(XSD / "qualifieddc.xsd")))
    finally:
        if previous is None:
            os.environ.pop("XML_CATALOG_FILES", None)
        else:
            os.environ["XML_CATALOG_FILES"] = previous


def describe(title: str | None, media_type: str | None = "text/html; charset=utf-8") -> bytes:
    return dc_xml(
        CaptureDescription(
            identifier="urn:uuid:0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
            source="http://example.com/news/",
            created=datetime(2001, 10, 15, 9, 30, tzinfo=UTC),
            media_type=media_type,
            title=title,
        )
    )


def test_record_validates_and_states_the_capture(qualified_dc: etree.XMLSchema) -> None:
    document = etree.fromstring(describe("MQM \u2013 News\x0b and\n Statements"))
    qualified_dc.assertValid(document)
    values = {child.tag.removeprefix(DCTERMS): child.text for child in document}
    assert values == {
        "title": "MQM \u2013 News and Statements",
        "identifier": "urn:uuid:0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "source": "http://example.com/news/",
        "created": "2001-10-15T09:30:00Z",
        "format": "text/html",
        "type": "Text",
    }


def test_record_without_title_or_type_still_validates(qualified_dc: etree.XMLSchema) -> None:
    document = etree.fromstring(describe(None, None))
    qualified_dc.assertValid(document)
    assert [child.tag.removeprefix(DCTERMS) for child in document] == [
        "identifier",
        "source",
        "created",
        "type",
    ]


def test_captured_bag_record_validates(qualified_dc: etree.XMLSchema, tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text("<title>Local page</title>", encoding="utf-8")
    import preserve

    result = preserve.capture(str(page), tmp_path / "out")
    document = etree.parse(str(result.bag_path / "data/metadata/dc.xml"))
    qualified_dc.assertValid(document)
    identifier = document.find(f"{DCTERMS}identifier")
    assert identifier is not None
    assert identifier.text == result.capture_id


@pytest.mark.parametrize(
    ("media_type", "term"),
    [
        ("text/html", "Text"),
        ("image/gif", "StillImage"),
        ("video/mpeg", "MovingImage"),
        ("audio/wav", "Sound"),
        ("application/pdf", "Dataset"),
        (None, "Dataset"),
    ],
)
def test_dcmi_type(media_type: str | None, term: str) -> None:
    assert dcmi_type(media_type) == term
