"""The files of a bag folder, listed without ever following a link out of it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from preserve.bag.reader import Problem, printable


@dataclass(slots=True)
class Inventory:
    """The regular files of a bag folder (bag-relative path → size), and what else was found."""

    files: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def payload(self) -> dict[str, int]:
        """Return the files under data/."""
        return {p: s for p, s in self.files.items() if p.startswith("data/")}

    @property
    def tags(self) -> dict[str, int]:
        """Return the files outside data/."""
        return {p: s for p, s in self.files.items() if not p.startswith("data/")}


def take_inventory(root: Path) -> Inventory:
    """Return every regular file under `root`, never following a link out of it.

    A symbolic link to a file inside the bag counts as that file; one leading out of the bag,
    to a folder, or to nothing is reported and not followed, as are devices, FIFOs and
    sockets (which a reader could block on). Raises OSError if `root` cannot be listed.
    """
    inventory = Inventory()
    real_root = os.path.realpath(root)
    # Listing the top folder first turns an unreadable bag into OSError for the caller.
    os.scandir(root).close()
    pending = [(os.fspath(root), "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            inventory.problems.append(
                Problem("unreadable", printable(prefix or "."), f"cannot list: {exc.strerror}")
            )
            continue
        for entry in entries:
            relpath = prefix + os.fsdecode(entry.name)
            _take_entry(inventory, entry, relpath, real_root, pending)
    return inventory


def _take_entry(
    inventory: Inventory,
    entry: os.DirEntry[str],
    relpath: str,
    real_root: str,
    pending: list[tuple[str, str]],
) -> None:
    """Record one directory entry of the bag in `inventory`, queueing folders to list."""
    shown = printable(relpath)
    try:
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if os.path.commonpath([real_root, target]) != real_root:
                message = "a symbolic link leading out of the bag; not followed"
                inventory.problems.append(Problem("unsafe-path", shown, message))
            elif Path(target).is_dir():
                message = "a symbolic link to a folder; not followed"
                inventory.problems.append(Problem("special-file", shown, message))
            elif Path(target).is_file():
                inventory.files[relpath] = Path(target).stat().st_size
            else:
                message = "a symbolic link to nothing or to a special file"
                inventory.problems.append(Problem("special-file", shown, message))
        elif entry.is_dir(follow_symlinks=False):
            pending.append((entry.path, relpath + "/"))
        elif entry.is_file(follow_symlinks=False):
            inventory.files[relpath] = entry.stat(follow_symlinks=False).st_size
        else:
            message = "not a regular file (a device, FIFO or socket); not read"
            inventory.problems.append(Problem("special-file", shown, message))
    except OSError as exc:
        inventory.problems.append(Problem("unreadable", shown, f"cannot read: {exc.strerror}"))
