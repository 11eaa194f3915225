"""What `preserve info` shows of a bag: declaration, bag-info, Dublin Core, payload, capture.

Reads bagit.txt and bag-info.txt as `validate` reads them (checks.read_bag), and the small
metadata files within MAX_TAG_BYTES each; a serialised bag is read in place, nothing is
extracted. The capture log is read line by line, each line one JSON object read by
fields.read_json (at most 16 MiB, nested at most 64 deep). Nothing is verified here: that is
`validate`'s job; what could not be read is listed in the description's `problems`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from preserve.bag.archive import Archive, open_archive
from preserve.bag.checks import BagFolder, read_bag, read_files
from preserve.bag.inventory import Inventory
from preserve.bag.reader import MANIFEST_NAME, MAX_TAG_BYTES, Problem, printable
from preserve.errors import BadInput
from preserve.fields import MAX_JSON_BYTES, JsonProblem, read_json

DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
DC_LOCATIONS = ("data/metadata/dc.xml", "metadata/dc.xml")
"""Where a preserve bag keeps its Dublin Core record (payload or tag location)."""
PREMIS_LOCATIONS = ("data/metadata/premis.xml", "metadata/premis.xml")
"""Where a preserve bag keeps its PREMIS record, whose capture event gives the capture time."""
PREMIS = "http://www.loc.gov/premis/v3"
CAPTURE_LOG = "data/logs/capture-log.jsonl"
PAGE_DATES = ("created", "issued", "modified", "date")
"""The page's dates `info` shows, each under its DCMI term (`date` for an unqualified one)."""

ARCHIVE_READ_LIMIT = 64 << 20
"""The largest file read from a serialised bag, where a file is read whole."""


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


@dataclass(frozen=True, slots=True)
class CaptureSummary:
    """Counts from a preserve bag's capture log: how many URLs per role and outcome."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, role: str, outcome: str) -> int:
        """Return how many URLs had `role` and `outcome`."""
        return self.counts.get(role, {}).get(outcome, 0)

    @property
    def pages(self) -> int:
        """Return the pages captured: the seed and linked pages."""
        return self.count("seed", "captured") + self.count("page", "captured")

    @property
    def media(self) -> int:
        """Return the linked media captured (audio, video, images, PDF and office files)."""
        return self.count("media", "captured")

    def text(self) -> str:
        """Return the summary as one line of text; linked media only when the log has any."""
        line = (
            f"{_plural(self.pages, 'page')}, {_plural(self.count('frame', 'captured'), 'frame')},"
            f" {_plural(self.count('requisite', 'captured'), 'requisite')} captured"
            f" ({self.count('requisite', 'failed')} failed,"
            f" {self.count('requisite', 'skipped')} skipped)"
        )
        if self.counts.get("media"):
            line += (
                f", {self.media:,} linked media captured ({self.count('media', 'failed')} failed,"
                f" {self.count('media', 'skipped')} skipped)"
            )
        return line


@dataclass(frozen=True, slots=True)
class BagDescription:
    """A bag described from its tag files: what `preserve.describe` returns, `info` prints."""

    path: Path
    serialization: str | None
    bagit_version: str | None
    tag_file_encoding: str | None
    bag_info: tuple[tuple[str, str], ...]
    payload_files: int
    payload_bytes: int
    algorithms: tuple[str, ...]
    tag_algorithms: tuple[str, ...]
    title: str | None = None
    source: str | None = None
    captured: str | None = None
    """When the capture was made: its PREMIS capture event's time."""
    dates: tuple[tuple[str, str], ...] = ()
    """The page's dates from the Dublin Core record: (term, value) in `PAGE_DATES` order."""
    capture: CaptureSummary | None = None
    problems: tuple[Problem, ...] = ()
    """What could not be read: a tag or metadata file past its bounds, not text, a link out."""

    def values(self, label: str) -> list[str]:
        """Return every bag-info value of `label` (case-insensitive), in order."""
        return [v for k, v in self.bag_info if k.lower() == label.lower()]

    @property
    def profile_identifiers(self) -> list[str]:
        """Return the BagIt Profile identifiers the bag declares."""
        return self.values("BagIt-Profile-Identifier")

    def to_dict(self) -> dict[str, object]:
        """Return the summary as a JSON-ready mapping."""
        capture = None
        if self.capture is not None:
            capture = {
                "pages": self.capture.pages,
                "media": self.capture.media,
                "counts": self.capture.counts,
            }
        return {
            "bag": str(self.path),
            "serialization": self.serialization,
            "bagit_version": self.bagit_version,
            "tag_file_encoding": self.tag_file_encoding,
            "bag_info": [[label, value] for label, value in self.bag_info],
            "title": self.title,
            "source": self.source,
            "captured": self.captured,
            "page_dates": dict(self.dates),
            "payload_files": self.payload_files,
            "payload_bytes": self.payload_bytes,
            "algorithms": list(self.algorithms),
            "tag_algorithms": list(self.tag_algorithms),
            "profile_identifiers": self.profile_identifiers,
            "capture": capture,
            "problems": [p.to_dict() for p in self.problems],
        }

    def text(self) -> str:
        """Return the summary as lines of text, one fact per line, then bag-info, then problems."""
        shown = f"{self.path} ({self.serialization})" if self.serialization else str(self.path)
        lines = [
            ("bag", shown),
            ("BagIt", f"{self.bagit_version} ({self.tag_file_encoding})"),
            ("title", self.title),
            ("source", self.source),
            ("captured", self.captured),
            *((f"page {term}", value) for term, value in self.dates),
            ("payload", f"{_plural(self.payload_files, 'file')}, {self.payload_bytes:,} bytes"),
            ("manifests", ", ".join(self.algorithms) or "none"),
            ("tag manifests", ", ".join(self.tag_algorithms) or "none"),
            ("profile", ", ".join(self.profile_identifiers) or None),
            ("capture", self.capture.text() if self.capture else None),
        ]
        out = [f"{name + ':':<15}{value}" for name, value in lines if value is not None]
        out.append("bag-info:")
        out += [f"  {label}: {value}" for label, value in self.bag_info]
        if self.problems:
            out.append("not read:")
            out += [f"  {p.path}: {p.message}" for p in self.problems]
        return "\n".join(out)


