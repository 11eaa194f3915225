"""A bag's lists: payload and tag manifests, and fetch.txt, each line read with its problems.

Each reader takes the file's lines (as `reader.decode_lines` yields them, each at most
MAX_LINE_CHARS) and never raises on what they hold; a fetch.txt length is at most
fields.MAX_DIGITS ASCII digits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from preserve.bag.reader import (
    MANIFEST_NAME,
    MAX_PROBLEMS,
    Problem,
    Version,
    check_path,
    decode_path,
    excerpt,
    new_hash,
    printable,
)
from preserve.fields import MAX_DIGITS, decimal

_MANIFEST_LINE = re.compile(r"([^ \t]+)[ \t]+(.*)")
_FETCH_LINE = re.compile(r"([^ \t]+)[ \t]+([^ \t]+)[ \t]+(.*)")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_HEX = re.compile(r"[0-9A-Fa-f]+")


@dataclass(frozen=True, slots=True)
class Entry:
    """One manifest line: the bag-relative path (decoded) and the digest it gives."""

    path: str
    digest: str


@dataclass(slots=True)
class Manifest:
    """A payload or tag manifest as read: its algorithm, entries, and what was wrong with it."""

    name: str
    algorithm: str
    tag: bool
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def parse_manifest(name: str, lines: Iterable[str], version: Version) -> Manifest:
    """Return the manifest `name` read from its lines, with each bad line reported.

    A path listed twice is kept once: with different digests that is a problem; with the same
    digest a problem in a 1.0 bag and a warning before. md5sum's `*` and a leading `./` are
    warnings; names equal once Unicode-normalised are a warning, both kept.
    """
    match = MANIFEST_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"not a manifest file name: {name}")
    manifest = Manifest(name, match.group(2).lower(), tag=match.group(1) is not None)
    hasher = new_hash(manifest.algorithm)
    length = hasher.digest_size * 2 if hasher is not None else None
    seen: dict[str, str] = {}
    normal: dict[str, str] = {}
    marks: set[str] = set()
    for number, line in enumerate(lines, 1):
        if len(manifest.problems) >= MAX_PROBLEMS:
            message = f"more than {MAX_PROBLEMS:,} problems; not read past line {number - 1:,}"
            manifest.problems.append(Problem("bad-manifest", name, message))
            break
        if not line.strip():
            continue
        read = _manifest_line(manifest, f"{name} line {number}", line, length, version, marks)
        if read is None:
            continue
        digest, path = read
        if path in seen:
            shown = printable(path)
            if seen[path] != digest:
                manifest.problems.append(
                    Problem("duplicate-entry", shown, f"{name} lists it twice, with two digests")
                )
            else:
                entry = Problem("duplicate-entry", shown, f"{name} lists it twice")
                (manifest.problems if version >= (1, 0) else manifest.warnings).append(entry)
            continue
        key = unicodedata.normalize("NFC", path)
        if key in normal:
            manifest.warnings.append(
                Problem(
                    "normalization-twins",
                    printable(path),
                    f"{name} lists it twice, in two Unicode normalisations (NFC and NFD)",
                )
            )
        normal.setdefault(key, path)
        seen[path] = digest
        manifest.entries.append(Entry(path, digest))
    if "*" in marks:
        manifest.warnings.append(
            Problem("md5sum-star", name, "paths start with md5sum's '*' (binary mode) marker")
        )
    if "./" in marks:
        manifest.warnings.append(Problem("dot-slash", name, "paths start with './'"))
    return manifest


def _manifest_line(
    manifest: Manifest,
    where: str,
    line: str,
    length: int | None,
    version: Version,
    marks: set[str],
) -> tuple[str, str] | None:
    """Return a manifest line's digest (lower case) and path, or None if it lists nothing.

    Records the line's problems in `manifest`, and in `marks` a path's md5sum `*` or `./`.
    """
    name = manifest.name
    found = _MANIFEST_LINE.fullmatch(line)
    if found is None:
        manifest.problems.append(
            Problem("bad-manifest", name, f"{where} is not 'checksum path': {excerpt(line)!r}")
        )
        return None
    digest, raw = found.group(1), found.group(2)
    if not _HEX.fullmatch(digest) or (length is not None and len(digest) != length):
        manifest.problems.append(
            Problem(
                "bad-manifest", name, f"{where}: {excerpt(digest)!r} is not a {name[:-4]} digest"
            )
        )
        return None
    if raw.startswith("*"):
        raw = raw[1:]
        marks.add("*")
    path, encoding_problem = decode_path(raw, version)
    if encoding_problem is not None:
        manifest.problems.append(
            Problem("bad-path-encoding", printable(path), f"{where} has {encoding_problem}")
        )
    if path.startswith("./"):
        marks.add("./")
    while path.startswith("./"):
        path = path[2:]
    unsafe = check_path(path)
    if unsafe is not None:
        manifest.problems.append(Problem("unsafe-path", printable(path), f"{where} names {unsafe}"))
        return None
    if path.startswith("data/") == manifest.tag:
        wanted = "outside data/" if manifest.tag else "under data/"
        message = f"{where} lists a file that is not {wanted}"
        manifest.problems.append(Problem("bad-manifest", printable(path), message))
        return None
    return digest.lower(), path


@dataclass(frozen=True, slots=True)
class FetchItem:
    """One fetch.txt line: where to get a payload file, its expected size (if given), its path."""

    url: str
    length: int | None
    path: str


def parse_fetch(lines: Iterable[str], version: Version) -> tuple[list[FetchItem], list[Problem]]:
    """Return the items of fetch.txt (from its lines) and a problem for every bad line."""
    items: list[FetchItem] = []
    problems: list[Problem] = []
    for number, line in enumerate(lines, 1):
        where = f"fetch.txt line {number}"
        if len(problems) >= MAX_PROBLEMS:
            message = f"more than {MAX_PROBLEMS:,} problems; not read past line {number - 1:,}"
            problems.append(Problem("bad-fetch", "fetch.txt", message))
            break
        if not line.strip():
            continue
        found = _FETCH_LINE.fullmatch(line)
        if found is None:
            problems.append(Problem("bad-fetch", "fetch.txt", f"{where} is not 'URL LENGTH PATH'"))
            continue
        url, length, raw = found.groups()
        if not _URL.fullmatch(url):
            message = f"{where}: {excerpt(url)!r} is not a URL"
            problems.append(Problem("bad-fetch", "fetch.txt", message))
        size = decimal(length)
        if length != "-" and size is None:
            message = (
                f"{where}: length {excerpt(length)!r} is not a number"
                f" (ASCII digits, at most {MAX_DIGITS})"
            )
            problems.append(Problem("bad-fetch", "fetch.txt", message))
        path, encoding_problem = decode_path(raw, version)
        shown = printable(path)
        if encoding_problem is not None:
            problems.append(Problem("bad-path-encoding", shown, f"{where} has {encoding_problem}"))
        unsafe = check_path(path)
        if unsafe is not None:
            problems.append(Problem("unsafe-path", shown, f"{where} names {unsafe}"))
            continue
        if not path.startswith("data/"):
            problems.append(Problem("bad-fetch", shown, f"{where} names a file outside data/"))
            continue
        items.append(FetchItem(url, size, path))
    return items, problems
