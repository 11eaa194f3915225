"""What `preserve info` shows of a bag: declaration, bag-info, Dublin Core, payload, capture.

Reads only tag files and small metadata files; a serialised bag is read in place, nothing is
extracted. Nothing is verified here: that is `validate`'s job.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from preserve.bag.archive import open_archive
from preserve.bag.inventory import take_inventory
from preserve.bag.reader import (
    MANIFEST_NAME,
    decode_tag_bytes,
    parse_fields,
    printable,
    read_declaration,
)
from preserve.errors import BadInput

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

_LIMIT = 64 << 20


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
        }

    def text(self) -> str:
        """Return the summary as lines of text, one fact per line, bag-info last."""
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
        return "\n".join(out)


def inspect_bag(path: Path) -> BagDescription:
    """Return the summary of the bag at `path`, a folder or a .zip/.tar/.tar.gz file.

    Raises BadInput if `path` is missing or unreadable, not a bag (no bagit.txt), or an
    archive that is damaged or has unsafe entries.
    """
    serialization = None
    try:
        if path.is_dir():
            inventory = take_inventory(path)
            files = inventory.files

            def read(relpath: str) -> bytes | None:
                if files.get(relpath, _LIMIT + 1) > _LIMIT:
                    return None
                return Path(path, *relpath.split("/")).read_bytes()

            return _summarise(path, None, files, read)
        if not path.exists():
            raise BadInput(f"{path}: no such file or folder")
        with open_archive(path) as archive:
            if archive.problems:
                first = archive.problems[0]
                raise BadInput(f"{path} is not a safe archive: {first.path}: {first.message}")
            serialization = archive.format
            files = {m.path: m.size for m in archive.members.values() if m.kind == "file"}
            return _summarise(path, serialization, files, archive.read)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from exc


def _summarise(
    path: Path,
    serialization: str | None,
    files: dict[str, int],
    read: Callable[[str], bytes | None],
) -> BagDescription:
    """Return the summary of a bag given its files (path → size) and a way to read them."""
    declaration_bytes = read("bagit.txt") if "bagit.txt" in files else None
    if declaration_bytes is None:
        raise BadInput(f"{path} is not a bag: no bagit.txt")
    declaration, _ = read_declaration(declaration_bytes)
    fields: list[tuple[str, str]] = []
    raw = read("bag-info.txt") if "bag-info.txt" in files else None
    if raw is not None:
        text, _problem = decode_tag_bytes(raw, "bag-info.txt", declaration.codec)
        if text is not None:
            fields, _ = parse_fields(text, "bag-info.txt", strict=False)
    payload = {p: s for p, s in files.items() if p.startswith("data/")}
    dublin_core = next(
        (found for name in DC_LOCATIONS if name in files and (found := _dublin_core(read(name)))),
        {},
    )
    captured = next(
        (when for name in PREMIS_LOCATIONS if name in files and (when := _captured(read(name)))),
        None,
    )
    capture = None
    agents = [v for k, v in fields if k.lower() == "bag-software-agent"]
    if CAPTURE_LOG in files and any(a.startswith("preserve/") for a in agents):
        capture = _capture_summary(read(CAPTURE_LOG))
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
    except ET.ParseError:
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
    except ET.ParseError:
        return None
    for event in root.iter(f"{{{PREMIS}}}event"):
        kind = event.findtext(f"{{{PREMIS}}}eventType") or ""
        when = " ".join((event.findtext(f"{{{PREMIS}}}eventDateTime") or "").split())
        if kind.strip() == "capture" and when:
            return when
    return None


def _capture_summary(data: bytes | None) -> CaptureSummary | None:
    """Return the counts of a capture log (one JSON object per line); None if unreadable."""
    if data is None:
        return None
    counts: dict[str, dict[str, int]] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            role, outcome = str(record.get("role")), str(record.get("outcome"))
            by_outcome = counts.setdefault(role, {})
            by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
    return CaptureSummary(counts)
