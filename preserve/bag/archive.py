"""Serialised bags read back without trusting them: every entry checked before extraction.

A serialised bag holds one top folder named after the bag (RFC 8493 §4). No entry may leave
that folder (absolute paths, `..`, links pointing out) and devices or FIFOs are refused. Links
inside the bag are extracted as copies of their target, so extraction never creates a link a
later entry could follow.
"""

from __future__ import annotations

import gzip
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from preserve.bag.reader import Problem, check_path, printable
from preserve.errors import BadInput

_CHUNK = 1 << 20
_ARCHIVE_ERRORS = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


@dataclass(frozen=True, slots=True)
class Member:
    """One usable entry of a serialised bag, by its path inside the top folder."""

    path: str
    kind: Literal["file", "dir"]
    size: int
    source: str
    """The archive entry holding the bytes (the link's target for a link)."""


_Refusal = Literal["unsafe-path", "special-file", "bad-archive"]


@dataclass(slots=True)
class _Raw:
    name: str
    kind: Literal["file", "dir", "symlink", "hardlink", "special"]
    size: int
    link: str | None = None


def sniff_format(path: Path) -> str | None:
    """Return `zip`, `tar` or `tar.gz` from a file's first bytes, or None if it is none of them."""
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    if head[257:262] == b"ustar":
        return "tar"
    return None


@dataclass(slots=True)
class Archive:
    """A serialised bag opened for reading, its entries checked; use `open_archive`.

    `problems` lists every unsafe or unusable entry; when it is not empty, `extract` refuses.
    """

    path: Path
    format: str
    handle: zipfile.ZipFile | tarfile.TarFile
    top: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    tar_entries: dict[str, tarfile.TarInfo] = field(default_factory=dict)

    def __enter__(self) -> Archive:
        """Return this archive, to be closed on leaving the block."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the archive file."""
        self.handle.close()

    def _chunks(self, source: str) -> Iterator[bytes]:
        """Yield the bytes of the archive entry `source`; raise BadInput if they are damaged."""
        try:
            if isinstance(self.handle, zipfile.ZipFile):
                stream: IO[bytes] | None = self.handle.open(source)
            else:
                # By TarInfo, not by name: finding a member by name scans them all.
                stream = self.handle.extractfile(self.tar_entries[source])
            if stream is None:
                raise BadInput(f"{self.path}: entry {printable(source)} has no content")
            with stream:
                while chunk := stream.read(_CHUNK):
                    yield chunk
        except (*_ARCHIVE_ERRORS, OSError) as exc:
            raise BadInput(f"{self.path} is damaged or truncated: {exc}") from exc

    def read(self, relpath: str, limit: int = 64 << 20) -> bytes | None:
        """Return the bytes of the file `relpath` (inside the top folder), or None if absent."""
        member = self.members.get(relpath)
        if member is None or member.kind != "file" or member.size > limit:
            return None
        return b"".join(self._chunks(member.source))

    def extract(self, destination: Path) -> Path:
        """Extract the bag into the existing empty folder `destination`; return the bag folder.

        Raises BadInput if the archive was found unsafe, or is damaged or truncated.
        """
        if self.problems or self.top is None:
            raise BadInput(f"{self.path} is not safe to extract")
        root = destination / self.top
        root.mkdir()
        # In archive order: going back in a gzip stream means decompressing it from the start.
        for member in self.members.values():
            target = root.joinpath(*member.path.split("/"))
            try:
                if member.kind == "dir":
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with target.open("xb") as sink:
                    for chunk in self._chunks(member.source):
                        written += len(chunk)
                        sink.write(chunk)
            except OSError as exc:
                raise BadInput(f"cannot extract {self.path}: {exc.strerror or exc}") from exc
            if written != member.size:
                raise BadInput(f"{self.path} is truncated: {printable(member.path)} is cut short")
        return root


def open_archive(path: Path) -> Archive:
    """Open the serialised bag `path` and check every entry; nothing is extracted.

    Raises BadInput if the file cannot be read or is not a zip, tar or tar.gz archive, or is
    damaged or truncated where its entries are listed.
    """
    try:
        fmt = sniff_format(path)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    if fmt is None:
        raise BadInput(f"{path} is neither a bag folder nor a zip, tar or tar.gz file")
    handle: zipfile.ZipFile | tarfile.TarFile | None = None
    try:
        if fmt == "zip":
            handle = zipped = zipfile.ZipFile(path)
            raws = [_zip_raw(zipped, info) for info in zipped.infolist()]
        else:
            handle = tarfile.open(path, "r:gz" if fmt == "tar.gz" else "r:")  # noqa: SIM115
            infos = handle.getmembers()
            raws = [_tar_raw(info) for info in infos]
    except (*_ARCHIVE_ERRORS, OSError) as exc:
        if handle is not None:
            handle.close()
        raise BadInput(
            f"{path} is not a readable {fmt} archive (damaged or truncated): {exc}"
        ) from exc
    archive = Archive(path, fmt, handle)
    if isinstance(handle, tarfile.TarFile):
        archive.tar_entries = {info.name: info for info in infos}
    _scan(archive, raws)
    return archive


