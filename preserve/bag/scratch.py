"""Temporary folders for reading serialised bags, locked as staging folders are.

`validate`, `info` and `export` put what they unpack of an archive in
`<TMPDIR>/preserve-scratch-<random>/work/`, beside a `lock` file naming the process and host
and holding an flock while it lives (`staging.lock_folder`). Leaving the block removes it,
on any error or signal; after a SIGKILL or a crash, the next run removes it by the staging
rule: same host, and the owner no longer holds the lock (`staging.remove_stale`).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from preserve.bag.staging import lock_folder, remove_locked, remove_stale
from preserve.errors import PackagingFailed

SCRATCH_PREFIX = "preserve-scratch-"
"""How every scratch folder's name starts; `clean_stale_scratch` looks at nothing else."""


def scratch_home() -> Path:
    """Return the folder scratch folders are made in: the system's temporary folder."""
    return Path(tempfile.gettempdir())


class Scratch:
    """A private, locked temporary folder; use `Scratch.create`, as a context manager."""

    def __init__(self, root: Path, lock_fd: int) -> None:
        self._root = root
        self._lock_fd: int | None = lock_fd

    @classmethod
    def create(cls) -> Scratch:
        """Create a new locked scratch folder in the temporary folder; return its Scratch.

        Stale scratch folders of runs that are gone are removed first. Raises
        PackagingFailed if the temporary folder cannot be written.
        """
        home = scratch_home()
        clean_stale_scratch(home)
        try:
            # mkdtemp: a new name, mode 0700, never another user's folder.
            root = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=home))
        except OSError as exc:
            raise PackagingFailed(
                f"cannot create a temporary folder in {home}: {exc.strerror or exc}",
                hint="set TMPDIR to a folder you can write",
            ) from exc
        try:
            lock_fd = lock_folder(root)
            (root / "work").mkdir()
        except OSError as exc:
            shutil.rmtree(root, ignore_errors=True)
            raise PackagingFailed(
                f"cannot create a temporary folder in {home}: {exc.strerror or exc}"
            ) from exc
        return cls(root, lock_fd)

    @property
    def root(self) -> Path:
        """Return the scratch folder itself (it holds `lock` and `work/`)."""
        return self._root

    @property
    def path(self) -> Path:
        """Return the empty folder to work in."""
        return self._root / "work"

    def remove(self) -> None:
        """Remove the scratch folder and everything in it; calling it again does nothing."""
        remove_locked(self._root, self._lock_fd)
        self._lock_fd = None

    def __enter__(self) -> Scratch:
        """Return this scratch folder, to be removed on leaving the block."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Remove the scratch folder; never swallow an exception."""
        self.remove()


def clean_stale_scratch(home: Path | None = None) -> list[Path]:
    """Remove this user's scratch folders whose owner is gone (see staging.clean_stale).

    `home` defaults to the temporary folder. Returns the folders removed.
    """
    return remove_stale(home or scratch_home(), SCRATCH_PREFIX, own_only=True)
