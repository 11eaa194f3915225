"""The DCMI Metadata Terms a record may hold: their order, schemes and simple-DC equivalents."""

from __future__ import annotations

import re

from preserve.metadata.values import DCMI_TYPES, is_uri, language_tag, media_type, parse_date

# The fifteen elements of simple Dublin Core, in the order oai_dc and DCMI list them.
SIMPLE = (
    "title",
    "creator",
    "subject",
    "description",
    "publisher",
    "contributor",
    "date",
    "type",
    "format",
    "identifier",
    "source",
    "language",
    "relation",
    "coverage",
    "rights",
)

# Each refinement of dcterms.xsd (2008-02-11) and the simple element it refines; None for the
# terms that refine none (they have no place in simple Dublin Core).
REFINES: dict[str, str | None] = {
    "alternative": "title",
    "abstract": "description",
    "tableOfContents": "description",
    "issued": "date",
    "modified": "date",
    "created": "date",
    "valid": "date",
    "available": "date",
    "dateAccepted": "date",
    "dateCopyrighted": "date",
    "dateSubmitted": "date",
    "extent": "format",
    "medium": "format",
    "bibliographicCitation": "identifier",
    "isVersionOf": "relation",
    "hasVersion": "relation",
    "isReplacedBy": "relation",
    "replaces": "relation",
    "isRequiredBy": "relation",
    "requires": "relation",
    "isPartOf": "relation",
    "hasPart": "relation",
    "isReferencedBy": "relation",
    "references": "relation",
    "isFormatOf": "relation",
    "hasFormat": "relation",
    "conformsTo": "relation",
    "spatial": "coverage",
    "temporal": "coverage",
    "accessRights": "rights",
    "license": "rights",
    "audience": None,
    "mediator": None,
    "educationLevel": None,
    "accrualMethod": None,
    "accrualPeriodicity": None,
    "accrualPolicy": None,
    "instructionalMethod": None,
    "provenance": None,
    "rightsHolder": None,
}

# The order elements appear in a record: each simple element followed by its refinements,
# then the terms that refine none.
ORDER: tuple[str, ...] = tuple(
    name
    for simple in SIMPLE
    for name in (simple, *(term for term, base in REFINES.items() if base == simple))
) + tuple(term for term, base in REFINES.items() if base is None)

TERMS: frozenset[str] = frozenset(ORDER)
_BY_LOWER = {term.lower(): term for term in ORDER}

DATE_TERMS = frozenset({"date", *(term for term, base in REFINES.items() if base == "date")})
URI_TERMS = frozenset(
    {"identifier", "source", "relation", "license"}
    | {term for term, base in REFINES.items() if base == "relation"}
)


# What a term's name may start with: HTML's `DC.title`, Archivematica's `dc.title` and
# `dcterms.alternative`, XML's `dc:title` and `dcterms:alternative`; any case.
PREFIXES = ("dcterms.", "dcterms:", "dc.", "dc:")


def term_name(name: str) -> str | None:
    """Return the DCMI term a name means (`DC.Title`, `dcterms:hasPart`, `haspart`), or None.

    The one reader of term names, for `--dc`, `--metadata` files and the published schema
    (`name_pattern` matches exactly the names it accepts): a term in any case, after one of
    `PREFIXES`; nothing else (no spaces, no non-ASCII look-alikes).
    """
    if not name.isascii():
        return None
    key = name.lower()
    for prefix in PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return _BY_LOWER.get(key)


def name_pattern(terms: tuple[str, ...] = ORDER) -> str:
    """Return a regular expression (JSON Schema's dialect) matching each name of `terms`
    that `term_name` accepts."""
    prefix = "(?:" + _any_case("dc") + "(?:" + _any_case("terms") + ")?[.:])?"
    names = "|".join(_any_case(term) for term in terms)
    return f"^{prefix}(?:{names})$"


def _any_case(word: str) -> str:
    """Return a pattern matching `word` in any case, without flags (JSON Schema has none)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def simple_element(term: str) -> str | None:
    """Return the simple DC element a term is written as in oai_dc, or None if it has none."""
    return term if term in SIMPLE else REFINES.get(term)


def scheme_for(term: str, text: str) -> str | None:
    """Return the encoding scheme `text` satisfies as a value of `term`, or None."""
    if term in DATE_TERMS:
        return "W3CDTF" if parse_date(text) == text else None
    if term == "language":
        return "RFC4646" if language_tag(text) == text else None
    if term == "format":
        return "IMT" if media_type(text) == text else None
    if term == "type":
        return "DCMIType" if text in DCMI_TYPES else None
    if term in URI_TERMS:
        return "URI" if is_uri(text) else None
    return None
