"""A bag folder read once (its files, bagit.txt, bag-info, manifests, fetch.txt), then checked.

`read_bag` is the one reader of a bag that `validate`, `info` and `export` share, as
bagit-python reads a bag once into its `Bag`: every tag file is read through the bag's
Inventory (never through a link out of the bag, never a FIFO or device), bagit.txt and
bag-info.txt within MAX_TAG_BYTES, manifests and fetch.txt line by line within
MAX_LINE_CHARS a line; whatever cannot be read is a problem naming the file, never an
exception. Each check then adds what it finds to the BagFolder; the validator makes the report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from preserve.bag.checksums import Resolver, entry_files, hash_files, nfc
from preserve.bag.inventory import Inventory, take_inventory
from preserve.bag.manifests import FetchItem, Manifest, parse_fetch, parse_manifest
from preserve.bag.reader import (
    MANIFEST_NAME,
    MAX_TAG_BYTES,
    Declaration,
    Problem,
    decode_lines,
    decode_tag_bytes,
    excerpt,
    new_hash,
    parse_fields,
    parse_oxum,
    printable,
    read_declaration,
)

SYSTEM_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini", ".localized", "icon\r"})
"""File names (lower case) an operating system leaves behind, warned about in a payload."""


@dataclass(slots=True)
class BagFolder:
    """A bag folder as read: its files, declaration, bag-info, manifests and fetch.txt.

    `declaration` is None when the folder has no bagit.txt (then nothing else was read).
    `problems` and `warnings` start with what reading found; the checks add theirs. `unread`
    names each tag file that could not be read (too large, not text, not a regular file
    inside the bag) with its problem.
    """

    root: Path
    inventory: Inventory
    declaration: Declaration | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    bag_info: list[tuple[str, str]] = field(default_factory=list)
    manifests: list[Manifest] = field(default_factory=list)
    fetch: list[FetchItem] = field(default_factory=list)
    unread: dict[str, Problem] = field(default_factory=dict)
    _resolve: Resolver | None = None
    _found: dict[str, dict[str, str | None]] = field(default_factory=dict)

    @property
    def version(self) -> tuple[int, int]:
        """Return the declared version, or 1.0 (the strictest rules) if it is unusable."""
        return (self.declaration and self.declaration.version) or (1, 0)

    @property
    def codec(self) -> str:
        """Return the codec the tag files are read with (UTF-8 when none is declared)."""
        return self.declaration.codec if self.declaration else "utf-8"

    def payload_manifests(self) -> list[Manifest]:
        """Return the payload manifests read."""
        return [m for m in self.manifests if not m.tag]

    def tag_manifests(self) -> list[Manifest]:
        """Return the tag manifests read."""
        return [m for m in self.manifests if m.tag]

    def files_of(self, manifest: Manifest) -> dict[str, str | None]:
        """Return the file in the bag each entry of `manifest` names, or None (computed once)."""
        if manifest.name not in self._found:
            if self._resolve is None:
                self._resolve = Resolver(self.inventory.files)
            self._found[manifest.name] = entry_files(manifest, self._resolve)
        return self._found[manifest.name]

    def problem_of(self, relpath: str) -> Problem | None:
        """Return why the file `relpath` could not be read from the bag, or None."""
        shown = printable(relpath)
        listed = (p for p in self.inventory.problems if p.path == shown)
        return self.unread.get(relpath) or next(listed, None)

    def unreadable(self, relpath: str, problem: Problem) -> None:
        """Record that the tag file `relpath` could not be read, and why."""
        self.unread[relpath] = problem
        self.problems.append(problem)


def read_bag(root: Path, *, lists: bool = True) -> BagFolder:
    """Return the bag folder `root` read once; `lists` also reads manifests and fetch.txt.

    Raises OSError if `root` cannot be listed; anything else wrong is in the BagFolder.
    """
    return read_files(take_inventory(root), lists=lists)


def read_files(inventory: Inventory, *, lists: bool = True) -> BagFolder:
    """Return the bag whose files `inventory` lists, read as `read_bag` reads a folder."""
    bag = BagFolder(inventory.root, inventory, problems=list(inventory.problems))
    if "bagit.txt" not in inventory.files:
        return bag
    data = inventory.read("bagit.txt", MAX_TAG_BYTES)
    if isinstance(data, Problem):
        bag.declaration = Declaration(None, None, None)
        bag.unreadable("bagit.txt", data)
    else:
        bag.declaration, problems = read_declaration(data)
        bag.problems.extend(problems)
    if not lists:
        _read_bag_info(bag)
        return bag
    if bag.version < (1, 0):
        message = f"BagIt-Version {bag.declaration.version_text} is older than 1.0 (RFC 8493)"
        bag.warnings.append(Problem("old-version", "bagit.txt", message))
    if not inventory.payload and not (bag.root / "data").is_dir():
        bag.problems.append(Problem("missing", "data/", "no data/ payload folder"))
    _read_bag_info(bag)
    _read_lists(bag)
    return bag


def _read_bag_info(bag: BagFolder) -> None:
    """Read bag-info.txt's fields into `bag`, within MAX_TAG_BYTES, recording its problems."""
    if "bag-info.txt" not in bag.inventory.files:
        return
    data = bag.inventory.read("bag-info.txt", MAX_TAG_BYTES)
    text, problem = (
        (None, data)
        if isinstance(data, Problem)
        else decode_tag_bytes(data, "bag-info.txt", bag.codec)
    )
    if problem is not None:
        bag.unreadable("bag-info.txt", problem)
    elif text is not None:
        bag.bag_info, bad = parse_fields(text, "bag-info.txt", strict=bag.version >= (1, 0))
        bag.problems.extend(Problem("bad-tag-file", "bag-info.txt", m) for m in bad)


