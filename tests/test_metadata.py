"""The metadata records of a capture: valid against the official schemas, exact, and safe.

Every record is validated offline against the official schemas in `../shared/xsd` (DCMI
`qualifieddc.xsd`/`dcterms.xsd`, `oai_dc.xsd`, PREMIS `premis-v3-0.xsd`) through a resolver
that maps their published URLs to those copies and refuses anything else.

Golden files: `tests/fixtures/metadata/golden/` holds the four records of the example site for
a fixed clock, identifier and file list, compared byte for byte. After an intended change,
regenerate them (and `schemas/metadata.schema.json`) with

    PRESERVE_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/test_metadata.py

and review the diff before committing.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import preserve
from preserve._version import __version__
from preserve.bag import format_bag_info
from preserve.errors import BadInput
from preserve.metadata import (
    CaptureFacts,
    MetadataRecords,
    PayloadFile,
    build_metadata,
    parse_user_metadata,
)
from preserve.metadata.dc import NSMAP, dcmi_type
from preserve.metadata.user import SCHEMA, SCHEMA_ID
from preserve.metadata.values import is_uri
from preserve.models import CaptureOptions, CaptureResult, LogRecord

from .conftest import SHARED, Server, need_shared
from .test_extract import ALL_PAGES, RealPage

XSD = SHARED / "xsd"
DCTERMS = "{http://purl.org/dc/terms/}"


@pytest.fixture(scope="module")
def qualified_dc() -> Iterator[etree.XMLSchema]:
    """The DCMI qualifieddc schema, its imports resolved through the bundled catalog."""
    need_shared("xsd")
    previous = os.environ.get("XML_CATALOG_FILES")
    os.environ["XML_CATALOG_FILES"] = str(XSD / "catalog.xml")
    try:
        yield etree.XMLSchema(etree.parse(str(XSD / "qualifieddc.xsd")))
    finally:
        if previous is None:
            os.environ.pop("XML_CATALOG_FILES", None)
        else:
            os.environ["XML_CATALOG_FILES"] = previous


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


GOLDEN = Path(__file__).resolve().parent / "fixtures" / "metadata" / "golden"
REGENERATE = os.environ.get("PRESERVE_REGENERATE_GOLDEN") == "1"
ROOT = Path(__file__).resolve().parent.parent
OAI = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"
DC = "{http://purl.org/dc/elements/1.1/}"
PREMIS = "{http://www.loc.gov/premis/v3}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
ID = "urn:uuid:0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
CLOCK = datetime(2001, 10, 15, 9, 30, tzinfo=UTC)
UUID = uuid.UUID("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
W3CDTF = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?")


class OfflineResolver(etree.Resolver):
    """Resolves the official schemas' published URLs to `../shared/xsd`; refuses the rest."""

    NAMES: ClassVar[dict[str, str]] = {
        "http://www.w3.org/2001/03/xml.xsd": "xml.xsd",
        "http://www.w3.org/2001/xml.xsd": "xml.xsd",
        "http://dublincore.org/schemas/xmls/simpledc20021212.xsd": "simpledc20021212.xsd",
        "http://www.openarchives.org/OAI/2.0/oai_dc.xsd": "oai_dc.xsd",
    }
    DCMI = "http://dublincore.org/schemas/xmls/qdc/2008/02/11/"

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        name = self.NAMES.get(system_url)
        if name is None and system_url.startswith(self.DCMI):
            name = system_url.removeprefix(self.DCMI)
        if name is not None:
            return self.resolve_filename(str(XSD / name), context)
        if "://" in system_url and not system_url.startswith("file:"):
            raise AssertionError(f"a schema tried to reach the network: {system_url}")
        return None


def load_schema(name: str) -> etree.XMLSchema:
    """Return an official schema from ../shared/xsd (the test skips, or fails in CI, without it)."""
    need_shared("xsd")
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(OfflineResolver())
    return etree.XMLSchema(etree.parse(str(XSD / name), parser))


