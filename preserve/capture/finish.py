"""The last step of a capture: logs, metadata records and tag files written into the staging bag."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from preserve._version import __version__
from preserve.access import CaptureInfo, build_access_copy
from preserve.access.rendered import LABELS, RENDERED_KINDS, RenderedLink, RenderedPage
from preserve.bag import PayloadWriter
from preserve.bag.conformance import require_capture_options
from preserve.bag.info import OWN_LABELS
from preserve.bag.profile import load_profile
from preserve.discover import PARSE_LIMIT
from preserve.errors import PackagingFailed
from preserve.metadata import (
    CaptureFacts,
    MetadataRecords,
    PayloadFile,
    RenderingFact,
    UserMetadata,
    build_metadata,
)
from preserve.models import BagInfo, CaptureOptions, FetchResult, LogRecord
from preserve.pausepoint import pause_point
from preserve.report import capture_log
from preserve.webdoc import HTML_TYPES, media_type, parse_content_type

PROFILE_IDENTIFIER = (
    "https://github.com/preserve-archive/preserve/blob/main/schemas/bagit-profile.json"
)
"""The BagIt-Profile-Identifier of every bag preserve makes: `schemas/bagit-profile.json`."""

METADATA_FILES = ("dc.xml", "oai_dc.xml", "premis.xml", "metadata.csv")
_RENDERED_LABELS = {media: LABELS[kind] for kind, _suffix, media in RENDERED_KINDS}


@dataclass(frozen=True, slots=True)
class SeedOutcome:
    """What the capture learned about its seed: the fetch, its record, and how URLs are shown."""

    requested_url: str
    final_url: str
    result: FetchResult | None
    record: LogRecord | None
    local: bool
    page_file: Path | None = None
    """The seed's decoded bytes when no payload file holds them (`--payload warc`)."""


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


def write_access_copy(
    writer: PayloadWriter,
    records: Sequence[LogRecord],
    url_map: Sequence[tuple[str, str]],
    info: CaptureInfo,
    renderings: Sequence[RenderingFact] | None = None,
) -> tuple[PayloadFile, ...]:
    """Write the offline access copy under data/access/; return its files made from originals.

    The originals under data/web/ are read, never written. The index page is written but not
    returned: it has no original. With `renderings` (--browser), it links each page's
    rendered derivatives and says what the browser noted.
    """

    def read(path: str) -> bytes:
        return (writer.bag_dir / path).read_bytes()

    rendered = None
    if renderings is not None:
        rendered = {
            rendering.source: RenderedPage(
                tuple(
                    RenderedLink(_RENDERED_LABELS.get(file.media_type or "", "file"), file.path)
                    for file in rendering.files
                ),
                rendering.notes,
            )
            for rendering in renderings
        }
    derived = []
    for file in build_access_copy(records, url_map, read, info, rendered):
        digests = writer.write_bytes(file.path, file.data)
        if file.source is not None:
            derived.append(
                PayloadFile(file.path, len(file.data), digests, file.media_type, None, file.source)
            )
    return tuple(derived)


def seed_facts(
    bag_dir: Path,
    seed: SeedOutcome,
    records: Sequence[LogRecord],
    *,
    identifier: str,
    created: datetime,
    insecure: bool,
    extra_files: Sequence[PayloadFile] = (),
) -> CaptureFacts:
    """Return what the metadata records state about the capture, read from the staging bag.

    `extra_files` (the WARC and its index) are described after the captured files.
    """
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
    source = bag_dir / stored if stored else seed.page_file
    if source is not None and kind in HTML_TYPES and size is not None and size <= PARSE_LIMIT:
        page = source.read_bytes()
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
        http_charset=parse_content_type(content_type).charset,
        size=size,
        records=tuple(records),
        files=payload_files(records) + tuple(extra_files),
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
    bag_name: str,
    user: UserMetadata | None,
    profiles: Sequence[str] = (PROFILE_IDENTIFIER,),
    warc_files: Sequence[PayloadFile] = (),
    warc_map: Sequence[tuple[str, str, int]] = (),
    renderings: Sequence[RenderingFact] = (),
) -> MetadataRecords:
    """Write the logs, the metadata records and the tag files; return the metadata written.

    `warc_files` (the WARC and its index, already in the bag) are described in PREMIS. With
    `--payload warc`, urls.tsv maps each URL to the WARC and the offset of its record
    (`warc_map`) instead of to a payload file. Unless `--no-access` or `--payload warc` (no
    files to open), the access copy is written first and urls.tsv's third column names the
    access copy of each URL's file. `renderings` (--browser) are the pages rendered, whose
    derivatives are in the bag already: the index page links them and PREMIS describes them.
    Raises PackagingFailed when a file cannot be written.
    """
    identifier = f"urn:uuid:{capture_id}"
    derived: tuple[PayloadFile, ...] = ()
    if options.access and options.payload != "warc":
        info = CaptureInfo(identifier, seed.requested_url, created, bag_name)
        shown = renderings if options.browser else None
        derived = write_access_copy(writer, records, url_map, info, shown)
    writer.write_bytes("data/logs/capture-log.jsonl", capture_log(records))
    if options.payload == "warc":
        tsv = "".join(f"{_tsv(url)}\t{path}\t{offset}\n" for url, path, offset in warc_map)
        writer.write_bytes("data/logs/urls.tsv", ("url\tpath\toffset\n" + tsv).encode("utf-8"))
    else:
        copies = {file.source: file.path for file in derived}
        tsv = "".join(f"{_tsv(url)}\t{path}\t{copies.get(path, '')}\n" for url, path in url_map)
        writer.write_bytes("data/logs/urls.tsv", ("url\tpath\taccess\n" + tsv).encode("utf-8"))
    facts = seed_facts(
        writer.bag_dir,
        seed,
        records,
        identifier=identifier,
        created=created,
        insecure=options.insecure,
        extra_files=warc_files,
    )
    metadata = build_metadata(replace(facts, derived=derived, renderings=tuple(renderings)), user)
    tag_files: dict[str, bytes] = {}
    for name, data in metadata.files.items():
        if options.metadata_location == "tag":
            tag_files[f"metadata/{name}"] = data
        else:
            writer.write_bytes(f"data/metadata/{name}", data)
    pause_point("writing")
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
    fields += sender_fields(info)
    fields += [(k, v) for k, v in metadata.bag_info if k != "Internal-Sender-Description"]
    fields.extend(info.extra)
    return fields


def sender_fields(info: BagInfo) -> list[tuple[str, str]]:
    """Return the bag-info fields the user gave about the sender, in the contract's order."""
    return [
        (label, value)
        for label, value in (
            ("Source-Organization", info.source_organization),
            ("Contact-Name", info.contact_name),
            ("Contact-Email", info.contact_email),
            ("Contact-Phone", info.contact_phone),
            ("Organization-Address", info.organization_address),
        )
        if value
    ]


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
    given += sender_fields(info)
    given += list(info.extra)
    tag_files = (
        [f"metadata/{name}" for name in METADATA_FILES]
        if options.metadata_location == "tag"
        else []
    )
    require_capture_options(
        profile, options.checksums, given, options.serialize, tag_files=tag_files
    )
    if profile.identifier not in identifiers:
        identifiers.append(profile.identifier)
    return identifiers


def _tsv(text: str) -> str:
    return text.replace("\t", "%09").replace("\n", "%0A").replace("\r", "%0D")
