"""The manifest of a batch, read as a stream: each row checked, or the problems found in it.

Three formats (`manifest_format`): CSV with a header row, JSON Lines, and a plain URL list as
`capture -i` reads it. A row is checked as a capture checks its inputs (see `columns`): the
URL, the bag name, Dublin Core values, bag-info labels, and the capture options it sets merged
with the command line's. A problem in a row never stops the reading: it is a ManifestProblem
naming its line, and the reader goes on, so one run lists them all.

An empty CSV cell, a JSON null and an empty JSON string all mean "not given". In JSON Lines
a value is a string (what a CSV cell would hold: `2`, `500K`, `yes`), a number or boolean
for the options that take one, or a list of strings for a column that repeats. A row with
no `id` is known by its URL as checked (`http://example.org` as `http://example.org/`).
"""

from __future__ import annotations

import contextlib
import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from preserve.batch.columns import Column, RowChecker, RowParts, kind_of, read_column, shown
from preserve.batch.rows import Row
from preserve.capture.seeds import MAX_LIST_LINE, validate_options
from preserve.errors import BadInput
from preserve.fields import JsonProblem, read_json
from preserve.models import CaptureOptions

Format = Literal["csv", "jsonl", "list"]

MAX_LINE = 1024 * 1024
"""Bytes in one line of a CSV or JSON Lines manifest, and in one CSV record (quoted line
breaks included). A URL list's lines are bounded as `-i` bounds them (MAX_LIST_LINE)."""
MAX_COLUMNS = 1_000
"""Columns of a CSV header; keys of a JSON Lines object."""
MAX_PROBLEMS = 1_000
"""Problems listed before the reader stops; one more problem then says so."""
MAX_MESSAGE = 500
"""Characters of a problem's message; a longer one is cut short."""

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class ManifestProblem:
    """Why the manifest cannot be used as it is: a message and the line it is about.

    Line 1 is a CSV manifest's header; a CSV record spanning lines is named by its first.
    Line 0 is the command line's options, found unusable before any row is read.
    """

    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}: {self.message}"


def manifest_format(manifest: str) -> Format:
    """Return how a manifest is read, from its name: `.csv`, `.jsonl`, else a URL list (`-` too)."""
    name = manifest.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".jsonl"):
        return "jsonl"
    return "list"


@contextlib.contextmanager
def open_manifest(manifest: str) -> Iterator[BinaryIO]:
    """Open a manifest for reading as bytes; `-` is standard input (left open afterwards).

    Raises BadInput (exit 2) when the file cannot be opened.
    """
    if manifest == "-":
        yield sys.stdin.buffer
        return
    try:
        file = Path(manifest).open("rb")  # noqa: SIM115 (closed below, after the yield)
    except OSError as exc:
        raise BadInput(f"cannot read manifest {manifest}: {exc.strerror or exc}") from exc
    with file:
        yield file


def read_manifest(
    stream: BinaryIO, fmt: Format, base: CaptureOptions
) -> Iterator[Row | ManifestProblem]:
    """Yield each row of a manifest, checked against `base` (the command line's), or its problems.

    Reads `stream` one line at a time, remembering nothing of the rows already yielded, so
    memory stays flat however long the manifest is; identifiers given twice are not looked
    for here. Raises nothing but the stream's OSError. Stops after MAX_PROBLEMS problems
    with one more saying the rest was not checked; stops at once, with a problem on line 0,
    if `base` itself is unusable.
    """
    try:
        validate_options(base)
    except BadInput as exc:
        yield ManifestProblem(0, f"the command line's options: {exc}")
        return
    checker = RowChecker(base)
    reader = {"csv": _read_csv, "jsonl": _read_jsonl, "list": _read_list}[fmt]
    problems = 0
    for item in reader(stream, checker):
        if isinstance(item, ManifestProblem):
            problems += 1
            if problems > MAX_PROBLEMS:
                yield ManifestProblem(
                    item.line, f"more than {MAX_PROBLEMS:,} problems: the rest is not checked"
                )
                return
        yield item


def _checked(checker: RowChecker, line: int, parts: RowParts) -> Iterator[Row | ManifestProblem]:
    """Yield the row `parts` make, checked, or each of its problems."""
    found = checker.check(line, parts)
    if isinstance(found, Row):
        yield found
        return
    for message in found:
        cut = message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "…"
        yield ManifestProblem(line, cut)


