"""User metadata: `--dc ELEMENT=VALUE` pairs and a `--metadata FILE` (JSON), checked and cleaned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from preserve.errors import BadInput
from preserve.fields import JsonProblem, read_json
from preserve.metadata.terms import DATE_TERMS, ORDER, name_pattern, term_name
from preserve.metadata.values import Value, clean_text, language_tag, parse_date

if TYPE_CHECKING:
    import jsonschema  # type: ignore[import-untyped]

SCHEMA_ID = "https://github.com/preserve-archive/preserve/blob/main/schemas/metadata.schema.json"
# What every user has, however preserve was installed: the schema's published address and the
# README section that explains it.
FORMAT_HINT = f"the file's format: README, section Metadata, and {SCHEMA_ID}"
# Dublin Core for one page is a few kilobytes; a file far larger is not a metadata file.
MAX_FILE_BYTES = 1 << 20
DC_SOURCE = "--dc"
FILE_SOURCE = "--metadata"
_W3CDTF_PATTERN = (
    r"^\d{4}(-\d{2}(-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2}))?)?)?$"
)
_LANGUAGE_PATTERN = r"^([A-Za-z]{2,8}|[xXiI])([-_][A-Za-z0-9]{1,8})*$"


def _values_schema(pattern: str | None = None, what: str | None = None) -> dict[str, object]:
    one: dict[str, object] = {"type": "string", "pattern": pattern or r"\S"}
    if what:
        one["description"] = what
    return {"oneOf": [one, {"type": "array", "items": one, "minItems": 1}]}


def _term_schema(term: str) -> dict[str, object]:
    if term in DATE_TERMS:
        return _values_schema(
            _W3CDTF_PATTERN, "W3CDTF: YYYY, YYYY-MM, YYYY-MM-DD or a date-time with a time zone"
        )
    if term == "language":
        return _values_schema(
            _LANGUAGE_PATTERN, "a BCP 47 language tag whose subtags are registered, e.g. en-GB"
        )
    return _values_schema()


SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "preserve --metadata file",
    "description": (
        "Dublin Core values that override or add to what preserve extracts from a page. "
        "Each key is a DCMI Metadata Term (title, creator, issued, hasPart, ...), in any case, "
        "bare or after dc. dc: dcterms. or dcterms: (dc.title, dcterms:alternative), as --dc "
        "reads it; each value is a non-empty string or a list of them. preserve also checks "
        "that a date exists and that a language tag's subtags are registered."
    ),
    "type": "object",
    "propertyNames": {"anyOf": [{"const": "$schema"}, {"pattern": name_pattern()}]},
    # Each term under its own name, for editors that offer names and explain values; the
    # patterns below check the same values under every other spelling of a name.
    "properties": {"$schema": {"type": "string"}, **{t: _term_schema(t) for t in ORDER}},
    "patternProperties": {
        name_pattern(): _values_schema(),
        name_pattern(tuple(t for t in ORDER if t in DATE_TERMS)): _term_schema("date"),
        name_pattern(("language",)): _term_schema("language"),
    },
}


@dataclass(frozen=True, slots=True)
class UserMetadata:
    """The values the user gave, term by term; each Value's source is `--dc` or `--metadata`."""

    elements: tuple[tuple[str, tuple[Value, ...]], ...] = ()

    def get(self, term: str) -> tuple[Value, ...]:
        """Return the user's values for `term` (empty when the user gave none)."""
        return next((values for name, values in self.elements if name == term), ())

    def terms(self) -> tuple[str, ...]:
        """Return the terms the user gave values for, in the order given."""
        return tuple(name for name, _ in self.elements)


