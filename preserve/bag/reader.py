"""Reading any bag's tag files as RFC 8493 and the drafts before it define them.

Each reader returns what it could read together with the problems it found, so a validator can
list every problem rather than stop at the first; none raises on what a bag holds. Bounds:
a tag file read whole is at most MAX_TAG_BYTES, a line of a tag file at most MAX_LINE_CHARS,
a number at most fields.MAX_DIGITS digits (a BagIt version part at most 9), an encoding name
at most 64 characters. Nothing here touches the payload's bytes.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from preserve.fields import decimal

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
_VERSION = re.compile(r"([0-9]+)\.([0-9]+)")
_ENCODING_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}")
# Codecs Python finds by name that are no character encoding of text: its own (IDNA,
# Punycode, escapes), and `undefined`, which refuses every byte. Transforms such as rot13 and
# base64 are known by codecs as non-text already.
_NOT_TEXT = frozenset(
    {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "charmap"}
)
_PERCENT = re.compile(r"%(25|0[AaDd])")
_DRIVE = re.compile(r"[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")
_LEADING = {
    "/": "an absolute path",
    "\\": "an absolute Windows path",
    "~": "a path starting at a home folder (~)",
}
MAX_TAG_BYTES = 16 << 20
"""The largest tag file read whole (bagit.txt, bag-info.txt); a larger one is a problem."""
MAX_LINE_CHARS = 64 << 10
"""The longest line of a tag file (a manifest or fetch.txt line with its path)."""
MAX_FIELDS = 100_000
"""Fields read from bag-info.txt; past them (tiny fields cost far more memory than bytes)."""
MAX_PROBLEMS = 1000
"""Bad lines listed per tag file; past them, reading that file stops, saying so."""
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
    if text.isprintable():
        # No control character, line or paragraph separator: the common case, done in C.
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Zl", "Zp")
        else char
        for char in text
    )


def excerpt(value: str, limit: int = 80) -> str:
    """Return a value from a tag file fit for a message: printable, cut at `limit` characters."""
    text = printable(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(value):,} characters)"


def text_codec(name: str | None) -> str | None:
    """Return the Python codec of a character encoding's name, or None if it names none.

    Only encodings of text count: `codecs.lookup` also finds transforms (rot13, base64, zlib),
    Python's own codecs (idna, punycode, unicode-escape) and `undefined`, none of which can
    read a tag file. Names are at most 64 characters of letters, digits and `._:+-`.
    """
    if name is None or not _ENCODING_NAME.fullmatch(name):
        return None
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_TEXT:
        return None
    if info.incrementaldecoder is None:
        return None
    return info.name


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
        return text_codec(self.encoding) or "utf-8"


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
    version = None if version_text is None else parse_version(version_text)
    if version_text is None:
        problem("has no BagIt-Version line")
    elif version is None:
        problem(f"declares BagIt-Version {excerpt(version_text)!r}, not a version number M.N")
    elif version > (1, 0):
        problem(f"declares BagIt-Version {version_text}, a version no specification defines")
    if encoding is None:
        problem("has no Tag-File-Character-Encoding line")
    elif text_codec(encoding) is None:
        problem(
            f"declares Tag-File-Character-Encoding {excerpt(encoding)!r}, which is no character"
            " encoding of text this validator knows"
        )
    if version is not None and version >= (1, 0):
        _check_declaration_form(text, problem)
    return Declaration(version, version_text, encoding), problems


def parse_version(text: str) -> Version | None:
    """Return a BagIt version `M.N` as two numbers of at most 9 digits each, or None."""
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    major, minor = decimal(match.group(1), 9), decimal(match.group(2), 9)
    return None if major is None or minor is None else (major, minor)


def _check_declaration_form(text: str, problem: Callable[[str], None]) -> None:
    """Report every way a 1.0 bagit.txt departs from its exact two-line form."""
    lines = _LINE_BREAK.split(text)
    ended = lines[-1] == ""
    if ended:
        lines.pop()
    if len(lines) != 2:
        problem(f"has {len(lines)} lines; a 1.0 bag declaration is exactly two")
    expected = (
        ("BagIt-Version", r"BagIt-Version: [0-9]+\.[0-9]+"),
        ("Tag-File-Character-Encoding", r"Tag-File-Character-Encoding: \S+"),
    )
    for number, (line, (label, form)) in enumerate(zip(lines, expected, strict=False), 1):
        if not re.fullmatch(form, line):
            problem(
                f"line {number} must read '{label}: …' exactly (no whitespace before the colon,"
                f" one space after it, none at the end); it reads {excerpt(line)!r}"
            )
    if lines and not ended:
        problem("does not end with a line break")


def parse_fields(
    text: str | Iterable[str], name: str, *, strict: bool
) -> tuple[list[tuple[str, str]], list[str]]:
    """Return the `Label: value` fields of a tag file in order, and messages for bad lines.

    `text` is the file's text or its lines. Continuation lines (starting with a space or tab)
    are joined to the previous value with a single space. `strict` applies RFC 8493 §2.2.2 as
    a 1.0 bag must follow it: no whitespace around the label and a space or tab after the colon.
    Reading stops, with a message, past MAX_FIELDS fields or MAX_PROBLEMS bad lines.
    """
    # Each value's parts are joined once at the end: joining line by line is quadratic.
    fields: list[tuple[str, list[str]]] = []
    bad: list[str] = []
    lines = split_lines(text) if isinstance(text, str) else text
    for number, line in enumerate(lines, 1):
        if len(fields) > MAX_FIELDS or len(bad) >= MAX_PROBLEMS:
            bad.append(
                f"{name} has more than {MAX_FIELDS:,} fields or {MAX_PROBLEMS:,} bad"
                f" lines; not read past line {number - 1:,}"
            )
            break
        if not line.strip():
            continue
        if line[0] in " \t":
            if fields:
                fields[-1][1].append(line.strip())
            else:
                bad.append(f"{name} line {number} continues a field that does not exist")
            continue
        label, colon, value = line.partition(":")
        if not colon or not label.strip():
            bad.append(f"{name} line {number} is not 'Label: value': {excerpt(line)!r}")
            continue
        if strict and label != label.strip():
            bad.append(f"{name} line {number}: whitespace around the label {excerpt(label)!r}")
        if strict and value and value[0] not in " \t":
            bad.append(f"{name} line {number}: no space after the colon")
        fields.append((label.strip(), [value.strip()]))
    return [(label, " ".join(part for part in parts if part)) for label, parts in fields], bad


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
    # One reason per path, in a fixed order, so a path with several always gets the same one.
    if path == "":
        return "an empty path"
    if path[0] in _LEADING:
        return _LEADING[path[0]]
    if _DRIVE.match(path):
        return "a path with a Windows drive letter"
    parts = path.split("/")
    if ".." in (_SEPARATORS.split(path) if "\\" in path else parts):
        return "a path that climbs out with '..'"
    if "\\" in path:
        return "a path with a backslash, a folder separator on Windows"
    if "\0" in path:
        return "a path with a NUL character"
    if "" in parts or "." in parts:
        return "a path with an empty or '.' part"
    return None


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


def decode_tag_bytes(data: bytes, relpath: str, codec: str) -> tuple[str | None, Problem | None]:
    """Return a tag file's bytes decoded with `codec` (a UTF-8 byte-order mark dropped).

    `codec` should come from `text_codec`; any other codec's failure is a problem too.
    """
    try:
        return data.decode("utf-8-sig" if codec == "utf-8" else codec), None
    except (UnicodeError, LookupError, ValueError, TypeError) as exc:
        return None, _undecodable(relpath, codec, exc)


def _undecodable(relpath: str, codec: str, exc: Exception) -> Problem:
    where = f" (byte {exc.start:,})" if isinstance(exc, UnicodeDecodeError) else ""
    return Problem("bad-tag-file", printable(relpath), f"is not valid {codec} text{where}")


def decode_lines(
    chunks: Iterable[bytes],
    relpath: str,
    codec: str,
    problems: list[Problem],
    *,
    max_line: int = MAX_LINE_CHARS,
) -> Iterator[str]:
    """Yield the lines of a tag file read as a stream of byte chunks, without line breaks.

    Lines end at LF, CR or CRLF, as `split_lines` splits them. Stops, adding one problem to
    `problems`, at bytes that are not `codec` text or at a line longer than `max_line`.
    """
    try:
        decoder = codecs.getincrementaldecoder("utf-8-sig" if codec == "utf-8" else codec)()
    except (LookupError, TypeError) as exc:
        problems.append(_undecodable(relpath, codec, exc))
        return
    pending = ""
    read = 0
    try:
        for chunk in chunks:
            pending += decoder.decode(chunk)
            read += len(chunk)
            # A CR at the end may be half of a CRLF split between two chunks.
            held = pending.endswith("\r")
            lines = _LINE_BREAK.split(pending[:-1] if held else pending)
            pending = lines.pop() + ("\r" if held else "")
            if len(pending) > max_line or (lines and max(map(len, lines)) > max_line):
                break
            yield from lines
        else:
            pending += decoder.decode(b"", final=True)
            lines = _LINE_BREAK.split(pending)
            if lines[-1] == "":
                lines.pop()
            if not lines or max(map(len, lines)) <= max_line:
                yield from lines
                return
    except (UnicodeError, ValueError, TypeError) as exc:
        problems.append(_undecodable(relpath, codec, exc))
        return
    message = f"has a line longer than {max_line:,} characters (near byte {read:,}); not read on"
    problems.append(Problem("bad-tag-file", printable(relpath), message))


def parse_oxum(value: str) -> tuple[int, int] | None:
    """Return (bytes, files) from a Payload-Oxum value `<bytes>.<files>`, or None if malformed.

    Each number is ASCII digits, at most fields.MAX_DIGITS of them.
    """
    match = re.fullmatch(r"([0-9]+)\.([0-9]+)", value.strip(" \t"))
    if match is None:
        return None
    size, files = decimal(match.group(1)), decimal(match.group(2))
    return None if size is None or files is None else (size, files)
