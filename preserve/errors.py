"""The error tree of preserve: every expected failure is a PreserveError carrying its exit code."""

from __future__ import annotations


class PreserveError(Exception):
    """Base of every error preserve raises on purpose; `exit_code` is what the CLI exits with."""

    exit_code: int = 70

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class BadInput(PreserveError):
    """The user's input cannot be used: a bad URL, option, file or metadata value (exit 2)."""

    exit_code = 2


class FetchFailed(PreserveError):
    """A seed could not be fetched, or a requisite was missing under --strict (exit 3)."""

    exit_code = 3


class PackagingFailed(PreserveError):
    """Writing the bag failed: disk full, permission denied, name taken (exit 4)."""

    exit_code = 4


class SomeSeedsFailed(PreserveError):
    """Several URLs were given: some bags were written and some seeds failed (exit 5)."""

    exit_code = 5


class InvalidBag(PreserveError):
    """A bag is invalid or does not meet its profile (exit 1)."""

    exit_code = 1


class Interrupted(PreserveError):
    """The run was stopped by SIGINT (exit 130) or SIGTERM (exit 143); nothing was left behind."""

    def __init__(self, signum: int) -> None:
        name = {2: "SIGINT", 15: "SIGTERM"}.get(signum, f"signal {signum}")
        super().__init__(f"interrupted by {name}")
        self.signum = signum
        self.exit_code = 128 + signum
