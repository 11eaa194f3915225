"""WACZ 1.1.1 export of a bag: its WARCs, their CDXJ index, pages.jsonl and datapackage.json.

Written here rather than by the `wacz` package: the bag already holds the index and the
page list (its capture log), and py-wacz would re-read and re-index every WARC and bring
some fifteen packages into the runtime. Its validator checks what this writes (tests).

The bag is read once, as `validate` reads it (checks.read_bag), and nothing is taken from it
unless it is a regular file inside the bag listed in every payload manifest: the WARCs are
checked against every manifest while they are copied, the index and the capture log (at
most MAX_INPUT_BYTES each, read whole) before they are used.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from preserve._version import __version__
from preserve.bag.archive import open_archive
from preserve.bag.checks import BagFolder, read_bag, vouched
from preserve.bag.reader import Problem, new_hash, printable
from preserve.bag.validate import looks_like_a_bag, refuse_non_bag
from preserve.errors import BadInput, InvalidBag, PackagingFailed
from preserve.fields import JsonProblem, read_json

WACZ_VERSION = "1.1.1"
PAGE_ROLES = frozenset({"seed", "page"})
CAPTURE_LOG = "data/logs/capture-log.jsonl"
MAX_INPUT_BYTES = 256 << 20
"""The largest CDXJ index or capture log an export reads (each is held whole)."""
_WARC = re.compile(r"data/warc/[^/]+\.warc\.gz")
_DAMAGED = "the bag is damaged; preserve validate lists what changed"
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


@dataclass(slots=True)
class _Source:
    """What an export takes from a bag, each file checked: WARCs to copy, index, pages."""

    bag: BagFolder
    name: str
    warcs: list[str]
    index: bytes
    pages: bytes
    page_count: int
    info: dict[str, str] = field(default_factory=dict)
    expected: dict[str, dict[str, str]] = field(default_factory=dict)
    """For each file taken: the digest every payload manifest gives it, by algorithm."""


@contextmanager
def _bag_folder(bag: Path) -> Iterator[Path]:
    """Yield the bag as a folder, extracting a serialised bag into a locked scratch folder.

    Raises BadInput if `bag` is a folder or archive with nothing of a bag (as validate does).
    """
    if bag.is_dir():
        try:
            refuse_non_bag(bag, command="export")
        except OSError as exc:
            raise BadInput(f"cannot read {bag}: {exc.strerror or exc}") from exc
        yield bag
        return
    with open_archive(bag) as archive:
        if not archive.problems and not looks_like_a_bag(archive.members):
            raise BadInput(
                f"{bag} is not a bag: its folder {archive.top} has no bagit.txt, no data/"
                " and no manifest"
            )
        # A locked scratch folder: if this run is killed, the next one proves it is stale
        # (its owner gone) and removes it, as capture's staging is removed.
        with archive.extracted() as root:
            yield root


def _read_source(root: Path, shown: Path) -> _Source:
    """Return what the WACZ of the bag folder `root` takes from it, each file checked.

    Raises BadInput when the bag has no bagit.txt, no WARC, a WARC without its index, or an
    index or log that cannot be read; InvalidBag when a file to take (or bagit.txt,
    bag-info.txt, a payload manifest) is not a regular file inside the bag or cannot be read,
    is missing from a payload manifest, or does not match one.
    """
    try:
        bag = read_bag(root)
    except OSError as exc:
        raise BadInput(f"cannot read {shown}: {exc.strerror or exc}") from exc
    warcs, taken = _files_to_take(bag, shown)
    expected = vouched(bag, taken)
    if isinstance(expected, Problem):
        where = f"{expected.path}: " if expected.path else ""
        raise InvalidBag(
            f"{shown}: {where}{expected.message}: export takes only what every payload"
            " manifest lists",
            hint="preserve validate lists every problem",
        )
    source = _Source(bag, root.name, warcs, b"", b"", 0, expected=expected)
    for label, value in bag.bag_info:
        source.info.setdefault(label, value)
    # Read, then understood (an index or log that cannot be is bad input, exit 2), then
    # checked: the bytes compared with the manifests are the very bytes used.
    small = {relpath: _take(bag, relpath) for relpath in taken[len(warcs) :]}
    index_lines: list[str] = []
    for index in taken[len(warcs) : 2 * len(warcs)]:
        try:
            index_lines += small[index].decode("utf-8").splitlines(keepends=True)
        except UnicodeDecodeError as exc:
            raise BadInput(f"{index} cannot be read: it is not UTF-8", hint=_DAMAGED) from exc
    source.index = "".join(sorted(set(index_lines))).encode("utf-8")
    title = source.info.get("Internal-Sender-Description") or source.info.get("DC-Title")
    source.pages, source.page_count = pages_jsonl(small.get(CAPTURE_LOG, b""), title)
    for relpath, data in small.items():
        hashes = {a: h for a in source.expected[relpath] if (h := new_hash(a)) is not None}
        for hashed in hashes.values():
            hashed.update(data)
        _verify(source, relpath, {a: h.hexdigest() for a, h in hashes.items()})
    return source


def _files_to_take(bag: BagFolder, shown: Path) -> tuple[list[str], list[str]]:
    """Return the bag's WARCs, and every file to take: WARCs, then indexes, then the log.

    Raises BadInput or InvalidBag as `_read_source` says, before anything is read.
    """
    if bag.declaration is None:
        why = bag.problem_of("bagit.txt")
        raise BadInput(
            f"{shown} is not a bag: " + (f"bagit.txt: {why.message}" if why else "no bagit.txt")
        )
    files = bag.inventory.files
    warcs = sorted(p for p in files if _WARC.fullmatch(p))
    refused = [p.path for p in bag.inventory.problems if p.path and _WARC.fullmatch(p.path)]
    if not warcs and not refused:
        raise BadInput(
            f"{shown} holds no WARC under data/warc/",
            hint="a bag made by another tool, or captured with --payload files",
        )
    indexes = [w.removesuffix(".warc.gz") + ".cdxj" for w in warcs]
    for index in indexes:
        if index not in files and not bag.problem_of(index):
            raise BadInput(f"{index} is missing: the WARC has no index")
    log = [CAPTURE_LOG] if CAPTURE_LOG in files or bag.problem_of(CAPTURE_LOG) else []
    needed = ["bagit.txt", "bag-info.txt", *(m.name for m in bag.payload_manifests())]
    for relpath in [*needed, *refused, *indexes, *log]:
        if problem := bag.problem_of(relpath):
            raise InvalidBag(f"{shown}: {problem.path}: {problem.message}", hint=_DAMAGED)
    return warcs, [*warcs, *indexes, *log]


def _take(bag: BagFolder, relpath: str) -> bytes:
    """Return the bytes of a small file taken from the bag (at most MAX_INPUT_BYTES)."""
    data = bag.inventory.read(relpath, MAX_INPUT_BYTES)
    if isinstance(data, Problem):
        raise BadInput(f"{data.path} cannot be read: {data.message}", hint=_DAMAGED)
    return data


def _verify(source: _Source, relpath: str, actual: dict[str, str]) -> None:
    """Raise InvalidBag, naming the manifests, if a file differs from what any of them gives."""
    expected = source.expected[relpath]
    differ = [f"manifest-{a}.txt" for a in sorted(expected) if actual.get(a) != expected[a]]
    if differ:
        raise InvalidBag(
            f"{printable(relpath)} does not match the bag's {' and '.join(differ)}",
            hint="nothing was written; preserve validate lists what changed",
        )


def pages_jsonl(log: bytes, title: str | None) -> tuple[bytes, int]:
    """Return pages.jsonl for a capture log (seed first, then linked pages) and the page count.

    Every captured seed or linked page is listed at the URL that was requested (replay
    follows a recorded redirect), with the time its response started. Each line of the log
    is read by fields.read_json (nested at most 64 deep, numbers of at most 30 digits).
    Raises BadInput, naming the line, when one is not a JSON object within those bounds.
    """
    lines = [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"})]
    seen: set[str] = set()
    for number, raw in enumerate(log.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            entry = read_json(raw)
            why = "it is not a JSON object"
        except JsonProblem as exc:
            entry, why = None, f"it is not a JSON object: {exc}"
        if not isinstance(entry, dict):
            raise BadInput(f"{CAPTURE_LOG} line {number} cannot be read: {why}", hint=_DAMAGED)
        url = entry.get("url")
        if entry.get("role") not in PAGE_ROLES or entry.get("outcome") != "captured":
            continue
        if not isinstance(url, str) or url in seen:
            continue
        seen.add(url)
        page: dict[str, object] = {
            "id": hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:16],
            "url": url,
            "ts": entry.get("started") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if entry.get("role") == "seed" and title:
            page["title"] = title
        # ASCII JSON: a log's string may hold a lone surrogate (\ud800), which no UTF-8 holds.
        lines.append(json.dumps(page))
    return ("\n".join(lines) + "\n").encode("utf-8"), len(lines) - 1


def _copy_into(archive: zipfile.ZipFile, source: _Source, relpath: str) -> _Entry:
    """Store the WARC `relpath` in the zip (no compression), checked as it is copied.

    Raises InvalidBag if it differs from what a payload manifest gives (the caller removes
    the partial WACZ) or cannot be read.
    """
    fd = source.bag.inventory.open(relpath)
    if isinstance(fd, Problem):
        raise InvalidBag(f"{fd.path}: {fd.message}", hint=_DAMAGED)
    name = f"archive/{relpath.rsplit('/', 1)[-1]}"
    info = zipfile.ZipInfo(name, datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    expected = source.expected[relpath]
    hashes = {a: h for a in {"sha256", *expected} if (h := new_hash(a)) is not None}
    size = 0
    with os.fdopen(fd, "rb") as src:
        whole = os.fstat(src.fileno()).st_size
        with archive.open(info, "w", force_zip64=whole >= _ZIP64_FROM) as out:
            while chunk := src.read(_CHUNK):
                size += len(chunk)
                for hashed in hashes.values():
                    hashed.update(chunk)
                out.write(chunk)
    digests = {algorithm: hashed.hexdigest() for algorithm, hashed in hashes.items()}
    _verify(source, relpath, digests)
    return _Entry(name, digests["sha256"], size)


def _write_bytes(archive: zipfile.ZipFile, name: str, data: bytes) -> _Entry:
    info = zipfile.ZipInfo(name, datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)
    return _Entry(name, hashlib.sha256(data).hexdigest(), len(data))


def _write_wacz(source: _Source, target: Path) -> WaczSummary:
    info = source.info
    title = info.get("Internal-Sender-Description") or info.get("DC-Title")
    seed = info.get("Internal-Sender-Identifier")
    entries: list[_Entry] = []
    with zipfile.ZipFile(target, "x", allowZip64=True) as archive:
        entries += [_copy_into(archive, source, warc) for warc in source.warcs]
        entries.append(_write_bytes(archive, "indexes/index.cdxj", source.index))
        entries.append(_write_bytes(archive, "pages/pages.jsonl", source.pages))
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
            "title": title or seed or source.name,
            "description": f"Exported by preserve from the bag {source.name}"
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
    names = tuple(w.rsplit("/", 1)[-1] for w in source.warcs)
    return WaczSummary(target, whole.hexdigest(), names, source.page_count)


def export_wacz(bag: Path, target: Path) -> WaczSummary:
    """Write the WACZ of a bag (a folder or a .zip/.tar/.tar.gz file) to `target`; return it.

    The WARCs are stored uncompressed in the zip, as replay tools need for random access.
    Nothing is taken from the bag unless it is a regular file inside it that every payload
    manifest lists with the digest it has: the WARCs are checked while copied, their index
    and the capture log before use. Missing folders above `target` are created, as
    `capture` creates its output folder. Raises BadInput when `bag` is not a bag (no
    bagit.txt), has no WARC under data/warc/ (made by another tool, or captured with
    `--payload files`), lacks a WARC's index, or cannot be read; InvalidBag when a file to
    take is unlisted, differs from a manifest, or is a link, FIFO or device; PackagingFailed
    when `target` exists or cannot be written (nothing is left behind).
    """
    if target.exists():
        raise PackagingFailed(f"{target} already exists")
    if not bag.exists():
        raise BadInput(f"no such bag: {bag}")
    with _bag_folder(bag) as root:
        source = _read_source(root, bag)
        created = _make_folders(target.parent)
        try:
            summary = _write_in_place(source, target)
        except BaseException:
            _remove_folders(created)
            raise
    return WaczSummary(target, summary.sha256, summary.warcs, summary.pages)


def _write_in_place(source: _Source, target: Path) -> WaczSummary:
    """Write the WACZ beside `target` under a temporary name, then link it to `target`.

    The link fails if `target` appeared meanwhile: an existing file is never replaced.
    """
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        summary = _write_wacz(source, partial)
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