@pytest.fixture(scope="module")
def schemas() -> dict[str, etree.XMLSchema]:
    """The official schema of each XML record, loaded offline."""
    return {
        "dc.xml": load_schema("qualifieddc.xsd"),
        "oai_dc.xml": load_schema("oai_dc.xsd"),
        "premis.xml": load_schema("premis-v3-0.xsd"),
    }


def assert_valid(records: MetadataRecords, schemas: dict[str, etree.XMLSchema]) -> None:
    for name, schema in schemas.items():
        schema.assertValid(etree.fromstring(records.files[name]))


def digests(data: bytes) -> dict[str, str]:
    return {"sha512": hashlib.sha512(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}


def example_facts() -> CaptureFacts:
    """The capture of the example site's front page, with a fixed clock, id and file list."""
    site = ROOT / "examples" / "site-2001"
    base = "http://127.0.0.1:8001/"
    page = (site / "index.html").read_bytes()
    requisites = [
        ("css/style.css", "text/css"),
        ("css/base.css", "text/css"),
        ("images/masthead.gif", "image/gif"),
        ("media/audio-report.wav", "audio/x-wav"),
    ]
    files = [
        PayloadFile(
            "data/web/127.0.0.1+8001/index.html", len(page), digests(page), "text/html", base
        )
    ]
    records = [
        LogRecord(
            base,
            "seed",
            "captured",
            status=200,
            content_type="text/html",
            size=len(page),
            digests=digests(page),
            payload_path=files[0].path,
        )
    ]
    for relative, kind in requisites:
        data = (site / relative).read_bytes()
        path = f"data/web/127.0.0.1+8001/{relative}"
        files.append(PayloadFile(path, len(data), digests(data), kind, base + relative))
        records.append(
            LogRecord(
                base + relative,
                "requisite",
                "captured",
                referrer=base,
                status=200,
                content_type=kind,
                size=len(data),
                digests=digests(data),
                payload_path=path,
            )
        )
    records.append(
        LogRecord(
            base + "images/missing.gif",
            "requisite",
            "failed",
            referrer=base,
            status=404,
            error="HTTP 404 Not Found",
        )
    )
    records.append(
        LogRecord(base + "images/extra.gif", "requisite", "skipped", referrer=base, reason="limit")
    )
    return CaptureFacts(
        identifier=ID,
        created=CLOCK,
        software=f"preserve/{__version__}",
        requested_url=base,
        final_url=base,
        status=200,
        response_headers=(
            ("Server", "SimpleHTTP/0.6 Python/3.11"),
            ("Date", "Mon, 15 Oct 2001 09:30:00 GMT"),
            ("Content-Type", "text/html"),
            ("Content-Length", str(len(page))),
            ("Last-Modified", "Sun, 14 Oct 2001 18:02:00 GMT"),
        ),
        media_type="text/html",
        page=page,
        http_charset=None,
        size=len(page),
        records=tuple(records),
        files=tuple(files),
    )


def test_example_site_records_match_golden_files(schemas: dict[str, etree.XMLSchema]) -> None:
    records = build_metadata(example_facts())
    assert_valid(records, schemas)
    assert sorted(records.files) == ["dc.xml", "metadata.csv", "oai_dc.xml", "premis.xml"]
    for name, data in records.files.items():
        golden = GOLDEN / name
        if REGENERATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_bytes(data)
        assert data == golden.read_bytes(), f"{name} differs from {golden}"
    assert records.title == "MQM - News and Statements, October 2001"
    assert records.bag_info == (
        ("Internal-Sender-Description", "MQM - News and Statements, October 2001"),
        (
            "External-Description",
            "MQM news, statements of Mr Altaf Hussain, rallies and photographs, "
            "September and October 2001",
        ),
        ("DC-Title", "MQM - News and Statements, October 2001"),
        ("DC-Source", "http://127.0.0.1:8001/"),
        ("DC-Modified", "2001-10-14T18:02:00Z"),
    )


def test_build_metadata_is_deterministic() -> None:
    assert build_metadata(example_facts()) == build_metadata(example_facts())


def test_qualified_dc_states_the_capture() -> None:
    document = etree.fromstring(build_metadata(example_facts()).files["dc.xml"])
    typed = {
        (child.tag.removeprefix(DCTERMS), child.get(XSI_TYPE))
        for child in document
        if child.get(XSI_TYPE)
    }
    assert {
        ("identifier", "dcterms:URI"),
        ("modified", "dcterms:W3CDTF"),
        ("format", "dcterms:IMT"),
        ("type", "dcterms:DCMIType"),
        ("source", "dcterms:URI"),
        ("hasPart", "dcterms:URI"),
    } <= typed
    values = [(child.tag.removeprefix(DCTERMS), child.text) for child in document]
    assert ("extent", "8794 bytes") in values
    parts = [text for tag, text in values if tag == "hasPart"]
    assert parts == [
        "http://127.0.0.1:8001/css/style.css",
        "http://127.0.0.1:8001/css/base.css",
        "http://127.0.0.1:8001/images/masthead.gif",
        "http://127.0.0.1:8001/media/audio-report.wav",
    ]
    provenance = " ".join(text for tag, text in values if tag == "provenance")
    # The capture's time is provenance; no date term holds it.
    assert f"Captured by preserve/{__version__} at 2001-10-15T09:30:00Z from " in provenance
    assert "2001-10-15T09:30:00Z" not in [text for tag, text in values if tag != "provenance"]
    assert "4 captured, 1 failed, 1 skipped" in provenance
    assert "title from <title>" in provenance


def test_premis_describes_every_file_and_the_failed_requisites() -> None:
    facts = example_facts()
    document = etree.fromstring(build_metadata(facts).files["premis.xml"])
    objects = document.findall(f"{PREMIS}object")
    assert [o.findtext(f"{PREMIS}originalName") for o in objects] == [f.path for f in facts.files]
    first = objects[0]
    assert first.findtext(f".//{PREMIS}size") == str(facts.files[0].size)
    fixities = {
        f.findtext(f"{PREMIS}messageDigestAlgorithm"): f.findtext(f"{PREMIS}messageDigest")
        for f in first.iter(f"{PREMIS}fixity")
    }
    assert fixities == {
        "SHA-512": facts.files[0].digests["sha512"],
        "SHA-256": facts.files[0].digests["sha256"],
    }
    event = document.find(f"{PREMIS}event")
    assert event is not None
    event_type = event.find(f"{PREMIS}eventType")
    assert event_type is not None
    assert event_type.text == "capture"
    assert event_type.get("valueURI") == "http://id.loc.gov/vocabulary/preservation/eventType/cap"
    assert event.findtext(f"{PREMIS}eventDateTime") == "2001-10-15T09:30:00Z"
    assert event.findtext(f".//{PREMIS}eventOutcome") == "warning"
    notes = [n.text for n in event.iter(f"{PREMIS}eventOutcomeDetailNote")]
    assert notes == [
        "failed requisite: http://127.0.0.1:8001/images/missing.gif (HTTP 404 Not Found)",
        "skipped requisite: http://127.0.0.1:8001/images/extra.gif (limit)",
    ]
    agent = document.find(f"{PREMIS}agent")
    assert agent is not None
    assert agent.findtext(f"{PREMIS}agentName") == "preserve"
    assert agent.findtext(f"{PREMIS}agentVersion") == __version__
    linked = event.find(f".//{PREMIS}linkingAgentIdentifierValue")
    assert linked is not None
    assert linked.text == agent.findtext(f".//{PREMIS}agentIdentifierValue")


def test_metadata_csv_names_the_seed_as_archivematica_reads_bags() -> None:
    data = build_metadata(example_facts()).files["metadata.csv"]
    assert not data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert len(rows) == 2
    header, row = rows
    assert header[0] == "filename"
    assert row[0] == "data/web/127.0.0.1+8001/index.html"
    assert all(h.startswith(("dc.", "dcterms.")) for h in header[1:])
    pairs = list(zip(header, row, strict=True))
    assert ("dc.title", "MQM - News and Statements, October 2001") in pairs
    assert ("dc.identifier", ID) in pairs
    assert ("dcterms.modified", "2001-10-14T18:02:00Z") in pairs
    assert "dcterms.created" not in header
    assert [v for h, v in pairs if h == "dc.subject"][:2] == ["MQM", "Altaf Hussain"]


def facts_for(page: RealPage) -> CaptureFacts:
    """The facts of a capture of one real page, as the capture would gather them."""
    host = re.sub(r"[^a-z0-9.]", "-", page.url.split("/")[2].lower())
    path = f"data/web/{host}/index.html"
    kind = page.content_type
    charset = re.search(r"charset=([^;\s]+)", kind)
    return CaptureFacts(
        identifier=ID,
        created=CLOCK,
        software=f"preserve/{__version__}",
        requested_url=page.url,
        final_url=page.url,
        status=200,
        response_headers=page.headers,
        media_type=kind.split(";")[0].strip(),
        page=page.body,
        http_charset=charset.group(1) if charset else None,
        size=len(page.body),
        records=(LogRecord(page.url, "seed", "captured", status=200, payload_path=path),),
        files=(PayloadFile(path, len(page.body), digests(page.body), "text/html", page.url),),
    )


def assert_well_formed_values(records: MetadataRecords, page: RealPage) -> None:
    dc = etree.fromstring(records.files["dc.xml"])
    found: dict[str, list[str]] = {}
    for child in dc:
        found.setdefault(child.tag.removeprefix(DCTERMS), []).append(child.text or "")
    assert found["title"] == [page.title]
    assert found["identifier"] == [ID]
    assert "2001-10-15T09:30:00Z" not in found.get("created", [])
    assert found["provenance"][0].startswith(f"Captured by preserve/{__version__} at 2001-10-15T")
    assert found["format"] == ["text/html"]
    assert found["type"] == ["Text"]
    for name in ("issued", "modified", "created"):
        assert all(W3CDTF.fullmatch(text) for text in found.get(name, [])), found.get(name)
    if page.language is None:
        assert "language" not in found
    else:
        assert found["language"][0] == page.language
    oai = etree.fromstring(records.files["oai_dc.xml"])
    assert oai.findtext(f"{DC}title") == page.title
    assert oai.findtext(f"{DC}identifier") == ID


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda p: p.name)
def test_every_real_page_gives_valid_records(
    page: RealPage, schemas: dict[str, etree.XMLSchema]
) -> None:
    records = build_metadata(facts_for(page))
    assert_valid(records, schemas)
    assert records.title == page.title
    assert_well_formed_values(records, page)