def inspect_bag(path: Path) -> BagDescription:
    """Return the summary of the bag at `path`, a folder or a .zip/.tar/.tar.gz file.

    Raises BadInput if `path` is missing or unreadable, not a bag (no bagit.txt, or one that
    cannot be read), or an archive that is damaged or has unsafe entries.
    """
    try:
        if path.is_dir():
            return _summarise(path, None, read_bag(path, lists=False))
        if not path.exists():
            raise BadInput(f"{path}: no such file or folder")
        with open_archive(path) as archive:
            if archive.problems:
                first = archive.problems[0]
                raise BadInput(f"{path} is not a safe archive: {first.path}: {first.message}")
            bag = read_files(_ArchiveFiles(archive), lists=False)
            return _summarise(path, archive.format, bag)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from exc


class _ArchiveFiles(Inventory):
    """The files of a serialised bag, read in place: each read whole, at most 64 MiB."""

    def __init__(self, archive: Archive) -> None:
        super().__init__(archive.path)
        self.archive = archive
        for member in archive.members.values():
            if member.kind == "file":
                self.files[member.path] = member.size
                (self.payload if member.path.startswith("data/") else self.tags)[member.path] = (
                    member.size
                )

    def chunks(self, relpath: str, problems: list[Problem], limit: int | None) -> Iterator[bytes]:
        """Yield the bytes of the member `relpath` in one piece, if within `limit` (64 MiB)."""
        limit = ARCHIVE_READ_LIMIT if limit is None else min(limit, ARCHIVE_READ_LIMIT)
        size = self.files.get(relpath)
        if size is None or size > limit:
            why = "not a file in the bag" if size is None else f"larger than {limit >> 20} MiB"
            problems.append(Problem("bad-tag-file", printable(relpath), f"{why}; not read"))
            return
        data = self.archive.read(relpath, limit)
        if data is not None:
            yield data


def _summarise(path: Path, serialization: str | None, bag: BagFolder) -> BagDescription:
    """Return the summary of a bag read with `lists=False`."""
    declaration, files = bag.declaration, bag.inventory.files
    if declaration is None:
        why = bag.problem_of("bagit.txt")
        raise BadInput(
            f"{path} is not a bag: " + (f"bagit.txt: {why.message}" if why else "no bagit.txt")
        )
    if "bagit.txt" in bag.unread:
        raise BadInput(f"cannot read {path}: bagit.txt: {bag.unread['bagit.txt'].message}")
    wanted = {"bag-info.txt", *DC_LOCATIONS, *PREMIS_LOCATIONS, CAPTURE_LOG}
    problems = [p for p in bag.problems if p.path in wanted]

    def read(relpath: str) -> bytes | None:
        if relpath not in files:
            return None
        data = bag.inventory.read(relpath, MAX_TAG_BYTES)
        if isinstance(data, Problem):
            problems.append(data)
            return None
        return data

    fields = bag.bag_info
    dublin_core = next((found for name in DC_LOCATIONS if (found := _dublin_core(read(name)))), {})
    captured = next((when for name in PREMIS_LOCATIONS if (when := _captured(read(name)))), None)
    capture = None
    agents = [v for k, v in fields if k.lower() == "bag-software-agent"]
    if CAPTURE_LOG in files and any(a.startswith("preserve/") for a in agents):
        capture = read_capture_log(bag.inventory.chunks(CAPTURE_LOG, problems, None), problems)
    payload = bag.inventory.payload
    return BagDescription(
        path=path,
        serialization=serialization,
        bagit_version=declaration.version_text,
        tag_file_encoding=declaration.encoding,
        bag_info=tuple((printable(k), printable(v)) for k, v in fields),
        payload_files=len(payload),
        payload_bytes=sum(payload.values()),
        algorithms=_algorithms(files, tag=False),
        tag_algorithms=_algorithms(files, tag=True),
        title=dublin_core.get("title"),
        source=dublin_core.get("source"),
        captured=captured,
        dates=tuple((term, dublin_core[term]) for term in PAGE_DATES if term in dublin_core),
        capture=capture,
        problems=tuple(problems),
    )


