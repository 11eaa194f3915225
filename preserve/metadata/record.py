"""The one description of a capture that every record is written from: extracted, stated, given."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from preserve.metadata.extract import Extracted
from preserve.metadata.facts import CaptureFacts
from preserve.metadata.terms import ORDER, scheme_for
from preserve.metadata.user import DC_SOURCE, FILE_SOURCE, UserMetadata
from preserve.metadata.values import Value, clean_text, dcmi_type, media_type, w3cdtf

CAPTURE = "capture"
CAPTURE_LOG = "capture log"
# Facts of the capture itself: the user may add to them, never replace them, so the record
# always says what was captured, how, and under which identifier.
FACT_TERMS = frozenset({"identifier", "format", "extent", "hasPart", "references", "provenance"})
# Terms whose values the capture states itself: their source is the capture, not worth a
# "from" of their own in the provenance statements.
_CAPTURE_STATED = ("identifier", "type", "extent", "hasPart", "references")
_USER_SOURCES = (DC_SOURCE, FILE_SOURCE)


@dataclass(frozen=True, slots=True)
class Record:
    """A Dublin Core description: each term with its values, in the order of `terms.ORDER`."""

    elements: tuple[tuple[str, tuple[Value, ...]], ...]

    def get(self, term: str) -> tuple[Value, ...]:
        """Return the values of `term` (empty if it has none)."""
        return next((values for name, values in self.elements if name == term), ())

    def first(self, term: str) -> str | None:
        """Return the first value of `term` as text, or None."""
        values = self.get(term)
        return values[0].text if values else None


def build_record(
    facts: CaptureFacts, extracted: Extracted, user: UserMetadata | None = None
) -> Record:
    """Return the description of a capture: the user's values over what the page stated.

    The user's values replace the extracted values of a term, except for the capture's own
    facts (identifier, format, extent, hasPart, references, provenance), which they add to.
    The page's dates (created, issued, modified) are the page's or its server's; the capture's
    own time is stated in `provenance` only, so no date term is ever the capture's.
    When the user gives a title, the page's titles are kept as `alternative` (unless the user
    gives alternatives too). The `provenance` statements say where every value came from.
    """
    user = user or UserMetadata()
    terms: dict[str, list[Value]] = {name: list(values) for name, values in extracted.elements()}
    for name, values in _capture_values(facts):
        terms[name] = values
    for name, given in user.elements:
        if name in FACT_TERMS:
            terms[name] = _unique([*terms.get(name, []), *given])
            continue
        if name == "title" and "alternative" not in user.terms():
            kept = [*terms.get("title", []), *terms.get("alternative", [])]
            titles = {value.text for value in given}
            terms["alternative"] = _unique(v for v in kept if v.text not in titles)
        terms[name] = list(given)
    terms["provenance"] = [*_provenance(facts, terms), *terms.get("provenance", [])]
    elements = []
    for name in ORDER:
        values = _unique(
            Value(text, value.source, scheme_for(name, text))
            for value in terms.get(name, [])
            if (text := clean_text(value.text))
        )
        if values:
            elements.append((name, tuple(values)))
    return Record(tuple(elements))


def _capture_values(facts: CaptureFacts) -> list[tuple[str, list[Value]]]:
    """Return the terms the capture itself states: identifier, type, format, extent, links."""
    media = media_type(facts.media_type)
    out = [
        ("identifier", [Value(facts.identifier, CAPTURE)]),
        ("type", [Value(dcmi_type(media), CAPTURE)]),
    ]
    if media:
        # A local file has no Content-Type: the capture named its type from the file name.
        origin = "the file name's extension" if facts.local else "HTTP Content-Type"
        out.append(("format", [Value(media, origin)]))
    if facts.size is not None:
        out.append(("extent", [Value(f"{facts.size} bytes", CAPTURE)]))
    seed = {facts.requested_url, facts.final_url}
    captured = [r for r in facts.records if r.outcome == "captured" and r.role != "seed"]
    # The log's depth says whose a resource is: requisites keep their page's depth and frames
    # their parent's, so depth 0 is the seed page itself; what it links to is at depth 1.
    parts = [r for r in captured if r.role in ("requisite", "frame") and r.depth == 0]
    linked = [r for r in captured if r.role in ("page", "media") and r.depth == 1]
    for term, records in (("hasPart", parts), ("references", linked)):
        values = [Value(r.final_url or r.url, CAPTURE_LOG) for r in records]
        out.append((term, [value for value in values if value.text not in seed]))
    return out


def _provenance(facts: CaptureFacts, terms: dict[str, list[Value]]) -> list[Value]:
    """Return statements of how the capture was made and where each value came from."""
    when = w3cdtf(facts.created)
    if facts.local:
        how = (
            f"Captured by {facts.software} at {when} from the local file {facts.requested_url}"
            " (its path relative to the seed's folder; no HTTP took place)"
        )
    else:
        how = f"Captured by {facts.software} at {when} from {facts.requested_url}"
    if facts.final_url != facts.requested_url:
        how += f", redirected to {facts.final_url}"
    if facts.status is not None:
        how += f", HTTP status {facts.status}"
    statements = [how + "."]
    others = [record for record in facts.records if record.role != "seed"]
    if others:
        counts = dict.fromkeys(("captured", "failed", "skipped"), 0)
        for record in others:
            counts[record.outcome] += 1
        statements.append(
            "Other resources of the capture: "
            + ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
            + " (see data/logs/capture-log.jsonl)."
        )
    if facts.insecure:
        statements.append("TLS certificates were not verified (--insecure).")
    stated = []
    given = []
    for name in ORDER:
        values = terms.get(name, [])
        sources = _unique_text(v.source for v in values if v.source not in _USER_SOURCES)
        if sources and name not in _CAPTURE_STATED:
            stated.append(f"{name} from {' and '.join(sources)}")
        users = _unique_text(v.source for v in values if v.source in _USER_SOURCES)
        if users:
            given.append(f"{name} ({' and '.join(users)})")
    if stated:
        whose = "the page or its file" if facts.local else "the page or its server"
        statements.append(f"Values stated by {whose}: " + "; ".join(stated) + ".")
    if given:
        statements.append("Values supplied by the user: " + ", ".join(given) + ".")
    return [Value(text, CAPTURE) for text in statements]


def _unique(values: Iterable[Value]) -> list[Value]:
    """Return `values` without repeats of the same text, first kept."""
    seen: set[str] = set()
    out = []
    for value in values:
        if value.text not in seen:
            seen.add(value.text)
            out.append(value)
    return out


def _unique_text(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(texts))
