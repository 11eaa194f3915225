"""A manifest row as the batch keeps it, and the capture options it asks for.

A Row is what the manifest reader returns for one seed, already checked: its identifier, URL,
bag name, Dublin Core and bag-info values, and per-row capture options. The journal stores it
as JSON; a worker turns it into the CaptureOptions of its capture with `row_options`, where
the row's values win over the command line's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from preserve.metadata.terms import term_name
from preserve.models import BagInfo, CaptureOptions

# bag-info labels that have options of their own (`--source-organization`, ...).
_BAG_INFO_FIELDS: dict[str, str] = {
    "source-organization": "source_organization",
    "contact-name": "contact_name",
    "contact-email": "contact_email",
    "contact-phone": "contact_phone",
    "organization-address": "organization_address",
}

ROW_OPTIONS: dict[str, type] = {
    "depth": int,
    "scope": str,
    "include": tuple,
    "exclude": tuple,
    "payload": str,
    "browser": bool,
    "max_pages": int,
    "max_size": int,
    "max_bytes": int,
    "strict": bool,
    "access": bool,
    "linked_media": bool,
    "ignore_robots": bool,
    "serialize": str,
    "metadata_location": str,
}
"""The capture options a row may set (CaptureOptions field names), with the type of their value."""


@dataclass(frozen=True, slots=True)
class Row:
    """One seed of a manifest, checked: where it is, what to capture, how to describe it.

    `line` is the manifest line the row starts on (a CSV header is line 1). `dc` holds the
    Dublin Core values as (name as written, value), a repeated column giving several pairs;
    `bag_info` (LABEL, value) pairs; `options` per-row capture options by CaptureOptions
    field name (see ROW_OPTIONS), already typed.
    """

    line: int
    id: str
    url: str
    name: str | None = None
    dc: tuple[tuple[str, str], ...] = ()
    bag_info: tuple[tuple[str, str], ...] = ()
    options: tuple[tuple[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the row as a JSON object, as the journal stores it."""
        return {
            "line": self.line,
            "id": self.id,
            "url": self.url,
            "name": self.name,
            "dc": [list(pair) for pair in self.dc],
            "bag_info": [list(pair) for pair in self.bag_info],
            "options": {k: list(v) if isinstance(v, tuple) else v for k, v in self.options},
        }

    @classmethod
    def from_json(cls, data: Any) -> Row:
        """Return the row `to_json` gave; TypeError when `data` is not one (a damaged journal)."""
        if not isinstance(data, dict):
            raise TypeError("not an object")
        line, row_id, url, name = (data.get(k) for k in ("line", "id", "url", "name"))
        options = data.get("options", {})
        if not isinstance(line, int) or isinstance(line, bool):
            raise TypeError(f"line: {line!r} is not a number")
        if not (isinstance(row_id, str) and isinstance(url, str)):
            raise TypeError("id and url must be text")
        if name is not None and not isinstance(name, str):
            raise TypeError("name must be text")
        if not isinstance(options, dict):
            raise TypeError("options must be an object")
        return cls(
            line=line,
            id=row_id,
            url=url,
            name=name,
            dc=_pairs(data.get("dc", ()), "dc"),
            bag_info=_pairs(data.get("bag_info", ()), "bag_info"),
            options=tuple(
                (str(k), tuple(v) if isinstance(v, list) else v) for k, v in options.items()
            ),
        )


def _pairs(value: Any, what: str) -> tuple[tuple[str, str], ...]:
    """Return the (name, value) pairs `to_json` wrote as a list of two-text lists."""
    if not isinstance(value, list | tuple) or not all(
        isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
        for pair in value
    ):
        raise TypeError(f"{what} must be a list of [name, value] texts")
    return tuple((pair[0], pair[1]) for pair in value)


def _merged_dc(base: tuple[str, ...], row: Row) -> tuple[str, ...]:
    """Return the `--dc` pairs of a row's capture: the row's terms replace the command line's."""
    own = {term_name(name) for name, _ in row.dc}
    kept = tuple(pair for pair in base if term_name(pair.partition("=")[0].strip()) not in own)
    return kept + tuple(f"{name}={value}" for name, value in row.dc)


def _merged_bag_info(base: BagInfo, row: Row) -> BagInfo:
    """Return the bag-info of a row's capture: a label the row gives replaces the same label."""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    given = {label.casefold() for label, _ in row.bag_info}
    for label, value in row.bag_info:
        field = _BAG_INFO_FIELDS.get(label.casefold())
        if field is not None:
            values[field] = value
        else:
            extra.append((label, value))
    kept = tuple(pair for pair in base.extra if pair[0].casefold() not in given)
    return replace(base, **values, extra=kept + tuple(extra))


def row_options(base: CaptureOptions, row: Row) -> CaptureOptions:
    """Return the CaptureOptions of `row`'s capture: the command line's, with the row's on top."""
    known = {f.name for f in fields(CaptureOptions)}
    changes: dict[str, Any] = {k: v for k, v in row.options if k in known}
    if row.dc:
        changes["dc"] = _merged_dc(base.dc, row)
    if row.bag_info:
        changes["bag_info"] = _merged_bag_info(base.bag_info, row)
    if row.name is not None:
        changes["name"] = row.name
    return replace(base, **changes)


def manifest_id(manifest: str) -> str:
    """Return the journal's name for a manifest: its file name's stem, and a hash of its path.

    The same manifest given again (by any relative path) finds its journal; two manifests of
    the same name in different folders do not share one. Standard input is `stdin`.
    """
    if manifest == "-":
        return "stdin"
    import hashlib
    import re

    path = Path(manifest).resolve()
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", path.name.split(".")[0])[:64] or "manifest"
    return f"{stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