def _algorithms(files: dict[str, int], *, tag: bool) -> tuple[str, ...]:
    """Return the algorithms of the bag's payload manifests (or tag manifests if `tag`)."""
    found = (MANIFEST_NAME.fullmatch(name) for name in sorted(files))
    return tuple(m.group(2) for m in found if m is not None and (m.group(1) is not None) == tag)


def _dublin_core(data: bytes | None) -> dict[str, str]:
    """Return the title, source and page dates of a Dublin Core record (dc or dcterms)."""
    if not data:
        return {}
    try:
        root = ET.fromstring(data)  # noqa: S314 - expat refuses entity expansion attacks
    except (ET.ParseError, ValueError, LookupError):
        # ValueError and LookupError: an XML declaration naming an encoding expat cannot use.
        return {}
    wanted = {
        "title": (f"{{{DCTERMS}}}title", f"{{{DC}}}title"),
        "source": (f"{{{DCTERMS}}}source", f"{{{DC}}}source"),
        "created": (f"{{{DCTERMS}}}created",),
        "issued": (f"{{{DCTERMS}}}issued",),
        "modified": (f"{{{DCTERMS}}}modified",),
        "date": (f"{{{DCTERMS}}}date", f"{{{DC}}}date"),
    }
    found: dict[str, str] = {}
    for key, tags in wanted.items():
        for tag in tags:
            element = root.find(f".//{tag}")
            if element is not None and element.text and element.text.strip():
                found[key] = " ".join(element.text.split())
                break
    return found


def _captured(data: bytes | None) -> str | None:
    """Return the time of a PREMIS record's capture event (eventType `capture`), if any."""
    if not data:
        return None
    try:
        root = ET.fromstring(data)  # noqa: S314 - expat refuses entity expansion attacks
    except (ET.ParseError, ValueError, LookupError):
        return None
    for event in root.iter(f"{{{PREMIS}}}event"):
        kind = event.findtext(f"{{{PREMIS}}}eventType") or ""
        when = " ".join((event.findtext(f"{{{PREMIS}}}eventDateTime") or "").split())
        if kind.strip() == "capture" and when:
            return when
    return None


def read_capture_log(chunks: Iterable[bytes], problems: list[Problem]) -> CaptureSummary | None:
    """Return the counts of a capture log given as byte chunks (one JSON object per line).

    A line that is not a JSON object within fields.read_json's bounds is not counted; the
    first such line and how many there were is a problem. A line past MAX_JSON_BYTES ends
    the count there. None when nothing could be counted and something could not be read.
    """
    before = len(problems)
    counts: dict[str, dict[str, int]] = {}
    skipped: list[str] = []
    for number, line in enumerate(json_lines(chunks, problems), 1):
        if not line.strip():
            continue
        try:
            record = read_json(line)
        except JsonProblem as exc:
            skipped.append(f"line {number}: {exc}")
            continue
        if not isinstance(record, dict):
            skipped.append(f"line {number}: not a JSON object")
            continue
        role, outcome = str(record.get("role")), str(record.get("outcome"))
        by_outcome = counts.setdefault(role, {})
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
    if skipped:
        message = f"{_plural(len(skipped), 'line')} not counted, the first at {skipped[0]}"
        problems.append(Problem("bad-tag-file", CAPTURE_LOG, message))
    return None if not counts and len(problems) > before else CaptureSummary(counts)


def json_lines(chunks: Iterable[bytes], problems: list[Problem]) -> Iterator[bytes]:
    """Yield the LF-ended lines of a JSON Lines file given as chunks, each of MAX_JSON_BYTES.

    A longer line ends the file there, with a problem added to `problems`.
    """
    pending = b""
    number = 0
    for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        number += len(lines)
        if len(pending) > MAX_JSON_BYTES or any(len(line) > MAX_JSON_BYTES for line in lines):
            break
        yield from lines
    else:
        if len(pending) <= MAX_JSON_BYTES:
            if pending:
                yield pending
            return
    message = f"a line past line {number:,} is longer than {MAX_JSON_BYTES >> 20} MiB; not read on"
    problems.append(Problem("bad-tag-file", CAPTURE_LOG, message))
