"""PREMIS 3 preservation metadata of a capture (`premis.xml`): its files, the event, the agent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from preserve.metadata.facts import CaptureFacts, PayloadFile
from preserve.metadata.values import single_line, w3cdtf

PREMIS = "http://www.loc.gov/premis/v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PREMIS_XSD = "https://www.loc.gov/standards/premis/premis.xsd"
_VOCABULARY = "http://id.loc.gov/vocabulary/preservation/"
# id.loc.gov's cryptographicHashFunctions terms and labels; an algorithm it lacks keeps its name.
_HASHES = {
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "sha384": "SHA-384",
    "sha512": "SHA-512",
}
_LOCAL = "local"
# The CDXJ index beside the WARC has no registered media type; it is named by its format and
# the specification it follows, as pywb and cdxj-indexer write it.
CDXJ_SUFFIX = ".cdxj"
CDXJ_FORMAT = "CDXJ"
CDXJ_NOTE = "Crawl Index JSON, the WARC's index: https://specs.webrecorder.net/cdxj/0.1.0/"
EVENT_ID = "capture"
DERIVATION_EVENT_PREFIX = "access-copy-"


def premis_xml(facts: CaptureFacts) -> bytes:
    """Return the PREMIS 3 record of a capture as UTF-8 XML.

    One `file` object per file in `facts.files`: each captured file under `data/web/`, and
    the WARC and its CDXJ index under `data/warc/` (bag path as identifier and original
    name, the URL it came from, size, a fixity per digest, format), one capture event
    (id.loc.gov eventType `capture`) whose outcome lists the resources that failed, and the
    software agent that ran it. Each access copy in `facts.derived` is an object too, with a
    `derivation` relationship to its original (and back) and its own `modification` event.
    Identifiers are local to the file, as Archivematica expects.
    """
    root = etree.Element(f"{{{PREMIS}}}premis", nsmap={"premis": PREMIS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{PREMIS} {PREMIS_XSD}")
    root.set("version", "3.0")
    agent = facts.software
    derivations = _derivations(facts)
    for file in facts.files:
        _object(root, file, [d for d in derivations if d.source == file.path])
    for file in facts.derived:
        _object(root, file, [d for d in derivations if d.copy == file.path])
    _event(root, facts, agent)
    for derivation in derivations:
        _derivation_event(root, derivation, facts, agent)
    _agent(root, facts, agent, derivations)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{PREMIS}}}{name}")
    if text is not None:
        element.text = single_line(text)
    return element


def _authority(element: etree._Element, vocabulary: str, code: str) -> None:
    """Mark a value as the id.loc.gov term `code` of `vocabulary`."""
    element.set("authority", vocabulary)
    element.set("authorityURI", _VOCABULARY + vocabulary)
    element.set("valueURI", f"{_VOCABULARY}{vocabulary}/{code}")


def _object(
    root: etree._Element, file: PayloadFile, derivations: Sequence[_Derivation] = ()
) -> None:
    obj = _add(root, "object")
    obj.set(f"{{{XSI}}}type", "premis:file")
    identifier = _add(obj, "objectIdentifier")
    _add(identifier, "objectIdentifierType", _LOCAL)
    _add(identifier, "objectIdentifierValue", file.path)
    if file.url:
        identifier = _add(obj, "objectIdentifier")
        _add(identifier, "objectIdentifierType", "URI")
        _add(identifier, "objectIdentifierValue", file.url)
    characteristics = _add(obj, "objectCharacteristics")
    _add(characteristics, "compositionLevel", "0")
    for algorithm, digest in file.digests.items():
        fixity = _add(characteristics, "fixity")
        name = _add(fixity, "messageDigestAlgorithm", _HASHES.get(algorithm, algorithm))
        if algorithm in _HASHES:
            _authority(name, "cryptographicHashFunctions", algorithm)
        _add(fixity, "messageDigest", digest)
    _add(characteristics, "size", str(file.size))
    form = _add(characteristics, "format")
    designation = _add(form, "formatDesignation")
    if file.media_type is None and file.url is None and file.path.endswith(CDXJ_SUFFIX):
        _add(designation, "formatName", CDXJ_FORMAT)
        _add(form, "formatNote", CDXJ_NOTE)
    else:
        # PREMIS requires a format name; "unknown" says nothing stated one, without guessing.
        _add(designation, "formatName", file.media_type or "unknown")
    # Archivematica links a PREMIS object to a transferred file by its original name.
    _add(obj, "originalName", file.path)
    for derivation in derivations:
        _relationship(obj, derivation, has_source=file.source is not None)
    # A derived file was made by its derivation event alone, not captured.
    events = [] if file.source is not None else [EVENT_ID]
    for event_id in events + [d.event for d in derivations]:
        link = _add(obj, "linkingEventIdentifier")
        _add(link, "linkingEventIdentifierType", _LOCAL)
        _add(link, "linkingEventIdentifierValue", event_id)


def _event(root: etree._Element, facts: CaptureFacts, agent: str) -> None:
    event = _add(root, "event")
    identifier = _add(event, "eventIdentifier")
    _add(identifier, "eventIdentifierType", _LOCAL)
    _add(identifier, "eventIdentifierValue", EVENT_ID)
    _authority(_add(event, "eventType", "capture"), "eventType", "cap")
    _add(event, "eventDateTime", w3cdtf(facts.created))
    if facts.local:
        detail = f"read the local file {facts.requested_url} (named relative to its folder)"
    else:
        detail = f"requested {facts.requested_url}"
    if facts.final_url != facts.requested_url:
        detail += f"; final URL {facts.final_url}"
    if facts.status is not None:
        detail += f"; HTTP status {facts.status}"
    if facts.insecure:
        detail += "; TLS certificates not verified (--insecure)"
    _add(_add(event, "eventDetailInformation"), "eventDetail", detail)
    failed = [r for r in facts.records if r.outcome == "failed"]
    skipped = [r for r in facts.records if r.outcome == "skipped"]
    outcome = _add(event, "eventOutcomeInformation")
    if failed:
        _authority(_add(outcome, "eventOutcome", "warning"), "eventOutcome", "war")
    else:
        _authority(_add(outcome, "eventOutcome", "success"), "eventOutcome", "suc")
    for record in failed:
        reason = record.error or (f"HTTP {record.status}" if record.status else "failed")
        note = f"failed {record.role}: {record.url} ({reason})"
        _add(_add(outcome, "eventOutcomeDetail"), "eventOutcomeDetailNote", note)
    for record in skipped:
        note = f"skipped {record.role}: {record.url} ({record.reason or 'skipped'})"
        _add(_add(outcome, "eventOutcomeDetail"), "eventOutcomeDetailNote", note)
    link = _add(event, "linkingAgentIdentifier")
    _add(link, "linkingAgentIdentifierType", _LOCAL)
    _add(link, "linkingAgentIdentifierValue", agent)
    role = _add(link, "linkingAgentRole", "executing program")
    _authority(role, "eventRelatedAgentRole", "exe")
    for file in facts.files:
        link = _add(event, "linkingObjectIdentifier")
        _add(link, "linkingObjectIdentifierType", _LOCAL)
        _add(link, "linkingObjectIdentifierValue", file.path)
        _authority(_add(link, "linkingObjectRole", "outcome"), "eventRelatedObjectRole", "out")


def _agent(
    root: etree._Element, facts: CaptureFacts, agent: str, derivations: Sequence[_Derivation] = ()
) -> None:
    element = _add(root, "agent")
    identifier = _add(element, "agentIdentifier")
    _add(identifier, "agentIdentifierType", _LOCAL)
    _add(identifier, "agentIdentifierValue", agent)
    name, _, version = agent.partition("/")
    _add(element, "agentName", name)
    _authority(_add(element, "agentType", "software"), "agentType", "sof")
    if version:
        _add(element, "agentVersion", version)
    for event_id in [EVENT_ID] + [d.event for d in derivations]:
        link = _add(element, "linkingEventIdentifier")
        _add(link, "linkingEventIdentifierType", _LOCAL)
        _add(link, "linkingEventIdentifierValue", event_id)


@dataclass(frozen=True, slots=True)
class _Derivation:
    """One access copy made from an original: the event's identifier and both bag paths."""

    event: str
    source: str
    copy: str


