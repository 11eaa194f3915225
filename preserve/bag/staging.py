"""The staging folder a bag is built in, inside the output folder, and its move into place.

A bag is built in `<output>/.preserve-staging-<12 hex>/bag/`, next to a `tmp/` folder on the
same filesystem and a `lock` file naming the owner; only `commit` gives it its final name.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import os
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from preserve.errors import BadInput, PackagingFailed

STAGING_PREFIX = ".preserve-staging-"
"""How every staging folder's name starts; `clean_stale` looks at nothing else."""

STALE_AFTER = 24 * 3600.0
"""Seconds after which a staging folder without a readable lock file counts as abandoned."""

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_NAME_MAX = 255

_Renameat2 = Callable[[int, bytes, int, bytes, int], int]


@functools.cache
def _libc_renameat2() -> _Renameat2 | None:
    """Return libc's renameat2, or None where the platform or the C library lacks it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    int_, path = ctypes.c_int, ctypes.c_char_p
    function.argtypes = (int_, path, int_, path, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


def _renameat2_noreplace(source: Path, target: Path) -> bool:
    """Rename `source` to `target` unless `target` exists; return False if renameat2 is unusable.

    Raises FileExistsError if `target` exists and OSError for any other failure.
    """
    function = _libc_renameat2()
    if function is None:
        return False
    old, new = os.fsencode(source), os.fsencode(target)
    if function(_AT_FDCWD, old, _AT_FDCWD, new, _RENAME_NOREPLACE) == 0:
        return True
    code = ctypes.get_errno()
    # ENOSYS: a kernel older than 3.15; EINVAL/EOPNOTSUPP: a filesystem without the flag.
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(source), None, str(target))


def _rename_by_claim(source: Path, target: Path) -> None:
    """Claim `target` by creating it empty, then rename the folder `source` over it.

    The mkdir is the atomic test-and-set, and POSIX rename replaces an empty folder in one
    step. The one difference from renameat2: for a moment `target` exists as an empty folder,
    so a reader looking just then sees an empty folder rather than nothing. Raises
    FileExistsError if `target` exists.
    """
    target.mkdir()
    try:
        source.rename(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            target.rmdir()
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise FileExistsError(exc.errno, exc.strerror, str(target)) from exc
        raise


def check_name(name: str) -> None:
    """Raise BadInput unless `name` can be a bag folder's name directly inside the output."""
    encoded = name.encode("utf-8", "surrogatepass")
    checks = [
        (not name or name in (".", ".."), "it is empty, . or .."),
        ("/" in name or "\\" in name, "it contains a slash or backslash"),
        (
            any(unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs") for char in name),
            "it contains a control character, line break or lone surrogate",
        ),
        (name.startswith(STAGING_PREFIX), f"{STAGING_PREFIX}* names are for staging folders"),
        (len(encoded) > _NAME_MAX, f"it is longer than {_NAME_MAX} bytes"),
    ]
    for failed, problem in checks:
        if failed:
            raise BadInput(f"invalid bag name {name!r}: {problem}")


def _holds_bag(folder: Path) -> bool:
    try:
        return (folder / "bagit.txt").is_file()
    except OSError:
        return False


def check_output(output: Path) -> None:
    """Raise unless `output` can hold new bags; made before anything is fetched.

    Raises PackagingFailed (exit 4) if `output`, or the nearest part of its path that exists,
    is not a folder, and BadInput (exit 2) if `output` or a folder above it holds bagit.txt:
    a bag made there would sit inside another bag, as payload or as a stray tag folder.
    """
    absolute = output.absolute()
    existing = next((p for p in (absolute, *absolute.parents) if os.path.lexists(p)), None)
    if existing is not None and not existing.is_dir():
        where = "" if existing == absolute else f" ({existing} is a file)"
        raise PackagingFailed(f"output is not a folder: {output}{where}")
    try:
        resolved = absolute.resolve()
    except (OSError, RuntimeError):
        resolved = absolute
    above = dict.fromkeys((absolute, *absolute.parents, resolved, *resolved.parents))
    bag = next((folder for folder in above if _holds_bag(folder)), None)
    if bag is not None:
        raise BadInput(
            f"output {output} is inside the bag {bag}",
            hint="choose an output folder outside any bag",
        )


def check_name_free(output: Path, name: str, suffix: str = "") -> None:
    """Raise unless a bag named `name` (its file: `name` + `suffix`) could go into `output`.

    BadInput (exit 2) for a name that is not a plain folder name, PackagingFailed (exit 4) if
    the name is taken. Made before anything is fetched, so a taken name costs no request;
    the no-replace rename that commits the bag stays the guard against a name taken meanwhile.
    """
    check_name(name)
    target = output.absolute() / f"{name}{suffix}"
    if os.path.lexists(target):
        raise PackagingFailed(f"{target} already exists", hint="choose another --name")


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk, where the platform and filesystem allow it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Staging:
    """A private folder inside the output where one bag is built, locked by this process.

    Use `Staging.create`, preferably as a context manager: leaving the block without a
    `commit` (on any exception, KeyboardInterrupt included) removes the whole folder.
    """

    def __init__(self, output: Path, root: Path, lock_fd: int) -> None:
        self._output = output
        self._root = root
        self._lock_fd: int | None = lock_fd
        self._committed = False

    @classmethod
    def create(cls, output: Path) -> Staging:
        """Create `output` if missing and a new locked staging folder in it; return its Staging.

        Raises PackagingFailed if a folder cannot be created there (permission, read-only
        filesystem, `output` being a file).
        """
        output = output.absolute()
        root = output / f"{STAGING_PREFIX}{secrets.token_hex(6)}"
        lock_fd = None
        try:
            output.mkdir(parents=True, exist_ok=True)
            root.mkdir()
            lock_fd = lock_folder(root)
            (root / "bag").mkdir()
            (root / "tmp").mkdir()
        except OSError as exc:
            if lock_fd is not None:
                os.close(lock_fd)
            shutil.rmtree(root, ignore_errors=True)
            raise PackagingFailed(
                f"cannot create a staging folder in {output}: {exc.strerror or exc}"
            ) from exc
        return cls(output, root, lock_fd)

    @property
    def root(self) -> Path:
        """Return the staging folder itself."""
        return self._root

    @property
    def bag_dir(self) -> Path:
        """Return the folder the bag is built in; it holds bagit.txt only once complete."""
        return self._root / "bag"

    @property
    def tmp_dir(self) -> Path:
        """Return the folder downloads land in, on the bag's filesystem so placing is a rename."""
        return self._root / "tmp"

    def commit(self, name: str) -> Path:
        """Move the finished bag to `<output>/<name>`, remove the staging folder; return the path.

        Never replaces an existing entry: if `name` is taken, raises PackagingFailed and leaves
        the staging folder as it was. Raises BadInput for a name that is not a plain folder
        name, and RuntimeError if the bag has no bagit.txt or this staging is already done.
        """
        check_name(name)
        if self._committed or self._lock_fd is None:
            raise RuntimeError(f"staging folder {self._root} was already committed or discarded")
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        if not (self.bag_dir / "bagit.txt").is_file():
            raise RuntimeError(f"the bag in {self.bag_dir} is not finished: no bagit.txt")
        target = self._output / name
        try:
            if not _renameat2_noreplace(self.bag_dir, target):
                _rename_by_claim(self.bag_dir, target)
        except FileExistsError as exc:
            raise PackagingFailed(f"{target} already exists") from exc
        except OSError as exc:
            raise PackagingFailed(f"could not move the bag to {target}: {exc}") from exc
        self._committed = True
        _fsync_folder(self._output)
        self.discard()
        return target

    def discard(self) -> None:
        """Remove the staging folder and everything in it; calling it again does nothing.

        SIGINT and SIGTERM wait until it is done: a second Ctrl-C during the cleanup of the
        first still leaves nothing behind.
        """
        remove_locked(self._root, self._lock_fd)
        self._lock_fd = None

    def __enter__(self) -> Staging:
        """Return this staging, to be discarded on leaving the block unless committed."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Discard the staging folder unless it was committed; never swallow an exception."""
        if not self._committed:
            self.discard()


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the block (main thread, where signals are handled).

    A signal that arrives meanwhile is delivered when the block ends, so cleaning up is never
    cut short and the run still ends as the signal asks.
    """
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def remove_locked(root: Path, lock_fd: int | None) -> None:
    """Remove a locked folder (`lock_folder`), signals held; release the lock last, so no
    other run ever sees the folder unlocked."""
    with signals_held():
        shutil.rmtree(root, ignore_errors=True)
        if lock_fd is not None:
            os.close(lock_fd)


def lock_folder(root: Path) -> int:
    """Create `root/lock` naming this process and host, hold its flock; return its descriptor.

    The lock lasts until the descriptor is closed or the process ends, however it ends.
    Raises OSError if the file exists or cannot be written.
    """
    fd = os.open(root / "lock", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        # Locked before the pid is written, so a lock file that names a pid is always held.
        # Blocking: a clean_stale elsewhere may be testing this new lock for a moment.
        fcntl.flock(fd, fcntl.LOCK_EX)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        text = f"pid={os.getpid()}\nhost={socket.gethostname()}\nstarted={started}\n"
        os.write(fd, text.encode("utf-8"))
    except OSError:
        os.close(fd)
        raise
    return fd


def _owner_gone(root: Path, host: str) -> bool:
    """Return True if the process that made the staging folder `root` is certainly gone."""
    fields: dict[str, str] = {}
    held: bool | None = None
    with contextlib.suppress(OSError):
        fd = os.open(root / "lock", os.O_RDONLY | os.O_NOFOLLOW)
        try:
            text = os.read(fd, 4096).decode("utf-8", "replace")
            fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
            # Any failure but "held" leaves `held` None: the pid must decide.
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = False
            except BlockingIOError:
                held = True
        finally:
            os.close(fd)
    if held:
        # Whoever holds the lock is alive, whatever pid the file names: a forked child
        # inherits its parent's lock.
        return False
    pid = fields.get("pid", "")
    if not (pid.isascii() and pid.isdigit()) or "host" not in fields:
        # No lock file, or one cut short while being written: only its age can tell.
        with contextlib.suppress(OSError):
            return time.time() - root.stat().st_mtime > STALE_AFTER
        return False
    if fields["host"] != host:
        # A pid means nothing on another host, and its lock may not be visible from here.
        return False
    if held is False:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        pass
    return False


def clean_stale(output: Path) -> list[Path]:
    """Remove the staging folders in `output` whose owner process is gone; return them.

    A folder is removed only if its lock file names this host and either the lock is not
    held or (where locks cannot be tested) no process has its pid. A folder whose lock is
    held, or made on another host, is never touched. A folder without a readable lock file is
    removed only once older than 24 hours. A missing or unreadable `output` holds nothing.
    """
    return remove_stale(output, STAGING_PREFIX)


def remove_stale(folder: Path, prefix: str, *, own_only: bool = False) -> list[Path]:
    """Remove the folders in `folder` named `prefix*` whose owner is gone; return them.

    The rule of `clean_stale`, for any kind of locked folder (`lock_folder`). With
    `own_only`, folders of other users are not even looked at (a shared temporary folder).
    """
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return []
    host = socket.gethostname()
    removed: list[Path] = []
    for entry in sorted(entries, key=lambda e: e.name):
        if not entry.name.startswith(prefix) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if own_only and entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        root = Path(entry.path)
        if _owner_gone(root, host):
            shutil.rmtree(root, ignore_errors=True)
            if not os.path.lexists(root):
                removed.append(root)
    return removed