def _lines(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """Yield each line's number and bytes, line break and a first BOM removed.

    A line over `limit` bytes is read to its end in pieces and given as None.
    """
    number = 0
    while raw := stream.readline(limit + 2):
        number += 1
        if len(raw) == limit + 2 and not raw.endswith(b"\n"):
            while (rest := stream.readline(65536)) and not rest.endswith(b"\n"):
                pass
            yield number, None
            continue
        line = raw.removesuffix(b"\n").removesuffix(b"\r")
        if number == 1:
            line = line.removeprefix(_BOM)
        yield number, None if len(line) > limit else line


def _read_list(stream: BinaryIO, checker: RowChecker) -> Iterator[Row | ManifestProblem]:
    """Read a URL list as `-i` reads one: UTF-8, one URL a line, blank and # lines skipped."""
    for number, line in _lines(stream, MAX_LIST_LINE):
        if line is None:
            yield ManifestProblem(number, f"line longer than {MAX_LIST_LINE:,} bytes")
            continue
        try:
            text = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            yield ManifestProblem(number, "not UTF-8 text")
            continue
        if text and not text.startswith("#"):
            parts = RowParts()
            parts.add(Column("url", "url", "url"), text)
            yield from _checked(checker, number, parts)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise JsonProblem(f"key {shown(key)} is given twice")
        found[key] = value
    return found


def _read_jsonl(stream: BinaryIO, checker: RowChecker) -> Iterator[Row | ManifestProblem]:
    """Read JSON Lines: one object a line, blank lines skipped."""
    for number, line in _lines(stream, MAX_LINE):
        if line is None:
            yield ManifestProblem(number, f"line longer than {MAX_LINE:,} bytes")
            continue
        if not line.strip():
            continue
        try:
            value = read_json(line, pairs=_unique_keys)
        except JsonProblem as exc:
            yield ManifestProblem(number, str(exc).replace(" at line 1 column ", " at column "))
            continue
        if not isinstance(value, dict):
            yield ManifestProblem(number, f"not a JSON object but {kind_of(value)}")
            continue
        if len(value) > MAX_COLUMNS:
            yield ManifestProblem(number, f"more than {MAX_COLUMNS:,} keys")
            continue
        parts = RowParts()
        for key, item in value.items():
            parts.add(read_column(key), item)
        yield from _checked(checker, number, parts)


class _TooLong(Exception):
    """A CSV record grew past MAX_LINE bytes."""


class _CsvLines:
    """The lines of a CSV manifest as text for csv.reader: counted, bounded, checked as UTF-8.

    A line that is not UTF-8, or too long, is noted in `bad` and handed on (decoded with
    replacement, or empty) so the record holding it is refused and the next read; a record
    past MAX_LINE bytes raises _TooLong, which ends it.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._lines = _lines(stream, MAX_LINE)
        self.number = 0
        self.record = 0
        self.bad: list[ManifestProblem] = []

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        self.number, line = next(self._lines)
        if line is None:
            self.bad.append(ManifestProblem(self.number, f"line longer than {MAX_LINE:,} bytes"))
            return "\n"
        self.record += len(line) + 1
        if self.record > MAX_LINE:
            raise _TooLong
        try:
            return line.decode("utf-8") + "\n"
        except UnicodeDecodeError:
            self.bad.append(ManifestProblem(self.number, "not UTF-8 text"))
            return line.decode("utf-8", "replace") + "\n"


def _header(record: list[str]) -> tuple[list[Column | None] | None, list[str]]:
    """Return the columns a CSV header names (None for one left out) and its problems.

    An unknown column, or a second column of one that takes one value, is left out; without
    a `url` column, or past MAX_COLUMNS, there are no columns.
    """
    if len(record) > MAX_COLUMNS:
        return None, [f"more than {MAX_COLUMNS:,} columns"]
    columns: list[Column | None] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for written in record:
        column = read_column(written)
        if column.kind == "unknown":
            problems.append(column.key)
            columns.append(None)
            continue
        if not column.repeated and column.key in seen:
            twice = f"{shown(seen[column.key])} and {shown(written)}"
            problems.append(f"columns {twice} both give {column.key}")
            columns.append(None)
            continue
        if column.kind != "blank":
            seen[column.key] = written
        columns.append(column)
    if "url" not in seen:
        problems.append(
            "no url column: the first row names the columns (url, id, name, dc.title, ...)"
        )
        return None, problems
    return columns, problems


def _read_csv(stream: BinaryIO, checker: RowChecker) -> Iterator[Row | ManifestProblem]:
    """Read CSV (RFC 4180): a header row naming the columns, then one row a record.

    A problem before the header (a record that is not CSV, a line not UTF-8) ends the reading:
    without the header no row can be read.
    """
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE))
    lines = _CsvLines(stream)
    reader = csv.reader(lines, strict=True)
    header: list[Column | None] | None = None
    while True:
        start = lines.number + 1
        lines.record = 0
        problem = None
        try:
            record = next(reader)
        except StopIteration:
            if header is None:
                yield ManifestProblem(1, "no header row: the first row names the columns")
            return
        except csv.Error as exc:
            problem = f"not valid CSV: {_csv_error(exc)}"
        except _TooLong:
            problem = f"a record longer than {MAX_LINE:,} bytes"
        if problem is not None or lines.bad:
            yield from lines.bad or [ManifestProblem(start, str(problem))]
            lines.bad.clear()
            if header is None:
                return
            continue
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header, problems = _header(record)
            yield from (ManifestProblem(start, problem) for problem in problems)
            if header is None:
                return
            continue
        yield from _checked(checker, start, _csv_parts(header, record))


def _csv_error(error: csv.Error) -> str:
    """Return what a csv.Error says, in terms of the manifest rather than of Python's open()."""
    message = str(error)
    if message.startswith("new-line character seen in unquoted field"):
        return "a line ends in CR alone (save the manifest with LF or CRLF line ends)"
    return message


def _csv_parts(header: list[Column | None], record: list[str]) -> RowParts:
    parts = RowParts()
    for given, cell in zip(header, record, strict=False):
        if given is not None:
            parts.add(given, cell)
    if any(cell.strip() for cell in record[len(header) :]):
        parts.problems.append(f"{len(record)} fields, more than the header's {len(header)}")
    return parts