def facts_from_capture(result: CaptureResult) -> CaptureFacts:
    """Gather the facts of a finished capture from its records and its bag, as crawl will."""
    seed = next(r for r in result.records if r.role == "seed")
    assert seed.payload_path is not None
    body = (result.bag_path / seed.payload_path).read_bytes()
    kind = seed.content_type or ""
    charset = re.search(r"charset=([^;\s]+)", kind)
    files = tuple(
        PayloadFile(
            r.payload_path,
            r.size or 0,
            r.digests,
            (r.content_type or "").split(";")[0] or None,
            r.final_url or r.url,
        )
        for r in result.records
        if r.payload_path
    )
    return CaptureFacts(
        identifier=result.capture_id,
        created=CLOCK,
        software=f"preserve/{__version__}",
        requested_url=seed.url,
        final_url=seed.final_url or seed.url,
        status=seed.status,
        response_headers=seed.headers,
        media_type=kind.split(";")[0].strip() or None,
        page=body,
        http_charset=charset.group(1) if charset else None,
        size=seed.size,
        records=result.records,
        files=files,
    )


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda p: p.name)
def test_pages_captured_on_loopback_give_valid_records(
    page: RealPage, http: Server, tmp_path: Path, schemas: dict[str, etree.XMLSchema]
) -> None:
    kind = page.content_type
    http.route("/page", body=page.body, headers={"Content-Type": kind})
    # No requisites: these real pages name hosts beyond loopback, which tests never reach.
    options = CaptureOptions(max_requisites=0, retries=0)
    result = preserve.capture(
        http.url("/page"), tmp_path / "out", options, clock=lambda: CLOCK, new_id=lambda: UUID
    )
    facts = facts_from_capture(result)
    assert facts.page == page.body
    records = build_metadata(facts)
    assert_valid(records, schemas)
    assert records.title == page.title
    # The records the capture itself wrote into the bag.
    written = result.bag_path / "data" / "metadata"
    for name, schema in schemas.items():
        schema.assertValid(etree.parse(str(written / name)))
    assert result.title == page.title
    dc = etree.parse(str(written / "dc.xml")).getroot()
    assert dc.findtext(f"{DCTERMS}identifier") == result.capture_id
    assert dc.findtext(f"{DCTERMS}source") == http.url("/page")
    language = dc.findtext(f"{DCTERMS}language")
    assert language == page.language


