"""PREMIS 3 preservation metadata of a capture (`premis.xml`): its files, the event, the agent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from preserve.metadata.facts import CaptureFacts, PayloadFile, RenderingFact
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
RENDERING_EVENT_PREFIX = "rendering-"


def premis_xml(facts: CaptureFacts) -> bytes:
    """Return the PREMIS 3 record of a capture as UTF-8 XML.

    One `file` object per file in `facts.files`: each captured file under `data/web/`, and
    the WARC and its CDXJ index under `data/warc/` (bag path as identifier and original
    name, the URL it came from, size, a fixity per digest, format), one capture event
    (id.loc.gov eventType `capture`) whose outcome lists the resources that failed, and the
    software agent that ran it. Each access copy in `facts.derived` is an object too, with a
    `derivation` relationship to its original (and back) and its own `modification` event.
    Each page rendered in a browser (`facts.renderings`) has a `creation` event whose agent
    is that browser, with its derivatives as objects related to the page the same way.
    Identifiers are local to the file, as Archivematica expects.
    """
    root = etree.Element(f"{{{PREMIS}}}premis", nsmap={"premis": PREMIS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{PREMIS} {PREMIS_XSD}")
    root.set("version", "3.0")
    agent = facts.software
    derivations = _derivations(facts)
    for file in facts.files:
        _object(root, file, [d for d in derivations if d.source == file.path])
    rendered = [file for rendering in facts.renderings for file in rendering.files]
    for file in (*facts.derived, *rendered):
        _object(root, file, [d for d in derivations if file.path in d.copies])
    _event(root, facts, agent)
    for derivation in derivations:
        _derivation_event(root, derivation, facts)
    for name in dict.fromkeys([agent] + [d.agent for d in derivations]):
        _agent(root, name, [d for d in derivations if d.agent == name], capture=name == agent)
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
        if file.source is not None:
            _relationship(obj, derivation, derivation.source, has_source=True)
        else:
            for copy in derivation.copies:
                _relationship(obj, derivation, copy, has_source=False)
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
    root: etree._Element, agent: str, derivations: Sequence[_Derivation], *, capture: bool
) -> None:
    """Add a software agent (`preserve/0.1.0`, `Chromium 156.0…`) and the events it ran."""
    element = _add(root, "agent")
    identifier = _add(element, "agentIdentifier")
    _add(identifier, "agentIdentifierType", _LOCAL)
    _add(identifier, "agentIdentifierValue", agent)
    name, _, version = agent.partition("/") if "/" in agent else agent.partition(" ")
    _add(element, "agentName", name)
    _authority(_add(element, "agentType", "software"), "agentType", "sof")
    if version:
        _add(element, "agentVersion", version)
    for event_id in [EVENT_ID] * capture + [d.event for d in derivations]:
        link = _add(element, "linkingEventIdentifier")
        _add(link, "linkingEventIdentifierType", _LOCAL)
        _add(link, "linkingEventIdentifierValue", event_id)


@dataclass(frozen=True, slots=True)
class _Derivation:
    """Files made from an original: the event, its type, the agent, both ends, what it says."""

    event: str
    source: str
    copies: tuple[str, ...]
    agent: str
    detail: str
    kind: tuple[str, str] = ("modification", "mod")
    notes: tuple[str, ...] = ()


def _derivations(facts: CaptureFacts) -> list[_Derivation]:
    made = [
        _Derivation(
            f"{DERIVATION_EVENT_PREFIX}{number}",
            file.source,
            (file.path,),
            facts.software,
            f"offline access copy {file.path} made from {file.source}: links rewritten to lead "
            "to files in the bag, the network refused by a Content-Security-Policy; the "
            "original is unchanged",
        )
        for number, file in enumerate(facts.derived, 1)
        if file.source is not None
    ]
    for number, rendering in enumerate(facts.renderings, 1):
        made.append(_rendering(f"{RENDERING_EVENT_PREFIX}{number}", rendering))
    return made


def _rendering(event: str, rendering: RenderingFact) -> _Derivation:
    """Return the derivation of one page rendered in a browser (a `creation` event)."""
    made = ", ".join(file.path for file in rendering.files) or "nothing"
    detail = (
        f"{rendering.url} ({rendering.source}) loaded in headless {rendering.agent} with every "
        f"request answered from this capture, left to go quiet, scrolled to its end and "
        f"stopped; made {made}; the original is unchanged"
    )
    paths = tuple(file.path for file in rendering.files)
    return _Derivation(
        event, rendering.source, paths, rendering.agent, detail, ("creation", "cre"),
        rendering.notes,
    )  # fmt: skip


def _relationship(
    obj: etree._Element, derivation: _Derivation, related: str, *, has_source: bool
) -> None:
    """Add a derivation relationship: a copy `has source` its original, which `is source of`
    the copy; both name the event that made the copy, as PREMIS requires of derivations."""
    relationship = _add(obj, "relationship")
    _authority(_add(relationship, "relationshipType", "derivation"), "relationshipType", "der")
    if has_source:
        subtype, code = "has source", "hss"
    else:
        subtype, code = "is source of", "iso"
    _authority(_add(relationship, "relationshipSubType", subtype), "relationshipSubType", code)
    identifier = _add(relationship, "relatedObjectIdentifier")
    _add(identifier, "relatedObjectIdentifierType", _LOCAL)
    _add(identifier, "relatedObjectIdentifierValue", related)
    event = _add(relationship, "relatedEventIdentifier")
    _add(event, "relatedEventIdentifierType", _LOCAL)
    _add(event, "relatedEventIdentifierValue", derivation.event)


def _derivation_event(root: etree._Element, derivation: _Derivation, facts: CaptureFacts) -> None:
    """Add the event that made derivatives of an original: id.loc.gov `modification` for an
    access copy (since the 2017 revision, a new, changed object related to its original),
    `creation` for what a browser rendered. Its outcome is `warning` when there are notes,
    `fail` when nothing was made."""
    event = _add(root, "event")
    identifier = _add(event, "eventIdentifier")
    _add(identifier, "eventIdentifierType", _LOCAL)
    _add(identifier, "eventIdentifierValue", derivation.event)
    kind, code = derivation.kind
    _authority(_add(event, "eventType", kind), "eventType", code)
    _add(event, "eventDateTime", w3cdtf(facts.created))
    _add(_add(event, "eventDetailInformation"), "eventDetail", derivation.detail)
    outcome = _add(event, "eventOutcomeInformation")
    if not derivation.copies:
        _authority(_add(outcome, "eventOutcome", "fail"), "eventOutcome", "fai")
    elif derivation.notes:
        _authority(_add(outcome, "eventOutcome", "warning"), "eventOutcome", "war")
    else:
        _authority(_add(outcome, "eventOutcome", "success"), "eventOutcome", "suc")
    for note in derivation.notes:
        _add(_add(outcome, "eventOutcomeDetail"), "eventOutcomeDetailNote", note)
    link = _add(event, "linkingAgentIdentifier")
    _add(link, "linkingAgentIdentifierType", _LOCAL)
    _add(link, "linkingAgentIdentifierValue", derivation.agent)
    _authority(_add(link, "linkingAgentRole", "executing program"), "eventRelatedAgentRole", "exe")
    ends = [(derivation.source, "source", "sou")]
    ends += [(copy, "outcome", "out") for copy in derivation.copies]
    for path, role, code in ends:
        link = _add(event, "linkingObjectIdentifier")
        _add(link, "linkingObjectIdentifierType", _LOCAL)
        _add(link, "linkingObjectIdentifierValue", path)
        _authority(_add(link, "linkingObjectRole", role), "eventRelatedObjectRole", code)
