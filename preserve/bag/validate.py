"""Our own BagIt validator: every problem listed, Unicode-aware, hashing several files at once.

Not bagit-python's: it reports only the first problem, accepts whitespace before the colon in a
1.0 bagit.txt and a file missing from one of two manifests, and fails NFD-named manifests.
"""

from __future__ import annotations

import shlex
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from preserve.bag.archive import open_archive
from preserve.bag.checksums import Resolver, entry_files, hash_files, nfc
from preserve.bag.conformance import BagFacts, check_bag
from preserve.bag.inventory import Inventory, take_inventory
from preserve.bag.profile import Profile, load_profile
from preserve.bag.reader import (
    MANIFEST_NAME,
    Declaration,
    FetchItem,
    Manifest,
    Problem,
    new_hash,
    parse_fetch,
    parse_fields,
    parse_manifest,
    parse_oxum,
    printable,
    read_declaration,
    read_tag_text,
)
from preserve.errors import BadInput

Mode = Literal["full", "fast", "completeness"]

BAG_PARTS = frozenset({"bagit.txt", "bag-info.txt", "fetch.txt", "data"})
"""Top-level names that only a bag has; with a manifest, what makes a folder look like one."""

SERIALISED_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
"""How the names of serialised bags end, as `capture --serialize` writes them."""

