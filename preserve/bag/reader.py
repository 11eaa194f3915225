"""Reading any bag's tag files as RFC 8493 and the drafts before it define them.

Each reader returns what it could read together with the problems it found, so a validator can
list every problem rather than stop at the first. Nothing here touches the payload's bytes.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# fmt: off
ProblemKind = Literal[
    # Problems: the bag is invalid.
    "not-a-bag", "bad-declaration", "bad-tag-file", "bad-manifest", "no-manifest",
    "unsupported-algorithm", "duplicate-entry", "unsafe-path", "bad-path-encoding",
    "special-file", "missing", "unexpected", "not-in-manifest", "checksum-mismatch",
    "oxum-mismatch", "no-payload-oxum", "not-fetched", "bad-fetch", "unreadable", "bad-archive",
    "profile",
    # Warnings only (duplicate-entry, no-payload-oxum and profile can be either).
    "old-version", "md5sum-star", "dot-slash", "case-twins", "normalization-twins",
    "system-file", "archive-name",
]
# fmt: on
"""Every kind of problem or warning a validation can report (README, "Validating bags")."""

Version = tuple[int, int]

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_VERSION = re.compile(r"(\d+)\.(\d+)")
_PERCENT = re.compile(r"%(25|0[AaDd])")
MANIFEST_NAME = re.compile(r"(tag)?manifest-([A-Za-z0-9_-]+)\.txt")
"""How a payload manifest's or a tag manifest's file name looks; group 2 is the algorithm."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a bag (or, in a report's warnings, worth saying about it).

    `path` is the bag-relative path concerned, printable (undecodable bytes and control
    characters escaped), or None when the problem concerns the bag as a whole.
    """

    kind: ProblemKind
    path: str | None
    message: str

    def to_dict(self) -> dict[str, str | None]:
        """Return the problem as a JSON-ready mapping."""
        return {"kind": self.kind, "path": self.path, "message": self.message}


def printable(path: str) -> str:
    """Return `path` fit for one line of text or JSON: bad bytes and control characters escaped."""
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Zl", "Zp")
        else char
        for char in text
    )


def split_lines(text: str) -> list[str]:
    """Return the lines of a tag file, split on LF, CR or CRLF only, without a final empty one."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass(frozen=True, slots=True)
class Declaration:
    """What bagit.txt declares: the BagIt version and the encoding of the other tag files."""

    version: Version | None
    version_text: str | None
    encoding: str | None

    @property
    def codec(self) -> str:
        """Return the codec name to read the other tag files with (UTF-8 when unusable)."""
        if self.encoding is None:
            return "utf-8"
        try:
            return codecs.lookup(self.encoding).name
        except LookupError:
            return "utf-8"


def read_declaration(data: bytes) -> tuple[Declaration, list[Problem]]:
    """Return the declaration in bagit.txt's bytes and every way it breaks RFC 8493 §2.1.1.

    A 1.0 bag's bagit.txt must be exactly two lines (`BagIt-Version: M.N`,
    `Tag-File-Character-Encoding: ENCODING`), each ended by a line break, with no whitespace
    before a colon and no byte-order mark. Older drafts are read leniently, but a byte-order
    mark, a missing line or a malformed version number is a problem in any version.
    """

    def problem(message: str) -> None:
        problems.append(Problem("bad-declaration", "bagit.txt", message))

    problems: list[Problem] = []
    for bom in _BOMS:
        if data.startswith(bom):
            problem("starts with a byte-order mark, which RFC 8493 §2.1.1 forbids")
            data = data[len(bom) :]
            break
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problem("is not UTF-8 text, which RFC 8493 §2.1.1 requires")
        text = data.decode("utf-8", "replace")
    fields, _ = parse_fields(text, "bagit.txt", strict=False)
    values = {label.lower(): value for label, value in fields}
    version_text = values.get("bagit-version")
    encoding = values.get("tag-file-character-encoding")
    version: Version | None = None
    if version_text is None:
        problem("has no BagIt-Version line")
    elif match := _VERSION.fullmatch(version_text):
        version = (int(match.group(1)), int(match.group(2)))
        if version > (1, 0):
            problem(f"declares BagIt-Version {version_text}, a version no specification defines")
    else:
        problem(f"declares BagIt-Version {version_text!r}, which is not a version number M.N")
    if encoding is None:
        problem("has no Tag-File-Character-Encoding line")
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            problem(f"declares Tag-File-Character-Encoding {encoding!r}, an unknown encoding")
    if version is not None and version >= (1, 0):
        _check_declaration_form(text, problem)
    return Declaration(version, version_text, encoding), problems