def _derivations(facts: CaptureFacts) -> list[_Derivation]:
    return [
        _Derivation(f"{DERIVATION_EVENT_PREFIX}{number}", file.source, file.path)
        for number, file in enumerate(facts.derived, 1)
        if file.source is not None
    ]


def _relationship(obj: etree._Element, derivation: _Derivation, *, has_source: bool) -> None:
    """Add a derivation relationship: the copy `has source` its original, which `is source of`
    the copy; both name the event that made the copy, as PREMIS requires of derivations."""
    relationship = _add(obj, "relationship")
    _authority(_add(relationship, "relationshipType", "derivation"), "relationshipType", "der")
    if has_source:
        subtype, code, related = "has source", "hss", derivation.source
    else:
        subtype, code, related = "is source of", "iso", derivation.copy
    _authority(_add(relationship, "relationshipSubType", subtype), "relationshipSubType", code)
    identifier = _add(relationship, "relatedObjectIdentifier")
    _add(identifier, "relatedObjectIdentifierType", _LOCAL)
    _add(identifier, "relatedObjectIdentifierValue", related)
    event = _add(relationship, "relatedEventIdentifier")
    _add(event, "relatedEventIdentifierType", _LOCAL)
    _add(event, "relatedEventIdentifierValue", derivation.event)


def _derivation_event(
    root: etree._Element, derivation: _Derivation, facts: CaptureFacts, agent: str
) -> None:
    """Add the event that made an access copy: id.loc.gov `modification`, which since the
    2017 revision of the vocabulary makes a new, changed object related to its original."""
    event = _add(root, "event")
    identifier = _add(event, "eventIdentifier")
    _add(identifier, "eventIdentifierType", _LOCAL)
    _add(identifier, "eventIdentifierValue", derivation.event)
    _authority(_add(event, "eventType", "modification"), "eventType", "mod")
    _add(event, "eventDateTime", w3cdtf(facts.created))
    detail = (
        f"offline access copy {derivation.copy} made from {derivation.source}: links rewritten "
        "to lead to files in the bag, the network refused by a Content-Security-Policy; "
        "the original is unchanged"
    )
    _add(_add(event, "eventDetailInformation"), "eventDetail", detail)
    outcome = _add(event, "eventOutcomeInformation")
    _authority(_add(outcome, "eventOutcome", "success"), "eventOutcome", "suc")
    link = _add(event, "linkingAgentIdentifier")
    _add(link, "linkingAgentIdentifierType", _LOCAL)
    _add(link, "linkingAgentIdentifierValue", agent)
    _authority(_add(link, "linkingAgentRole", "executing program"), "eventRelatedAgentRole", "exe")
    for path, role, code in (
        (derivation.source, "source", "sou"),
        (derivation.copy, "outcome", "out"),
    ):
        link = _add(event, "linkingObjectIdentifier")
        _add(link, "linkingObjectIdentifierType", _LOCAL)
        _add(link, "linkingObjectIdentifierValue", path)
        _authority(_add(link, "linkingObjectRole", role), "eventRelatedObjectRole", code)