def _zip_raw(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Raw:
    """Return the kind, size and link target of a zip entry (from its Unix mode bits)."""
    mode = info.external_attr >> 16
    if info.is_dir() or stat.S_ISDIR(mode):
        return _Raw(info.filename, "dir", 0)
    if stat.S_ISLNK(mode):
        link = archive.read(info)[:4096].decode("utf-8", "surrogateescape")
        return _Raw(info.filename, "symlink", 0, link)
    if mode and not stat.S_ISREG(mode):
        return _Raw(info.filename, "special", 0)
    return _Raw(info.filename, "file", info.file_size)


def _tar_raw(info: tarfile.TarInfo) -> _Raw:
    """Return the kind, size and link target of a tar entry."""
    if info.isdir():
        return _Raw(info.name, "dir", 0)
    if info.issym():
        return _Raw(info.name, "symlink", 0, info.linkname)
    if info.islnk():
        return _Raw(info.name, "hardlink", 0, info.linkname)
    if info.isreg():
        return _Raw(info.name, "file", info.size)
    return _Raw(info.name, "special", 0)


def _clean(name: str) -> str:
    """Return an entry name without its leading `./` and trailing `/`."""
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/") if name not in ("/", "") else name


def _scan(archive: Archive, raws: list[_Raw]) -> None:
    """Check every entry of `archive` and record its usable members, problems and warnings."""
    entries = _usable_entries(archive, raws)
    tops = sorted({name.split("/", 1)[0] for name in entries})
    if len(tops) != 1 or (tops[0] in entries and entries[tops[0]].kind != "dir"):
        shown = ", ".join(printable(t) for t in tops[:5]) or "nothing"
        message = f"a serialised bag holds one top folder, the bag; this archive holds {shown}"
        archive.problems.append(Problem("bad-archive", None, message))
        return
    top = archive.top = tops[0]
    for name, raw in entries.items():
        if name != top:
            _add_member(archive, name, raw, entries, top)
    stem = archive.path.name
    for ext in (".tar.gz", ".tgz", ".zip", ".tar"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    if stem != top:
        message = f"the archive is named {stem!r} but its bag folder is {top!r}"
        archive.warnings.append(Problem("archive-name", None, message))


def _refuse(archive: Archive, kind: _Refusal, name: str, why: str) -> None:
    archive.problems.append(Problem(kind, printable(name), f"archive entry {why}"))


def _usable_entries(archive: Archive, raws: list[_Raw]) -> dict[str, _Raw]:
    """Return the entries by cleaned name, refusing unsafe paths, special files and twins."""
    entries: dict[str, _Raw] = {}
    for raw in raws:
        name = _clean(raw.name)
        if name in ("", "."):
            continue
        unsafe = check_path(name)
        if unsafe is not None:
            _refuse(archive, "unsafe-path", raw.name, f"is {unsafe}; it would land outside the bag")
        elif raw.kind == "special":
            _refuse(archive, "special-file", name, "is a device, FIFO or socket")
        elif name in entries:
            _refuse(archive, "bad-archive", name, "appears twice")
        else:
            entries[name] = raw
    return entries


def _add_member(archive: Archive, name: str, raw: _Raw, entries: dict[str, _Raw], top: str) -> None:
    """Record the entry `name` as a member of the bag, or refuse it."""
    parts = name.split("/")
    ancestors = ["/".join(parts[:n]) for n in range(2, len(parts))]
    blocked = next((a for a in ancestors if a in entries and entries[a].kind != "dir"), None)
    if blocked is not None:
        why = f"lies inside {printable(blocked)}, which is not a folder"
        _refuse(archive, "bad-archive", name, why)
        return
    relpath = name[len(top) + 1 :]
    if raw.kind == "dir":
        archive.members[relpath] = Member(relpath, "dir", 0, raw.name)
    elif raw.kind == "file":
        archive.members[relpath] = Member(relpath, "file", raw.size, raw.name)
    else:
        found = _link_target(name, raw, entries, top)
        if isinstance(found, tuple):
            _refuse(archive, *found)
        else:
            archive.members[relpath] = Member(relpath, "file", found.size, found.name)


def _link_target(
    name: str, raw: _Raw, entries: dict[str, _Raw], top: str
) -> _Raw | tuple[_Refusal, str, str]:
    """Return the regular-file entry a link finally names, or (kind, name, why) to refuse it.

    A link is resolved by its text alone, against the entries, never on disk: a symbolic link
    relative to its own folder, a hard link relative to the archive's root.
    """
    seen = {name}
    start = name
    while raw.kind in ("symlink", "hardlink"):
        link = raw.link or ""
        base = posixpath.dirname(name) if raw.kind == "symlink" else ""
        resolved = posixpath.normpath(posixpath.join(base, _clean(link)))
        if (
            link.startswith(("/", "\\"))
            or "\\" in link
            or re.match(r"[A-Za-z]:", link)
            or not resolved.startswith(top + "/")
        ):
            return "unsafe-path", start, f"is a link pointing outside the bag, to {printable(link)}"
        if resolved in seen or resolved not in entries:
            return "special-file", start, "is a link to nothing in the bag, or a loop of links"
        seen.add(resolved)
        name, raw = resolved, entries[resolved]
    if raw.kind != "file":
        return "special-file", start, "is a link to a folder, which is not supported"
    return raw