def _check_declaration_form(text: str, problem: Callable[[str], None]) -> None:
    """Report every way a 1.0 bagit.txt departs from its exact two-line form."""
    lines = _LINE_BREAK.split(text)
    ended = lines[-1] == ""
    if ended:
        lines.pop()
    if len(lines) != 2:
        problem(f"has {len(lines)} lines; a 1.0 bag declaration is exactly two")
    expected = (
        ("BagIt-Version", r"BagIt-Version: \d+\.\d+"),
        ("Tag-File-Character-Encoding", r"Tag-File-Character-Encoding: \S+"),
    )
    for number, (line, (label, form)) in enumerate(zip(lines, expected, strict=False), 1):
        if not re.fullmatch(form, line):
            problem(
                f"line {number} must read '{label}: …' exactly (no whitespace before the colon,"
                f" one space after it, none at the end); it reads {printable(line)!r}"
            )
    if lines and not ended:
        problem("does not end with a line break")


def parse_fields(text: str, name: str, *, strict: bool) -> tuple[list[tuple[str, str]], list[str]]:
    """Return the `Label: value` fields of a tag file in order, and messages for bad lines.

    Continuation lines (starting with a space or tab) are joined to the previous value with a
    single space. `strict` applies RFC 8493 §2.2.2 as a 1.0 bag must follow it: no whitespace
    around the label and a space or tab after the colon.
    """
    fields: list[tuple[str, str]] = []
    bad: list[str] = []
    for number, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        if line[0] in " \t":
            if fields:
                label, value = fields[-1]
                fields[-1] = (label, f"{value} {line.strip()}".strip())
            else:
                bad.append(f"{name} line {number} continues a field that does not exist")
            continue
        label, colon, value = line.partition(":")
        if not colon or not label.strip():
            bad.append(f"{name} line {number} is not 'Label: value': {printable(line)!r}")
            continue
        if strict and label != label.strip():
            bad.append(f"{name} line {number}: whitespace around the label {label!r}")
        if strict and value and value[0] not in " \t":
            bad.append(f"{name} line {number}: no space after the colon")
        fields.append((label.strip(), value.strip()))
    return fields, bad


def new_hash(algorithm: str) -> hashlib._Hash | None:
    """Return a fresh hash object for a BagIt algorithm name (`sha256`, `sha3-256`), or None."""
    name = algorithm.lower().replace("-", "_")
    if name.startswith("shake"):
        return None
    try:
        # Fixity, not security: this lets md5 and sha1 work on FIPS-restricted hosts.
        return hashlib.new(name, usedforsecurity=False)
    except ValueError:
        return None


def check_path(path: str) -> str | None:
    """Return why a bag-relative path is unsafe (absolute, `..`, `~`, drive letter…), or None."""
    reasons = (
        (path == "", "an empty path"),
        (path.startswith("/"), "an absolute path"),
        (path.startswith("\\"), "an absolute Windows path"),
        (re.match(r"[A-Za-z]:", path) is not None, "a path with a Windows drive letter"),
        (path.startswith("~"), "a path starting at a home folder (~)"),
        (".." in re.split(r"[/\\]", path), "a path that climbs out with '..'"),
        ("\\" in path, "a path with a backslash, a folder separator on Windows"),
        ("\0" in path, "a path with a NUL character"),
        (any(part in ("", ".") for part in path.split("/")), "a path with an empty or '.' part"),
    )
    return next((reason for unsafe, reason in reasons if unsafe), None)


def decode_path(raw: str, version: Version) -> tuple[str, str | None]:
    """Return a manifest or fetch.txt path with RFC 8493 §2.1.3 percent-encoding undone.

    Only a 1.0 bag encodes paths (`%25`, `%0A`, `%0D`); in one, any other `%` is reported
    (second value) since the `%` itself should have been written `%25`. Older drafts had no
    encoding, so their paths are returned as they are.
    """
    if version < (1, 0):
        return raw, None
    leftover = _PERCENT.sub("", raw)
    message = None
    if "%" in leftover:
        message = "a '%' not written as %25 (RFC 8493 §2.1.3 percent-encodes %, CR and LF)"
    return _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), raw), message


def read_tag_text(root: Path, relpath: str, codec: str) -> tuple[str | None, Problem | None]:
    """Return a tag file's text decoded with the bag's tag-file encoding, or the problem."""
    try:
        data = Path(root, *relpath.split("/")).read_bytes()
    except OSError as exc:
        return None, Problem("unreadable", relpath, f"cannot read: {exc.strerror}")
    return decode_tag_bytes(data, relpath, codec)


def decode_tag_bytes(data: bytes, relpath: str, codec: str) -> tuple[str | None, Problem | None]:
    """Return a tag file's bytes decoded with `codec` (a UTF-8 byte-order mark dropped)."""
    try:
        return data.decode("utf-8-sig" if codec == "utf-8" else codec), None
    except UnicodeDecodeError:
        return None, Problem("bad-tag-file", relpath, f"is not valid {codec} text")


def parse_oxum(value: str) -> tuple[int, int] | None:
    """Return (bytes, files) from a Payload-Oxum value `<bytes>.<files>`, or None if malformed."""
    match = re.fullmatch(r"(\d+)\.(\d+)", value.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None