SYSTEM_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini", ".localized", "icon\r"})
"""File names (lower case) an operating system leaves behind, warned about in a payload."""


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of validating one bag: every problem and warning, and what was checked.

    The bag is valid when `problems` is empty; `warnings` never make it invalid. `mode` says
    how far the check went: `full` (every checksum), `fast` (Payload-Oxum only) or
    `completeness` (every file present and listed, no checksum).
    """

    path: Path
    mode: Mode
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()
    bagit_version: str | None = None
    serialization: str | None = None
    profile: str | None = None
    payload_files: int = 0
    payload_bytes: int = 0
    algorithms: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        """Return True if no problem was found (warnings allowed)."""
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        """Return the report as a JSON-ready mapping (schemas/validation-report.schema.json)."""
        return {
            "bag": str(self.path),
            "valid": self.valid,
            "exit_code": 0 if self.valid else 1,
            "mode": self.mode,
            "serialization": self.serialization,
            "bagit_version": self.bagit_version,
            "profile": self.profile,
            "payload_files": self.payload_files,
            "payload_bytes": self.payload_bytes,
            "algorithms": list(self.algorithms),
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [w.to_dict() for w in self.warnings],
            "error": None,
        }


def validate(
    path: Path | str,
    *,
    fast: bool = False,
    completeness_only: bool = False,
    processes: int = 1,
    profile: Profile | Path | str | None = None,
) -> ValidationReport:
    """Validate the bag at `path` (a folder, or a .zip/.tar/.tar.gz file) and return the report.

    An archive is checked entry by entry before anything is extracted, then extracted into a
    temporary folder that is removed afterwards. `profile` (a Profile or the path of its JSON)
    adds that BagIt Profile's rules. Raises BadInput if `path` is missing or unreadable, is a
    file that is not a readable archive, if the profile cannot be read, or for bad options.
    """
    if fast and completeness_only:
        raise BadInput("choose --fast or --completeness-only, not both")
    if processes < 1:
        raise BadInput(f"--processes must be at least 1, not {processes}")
    if profile is not None and not isinstance(profile, Profile):
        profile = load_profile(Path(profile))
    mode: Mode = "fast" if fast else "completeness" if completeness_only else "full"
    path = Path(path)
    if path.is_dir():
        try:
            refuse_non_bag(path, command="validate")
            return _validate_folder(path, path, mode, processes, profile, None, ())
        except OSError as exc:
            raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not path.exists():
        raise BadInput(f"{path}: no such file or folder")
    with open_archive(path) as archive:
        if not archive.problems and not looks_like_a_bag(archive.members):
            raise BadInput(
                f"{path} is not a bag: its folder {archive.top} has no bagit.txt, no data/"
                " and no manifest"
            )
        if archive.problems:
            return ValidationReport(
                path,
                mode,
                tuple(archive.problems),
                tuple(archive.warnings),
                serialization=archive.format,
                profile=profile.identifier if profile is not None else None,
            )
        with tempfile.TemporaryDirectory(prefix="preserve-validate-") as scratch:
            root = archive.extract(Path(scratch))
            return _validate_folder(
                root, path, mode, processes, profile, archive.format, archive.warnings
            )


def looks_like_a_bag(relpaths: Iterable[str]) -> bool:
    """Return True if any of a folder's paths is part of a bag: bagit.txt, data/, a manifest…

    A folder with none of them is no bag at all (bad input); one with some of them but no
    bagit.txt is a broken bag (invalid), as the conformance suite's missing-bagit.txt is.
    """
    for relpath in relpaths:
        top = relpath.split("/", 1)[0]
        if top in BAG_PARTS or MANIFEST_NAME.fullmatch(top):
            return True
    return False


def refuse_non_bag(folder: Path, *, command: str) -> None:
    """Raise BadInput if `folder` has nothing of a bag, hinting at the bags it holds, if any.

    `command` (validate, export) is the command the hint suggests. Raises OSError if the
    folder cannot be listed.
    """
    children = list(folder.iterdir())
    if looks_like_a_bag(child.name for child in children):
        return
    message = f"{folder} is not a bag: it has no bagit.txt, no data/ and no manifest"
    bags = sum(1 for child in children if _is_bag(child))
    if not bags:
        raise BadInput(message)
    held = f"it holds {bags} bag" + ("" if bags == 1 else "s")
    if command == "validate":
        raise BadInput(message, hint=f"{held}: preserve validate {shlex.quote(str(folder))}/*")
    raise BadInput(message, hint=f"{held}: {command} them one at a time")


def _is_bag(path: Path) -> bool:
    """Return True for a bag folder (one with bagit.txt) or a file named as a serialised bag."""
    try:
        if path.is_dir():
            return (path / "bagit.txt").is_file()
        return path.is_file() and path.name.lower().endswith(SERIALISED_SUFFIXES)
    except OSError:
        return False


@dataclass(slots=True)
class _Check:
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


def _validate_folder(
    root: Path,
    shown_as: Path,
    mode: Mode,
    processes: int,
    profile: Profile | None,
    serialization: str | None,
    archive_warnings: Iterable[Problem],
) -> ValidationReport:
    """Validate the bag folder `root`; the report names it `shown_as`."""
    inventory = take_inventory(root)
    if "bagit.txt" not in inventory.files:
        message = "no bagit.txt, which every bag must have (RFC 8493 §2.1.1)"
        found = (*inventory.problems, Problem("not-a-bag", "bagit.txt", message))
        return ValidationReport(shown_as, mode, found, tuple(archive_warnings))
    declaration, problems = read_declaration((root / "bagit.txt").read_bytes())
    check = _Check(root, inventory, declaration, [*inventory.problems, *problems])
    check.warnings.extend(archive_warnings)
    _read_tag_files(check)
    payload = inventory.payload
    if mode == "fast":
        _check_oxum(check, payload, required=True)
    else:
        _check_completeness(check)
        _check_oxum(check, payload, required=False)
        if mode == "full":
            _check_checksums(check, processes)
    if profile is not None:
        facts = BagFacts(
            version=declaration.version_text,
            bag_info=tuple(check.bag_info),
            manifest_algorithms=tuple(m.algorithm for m in check.payload_manifests()),
            tag_manifest_algorithms=tuple(m.algorithm for m in check.tag_manifests()),
            has_fetch="fetch.txt" in inventory.files,
            tag_files=tuple(inventory.tags),
            payload_files=tuple(payload.items()),
            serialization=serialization,
        )
        broken, said = check_bag(profile, facts)
        check.problems.extend(broken)
        check.warnings.extend(said)
    return ValidationReport(
        path=shown_as,
        mode=mode,
        problems=tuple(check.problems),
        warnings=tuple(check.warnings),
        bagit_version=declaration.version_text,
        serialization=serialization,
        profile=profile.identifier if profile is not None else None,
        payload_files=len(payload),
        payload_bytes=sum(payload.values()),
        algorithms=tuple(m.algorithm for m in check.payload_manifests()),
    )


def _read_tag_files(check: _Check) -> None:
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


def _tag_text(check: _Check, name: str) -> str | None:
    """Return the text of the tag file `name`, or None after recording why it cannot be read."""
    text, problem = read_tag_text(check.root, name, check.declaration.codec)
    if problem is not None:
        check.problems.append(problem)
        return None
    return text


def _check_oxum(check: _Check, payload: dict[str, int], *, required: bool) -> None:
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


def _check_completeness(check: _Check) -> None:
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


def _check_tag_consistency(check: _Check) -> None:
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


def _check_fetch_listed(check: _Check) -> None:
    """Report a fetch.txt item missing from a payload manifest (RFC 8493 §2.2.3)."""
    for manifest in check.payload_manifests():
        listed = {nfc(entry.path) for entry in manifest.entries}
        for item in check.fetch:
            if nfc(item.path) not in listed:
                message = f"listed in fetch.txt but not in {manifest.name}"
                check.problems.append(Problem("bad-fetch", printable(item.path), message))


def _warn_names(check: _Check, payload: dict[str, int]) -> None:
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


def _check_checksums(check: _Check, processes: int) -> None:
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
