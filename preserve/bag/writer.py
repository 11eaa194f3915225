"""The files of a bag being built: payload bookkeeping, manifests, bag-info, bagit.txt last.

Not bagit-python 1.9's writer: it says BagIt 0.97, sorts bag-info, drops newlines, bags in place.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from preserve.bag.info import check_label, format_bag_info, human_size, payload_oxum
from preserve.errors import BadInput, PackagingFailed
from preserve.models import ALLOWED_CHECKSUMS, DEFAULT_CHECKSUMS

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
"""The declaration that makes a folder a bag; written last, so only a complete bag has it."""

COMPUTED_FIELDS = ("Payload-Oxum", "Bag-Size")
"""bag-info labels whose values `PayloadWriter.finish` computes from the payload."""

_CHUNK = 1 << 20
_HEX = re.compile(r"[0-9a-f]+")
_RESERVED_TAG_NAMES = frozenset({"bagit.txt", "bag-info.txt", "fetch.txt"})


@dataclass(frozen=True, slots=True)
class _Entry:
    size: int
    digests: dict[str, str]


def _segments(relpath: str, *, payload: bool) -> list[str]:
    """Return the segments of a bag-relative POSIX path, or raise PackagingFailed if unsafe.

    Payload paths must lie under `data/`; tag paths must lie outside it and must not take the
    name of a file the writer produces itself (bagit.txt, bag-info.txt, manifests).
    """
    parts = relpath.split("/")
    try:
        relpath.encode("utf-8")
        encodable = True
    except UnicodeEncodeError:
        encodable = False
    if (
        not encodable
        or "\\" in relpath
        or "\0" in relpath
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise PackagingFailed(f"unsafe path in the bag: {relpath!r}")
    if payload and (parts[0] != "data" or len(parts) < 2):
        raise PackagingFailed(f"payload path outside data/: {relpath!r}")
    if not payload:
        if parts[0] == "data":
            raise PackagingFailed(f"tag file inside data/: {relpath!r}")
        if len(parts) == 1 and (
            relpath in _RESERVED_TAG_NAMES or relpath.startswith(("manifest-", "tagmanifest-"))
        ):
            raise PackagingFailed(f"tag file name reserved for the bag itself: {relpath!r}")
    return parts


def _manifest_path(relpath: str) -> str:
    """Return a path as a manifest line spells it, with %, CR and LF percent-encoded."""
    # RFC 8493 §2.1.3: "%" first, or the escapes of CR and LF would be escaped again.
    return relpath.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _new_hash(algorithm: str) -> hashlib._Hash:
    """Return a fresh hash object for a manifest algorithm."""
    # Fixity, not security: this lets md5 and sha1 work on FIPS-restricted hosts.
    return hashlib.new(algorithm, usedforsecurity=False)


def _write_durably(target: Path, data: bytes) -> None:
    """Write `data` to `target` through a temporary name in the same folder, then rename it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # os.open rather than tempfile.mkstemp: mkstemp's 0600 would leave tag files unreadable
    # to everyone but the capturing user.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.rename(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _move_into(source: Path, target: Path, relpath: str) -> None:
    """Rename `source` to `target`, creating folders, unless something already has that name."""
    # The caller's reservation keeps other threads off this path; the check covers a file that
    # reached the bag some other way, which a POSIX rename would silently replace.
    if os.path.lexists(target):
        raise PackagingFailed(f"{relpath} already exists in the bag")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
    except OSError as exc:
        raise PackagingFailed(f"could not place {relpath} in the bag: {exc}") from exc


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk, where the platform and filesystem allow it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class PayloadWriter:
    """Record the payload of a bag being built in `bag_dir`, then write its tag files.

    Payload paths are bag-relative POSIX paths under `data/`. `add`, `place` and `write_bytes`
    may be called from several threads at once; `finish` is called once, after all of them.
    Raises BadInput if an algorithm is not one preserve supports.
    """

    def __init__(self, bag_dir: Path, algorithms: Sequence[str] = DEFAULT_CHECKSUMS) -> None:
        chosen = tuple(dict.fromkeys(algorithms))
        if not chosen:
            raise BadInput("at least one checksum algorithm is needed")
        for algorithm in chosen:
            if algorithm not in ALLOWED_CHECKSUMS:
                raise BadInput(
                    f"unsupported checksum algorithm {algorithm!r}",
                    hint="choose from " + ", ".join(ALLOWED_CHECKSUMS),
                )
        self._bag_dir = bag_dir
        self._algorithms = chosen
        self._lengths = {alg: _new_hash(alg).digest_size * 2 for alg in chosen}
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._pending: set[str] = set()
        self._total_bytes = 0
        self._finished = False

    @property
    def bag_dir(self) -> Path:
        """Return the folder the bag is built in."""
        return self._bag_dir

    @property
    def algorithms(self) -> tuple[str, ...]:
        """Return the manifest algorithms, in the order given, without repeats."""
        return self._algorithms

    @property
    def total_bytes(self) -> int:
        """Return the size of the payload recorded so far, in bytes."""
        with self._lock:
            return self._total_bytes

    @property
    def file_count(self) -> int:
        """Return the number of payload files recorded so far."""
        with self._lock:
            return len(self._entries)

    def add(self, relpath: str, size: int, digests: Mapping[str, str]) -> None:
        """Record a payload file already in place at `bag_dir/relpath`, with its size and digests.

        Raises PackagingFailed if the path is unsafe, outside data/ or already recorded.
        """
        _segments(relpath, payload=True)
        entry = self._entry(relpath, size, digests)
        self._reserve(relpath)
        self._record(relpath, entry)

    def place(self, source: Path, relpath: str, size: int, digests: Mapping[str, str]) -> None:
        """Move the file `source` into the bag at `relpath` (a rename, never a copy) and record it.

        `source` must be on the same filesystem as the bag (the staging tmp folder is). Raises
        PackagingFailed if the path is unsafe, outside data/, already taken, or the rename fails.
        """
        parts = _segments(relpath, payload=True)
        entry = self._entry(relpath, size, digests)
        self._reserve(relpath)
        try:
            _move_into(source, self._bag_dir.joinpath(*parts), relpath)
        except BaseException:
            self._release(relpath)
            raise
        self._record(relpath, entry)

    def write_bytes(self, relpath: str, data: bytes) -> dict[str, str]:
        """Write `data` as a new payload file at `relpath`, record it and return its digests.

        Meant for small files the capture produces itself (logs, metadata). Raises
        PackagingFailed if the path is unsafe, outside data/, already taken, or writing fails.
        """
        parts = _segments(relpath, payload=True)
        self._reserve(relpath)
        target = self._bag_dir.joinpath(*parts)
        try:
            digests = self._write_new(target, data)
        except OSError as exc:
            self._release(relpath)
            raise PackagingFailed(f"could not write {relpath} in the bag: {exc}") from exc
        except BaseException:
            self._release(relpath)
            raise
        self._record(relpath, _Entry(len(data), digests))
        return dict(digests)

    def finish(
        self,
        bag_info: Sequence[tuple[str, str]],
        *,
        tag_files: Mapping[str, bytes] | None = None,
    ) -> None:
        """Write the manifests, bag-info.txt, `tag_files`, the tag manifests, then bagit.txt.

        `bag_info` is written in the order given. `Payload-Oxum` and `Bag-Size` (the payload's
        size in decimal units) are computed: a field with either label is a placeholder whose
        value is replaced in place; a computed field the caller left out is appended at the end.
        `tag_files` maps bag-relative paths outside data/ (such as `metadata/dc.xml`) to their
        bytes. Every file goes through a temporary name and a rename, and bagit.txt comes last,
        so a bag that fails part-way never declares itself a bag.

        Raises BadInput for an invalid bag-info label, PackagingFailed for an unsafe tag path,
        a payload on disk that differs from what was recorded, or a write that fails.
        """
        extra = {
            relpath: (_segments(relpath, payload=False), data)
            for relpath, data in (tag_files or {}).items()
        }
        for label, _value in bag_info:
            check_label(label)
        with self._lock:
            if self._finished:
                raise RuntimeError("the bag's tag files were already written")
            if self._pending:
                raise RuntimeError("payload files are still being placed")
            self._finished = True
            entries = dict(self._entries)
            total_bytes = self._total_bytes
        self._check_payload_on_disk(entries)

        computed = {
            "Payload-Oxum": payload_oxum(total_bytes, len(entries)),
            "Bag-Size": human_size(total_bytes),
        }
        fields = [(label, computed.get(label, value)) for label, value in bag_info]
        given = {label for label, _value in bag_info}
        fields += [(label, value) for label, value in computed.items() if label not in given]

        tag_bytes: dict[str, bytes] = {}
        for algorithm in self._algorithms:
            tag_bytes[f"manifest-{algorithm}.txt"] = self._manifest(entries, algorithm)
        tag_bytes["bag-info.txt"] = format_bag_info(fields).encode("utf-8")
        for name, data in tag_bytes.items():
            self._write_tag_file(name, [name], data)
        for relpath, (parts, data) in extra.items():
            self._write_tag_file(relpath, parts, data)
            tag_bytes[relpath] = data

        # bagit.txt is listed in the tag manifests from its bytes, before it exists on disk.
        tag_bytes["bagit.txt"] = BAGIT_TXT
        for algorithm in self._algorithms:
            lines = [
                f"{_digest(algorithm, tag_bytes[relpath])}  {_manifest_path(relpath)}\n"
                for relpath in sorted(tag_bytes)
            ]
            name = f"tagmanifest-{algorithm}.txt"
            self._write_tag_file(name, [name], "".join(lines).encode("utf-8"))
        self._write_tag_file("bagit.txt", ["bagit.txt"], BAGIT_TXT)
        _fsync_folder(self._bag_dir)

    def _entry(self, relpath: str, size: int, digests: Mapping[str, str]) -> _Entry:
        """Return the record of one payload file, keeping one lower-case digest per algorithm."""
        if size < 0:
            raise ValueError(f"negative size for {relpath}: {size}")
        kept: dict[str, str] = {}
        for algorithm in self._algorithms:
            digest = digests.get(algorithm)
            if digest is None:
                raise ValueError(f"no {algorithm} digest for {relpath}")
            digest = digest.lower()
            if len(digest) != self._lengths[algorithm] or not _HEX.fullmatch(digest):
                raise ValueError(f"malformed {algorithm} digest for {relpath}: {digest!r}")
            kept[algorithm] = digest
        return _Entry(size, kept)

    def _reserve(self, relpath: str) -> None:
        """Claim `relpath` for one caller, so two threads can never write the same file."""
        with self._lock:
            if self._finished:
                raise RuntimeError("the bag's tag files were already written")
            if relpath in self._entries or relpath in self._pending:
                raise PackagingFailed(f"{relpath} already exists in the bag")
            self._pending.add(relpath)

    def _release(self, relpath: str) -> None:
        """Give up a claim on `relpath` after a failure."""
        with self._lock:
            self._pending.discard(relpath)

    def _record(self, relpath: str, entry: _Entry) -> None:
        """Turn a claim on `relpath` into a payload entry and count it."""
        with self._lock:
            self._pending.discard(relpath)
            self._entries[relpath] = entry
            self._total_bytes += entry.size

    def _write_new(self, target: Path, data: bytes) -> dict[str, str]:
        """Create `target` with `data`, hashing each chunk as it is written; return the digests."""
        target.parent.mkdir(parents=True, exist_ok=True)
        hashes = {algorithm: _new_hash(algorithm) for algorithm in self._algorithms}
        view = memoryview(data)
        with target.open("xb") as handle:
            try:
                for start in range(0, len(view), _CHUNK):
                    chunk = view[start : start + _CHUNK]
                    handle.write(chunk)
                    for hashed in hashes.values():
                        hashed.update(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            except BaseException:
                target.unlink(missing_ok=True)
                raise
        return {algorithm: hashed.hexdigest() for algorithm, hashed in hashes.items()}

    def _check_payload_on_disk(self, entries: Mapping[str, _Entry]) -> None:
        """Raise PackagingFailed unless data/ holds exactly the recorded files, at their sizes."""
        data_dir = self._bag_dir / "data"
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            found: dict[str, int] = {}
            for folder, _dirs, files in os.walk(data_dir, onerror=_raise):
                for name in files:
                    path = Path(folder, name)
                    found[path.relative_to(self._bag_dir).as_posix()] = path.lstat().st_size
        except OSError as exc:
            raise PackagingFailed(f"could not read the payload back: {exc}") from exc
        problems = [f"missing {p}" for p in sorted(entries.keys() - found.keys())]
        problems += [f"unrecorded {p}" for p in sorted(found.keys() - entries.keys())]
        problems += [
            f"{p} is {found[p]} bytes, not {entries[p].size}"
            for p in sorted(entries.keys() & found.keys())
            if found[p] != entries[p].size
        ]
        if problems:
            shown = "; ".join(problems[:5])
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise PackagingFailed(f"the payload differs from what was recorded: {shown}{more}")

    def _manifest(self, entries: Mapping[str, _Entry], algorithm: str) -> bytes:
        """Return the bytes of one payload manifest, its lines sorted by path."""
        lines = [
            f"{entries[relpath].digests[algorithm]}  {_manifest_path(relpath)}\n"
            for relpath in sorted(entries)
        ]
        return "".join(lines).encode("utf-8")

    def _write_tag_file(self, relpath: str, parts: Sequence[str], data: bytes) -> None:
        """Write one tag file durably, turning an OS error into PackagingFailed."""
        try:
            _write_durably(self._bag_dir.joinpath(*parts), data)
        except OSError as exc:
            raise PackagingFailed(f"could not write {relpath} in the bag: {exc}") from exc


def _digest(algorithm: str, data: bytes) -> str:
    """Return the hex digest of `data` with `algorithm`."""
    hashed = _new_hash(algorithm)
    hashed.update(data)
    return hashed.hexdigest()


def _raise(error: OSError) -> None:
    """Re-raise an error os.walk met, which it would otherwise skip silently."""
    raise error
