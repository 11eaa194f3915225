"""The columns of a batch manifest: what each name gives, the values typed, a row checked.

A CSV header name or a JSON Lines key is `url`, `id`, `name`, a Dublin Core term as
`terms.term_name` reads it (`dc.title`, `dcterms.isPartOf`), `bag-info.LABEL`, or a per-row
capture option (ROW_OPTIONS, with hyphens or underscores). Names are read in any case.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from preserve.bag.info import check_user_label
from preserve.bag.staging import check_name
from preserve.batch.rows import ROW_OPTIONS, Row, row_options
from preserve.capture.seeds import NAME_MAX, parse_seed, validate_options
from preserve.errors import BadInput
from preserve.fields import byte_size, decimal
from preserve.metadata import parse_user_metadata
from preserve.metadata.terms import ORDER, SIMPLE, term_name
from preserve.models import CaptureOptions

MAX_VALUES = 10_000
"""Values in one row, each item of a JSON list counted."""
MAX_ID = 1_024
"""Characters in a row's `id`."""

_RESERVED: dict[str, Literal["url", "id", "name"]] = {"url": "url", "id": "id", "name": "name"}
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_SIZES = frozenset({"max_size", "max_bytes"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Names and values longer than this are not remembered between rows, nor compared for a
# suggestion.
_SHORT = 256


def _literals(hint: Any) -> tuple[str, ...]:
    """Return the strings a `Literal[...]` annotation (or a union holding one) allows."""
    if typing.get_origin(hint) is Literal:
        return tuple(str(arg) for arg in typing.get_args(hint))
    return tuple(value for arg in typing.get_args(hint) for value in _literals(arg))


_CHOICES: dict[str, tuple[str, ...]] = {
    name: _literals(hint)
    for name, hint in typing.get_type_hints(CaptureOptions).items()
    if ROW_OPTIONS.get(name) is str
}
_SUGGESTIONS: dict[str, str] = {
    name.lower(): name
    for name in (
        "url",
        "id",
        "name",
        *(option.replace("_", "-") for option in ROW_OPTIONS),
        *ORDER,
        *(f"dc.{term}" if term in SIMPLE else f"dcterms.{term}" for term in ORDER),
    )
}


def shown(text: str) -> str:
    """Return text for a message: quoted, and cut short when long."""
    return repr(text if len(text) <= 80 else text[:80] + "…")


def _after(prefix: str, message: str) -> str:
    """Return `message` without `prefix` (how the command line names the value) and `: `."""
    return message[len(prefix) + 2 :] if message.startswith(prefix + ": ") else message


@dataclass(frozen=True, slots=True)
class Column:
    """What a column (a CSV header name, a JSON key) gives: its kind and key.

    `key` is the option's CaptureOptions field, the bag-info label, the Dublin Core name as
    written, `url`, `id` or `name`, or for an unknown column the problem to report.
    `repeated`: a column of this name given again adds a value.
    """

    kind: Literal["url", "id", "name", "dc", "info", "option", "blank", "unknown"]
    key: str
    written: str
    repeated: bool = False


def read_column(written: str) -> Column:
    """Return what a column of this name gives, a name that is no column's as `unknown`."""
    return _known_column(written) if len(written) <= _SHORT else _classify(written)


def _classify(written: str) -> Column:
    """Return what a column gives; an unknown name's problem suggests the closest known one."""
    name = written.strip()
    folded = name.lower()
    if not name:
        return Column("blank", "", written)
    if folded in _RESERVED:
        return Column(_RESERVED[folded], folded, written)
    option = folded.replace("-", "_")
    if option in ROW_OPTIONS:
        return Column("option", option, written, repeated=ROW_OPTIONS[option] is tuple)
    if folded.startswith("bag-info."):
        label = name[len("bag-info.") :]
        try:
            check_user_label(label)
        except BadInput as exc:
            return Column(
                "unknown", f"column {shown(name)}: {_after('--info ' + label, str(exc))}", written
            )
        return Column("info", label, written, repeated=True)
    if term_name(name) is not None:
        return Column("dc", name, written, repeated=True)
    close = (
        difflib.get_close_matches(folded, _SUGGESTIONS, n=1, cutoff=0.7) if len(name) <= 64 else []
    )
    hint = f" (did you mean {_SUGGESTIONS[close[0]]!r}?)" if close else ""
    return Column("unknown", f"unknown column {shown(name)}{hint}", written)


_known_column = functools.lru_cache(maxsize=1024)(_classify)


def kind_of(value: object) -> str:
    """Return how a message names a value read from JSON: `5`, `true`, `a list`, `'text'`."""
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"
    if isinstance(value, str):
        return shown(value)
    return "null" if value is None else json.dumps(value)


def _option(option: str, value: object) -> object:
    """Return a row's value of a capture option typed as CaptureOptions holds it.

    Text as a CSV cell holds it (`2`, `500K`, `yes`); JSON numbers and booleans too. Raises
    ValueError saying what the option takes.
    """
    kind = ROW_OPTIONS[option]
    text = value.strip() if isinstance(value, str) else None
    if kind is bool:
        found = value if isinstance(value, bool) else _BOOLEANS.get((text or "").lower())
        if found is None:
            raise ValueError(f"must be true or false (yes/no, 1/0), not {kind_of(value)}")
        return found
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        number = None if text is None else byte_size(text) if option in _SIZES else decimal(text)
        if number is None:
            what = "a size such as 500K or 2G" if option in _SIZES else "a whole number"
            raise ValueError(f"must be {what}, not {kind_of(value)}")
        return number
    if text is None:
        raise ValueError(f"must be text, not {kind_of(value)}")
    choices = _CHOICES.get(option, ())
    if choices and text.lower() not in choices:
        raise ValueError(f"must be one of {', '.join(choices)}, not {shown(text)}")
    return text.lower() if choices else text


@dataclass(slots=True)
class RowParts:
    """What one row's cells say, gathered column by column, and the problems they show."""

    single: dict[str, tuple[str, Any]] = field(default_factory=dict)
    dc: list[tuple[str, str]] = field(default_factory=list)
    info: list[tuple[str, str]] = field(default_factory=list)
    lists: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    given: set[str] = field(default_factory=set)
    values: int = 0

    def add(self, column: Column, value: object) -> None:
        """Take a cell's value (a JSON list for a repeated column: each item a value).

        An empty value (an empty cell, JSON null or "") is no value.
        """
        if column.kind == "unknown":
            self.problems.append(column.key)
            return
        items = value if isinstance(value, list) and column.repeated else [value]
        for item in items:
            if item is None or (isinstance(item, str) and not item.strip()):
                continue
            self.values += 1
            self.given.add(column.key)
            if self.values > MAX_VALUES:
                if self.values == MAX_VALUES + 1:
                    self.problems.append(f"more than {MAX_VALUES:,} values")
                return
            try:
                self._add_one(column, item)
            except ValueError as exc:
                where = column.written.strip()
                self.problems.append(f"{where}: {exc}" if column.kind != "blank" else str(exc))

    def _add_one(self, column: Column, item: object) -> None:
        if column.kind == "blank":
            raise ValueError("a value under a column with no name")
        if isinstance(item, str) and not item.isascii() and _SURROGATE.search(item):
            raise ValueError("holds a lone surrogate, which is not text")
        if column.kind == "option":
            value = _option(column.key, item)
        elif column.kind == "id" and isinstance(item, int) and not isinstance(item, bool):
            value = str(item)
        elif isinstance(item, str):
            value = item.strip()
        else:
            raise ValueError(f"must be text, not {kind_of(item)}")
        if column.kind in ("dc", "info"):
            (self.dc if column.kind == "dc" else self.info).append((column.key, str(value)))
        elif column.repeated:
            self.lists.setdefault(column.key, []).append(str(value))
        elif column.key in self.single:
            earlier = self.single[column.key][0]
            raise ValueError(f"gives {column.key} again, after {shown(earlier)}")
        else:
            self.single[column.key] = (column.written, value)


@functools.lru_cache(maxsize=4096)
def _known_dc_problem(name: str, value: str) -> str | None:
    return _dc_problem(name, value)


def _dc_problem(name: str, value: str) -> str | None:
    """Return why a Dublin Core value cannot be used (a date, a language tag), or None."""
    pair = f"{name}={value}"
    try:
        parse_user_metadata([pair], None)
    except BadInput as exc:
        return f"{name}: {_after(f'--dc {pair!r}', str(exc))}"
    return None


class RowChecker:
    """Checks rows against the command line's options; remembers what no row changes."""

    def __init__(self, base: CaptureOptions) -> None:
        self.base = base
        self._options: dict[tuple[tuple[str, Any], ...], str | None] = {}

    def check(self, line: int, parts: RowParts) -> Row | list[str]:
        """Return the row `parts` make, checked, or its problems."""
        problems = parts.problems
        url = parts.single.get("url", ("", None))[1]
        seed = None
        if url is None and "url" not in parts.given:
            problems.append("no url")
        elif url is not None:
            try:
                seed = parse_seed(url).url
            except BadInput as exc:
                problems.append(str(exc))
            except RuntimeError:
                # Path.expanduser raises it for `~name` when no user has that name.
                problems.append(f"not a URL or an existing file: {url}")
        row_id = parts.single.get("id", ("", None))[1]
        if row_id is not None and len(row_id) > MAX_ID:
            problems.append(f"id {shown(row_id)} is longer than {MAX_ID:,} characters")
        elif row_id is not None and _CONTROL.search(row_id):
            problems.append(f"id {shown(row_id)} holds a line break or control character")
        name = parts.single.get("name", ("", None))[1]
        if name is not None:
            problems.extend(_name_problems(name))
        for term, value in parts.dc:
            short = len(value) <= _SHORT
            problem = _known_dc_problem(term, value) if short else _dc_problem(term, value)
            if problem is not None:
                problems.append(problem)
        options = tuple(
            [(key, value) for key, (_, value) in parts.single.items() if key in ROW_OPTIONS]
            + [(key, tuple(values)) for key, values in parts.lists.items()]
        )
        if options and (problem := self._options_problem(options)) is not None:
            problems.append(problem)
        if problems or seed is None:
            return problems
        return Row(line, row_id or seed, seed, name, tuple(parts.dc), tuple(parts.info), options)

    def _options_problem(self, options: tuple[tuple[str, Any], ...]) -> str | None:
        """Return why the command line's options with a row's on top are unusable, or None."""
        if options not in self._options:
            if len(self._options) >= 1024:
                self._options.clear()
            try:
                validate_options(row_options(self.base, Row(0, "", "", options=options)))
                self._options[options] = None
            except BadInput as exc:
                self._options[options] = str(exc)
        return self._options[options]


def _name_problems(name: str) -> list[str]:
    """Return why `name` cannot name a bag folder (and its WARC), if it cannot."""
    try:
        check_name(name)
    except BadInput as exc:
        return [str(exc)]
    if len(name.encode("utf-8")) > NAME_MAX:
        return [f"invalid bag name {shown(name)}: it is longer than {NAME_MAX} bytes"]
    return []
