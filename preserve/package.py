"""The last step of a capture: logs, metadata records and tag files written into the staging bag."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from preserve._version import __version__
from preserve.bag import PayloadWriter
from preserve.bag.profile import check_capture_options, load_profile
from preserve.errors import BadInput, PackagingFailed
from preserve.metadata import (
    CaptureFacts,
    MetadataRecords,
    PayloadFile,
    UserMetadata,
    build_metadata,
)
from preserve.models import CaptureOptions, FetchResult, LogRecord
from preserve.report import capture_log

PROFILE_IDENTIFIER = (
    "https://github.com/preserve-archive/preserve/blob/main/schemas/bagit-profile.json"
)
"""The BagIt-Profile-Identifier of every bag preserve makes: `schemas/bagit-profile.json`."""

METADATA_FILES = ("dc.xml", "oai_dc.xml", "premis.xml", "metadata.csv")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Pages larger than this are stored but not read for metadata: the parser holds them whole.
PARSE_LIMIT = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SeedOutcome:
    """What the capture learned about its seed: the fetch, its record, and how URLs are shown."""

    requested_url: str
    final_url: str
    result: FetchResult | None
    record: LogRecord | None
    local: bool


def media_type(content_type: str | None) -> str:
    """Return the media type of a Content-Type value, lower case, without parameters."""
    return (content_type or "").split(";")[0].strip().lower()


def http_charset(content_type: str | None) -> str | None:
    """Return the charset parameter of a Content-Type value, if it has one."""
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def payload_files(records: Sequence[LogRecord]) -> tuple[PayloadFile, ...]:
    """Return each captured file under data/web/ once, in the order first captured."""
    files: dict[str, PayloadFile] = {}
    for record in records:
        path = record.payload_path
        if record.outcome != "captured" or path is None or path in files:
            continue
        files[path] = PayloadFile(
            path=path,
            size=record.size or 0,
            digests=dict(record.digests),
            media_type=media_type(record.content_type) or None,
            url=record.final_url or record.url,
        )
    return tuple(files.values())


def seed_facts(
    bag_dir: Path,
    seed: SeedOutcome,
    records: Sequence[LogRecord],
    *,
    identifier: str,
    created: datetime,
    insecure: bool,
) -> CaptureFacts:
    """Return what the metadata records state about the capture, read from the staging bag."""
    record = seed.record
    result = seed.result
    final = result.final if result is not None else None
    content_type = record.content_type if record is not None else None
    kind = media_type(content_type) or None
    stored = record.payload_path if record is not None else None
    if kind is None and seed.local and stored and stored.lower().endswith((".html", ".htm")):
        kind = "text/html"
    page = None
    size = record.size if record is not None else None
    if stored and kind in HTML_TYPES and size is not None and size <= PARSE_LIMIT:
        page = (bag_dir / stored).read_bytes()
    return CaptureFacts(
        identifier=identifier,
        created=created,
        software=f"preserve/{__version__}",
        requested_url=seed.requested_url,
        final_url=seed.final_url,
        status=result.status if result is not None else None,
        response_headers=final.response_headers if final is not None else (),
        media_type=kind,
        page=page,
        http_charset=http_charset(content_type),
        size=size,
        records=tuple(records),
        files=payload_files(records),
        insecure=insecure,
    )


def finish_bag(
    writer: PayloadWriter,
    *,
    options: CaptureOptions,
    seed: SeedOutcome,
    records: Sequence[LogRecord],
    url_map: Sequence[tuple[str, str]],
    created: datetime,
    capture_id: uuid.UUID,
    user: UserMetadata | None,
    profiles: Sequence[str] = (PROFILE_IDENTIFIER,),
) -> MetadataRecords:
    """Write the logs, the metadata records and the tag files; return the metadata written.

    Raises PackagingFailed when a file cannot be written.
    """
    identifier = f"urn:uuid:{capture_id}"
    writer.write_bytes("data/logs/capture-log.jsonl", capture_log(records))
    tsv = "".join(f"{_tsv(url)}\t{path}\n" for url, path in url_map)
    writer.write_bytes("data/logs/urls.tsv", ("url\tpath\n" + tsv).encode("utf-8"))
    facts = seed_facts(
        writer.bag_dir,
        seed,
        records,
        identifier=identifier,
        created=created,
        insecure=options.insecure,
    )
    metadata = build_metadata(facts, user)
    tag_files: dict[str, bytes] = {}
    for name, data in metadata.files.items():
        if options.metadata_location == "tag":
            tag_files[f"metadata/{name}"] = data
        else:
            writer.write_bytes(f"data/metadata/{name}", data)
    try:
        writer.finish(
            bag_info_fields(options, metadata, identifier, seed.requested_url, created, profiles),
            tag_files=tag_files,
        )
    except OSError as exc:
        raise PackagingFailed(f"cannot write the bag: {exc.strerror or exc}") from exc
    return metadata


def bag_info_fields(
    options: CaptureOptions,
    metadata: MetadataRecords,
    identifier: str,
    seed_url: str,
    created: datetime,
    profiles: Sequence[str] = (PROFILE_IDENTIFIER,),
) -> list[tuple[str, str]]:
    """Return bag-info's fields in the order of the product contract.

    `Payload-Oxum` and `Bag-Size` are placeholders the bag writer fills in.
    """
    mirrored = dict(metadata.bag_info)
    fields: list[tuple[str, str]] = [
        ("Bagging-Date", created.strftime("%Y-%m-%d")),
        ("Payload-Oxum", ""),
        ("Bag-Size", ""),
        ("Bag-Software-Agent", f"preserve/{__version__}"),
        ("External-Identifier", identifier),
        ("Internal-Sender-Identifier", seed_url),
    ]
    if "Internal-Sender-Description" in mirrored:
        fields.append(("Internal-Sender-Description", mirrored["Internal-Sender-Description"]))
    fields += [("BagIt-Profile-Identifier", profile) for profile in profiles]
    info = options.bag_info
    for label, value in (
        ("Source-Organization", info.source_organization),
        ("Contact-Name", info.contact_name),
        ("Contact-Email", info.contact_email),
        ("Contact-Phone", info.contact_phone),
        ("Organization-Address", info.organization_address),
    ):
        if value:
            fields.append((label, value))
    fields += [(k, v) for k, v in metadata.bag_info if k != "Internal-Sender-Description"]
    fields.extend(info.extra)
    return fields


OWN_LABELS = (
    "Bagging-Date",
    "Payload-Oxum",
    "Bag-Size",
    "Bag-Software-Agent",
    "External-Identifier",
    "Internal-Sender-Identifier",
)


def profile_identifiers(options: CaptureOptions) -> list[str]:
    """Return the BagIt-Profile-Identifier values the capture's bag will declare.

    preserve's own profile requires sha512 and sha256 manifests, so a bag without both does
    not declare it. With `options.profile`, the options are checked against that profile
    first. Raises BadInput, with every reason, when they do not meet it.
    """
    identifiers = []
    if {"sha512", "sha256"} <= set(options.checksums):
        identifiers.append(PROFILE_IDENTIFIER)
    if options.profile is None:
        return identifiers
    profile = load_profile(options.profile)
    info = options.bag_info
    given: list[str | tuple[str, str]] = list(OWN_LABELS)
    for label, value in (
        ("Source-Organization", info.source_organization),
        ("Contact-Name", info.contact_name),
        ("Contact-Email", info.contact_email),
        ("Contact-Phone", info.contact_phone),
        ("Organization-Address", info.organization_address),
    ):
        if value:
            given.append((label, value))
    given += list(info.extra)
    tag_files = (
        [f"metadata/{name}" for name in METADATA_FILES]
        if options.metadata_location == "tag"
        else []
    )
    problems = check_capture_options(
        profile, options.checksums, given, options.serialize, tag_files=tag_files
    )
    if problems:
        raise BadInput(
            f"the options do not meet the profile {profile.identifier}: " + "; ".join(problems)
        )
    if profile.identifier not in identifiers:
        identifiers.append(profile.identifier)
    return identifiers


def _tsv(text: str) -> str:
    return text.replace("\t", "%09").replace("\n", "%0A").replace("\r", "%0D")
