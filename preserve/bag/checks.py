"""The checks of one bag folder: its tag files read, its payload complete, its checksums right.

Each check adds what it finds to a FolderCheck; the validator runs them and makes the report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from preserve.bag.checksums import Resolver, entry_files, hash_files, nfc
from preserve.bag.inventory import Inventory
from preserve.bag.manifests import FetchItem, Manifest, parse_fetch, parse_manifest
from preserve.bag.reader import (
    MANIFEST_NAME,
    Declaration,
    Problem,
    new_hash,
    parse_fields,
    parse_oxum,
    printable,
    read_tag_text,
)

SYSTEM_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini", ".localized", "icon\r"})
"""File names (lower case) an operating system leaves behind, warned about in a payload."""


@dataclass(slots=True)
class FolderCheck:
    """The state of one folder's validation: what was read and what was found wrong."""

    root: Path
    inventory: Inventory
    declaration: Declaration
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    bag_info: list[tuple[str, str]] = field(default_factory=list)
    manifests: list[Manifest] = field(default_factory=list)
    fetch: list[FetchItem] = field(default_factory=list)

    @property
    def version(self) -> tuple[int, int]:
        """Return the declared version, or 1.0 (the strictest rules) if it is unusable."""
        return self.declaration.version or (1, 0)

    def payload_manifests(self) -> list[Manifest]:
        """Return the payload manifests read."""
        return [m for m in self.manifests if not m.tag]

    def tag_manifests(self) -> list[Manifest]:
        """Return the tag manifests read."""
        return [m for m in self.manifests if m.tag]


def read_tag_files(check: FolderCheck) -> None:
    """Read bag-info.txt, the manifests and fetch.txt into `check`, recording their problems."""
    version, files = check.version, check.inventory.files
    if version < (1, 0):
        message = f"BagIt-Version {check.declaration.version_text} is older than 1.0 (RFC 8493)"
        check.warnings.append(Problem("old-version", "bagit.txt", message))
    if not any(p.startswith("data/") for p in files) and not (check.root / "data").is_dir():
        check.problems.append(Problem("missing", "data/", "no data/ payload folder"))
    if "bag-info.txt" in files and (text := _tag_text(check, "bag-info.txt")) is not None:
        check.bag_info, bad = parse_fields(text, "bag-info.txt", strict=version >= (1, 0))
        check.problems.extend(Problem("bad-tag-file", "bag-info.txt", m) for m in bad)
    for name in sorted(p for p in files if MANIFEST_NAME.fullmatch(p)):
        if (text := _tag_text(check, name)) is None:
            continue
        manifest = parse_manifest(name, text, version)
        check.problems.extend(manifest.problems)
        check.warnings.extend(manifest.warnings)
        if new_hash(manifest.algorithm) is None:
            message = f"{manifest.algorithm} is not an algorithm this validator can compute"
            check.problems.append(Problem("unsupported-algorithm", name, message))
        check.manifests.append(manifest)
    if not check.payload_manifests():
        message = "no payload manifest (manifest-<algorithm>.txt): RFC 8493 §2.1.3 needs one"
        check.problems.append(Problem("no-manifest", None, message))
    if "fetch.txt" in files and (text := _tag_text(check, "fetch.txt")) is not None:
        check.fetch, problems = parse_fetch(text, version)
        check.problems.extend(problems)


def _tag_text(check: FolderCheck, name: str) -> str | None:
    """Return the text of the tag file `name`, or None after recording why it cannot be read."""
    text, problem = read_tag_text(check.root, name, check.declaration.codec)
    if problem is not None:
        check.problems.append(problem)
        return None
    return text


def check_oxum(check: FolderCheck, payload: dict[str, int], *, required: bool) -> None:
    """Compare bag-info's Payload-Oxum with the payload on disk; `required` in fast mode."""
    values = [v for label, v in check.bag_info if label.lower() == "payload-oxum"]
    if not values:
        message = "no Payload-Oxum in bag-info.txt"
        if required:
            message += ": --fast has nothing to check; validate without --fast"
        kind_list = check.problems if required else check.warnings
        kind_list.append(Problem("no-payload-oxum", "bag-info.txt", message))
        return
    oxum = parse_oxum(values[0])
    if oxum is None:
        message = f"Payload-Oxum {values[0]!r} is not '<bytes>.<files>'"
        check.problems.append(Problem("bad-tag-file", "bag-info.txt", message))
        return
    found = (sum(payload.values()), len(payload))
    if oxum != found:
        message = (
            f"Payload-Oxum is {values[0].strip()} ({_amount(*oxum)});"
            f" data/ holds {found[0]}.{found[1]} ({_amount(*found)})"
        )
        check.problems.append(Problem("oxum-mismatch", "bag-info.txt", message))


def _amount(size: int, files: int) -> str:
    return f"{size} bytes, {files} file" + ("" if files == 1 else "s")