HOSTILE = (
    "Bad\x00\x07 ]]> <b>&amp;</b> \u05e9\u05dc\u05d5\u05dd \u202eevil\u202c \U0001f600"
    "\nExternal-Identifier: x\r\nBagging-Date: 1999-01-01\u2028Payload-Oxum: 1.1\x85end"
)


def hostile_page() -> bytes:
    escaped = HOSTILE.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f"<html><head><title>{escaped}</title>"
        f'<meta name="description" content="{escaped.replace(chr(34), "&quot;")}">'
        '</head><body><img src="/ok.gif"><img src="/missing.gif"></body></html>'
    ).encode("utf-8", "surrogatepass")


def assert_hostile_text_is_harmless(records: MetadataRecords) -> None:
    for name in ("dc.xml", "oai_dc.xml", "premis.xml"):
        etree.fromstring(records.files[name])
    assert records.title is not None
    assert "\u05e9\u05dc\u05d5\u05dd" in records.title
    assert "\U0001f600" in records.title
    assert "]]>" in records.title
    assert "<b>&amp;</b>" in records.title
    dc = etree.fromstring(records.files["dc.xml"])
    assert dc.findtext(f"{DCTERMS}title") == records.title
    for label, value in records.bag_info:
        assert value == " ".join(value.split())
        assert value.isprintable() or "\u202e" in value, (label, value)
        assert not any(c in value for c in "\r\n\x85\u2028\u2029\x00")
    fields = [("External-Identifier", ID), *records.bag_info]
    text = format_bag_info(fields)
    lines = text.splitlines()
    assert len(lines) == len(fields)
    assert sum(line.startswith("External-Identifier:") for line in lines) == 1
    assert not any(line.startswith(("Bagging-Date:", "Payload-Oxum:")) for line in lines)
    rows = list(csv.reader(io.StringIO(records.files["metadata.csv"].decode("utf-8"))))
    assert len(rows) == 2


