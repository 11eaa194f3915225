"""Bags as one file: zip, tar or tar.gz, written atomically (reading them back: `archive`).

A serialised bag holds one top folder named after the bag (RFC 8493 §4).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import re
import secrets
import shutil
import stat
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from preserve.errors import BadInput, PackagingFailed
from preserve.pausepoint import pause_point

SerializationFormat = Literal["zip", "tar", "tar.gz"]
FORMATS: tuple[SerializationFormat, ...] = ("zip", "tar", "tar.gz")
EXTENSIONS: dict[str, str] = {"zip": ".zip", "tar": ".tar", "tar.gz": ".tar.gz"}
MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "zip": ("application/zip", "application/x-zip-compressed", "application/x-zip"),
    "tar": ("application/x-tar", "application/tar"),
    "tar.gz": (
        "application/gzip",
        "application/x-gzip",
        "application/tar+gzip",
        "application/x-tar+gzip",
        "application/x-gtar",
        "application/x-compressed-tar",
    ),
}
"""The media types (as BagIt Profiles' Accept-Serialization names them) of each format."""

_CHUNK = 1 << 20
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Compressing these again costs time and saves nothing.
_COMPRESSED = re.compile(
    r"\.(t?gz|zip|bz2|xz|zst|br|png|jpe?g|gif|webp|avif|mp[34]|m4a|webm|ogg|woff2?|pdf)$", re.I
)
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK})


@dataclass(frozen=True, slots=True)
class SerializedBag:
    """A bag written as one file: where, in which format, its size and SHA-256."""

    path: Path
    format: str
    size: int
    sha256: str


def serialize_bag(
    bag_dir: Path,
    fmt: str,
    *,
    name: str | None = None,
    output: Path | None = None,
    scratch: Path | None = None,
) -> SerializedBag:
    """Write the finished bag `bag_dir` as `<output>/<name>.<ext>` and return what was written.

    The file holds one top folder `name` (default: the folder's name); `output` defaults to
    the folder's parent. It is written under a temporary name in `scratch` (a folder on the
    same filesystem as `output`, such as the capture's staging folder, so that a run killed
    mid-write leaves it where the next run cleans up; default: `output`), flushed, then
    given its name by a hard link (or an exclusive create and a rename where the filesystem
    has no hard links), so it never replaces an existing file and never appears half-written.
    Raises BadInput for an unknown format, PackagingFailed if the name is taken, the bag has
    a link or special file, or writing fails.
    """
    if fmt not in FORMATS:
        raise BadInput(f"unknown serialisation {fmt!r}", hint="choose zip, tar or tar.gz")
    name = name or bag_dir.name
    output = output or bag_dir.parent
    if not (bag_dir / "bagit.txt").is_file():
        raise PackagingFailed(f"{bag_dir} is not a finished bag: no bagit.txt")
    entries = _entries(bag_dir)
    target = output / f"{name}{EXTENSIONS[fmt]}"
    if os.path.lexists(target):
        raise PackagingFailed(f"{target} already exists")
    if scratch is not None:
        temporary = scratch / f"archive-{secrets.token_hex(4)}.tmp"
    else:
        temporary = output / f".{name}{EXTENSIONS[fmt]}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            if fmt == "zip":
                _write_zip(handle, name, entries)
            else:
                _write_tar(handle, name, entries, compress=fmt == "tar.gz")
            handle.flush()
            os.fsync(handle.fileno())
        pause_point("serializing")
        size, digest = _size_and_sha256(temporary)
        _publish(temporary, target)
    except OSError as exc:
        raise PackagingFailed(f"could not write {target}: {exc.strerror or exc}") from exc
    finally:
        temporary.unlink(missing_ok=True)
    return SerializedBag(target, fmt, size, digest)


def _entries(bag_dir: Path) -> list[tuple[str, Path]]:
    """Return (relative path, path) of every folder and file of the bag, bagit.txt first.

    A folder's files come before its subfolders. Raises PackagingFailed for a link or a
    special file, which have no portable form in a serialised bag.
    """
    found: list[tuple[str, Path]] = [("", bag_dir)]

    def walk(folder: Path, prefix: str) -> None:
        children = sorted(folder.iterdir(), key=lambda p: (p.name != "bagit.txt", p.name))
        files = [p for p in children if not p.is_symlink() and p.is_file()]
        folders = [p for p in children if not p.is_symlink() and p.is_dir()]
        for odd in set(children) - set(files) - set(folders):
            raise PackagingFailed(f"{odd} is a link or special file; bags are serialised without")
        found.extend((prefix + p.name, p) for p in files)
        for sub in folders:
            found.append((prefix + sub.name, sub))
            walk(sub, prefix + sub.name + "/")

    walk(bag_dir, "")
    return found


def _write_zip(handle: IO[bytes], name: str, entries: list[tuple[str, Path]]) -> None:
    """Write the bag's entries into a zip under the top folder `name`."""
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for relpath, path in entries:
            status = path.stat()
            moment = max(time.localtime(status.st_mtime)[:6], _ZIP_EPOCH)
            arcname = f"{name}/{relpath}" if relpath else name
            if path.is_dir():
                info = zipfile.ZipInfo(arcname + "/", date_time=moment)
                info.external_attr = ((stat.S_IFDIR | 0o755) << 16) | 0x10
                archive.writestr(info, b"")
                continue
            info = zipfile.ZipInfo(arcname, date_time=moment)
            info.external_attr = (stat.S_IFREG | (status.st_mode & 0o777)) << 16
            stored = _COMPRESSED.search(path.name) is not None
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.file_size = status.st_size
            with path.open("rb") as source, archive.open(info, "w") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)


def _write_tar(
    handle: IO[bytes], name: str, entries: list[tuple[str, Path]], *, compress: bool
) -> None:
    """Write the bag's entries into a POSIX (pax) tar, gzip-compressed if `compress`."""
    # No file name and no time in the gzip header: they would only leak the temporary name.
    zipped = gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) if compress else None
    try:
        with tarfile.open(fileobj=zipped or handle, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for relpath, path in entries:
                info = archive.gettarinfo(str(path), f"{name}/{relpath}" if relpath else name)
                # Owner names and ids of the capturing host mean nothing to the receiver.
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isdir():
                    archive.addfile(info)
                else:
                    with path.open("rb") as source:
                        archive.addfile(info, source)
    finally:
        if zipped is not None:
            zipped.close()


def _size_and_sha256(path: Path) -> tuple[int, str]:
    """Return a file's size and SHA-256 (hex)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _publish(temporary: Path, target: Path) -> None:
    """Give `temporary` the name `target` unless `target` exists (PackagingFailed then)."""
    try:
        os.link(temporary, target)
    except FileExistsError as exc:
        raise PackagingFailed(f"{target} already exists") from exc
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        # No hard links here: claim the name with an exclusive create, then rename over it.
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError as taken:
            raise PackagingFailed(f"{target} already exists") from taken
        temporary.replace(target)
    with contextlib.suppress(OSError):
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