def check_completeness(check: FolderCheck) -> None:
    """Report files missing, not fetched, unexpected, or absent from some manifest."""
    payload = check.inventory.payload
    resolve = Resolver(check.inventory.files)
    fetch_paths = {nfc(item.path) for item in check.fetch}
    missing: dict[str, list[str]] = defaultdict(list)
    listed_by: dict[str, set[str]] = defaultdict(set)
    payload_manifests = check.payload_manifests()
    for manifest in check.manifests:
        for path, disk in entry_files(manifest, resolve).items():
            if disk is None:
                missing[path].append(manifest.name)
            else:
                listed_by[disk].add(manifest.name)
    for path, manifests in missing.items():
        listing = " and ".join(manifests)
        if nfc(path) in fetch_paths:
            message = f"listed in fetch.txt and {listing} but not fetched yet"
            check.problems.append(Problem("not-fetched", printable(path), message))
        else:
            message = f"listed in {listing} but not in the bag"
            check.problems.append(Problem("missing", printable(path), message))
    for disk in sorted(payload):
        names = listed_by.get(disk, set())
        if not names:
            message = "in data/ but in no payload manifest"
            check.problems.append(Problem("unexpected", printable(disk), message))
            continue
        for manifest in payload_manifests:
            if manifest.name not in names:
                message = f"listed in {', '.join(sorted(names))} but not in {manifest.name}"
                check.problems.append(Problem("not-in-manifest", printable(disk), message))
    _check_tag_consistency(check)
    _check_fetch_listed(check)
    _warn_names(check, payload)


def _check_tag_consistency(check: FolderCheck) -> None:
    """Report a tag file listed in one tag manifest but not in another."""
    tag_manifests = check.tag_manifests()
    listed = {m.name: {nfc(e.path) for e in m.entries} for m in tag_manifests}
    everything = sorted(set().union(*listed.values())) if listed else []
    for path in everything:
        absent = [name for name, paths in listed.items() if path not in paths]
        present = [name for name, paths in listed.items() if path in paths]
        for name in absent:
            message = f"listed in {', '.join(present)} but not in {name}"
            check.problems.append(Problem("not-in-manifest", printable(path), message))


def _check_fetch_listed(check: FolderCheck) -> None:
    """Report a fetch.txt item missing from a payload manifest (RFC 8493 §2.2.3)."""
    for manifest in check.payload_manifests():
        listed = {nfc(entry.path) for entry in manifest.entries}
        for item in check.fetch:
            if nfc(item.path) not in listed:
                message = f"listed in fetch.txt but not in {manifest.name}"
                check.problems.append(Problem("bad-fetch", printable(item.path), message))


def _warn_names(check: FolderCheck, payload: dict[str, int]) -> None:
    """Warn about payload names that are twins by case or normalisation, or system files."""
    names = {e.path for m in check.payload_manifests() for e in m.entries} | set(payload)
    by_case: dict[str, set[str]] = defaultdict(set)
    by_form: dict[str, set[str]] = defaultdict(set)
    for name in names:
        by_case[nfc(name).casefold()].add(nfc(name))
        by_form[nfc(name)].add(name)
    for group in by_case.values():
        if len(group) > 1:
            shown = " and ".join(printable(p) for p in sorted(group))
            message = f"{shown} differ only by case: one file on a case-insensitive disk"
            check.warnings.append(Problem("case-twins", printable(min(group)), message))
    for group in by_form.values():
        if len(group & set(payload)) > 1:
            message = "stored twice in data/, in two Unicode normalisations (NFC and NFD)"
            check.warnings.append(Problem("normalization-twins", printable(min(group)), message))
    for name in sorted(payload):
        base = name.rsplit("/", 1)[-1]
        if base.lower() in SYSTEM_FILES or base.startswith("._"):
            message = "a file the operating system leaves behind, not content"
            check.warnings.append(Problem("system-file", printable(name), message))


def check_checksums(check: FolderCheck, processes: int) -> None:
    """Hash every listed file once with every algorithm it needs; report each mismatch."""
    resolve = Resolver(check.inventory.files)
    plan = [(m, entry_files(m, resolve)) for m in check.manifests if new_hash(m.algorithm)]
    wanted: dict[str, set[str]] = defaultdict(set)
    for manifest, found in plan:
        for disk in found.values():
            if disk is not None:
                wanted[disk].add(manifest.algorithm)
    digests = hash_files(check.root, wanted, processes)
    unreadable: set[str] = set()
    for manifest, found in plan:
        for entry in manifest.entries:
            disk = found[entry.path]
            if disk is None:
                continue
            result = digests[disk]
            if isinstance(result, str):
                if disk not in unreadable:
                    unreadable.add(disk)
                    check.problems.append(Problem("unreadable", printable(disk), result))
                continue
            actual = result[manifest.algorithm]
            if actual != entry.digest:
                message = (
                    f"{manifest.name} gives {entry.digest}, the file's {manifest.algorithm}"
                    f" is {actual}"
                )
                check.problems.append(Problem("checksum-mismatch", printable(disk), message))
