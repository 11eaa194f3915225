"""WACZ 1.1.1 export of a bag: its WARCs, their CDXJ index, pages.jsonl and datapackage.json.

Written here rather than by the `wacz` package: the bag already holds the index and the
page list (its capture log), and py-wacz would re-read and re-index every WARC and bring
some fifteen packages into the runtime. Its validator checks what this writes (tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from preserve._version import __version__
from preserve.bag.archive import open_archive
from preserve.bag.reader import parse_fields
from preserve.bag.validate import looks_like_a_bag, refuse_non_bag
from preserve.errors import BadInput, InvalidBag, PackagingFailed

WACZ_VERSION = "1.1.1"
PAGE_ROLES = frozenset({"seed", "page"})
CAPTURE_LOG = "data/logs/capture-log.jsonl"
_CHUNK = 1024 * 1024
_ZIP64_FROM = 1 << 31


@dataclass(frozen=True, slots=True)
class WaczSummary:
    """A WACZ written: where, its SHA-256, the WARCs and pages it holds."""

    path: Path
    sha256: str
    warcs: tuple[str, ...]
    pages: int


@dataclass(frozen=True, slots=True)
class _Entry:
    path: str
    sha256: str
    size: int


@contextmanager
def _bag_folder(bag: Path) -> Iterator[Path]:
    """Yield the bag as a folder, extracting a serialised bag into a temporary one.

    Raises BadInput if `bag` is a folder or archive with nothing of a bag (as validate does).
    """
    if bag.is_dir():
        try:
            refuse_non_bag(bag, command="export")
        except OSError as exc:
            raise BadInput(f"cannot read {bag}: {exc.strerror or exc}") from exc
        yield bag
        return
    with (
        tempfile.TemporaryDirectory(prefix="preserve-export-") as scratch,
        open_archive(bag) as archive,
    ):
        if not archive.problems and not looks_like_a_bag(archive.members):
            raise BadInput(
                f"{bag} is not a bag: its folder {archive.top} has no bagit.txt, no data/"
                " and no manifest"
            )
        yield archive.extract(Path(scratch))


def _bag_info(root: Path) -> dict[str, str]:
    try:
        text = (root / "bag-info.txt").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    fields, _bad = parse_fields(text, "bag-info.txt", strict=False)
    info: dict[str, str] = {}
    for label, value in fields:
        info.setdefault(label, value)
    return info


def _manifest_sha256(root: Path) -> dict[str, str]:
    """Return the bag's sha256 manifest as path -> digest (empty when it has none)."""
    try:
        lines = (root / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    found = {}
    for line in lines:
        digest, _, path = line.partition(" ")
        found[path.strip().lstrip("*")] = digest.lower()
    return found


def pages_jsonl(log: bytes, title: str | None) -> tuple[bytes, int]:
    """Return pages.jsonl for a capture log (seed first, then linked pages) and the page count.

    Every captured seed or linked page is listed at the URL that was requested (replay
    follows a recorded redirect), with the time its response started. Raises BadInput,
    naming the line, when a line of the log is not a JSON object (a damaged bag).
    """
    lines = [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"})]
    seen: set[str] = set()
    for number, raw in enumerate(log.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            raise BadInput(
                f"{CAPTURE_LOG} line {number} cannot be read: it is not a JSON object",
                hint="the bag is damaged; preserve validate lists what changed",
            )
        url = entry.get("url")
        if entry.get("role") not in PAGE_ROLES or entry.get("outcome") != "captured":
            continue
        if not isinstance(url, str) or url in seen:
            continue
        seen.add(url)
        page: dict[str, object] = {
            "id": hashlib.sha256(url.encode("utf-8")).hexdigest()[:16],
            "url": url,
            "ts": entry.get("started") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if entry.get("role") == "seed" and title:
            page["title"] = title
        lines.append(json.dumps(page, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8"), len(lines) - 1


def _copy_into(archive: zipfile.ZipFile, source: Path, name: str) -> _Entry:
    """Store `source` in the zip as `name` (no compression), hashing it on the way."""
    size = source.stat().st_size
    info = zipfile.ZipInfo(name, datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    digest = hashlib.sha256()
    with source.open("rb") as src, archive.open(info, "w", force_zip64=size >= _ZIP64_FROM) as out:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return _Entry(name, digest.hexdigest(), size)


def _write_bytes(archive: zipfile.ZipFile, name: str, data: bytes) -> _Entry:
    info = zipfile.ZipInfo(name, datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)
    return _Entry(name, hashlib.sha256(data).hexdigest(), len(data))


def _write_wacz(root: Path, target: Path, warcs: list[Path]) -> WaczSummary:
    info = _bag_info(root)
    title = info.get("Internal-Sender-Description") or info.get("DC-Title")
    seed = info.get("Internal-Sender-Identifier")
    manifest = _manifest_sha256(root)
    try:
        log = (root / CAPTURE_LOG).read_bytes()
    except OSError:
        log = b""
    index_lines: list[str] = []
    for warc in warcs:
        index = warc.with_name(warc.name.removesuffix(".warc.gz") + ".cdxj")
        if not index.is_file():
            raise BadInput(f"{index.relative_to(root)} is missing: the WARC has no index")
        try:
            index_lines += index.read_text(encoding="utf-8").splitlines(keepends=True)
        except UnicodeDecodeError as exc:
            raise BadInput(
                f"{index.relative_to(root)} cannot be read: it is not UTF-8",
                hint="the bag is damaged; preserve validate lists what changed",
            ) from exc
    pages, count = pages_jsonl(log, title)
    entries: list[_Entry] = []
    with zipfile.ZipFile(target, "x", allowZip64=True) as archive:
        for warc in warcs:
            entry = _copy_into(archive, warc, f"archive/{warc.name}")
            expected = manifest.get(warc.relative_to(root).as_posix())
            if expected is not None and expected != entry.sha256:
                raise InvalidBag(f"{warc.relative_to(root)} does not match the bag's manifest")
            entries.append(entry)
        cdxj = "".join(sorted(set(index_lines))).encode("utf-8")
        entries.append(_write_bytes(archive, "indexes/index.cdxj", cdxj))
        entries.append(_write_bytes(archive, "pages/pages.jsonl", pages))
        package: dict[str, object] = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "resources": [
                {
                    "name": Path(e.path).name.lower(),
                    "path": e.path,
                    "hash": f"sha256:{e.sha256}",
                    "bytes": e.size,
                }
                for e in entries
            ],
            "title": title or seed or root.name,
            "description": f"Exported by preserve from the bag {root.name}"
            + (f" ({info['External-Identifier']})" if "External-Identifier" in info else ""),
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "software": f"preserve/{__version__}",
        }
        if seed:
            package["mainPageUrl"] = seed
        data = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
        _write_bytes(archive, "datapackage.json", data)
        digest = {"path": "datapackage.json", "hash": f"sha256:{hashlib.sha256(data).hexdigest()}"}
        _write_bytes(archive, "datapackage-digest.json", json.dumps(digest, indent=2).encode())
    whole = hashlib.sha256()
    with target.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            whole.update(chunk)
    names = tuple(w.name for w in warcs)
    return WaczSummary(target, whole.hexdigest(), names, count)


def export_wacz(bag: Path, target: Path) -> WaczSummary:
    """Write the WACZ of a bag (a folder or a .zip/.tar/.tar.gz file) to `target`; return it.

    The WARCs are stored uncompressed in the zip, as replay tools need for random access;
    each is checked against the bag's sha256 manifest while it is copied. Missing folders
    above `target` are created, as `capture` creates its output folder. Raises BadInput
    when `bag` is not a bag, has no WARC under data/warc/ (made by another tool, or
    captured with `--payload files`) or cannot be read, InvalidBag when a WARC does not
    match the manifest, PackagingFailed when `target` exists or cannot be written (nothing
    is left behind).
    """
    if target.exists():
        raise PackagingFailed(f"{target} already exists")
    if not bag.exists():
        raise BadInput(f"no such bag: {bag}")
    with _bag_folder(bag) as root:
        warcs = sorted((root / "data" / "warc").glob("*.warc.gz"))
        if not warcs:
            raise BadInput(
                f"{bag} holds no WARC under data/warc/",
                hint="a bag made by another tool, or captured with --payload files",
            )
        created = _make_folders(target.parent)
        try:
            summary = _write_in_place(root, target, warcs)
        except BaseException:
            _remove_folders(created)
            raise
    return WaczSummary(target, summary.sha256, summary.warcs, summary.pages)


def _write_in_place(root: Path, target: Path, warcs: list[Path]) -> WaczSummary:
    """Write the WACZ beside `target` under a temporary name, then link it to `target`.

    The link fails if `target` appeared meanwhile: an existing file is never replaced.
    """
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        summary = _write_wacz(root, partial, warcs)
        os.link(partial, target)
    except FileExistsError as exc:
        raise PackagingFailed(f"{target} already exists") from exc
    except OSError as exc:
        raise PackagingFailed(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return summary


def _make_folders(folder: Path) -> list[Path]:
    """Create `folder` and any missing parents; return those created, deepest last.

    Raises PackagingFailed if one cannot be made (a file in the way, no permission).
    """
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    if not folder.is_dir():
        raise PackagingFailed(f"cannot write into {folder}: it is not a folder")
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            _remove_folders(created)
            raise PackagingFailed(
                f"cannot create the folder {path}: {exc.strerror or exc}"
            ) from exc
        created.append(path)
    return created


def _remove_folders(created: list[Path]) -> None:
    """Remove folders this export created, deepest first, if they are still empty."""
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:
            return