def _read_lists(bag: BagFolder) -> None:
    """Read the manifests and fetch.txt into `bag` line by line, recording their problems.

    A list cut short (a line past MAX_LINE_CHARS, bytes that are not text) is left out whole:
    half a manifest would call every file after the cut unexpected.
    """
    for name in sorted(p for p in bag.inventory.files if MANIFEST_NAME.fullmatch(p)):
        problems: list[Problem] = []
        lines = decode_lines(bag.inventory.chunks(name, problems, None), name, bag.codec, problems)
        manifest = parse_manifest(name, lines, bag.version)
        if problems:
            bag.unreadable(name, problems[0])
            continue
        bag.problems.extend(manifest.problems)
        bag.warnings.extend(manifest.warnings)
        if new_hash(manifest.algorithm) is None:
            message = f"{manifest.algorithm} is not an algorithm this validator can compute"
            bag.problems.append(Problem("unsupported-algorithm", name, message))
        bag.manifests.append(manifest)
    if not bag.payload_manifests():
        message = "no payload manifest (manifest-<algorithm>.txt): RFC 8493 §2.1.3 needs one"
        bag.problems.append(Problem("no-manifest", None, message))
    if "fetch.txt" in bag.inventory.files:
        problems = []
        chunks = bag.inventory.chunks("fetch.txt", problems, None)
        fetch, bad = parse_fetch(
            decode_lines(chunks, "fetch.txt", bag.codec, problems), bag.version
        )
        if problems:
            bag.unreadable("fetch.txt", problems[0])
        else:
            bag.fetch = fetch
            bag.problems.extend(bad)


def vouched(bag: BagFolder, relpaths: list[str]) -> dict[str, dict[str, str]] | Problem:
    """Return the digest every payload manifest gives each file, by algorithm, or a problem.

    The problem says why some file is not vouched for: the bag has no payload manifest, one
    whose algorithm cannot be computed, or one that does not list the file.
    """
    manifests = bag.payload_manifests()
    if not manifests:
        return Problem("no-manifest", None, "no payload manifest vouches for any file")
    expected: dict[str, dict[str, str]] = {relpath: {} for relpath in relpaths}
    for manifest in manifests:
        if new_hash(manifest.algorithm) is None:
            message = f"{manifest.algorithm} is not an algorithm this can compute"
            return Problem("unsupported-algorithm", manifest.name, message)
        found = bag.files_of(manifest)
        digests = {found[e.path]: e.digest for e in manifest.entries if found[e.path]}
        for relpath in relpaths:
            if relpath not in digests:
                message = f"not in {manifest.name}"
                return Problem("not-in-manifest", printable(relpath), message)
            expected[relpath][manifest.algorithm] = digests[relpath]
    return expected