def parse_user_metadata(dc_pairs: Sequence[str], metadata_file: Path | None) -> UserMetadata:
    """Return the user's metadata from `--dc ELEMENT=VALUE` pairs and a `--metadata` file.

    Both name terms alike (`terms.term_name`: `title`, `DC.Title`, `dcterms:alternative`). A
    term given with `--dc` replaces that term's values from the file; repeated `--dc` of one
    term add values. Raises BadInput (exit 2) naming the pair or the field that is wrong: an
    unknown term, an empty value, a date that is not W3CDTF (a date-time without a time zone
    included), a language tag that is malformed or not registered, a file that cannot be read
    or does not match `SCHEMA` (published as `schemas/metadata.schema.json`).
    """
    merged: dict[str, list[Value]] = {}
    if metadata_file is not None:
        for key, (term, texts) in _read_file(metadata_file).items():
            where = f"--metadata {metadata_file}: field {key!r}"
            merged[term] = [
                Value(_checked(term, text, where, FORMAT_HINT), FILE_SOURCE) for text in texts
            ]
    from_dc: dict[str, list[Value]] = {}
    for pair in dc_pairs:
        name, separator, text = pair.partition("=")
        if not separator:
            raise BadInput(f"--dc {pair!r}: expected ELEMENT=VALUE", hint="e.g. --dc title=…")
        found = term_name(name.strip())
        if found is None:
            raise BadInput(
                f"--dc {pair!r}: {name.strip()!r} is not a Dublin Core element or DC term",
                hint="use a DCMI term name such as title, creator, issued, hasPart",
            )
        value = _checked(found, text, f"--dc {pair!r}")
        from_dc.setdefault(found, []).append(Value(value, DC_SOURCE))
    merged.update(from_dc)
    ordered = sorted(merged.items(), key=lambda item: ORDER.index(item[0]))
    return UserMetadata(tuple((term, tuple(values)) for term, values in ordered))


def _read_file(path: Path) -> dict[str, tuple[str, list[str]]]:
    """Return each field of a --metadata file as its key -> (term, values), checked against
    SCHEMA; two keys naming one term (`title`, `dc.title`) are refused."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"cannot read --metadata {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise BadInput(f"--metadata {path}: larger than {MAX_FILE_BYTES:,} bytes", hint=FORMAT_HINT)
    try:
        document = read_json(raw, pairs=_no_duplicates)
    except JsonProblem as exc:
        raise BadInput(f"--metadata {path}: {exc}", hint=FORMAT_HINT) from exc
    except _DuplicateKey as exc:
        raise BadInput(
            f"--metadata {path}: field {exc.args[0]!r} is given twice", hint=FORMAT_HINT
        ) from exc
    # Only a --metadata file needs the JSON Schema validator, so it is loaded only then.
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        raise BadInput(f"--metadata {path}: {_describe(error)}", hint=FORMAT_HINT)
    assert isinstance(document, dict)
    fields: dict[str, tuple[str, list[str]]] = {}
    named: dict[str, str] = {}
    for key, value in document.items():
        if key == "$schema":
            continue
        term = term_name(key)
        if term is None:
            # Only a name the schema's dialect reads differently (a final newline) gets here.
            raise BadInput(f"--metadata {path}: {_not_a_term(key)}", hint=FORMAT_HINT)
        if term in named:
            raise BadInput(
                f"--metadata {path}: fields {named[term]!r} and {key!r} both give {term!r}",
                hint=FORMAT_HINT,
            )
        named[term] = key
        fields[key] = (term, [value] if isinstance(value, str) else list(value))
    return fields


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _not_a_term(key: object) -> str:
    return f"field {key!r} is not a DCMI term (such as title, dc.creator, dcterms:issued)"


def _describe(error: jsonschema.ValidationError) -> str:
    """Return a validation error as a sentence that names the field at fault."""
    if "propertyNames" in error.absolute_schema_path:
        return _not_a_term(error.instance)
    path = list(error.absolute_path)
    if not path:
        return "the file must hold one JSON object of DCMI terms"
    field = path[0]
    instance = error.instance
    if isinstance(instance, str) and not instance.strip():
        problem = "is empty"
    elif isinstance(instance, str):
        problem = f"{instance!r} does not match {error.schema.get('description') or 'its format'}"
    elif instance == []:
        problem = "is an empty list"
    else:
        problem = "must be a non-empty string or a list of them"
    return f"field {field!r} {problem}"


def _checked(term: str, text: str, where: str, hint: str | None = None) -> str:
    """Return a user's value cleaned (and normalised for dates and languages), or raise
    BadInput naming `where`, with `hint`."""
    value = clean_text(text)
    if not value:
        raise BadInput(f"{where}: the value is empty", hint=hint)
    if term == "language":
        tag = language_tag(value)
        if tag is None:
            raise BadInput(
                f"{where}: {value!r} is not a valid BCP 47 language tag (such as en-GB; "
                "the IANA Language Subtag Registry must hold each subtag)",
                hint=hint,
            )
        return tag
    if term in DATE_TERMS:
        parsed = parse_date(value)
        # parse_date keeps only the day of a date-time that states no zone; a user's value
        # must say the instant it means.
        if parsed is None or ("T" not in parsed and ":" in value):
            raise BadInput(
                f"{where}: {value!r} is not a W3CDTF date "
                "(YYYY, YYYY-MM, YYYY-MM-DD or a date-time with a time zone)",
                hint=hint,
            )
        return parsed
    return value
