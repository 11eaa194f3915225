"""Our own BagIt validator: every problem listed, Unicode-aware, hashing several files at once.

Not bagit-python's: it reports only the first problem, accepts whitespace before the colon in a
1.0 bagit.txt and a file missing from one of two manifests, and fails NFD-named manifests.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from preserve.bag.archive import open_archive
from preserve.bag.archive_files import ArchiveFiles
from preserve.bag.checks import (
    BagFolder,
    check_checksums,
    check_completeness,
    check_oxum,
    read_bag,
    read_files,
)
from preserve.bag.conformance import BagFacts, check_bag
from preserve.bag.profile import Profile, load_profile
from preserve.bag.reader import MANIFEST_NAME, Problem
from preserve.bag.scratch import Scratch
from preserve.errors import BadInput

Mode = Literal["full", "fast", "completeness"]

BAG_PARTS = frozenset({"bagit.txt", "bag-info.txt", "fetch.txt", "data"})
"""Top-level names that only a bag has; with a manifest, what makes a folder look like one."""

SERIALISED_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
"""How the names of serialised bags end, as `capture --serialize` writes them."""


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

    An archive is checked entry by entry before anything is read, then read in place: only
    its lists (bagit.txt, bag-info.txt, fetch.txt, manifests) are extracted, into a locked
    temporary folder removed afterwards, and every file is hashed in one pass. `profile` (a
    Profile or the path of its JSON) adds that BagIt Profile's rules. Raises BadInput if
    `path` is missing or unreadable, is a file that is not a readable archive (or holds
    entries preserve cannot read), if the profile cannot be read, or for bad options;
    PackagingFailed if the temporary folder cannot take the lists.
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
        with Scratch.create() as scratch:
            files = ArchiveFiles(archive, scratch.path)
            if mode == "full":
                # Hashed here, in the thread a signal interrupts, not in check_checksums'
                # worker threads, which then only look the digests up.
                files.hash_all()
            bag = read_files(files)
            return _validate_read(
                bag, path, mode, processes, profile, archive.format, archive.warnings
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


def _validate_read(
    check: BagFolder,
    shown_as: Path,
    mode: Mode,
    processes: int,
    profile: Profile | None,
    serialization: str | None,
    archive_warnings: Iterable[Problem],
) -> ValidationReport:
    """Validate a bag read into `check` (a folder, or a serialised bag read in place)."""
    inventory, declaration = check.inventory, check.declaration
    if declaration is None:
        message = "no bagit.txt, which every bag must have (RFC 8493 §2.1.1)"
        found = (*inventory.problems, Problem("not-a-bag", "bagit.txt", message))
        return ValidationReport(shown_as, mode, found, tuple(archive_warnings))
    check.warnings[:0] = archive_warnings
    payload = inventory.payload
    if mode == "fast":
        check_oxum(check, payload, required=True)
    else:
        check_completeness(check)
        check_oxum(check, payload, required=False)
        if mode == "full":
            check_checksums(check, processes)
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
    return _validate_read(
        read_bag(root), shown_as, mode, processes, profile, serialization, archive_warnings
    )