def test_hostile_title_from_a_page_captured_on_loopback(
    http: Server, tmp_path: Path, schemas: dict[str, etree.XMLSchema]
) -> None:
    http.route("/", body=hostile_page(), headers={"Content-Type": "text/html; charset=utf-8"})
    http.route("/ok.gif", body=b"GIF89a", headers={"Content-Type": "image/gif"})
    result = preserve.capture(
        http.url("/"), tmp_path / "out", CaptureOptions(retries=0), clock=lambda: CLOCK
    )
    records = build_metadata(facts_from_capture(result))
    assert_valid(records, schemas)
    assert_hostile_text_is_harmless(records)
    dc = etree.fromstring(records.files["dc.xml"])
    assert [e.text for e in dc.iter(f"{DCTERMS}hasPart")] == [http.url("/ok.gif")]
    premis = etree.fromstring(records.files["premis.xml"])
    assert len(premis.findall(f"{PREMIS}object")) == 2
    notes = [n.text or "" for n in premis.iter(f"{PREMIS}eventOutcomeDetailNote")]
    assert len(notes) == 1
    assert notes[0].startswith(f"failed requisite: {http.url('/missing.gif')} (")


def test_hostile_values_from_the_user(schemas: dict[str, etree.XMLSchema]) -> None:
    user = parse_user_metadata([f"title={HOSTILE}", f"description={HOSTILE}"], None)
    records = build_metadata(example_facts(), user)
    assert_valid(records, schemas)
    assert_hostile_text_is_harmless(records)


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_user_metadata_overrides_and_is_credited(
    tmp_path: Path, schemas: dict[str, etree.XMLSchema]
) -> None:
    metadata = write_json(
        tmp_path / "meta.json",
        {
            "$schema": SCHEMA_ID,
            "title": "Title from the file",
            "description": "Curated description",
            "subject": ["Pakistan -- Politics and government", "Karachi"],
            "rights": "Rights reserved by the publisher",
            "language": "en-GB",
            "isPartOf": "https://archive.example/collections/2001",
        },
    )
    user = parse_user_metadata(
        [
            "title=MQM news, October 2001",
            "DC.creator=Muttahida Quami Movement",
            "dcterms:issued=2001-10-15",
            "identifier=https://archive.example/items/42",
            "language=ur",
        ],
        metadata,
    )
    records = build_metadata(example_facts(), user)
    assert_valid(records, schemas)
    record = records.record
    assert [(v.text, v.source) for v in record.get("title")] == [("MQM news, October 2001", "--dc")]
    # The page's own title is kept, as an alternative.
    assert [v.text for v in record.get("alternative")] == [
        "MQM - News and Statements, October 2001"
    ]
    assert [v.source for v in record.get("description")] == ["--metadata"]
    assert [v.text for v in record.get("subject")] == [
        "Pakistan -- Politics and government",
        "Karachi",
    ]
    # --dc wins over the file for the same term; the capture's identifier is kept.
    assert [v.text for v in record.get("language")] == ["ur"]
    assert [v.text for v in record.get("identifier")] == [ID, "https://archive.example/items/42"]
    assert [v.text for v in record.get("issued")] == ["2001-10-15"]
    provenance = " ".join(v.text for v in record.get("provenance"))
    assert "Values supplied by the user: title (--dc), creator (--dc), subject (--metadata)" in (
        provenance
    )
    assert "isPartOf (--metadata)" in provenance
    assert records.bag_info[0] == ("Internal-Sender-Description", "MQM news, October 2001")
    assert ("DC-Issued", "2001-10-15") in records.bag_info
    rows = list(csv.reader(io.StringIO(records.files["metadata.csv"].decode("utf-8"))))
    pairs = list(zip(*rows, strict=True))
    assert ("dc.title", "MQM news, October 2001") in pairs
    assert ("dcterms.isPartOf", "https://archive.example/collections/2001") in pairs
    assert any(h == "dcterms.provenance" and "supplied by the user" in v for h, v in pairs)


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"titel": "x"}, "'titel'"),
        ({"title": ""}, "'title'"),
        ({"title": "   "}, "'title'"),
        ({"creator": 42}, "'creator'"),
        ({"subject": []}, "'subject'"),
        ({"subject": ["ok", 7]}, "'subject'"),
        ({"issued": "15/10/2001"}, "'issued'"),
        ({"issued": "2001-02-30"}, "'issued'"),
        ({"modified": "2001-10-15T09:30"}, "'modified'"),
        ({"language": "English language"}, "'language'"),
        (["title", "x"], "JSON object"),
    ],
)
def test_bad_metadata_file_names_the_field(tmp_path: Path, document: object, named: str) -> None:
    path = write_json(tmp_path / "meta.json", document)
    with pytest.raises(BadInput) as caught:
        parse_user_metadata([], path)
    assert caught.value.exit_code == 2
    assert named in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('{"title": "a", "title": "b"}', "'title' is given twice"),
        ('{"title": "a",}', "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_unusable_metadata_file(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "meta.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match=named):
        parse_user_metadata([], path)
    with pytest.raises(BadInput, match="cannot read"):
        parse_user_metadata([], tmp_path / "missing.json")
    (tmp_path / "latin1.json").write_bytes('{"title": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(BadInput, match="not UTF-8"):
        parse_user_metadata([], tmp_path / "latin1.json")


@pytest.mark.parametrize(
    ("pair", "named"),
    [
        ("titel=x", "'titel'"),
        ("title", "ELEMENT=VALUE"),
        ("title=", "empty"),
        ("issued=yesterday", "W3CDTF"),
        ("created=2001-10-15T09:30", "W3CDTF"),
        ("language=en US", "BCP 47"),
    ],
)
def test_bad_dc_pair_is_refused(pair: str, named: str) -> None:
    with pytest.raises(BadInput, match=named) as caught:
        parse_user_metadata([pair], None)
    assert caught.value.exit_code == 2


def test_dc_names_are_read_as_dcmi_terms() -> None:
    user = parse_user_metadata(
        ["DC.Title=a", "dcterms:hasPart=http://x.test/", "HASVERSION=b", " date =1990"], None
    )
    assert user.terms() == ("title", "date", "hasVersion", "hasPart")
    assert [v.text for v in user.get("date")] == ["1990"]


def test_published_schema_is_the_one_the_code_checks_with(tmp_path: Path) -> None:
    path = ROOT / "schemas" / "metadata.schema.json"
    text = json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n"
    if REGENERATE:
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text
    published = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(published)
    jsonschema.validate({"title": "x", "subject": ["a", "b"], "issued": "2001-10"}, published)


def test_record_without_a_page_still_validates(schemas: dict[str, etree.XMLSchema]) -> None:
    facts = example_facts()
    gif = facts.files[3]
    bare = CaptureFacts(
        identifier=ID,
        created=CLOCK,
        software="preserve/0.1.0",
        requested_url=gif.url or "",
        final_url=gif.url or "",
        status=200,
        response_headers=(("Content-Type", "image/gif"),),
        media_type="image/gif",
        page=None,
        http_charset=None,
        size=gif.size,
        records=(LogRecord(gif.url or "", "seed", "captured", payload_path=gif.path),),
        files=(gif,),
    )
    records = build_metadata(bare)
    assert_valid(records, schemas)
    assert records.title is None
    assert [label for label, _ in records.bag_info] == ["DC-Source"]
    dc = etree.fromstring(records.files["dc.xml"])
    assert dc.findtext(f"{DCTERMS}type") == "StillImage"
    assert dc.find(f"{DCTERMS}language") is None


URI_TEXT = st.text(
    alphabet=st.sampled_from([*"aZ09:/?#[]@!$&'()*+,;=-._~% <>\"{}|\\^`", "é", "\U0001f600"]),
    max_size=40,
)


@settings(
    deadline=None, max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=st.sampled_from(["http://", "urn:", "x:", "file:", ""]), rest=URI_TEXT)
def test_values_marked_uri_validate_as_any_uri(
    prefix: str, rest: str, schemas: dict[str, etree.XMLSchema]
) -> None:
    text = prefix + rest
    if not is_uri(text):
        return
    root = etree.Element("qualifieddc", nsmap=NSMAP)
    element = etree.SubElement(root, f"{DCTERMS}source")
    element.text = text
    element.set(XSI_TYPE, "dcterms:URI")
    schemas["dc.xml"].assertValid(root)


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=2048),
    charset=st.sampled_from([None, "utf-8", "shift_jis", "utf-16"]),
)
def test_records_of_any_bytes_are_valid(
    data: bytes, charset: str | None, schemas: dict[str, etree.XMLSchema]
) -> None:
    facts = example_facts()
    records = build_metadata(
        CaptureFacts(
            identifier=ID,
            created=CLOCK,
            software=facts.software,
            requested_url=facts.requested_url,
            final_url=facts.final_url,
            status=200,
            response_headers=(("Content-Language", "??"),),
            media_type="text/html",
            page=data,
            http_charset=charset,
            size=len(data),
            records=facts.records,
            files=facts.files,
        )
    )
    assert_valid(records, schemas)


@given(st.text())
def test_single_line_leaves_no_line_break_control_or_xml_illegal_character(value: str) -> None:
    from preserve.metadata.values import single_line

    line = single_line(value)
    assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") for c in line)
    assert line == line.strip()
    assert "  " not in line
    # Line breakers and controls become spaces, the rest of XML's illegal characters go,
    # and every other character is kept, in order.
    spaced = "".join(
        " "
        if unicodedata.category(c) in ("Cc", "Zl", "Zp")
        else ""
        if unicodedata.category(c) == "Cs" or c in "\ufffe\uffff"
        else c
        for c in value
    )
    assert line == " ".join(spaced.split())
