"""Descriptive and provenance metadata of a capture: DC, OAI-DC, PREMIS and Archivematica's CSV.

`build_metadata(facts, user)` is the one entry point: a pure function of what the capture knows
(`CaptureFacts`) and what the user said (`parse_user_metadata`), returning the bytes of each
record and the fields mirrored into bag-info.
"""

from __future__ import annotations

from dataclasses import dataclass

from preserve.metadata.archivematica import metadata_csv
from preserve.metadata.dc import qualified_dc
from preserve.metadata.extract import Extracted, extract
from preserve.metadata.facts import CaptureFacts, PayloadFile, RenderingFact
from preserve.metadata.oai_dc import oai_dc
from preserve.metadata.premis import premis_xml
from preserve.metadata.record import Record, build_record
from preserve.metadata.user import UserMetadata, parse_user_metadata
from preserve.metadata.values import Value, single_line

__all__ = [
    "CaptureFacts",
    "Extracted",
    "MetadataRecords",
    "PayloadFile",
    "Record",
    "RenderingFact",
    "UserMetadata",
    "Value",
    "build_metadata",
    "extract",
    "parse_user_metadata",
]

# With neither a payload file nor a WARC holding the seed, the row names the payload folder, as
# Archivematica's directory-level rows name a folder.
_WHOLE_PAYLOAD = "data"
# The page's dates mirrored into bag-info, each labelled by its DCMI term.
_DATE_MIRRORS = (("DC-Created", "created"), ("DC-Issued", "issued"), ("DC-Modified", "modified"))


@dataclass(frozen=True, slots=True)
class MetadataRecords:
    """The metadata of one capture: file name -> bytes, and the fields mirrored into bag-info.

    `files` holds `dc.xml`, `oai_dc.xml`, `premis.xml` and `metadata.csv`; `bag_info` the
    `(label, value)` pairs `Internal-Sender-Description`, `External-Description`, `DC-Title`,
    `DC-Source`, then the page's dates `DC-Created`, `DC-Issued` and `DC-Modified`, each
    present only when it has a value, each one line; `record` the merged description every
    file was written from.
    """

    files: dict[str, bytes]
    bag_info: tuple[tuple[str, str], ...]
    title: str | None
    record: Record


def build_metadata(facts: CaptureFacts, user: UserMetadata | None = None) -> MetadataRecords:
    """Return the metadata records of a capture, built from its facts and the user's values.

    Pure and deterministic: the same facts and user metadata give the same bytes.
    metadata.csv describes the seed's payload file or, when only the WARC holds the seed
    (`--payload warc`), the WARC file.
    """
    extracted = extract(
        facts.page,
        final_url=facts.final_url,
        requested_url=facts.requested_url,
        http_charset=facts.http_charset,
        headers=facts.response_headers,
    )
    record = build_record(facts, extracted, user)
    files = {
        "dc.xml": qualified_dc(record),
        "oai_dc.xml": oai_dc(record),
        "premis.xml": premis_xml(facts),
        "metadata.csv": metadata_csv(
            record, facts.seed_path() or facts.warc_path() or _WHOLE_PAYLOAD
        ),
    }
    title = record.first("title")
    mirrored = (
        ("Internal-Sender-Description", title),
        ("External-Description", record.first("description")),
        ("DC-Title", title),
        ("DC-Source", record.first("source")),
        *((label, record.first(term)) for label, term in _DATE_MIRRORS),
    )
    bag_info = tuple(
        (label, line) for label, value in mirrored if value and (line := single_line(value))
    )
    return MetadataRecords(files=files, bag_info=bag_info, title=title, record=record)