def check_oxum(check: BagFolder, payload: dict[str, int], *, required: bool) -> None:
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
        message = f"Payload-Oxum {excerpt(values[0])!r} is not '<bytes>.<files>'"
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


def check_completeness(check: BagFolder) -> None:
    """Report files missing, not fetched, unexpected, or absent from some manifest."""
    payload = check.inventory.payload
    fetch_paths = {nfc(item.path) for item in check.fetch}
    missing: dict[str, list[str]] = defaultdict(list)
    listed_by: dict[str, set[str]] = defaultdict(set)
    payload_manifests = check.payload_manifests()
    for manifest in check.manifests:
        for path, disk in check.files_of(manifest).items():
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


def _check_tag_consistency(check: BagFolder) -> None:
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


def _check_fetch_listed(check: BagFolder) -> None:
    """Report a fetch.txt item missing from a payload manifest (RFC 8493 §2.2.3)."""
    for manifest in check.payload_manifests():
        listed = {nfc(entry.path) for entry in manifest.entries}
        for item in check.fetch:
            if nfc(item.path) not in listed:
                message = f"listed in fetch.txt but not in {manifest.name}"
                check.problems.append(Problem("bad-fetch", printable(item.path), message))


def _warn_names(check: BagFolder, payload: dict[str, int]) -> None:
    """Warn about payload names that are twins by case or normalisation, or system files."""
    names = {e.path for m in check.payload_manifests() for e in m.entries}.union(payload)
    normal = {name: nfc(name) for name in names}
    forms = set(normal.values())
    # Groups are built only when some names collide: most bags have no twins at all.
    if len({form.casefold() for form in forms}) < len(forms):
        by_case: dict[str, set[str]] = defaultdict(set)
        for form in forms:
            by_case[form.casefold()].add(form)
        for key in sorted(by_case):
            group = by_case[key]
            if len(group) > 1:
                twins = " and ".join(printable(p) for p in sorted(group))
                message = f"{twins} differ only by case: one file on a case-insensitive disk"
                check.warnings.append(Problem("case-twins", printable(min(group)), message))
    if len(forms) < len(names):
        by_form: dict[str, set[str]] = defaultdict(set)
        for name, form in normal.items():
            by_form[form].add(name)
        for form in sorted(by_form):
            group = by_form[form]
            if sum(1 for name in group if name in payload) > 1:
                message = "stored twice in data/, in two Unicode normalisations (NFC and NFD)"
                check.warnings.append(
                    Problem("normalization-twins", printable(min(group)), message)
                )
    for name in sorted(payload):
        base = name.rsplit("/", 1)[-1]
        if base.lower() in SYSTEM_FILES or base.startswith("._"):
            message = "a file the operating system leaves behind, not content"
            check.warnings.append(Problem("system-file", printable(name), message))


def check_checksums(check: BagFolder, processes: int) -> None:
    """Hash every listed file once with every algorithm it needs; report each mismatch."""
    plan = [(m, check.files_of(m)) for m in check.manifests if new_hash(m.algorithm)]
    wanted: dict[str, set[str]] = defaultdict(set)
    for manifest, found in plan:
        for disk in found.values():
            if disk is not None:
                wanted[disk].add(manifest.algorithm)
    digests = hash_files(check.inventory, wanted, processes)
    unreadable: set[str] = set()
    for manifest, found in plan:
        for entry in manifest.entries:
            disk = found[entry.path]
            if disk is None:
                continue
            result = digests[disk]
            if isinstance(result, Problem):
                if disk not in unreadable:
                    unreadable.add(disk)
                    check.problems.append(result)
                continue
            actual = result[manifest.algorithm]
            if actual != entry.digest:
                message = (
                    f"{manifest.name} gives {entry.digest}, the file's {manifest.algorithm}"
                    f" is {actual}"
                )
                check.problems.append(Problem("checksum-mismatch", printable(disk), message))
