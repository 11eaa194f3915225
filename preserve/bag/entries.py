"""The entries of a serialised bag checked by their names alone, before anything is read.

A serialised bag holds one top folder named after the bag (RFC 8493 §4). No entry may leave
it (absolute paths, `..`, drive letters, backslashes, links pointing out), devices and FIFOs
are refused, and a link is resolved against the other entries, never on disk: it becomes the
file it finally names, whose bytes are read from that file's own entry.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from preserve.bag.reader import Problem, check_path, printable

MAX_LINK_HOPS = 40
"""The longest chain of links followed to a file (as Linux's ELOOP)."""

Refusal = Literal["unsafe-path", "special-file", "bad-archive"]
Where = TypeVar("Where")


@dataclass(frozen=True, slots=True)
class Member:
    """One usable entry of a serialised bag, by its path inside the top folder."""

    path: str
    kind: Literal["file", "dir"]
    size: int
    source: str
    """The archive entry holding the bytes (the link's final target for a link)."""


@dataclass(slots=True)
class Entry(Generic[Where]):
    """An archive entry as listed: name, kind, size, link target, and where its bytes lie."""

    name: str
    kind: Literal["file", "dir", "symlink", "hardlink", "special", "unreadable"]
    size: int
    link: str = ""
    where: Where | None = None
    why: str = ""
    """For a special entry, what it is; for an unreadable one, why it cannot be read."""


@dataclass(slots=True)
class Checked(Generic[Where]):
    """What checking an archive's entries found: its bag folder, members, problems, warnings.

    `sources` maps the name of every archive entry that holds a member's bytes to where
    they lie; a member whose source is another entry's is a link.
    """

    top: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    sources: dict[str, Where] = field(default_factory=dict)


def clean(name: str) -> str:
    """Return an entry name without its leading `./` and trailing `/`."""
    if not name.startswith("./") and not name.endswith("/"):
        return name
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/") if name not in ("/", "") else name


def check_entries(entries: list[Entry[Where]], archive_name: str) -> Checked[Where]:
    """Check every entry of an archive named `archive_name`; return its members and problems."""
    checked: Checked[Where] = Checked()
    usable = _usable_entries(checked, entries)
    tops = sorted({name.split("/", 1)[0] for name in usable})
    if len(tops) != 1 or (tops[0] in usable and usable[tops[0]].kind != "dir"):
        shown = ", ".join(printable(t) for t in tops[:5]) or "nothing"
        message = f"a serialised bag holds one top folder, the bag; this archive holds {shown}"
        checked.problems.append(Problem("bad-archive", None, message))
        return checked
    top = checked.top = tops[0]
    known: dict[str, str | None] = {top: None}
    for name, entry in usable.items():
        if name != top:
            _add_member(checked, name, entry, usable, top, known)
    stem = archive_name
    for ext in (".tar.gz", ".tgz", ".zip", ".tar"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    if stem != top:
        message = f"the archive is named {stem!r} but its bag folder is {top!r}"
        checked.warnings.append(Problem("archive-name", None, message))
    return checked


def _refuse(checked: Checked[Where], kind: Refusal, name: str, why: str) -> None:
    checked.problems.append(Problem(kind, printable(name), f"archive entry {why}"))


def _usable_entries(
    checked: Checked[Where], entries: list[Entry[Where]]
) -> dict[str, Entry[Where]]:
    """Return the entries by cleaned name, refusing unsafe paths, special files and twins."""
    usable: dict[str, Entry[Where]] = {}
    for entry in entries:
        name = clean(entry.name)
        if name in ("", "."):
            continue
        unsafe = check_path(name)
        if unsafe is not None:
            why = f"is {unsafe}; it would land outside the bag"
            _refuse(checked, "unsafe-path", entry.name, why)
        elif entry.kind == "special":
            what = entry.why or "a device, FIFO or socket"
            _refuse(checked, "special-file", name, f"is {what}, not a file, folder or link")
        elif name in usable:
            _refuse(checked, "bad-archive", name, "appears twice")
        else:
            usable[name] = entry
    return usable


def _blocker(
    folder: str, usable: dict[str, Entry[Where]], known: dict[str, str | None]
) -> str | None:
    """Return the entry that is not a folder among `folder` and the folders above it, if any.

    `known` keeps each folder's answer, so each folder is looked at once, however many
    entries it holds and however deep it lies.
    """
    below: list[str] = []
    while folder not in known:
        entry = usable.get(folder)
        if entry is not None and entry.kind != "dir":
            known[folder] = folder
        elif "/" not in folder:
            known[folder] = None
        else:
            below.append(folder)
            folder = folder.rsplit("/", 1)[0]
    found = known[folder]
    for name in below:
        known[name] = found
    return found


def _add_member(
    checked: Checked[Where],
    name: str,
    entry: Entry[Where],
    usable: dict[str, Entry[Where]],
    top: str,
    known: dict[str, str | None],
) -> None:
    """Record the entry `name` as a member of the bag, or refuse it."""
    blocked = _blocker(name.rsplit("/", 1)[0], usable, known)
    if blocked is not None:
        why = f"lies inside {printable(blocked)}, which is not a folder"
        _refuse(checked, "bad-archive", name, why)
        return
    relpath = name[len(top) + 1 :]
    if entry.kind == "dir":
        checked.members[relpath] = Member(relpath, "dir", 0, entry.name)
        return
    found = entry if entry.kind == "file" else _link_target(name, entry, usable, top)
    if isinstance(found, tuple):
        _refuse(checked, *found)
        return
    checked.members[relpath] = Member(relpath, "file", found.size, found.name)
    if found.where is not None:
        checked.sources[found.name] = found.where


def _link_target(
    name: str, entry: Entry[Where], usable: dict[str, Entry[Where]], top: str
) -> Entry[Where] | tuple[Refusal, str, str]:
    """Return the regular-file entry a link finally names, or (kind, name, why) to refuse it.

    A link is resolved by its text alone, against the entries, never on disk: a symbolic link
    relative to its own folder, a hard link relative to the archive's root.
    """
    seen = {name}
    start = name
    while entry.kind in ("symlink", "hardlink"):
        if len(seen) > MAX_LINK_HOPS:
            return "special-file", start, f"is a chain of more than {MAX_LINK_HOPS} links"
        link = entry.link
        base = posixpath.dirname(name) if entry.kind == "symlink" else ""
        resolved = posixpath.normpath(posixpath.join(base, clean(link)))
        if (
            link.startswith(("/", "\\"))
            or "\\" in link
            or re.match(r"[A-Za-z]:", link)
            or not resolved.startswith(top + "/")
        ):
            return "unsafe-path", start, f"is a link pointing outside the bag, to {printable(link)}"
        if resolved in seen or resolved not in usable:
            return "special-file", start, "is a link to nothing in the bag, or a loop of links"
        seen.add(resolved)
        name, entry = resolved, usable[resolved]
    if entry.kind != "file":
        return "special-file", start, "is a link to a folder, which is not supported"
    return entry
