"""What every command shares: the Console people read, the option helper, the exit policy.

stdout carries results (a bag's path, a verdict, or with `--json` one JSON document); the
Console carries everything meant for a person to stderr and the --log-file. An ExitPolicy
turns what a run came to into its exit code, the same way for every command.
"""

from __future__ import annotations

import re
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import IO, Any, TypeVar

import click

from preserve._version import __version__
from preserve.errors import Interrupted, PreserveError, SomeSeedsFailed
from preserve.models import LogRecord

F = TypeVar("F", bound=Callable[..., Any])

INTERNAL_ERROR = 70
"""The exit code of a bug: any exception that is not a PreserveError."""

PROGRESS_INTERVAL = 0.1
"""Seconds between two redraws of the terminal progress line, whatever the URL rate."""

# C0 and C1 controls (ESC starts terminal escape sequences), DEL, lone surrogates and the
# bidirectional overrides that make text read differently from its bytes.
_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_USERINFO = re.compile(r"(?<=://)[^/?#@\s]*@")
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def option(*decls: str, **attrs: Any) -> Callable[[F], F]:
    """Return a click option that can also be set by `PRESERVE_<OPTION>` in the environment."""
    longest = max((d for d in decls if d.startswith("--")), key=len)
    name = longest[2:].split("/")[0].replace("-", "_").upper()
    attrs.setdefault("envvar", f"PRESERVE_{name}")
    attrs.setdefault("show_envvar", True)
    return click.option(*decls, **attrs)


def terminal_safe(text: str) -> str:
    """Return `text` with control characters and bidi overrides written as `\\xNN` escapes.

    Line breaks are escaped too: a value from a server is shown on one line, as one value.
    """
    return _UNSAFE.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}", text
    )


def _safe_lines(text: str) -> str:
    """Return a message of ours made terminal-safe line by line, keeping its own line breaks."""
    return "\n".join(terminal_safe(line) for line in text.split("\n"))


def _utc_stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def redact_args(args: Sequence[str]) -> list[str]:
    """Return a command line fit for a log file: no header values, no credentials in URLs.

    `--header 'Name: value'` keeps its name only; the user and password of any URL (the
    `--proxy`, a seed) are replaced. A --cookies file is named, never read.
    """
    redacted: list[str] = []
    for arg in args:
        shown = arg
        if redacted and redacted[-1] == "--header":
            name, sep, _value = arg.partition(":")
            shown = f"{name}: <redacted>" if sep else "<redacted>"
        elif arg.startswith("--header="):
            name, sep, _value = arg.removeprefix("--header=").partition(":")
            shown = f"--header={name}: <redacted>" if sep else "--header=<redacted>"
        redacted.append(_USERINFO.sub("<redacted>@", shown))
    return redacted


@dataclass(slots=True)
class ExitPolicy:
    """What a command's run came to, and the one rule that turns it into the exit code.

    A command tells it the outcome of each item it handles (a bag written, described or
    valid; a seed or bag that failed, with that failure's code), and `Console.run` tells it
    the error that stopped the run, if one did. `exit_code` is then the first that applies:
    the stopping error's code (2 bad input, 4 writing failed, 130/143 interrupted, 70 a bug);
    0 when no item failed; `partial` when some items succeeded and others failed, if set
    (capture: 5); the highest failure code with `worst` (validate: a bag that cannot be
    read, 2, outranks an invalid one, 1); else the first failure's code.
    """

    partial: int | None = None
    worst: bool = False
    succeeded: int = 0
    failures: list[int] = field(default_factory=list)
    stopped: int | None = None

    @classmethod
    def for_captures(cls) -> ExitPolicy:
        """Return the policy of a run that writes a bag per seed: some seeds failing is 5."""
        return cls(partial=SomeSeedsFailed.exit_code)

    @classmethod
    def for_checks(cls) -> ExitPolicy:
        """Return the policy of a run that checks bags: the worst bag's code wins."""
        return cls(worst=True)

    def done(self) -> None:
        """Count one item that succeeded."""
        self.succeeded += 1

    def failed(self, exit_code: int) -> None:
        """Count one item that failed with `exit_code`; the run goes on."""
        self.failures.append(exit_code)

    def stop(self, exit_code: int) -> None:
        """Record the error that stopped the run; its code wins over every item's."""
        self.stopped = exit_code

    @property
    def exit_code(self) -> int:
        """Return the exit code of the run so far."""
        if self.stopped is not None:
            return self.stopped
        if not self.failures:
            return 0
        if self.partial is not None and self.succeeded:
            return self.partial
        return max(self.failures) if self.worst else self.failures[0]


def _size(n: float) -> str:
    """Return a byte count in decimal units, as Bag-Size writes them: `1.2 MB`."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def duration(seconds: float) -> str:
    """Return a duration as a clock shows it: `1:05`, `2:03:04`."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(slots=True)
class Console:
    """Where a person's messages go: stderr by verbosity, and the --log-file in full.

    Everything shown is made terminal-safe first, so a URL or header value from a server can
    never move the cursor, recolour or retitle the terminal. The log gets the same text, each
    line prefixed by its UTC time.
    """

    quiet: bool = False
    verbose: int = 0
    log: IO[str] | None = None
    progress: bool = False
    clock: Callable[[], float] = time.monotonic
    counts: dict[str, int] = field(default_factory=dict)
    stored_bytes: int = 0
    _started: float = 0.0
    _drawn_at: float | None = None
    _progress_shown: bool = False

    def __post_init__(self) -> None:
        self._started = self.clock()

    def write_log(self, text: str) -> None:
        """Append `text` to the --log-file, if any, each line prefixed by the UTC time."""
        if self.log is None:
            return
        stamp = _utc_stamp()
        self.log.write("".join(f"{stamp} {line}\n" for line in text.splitlines() or [""]))
        self.log.flush()

    def say(self, message: str, *, level: int = 0) -> None:
        """Print a message at `level` (0 normal, 1 verbose) to stderr and always to the log."""
        message = _safe_lines(message)
        self.write_log(message)
        if self.quiet or level > self.verbose:
            return
        self._clear_progress()
        click.echo(message, err=True)

    def error(self, message: str) -> None:
        """Print one error line, even under --quiet."""
        message = _safe_lines(message)
        self.write_log(f"error: {message}")
        self._clear_progress()
        click.echo(f"preserve: error: {message}", err=True)

    def run(self, work: Callable[[], None], policy: ExitPolicy) -> int:
        """Run `work`, which tells `policy` each item's outcome; return the run's exit code.

        An error that escapes `work` stops the run and is told to `policy`: a PreserveError
        as one line on stderr with its own code; anything else is a bug, shown with its
        traceback, exit 70.
        """
        try:
            work()
        except PreserveError as exc:
            self.error(str(exc))
            policy.stop(exc.exit_code)
        except Exception:  # noqa: BLE001 - anything else is a bug: show it, exit 70
            self.internal_error()
            policy.stop(INTERNAL_ERROR)
        return policy.exit_code

    def internal_error(self) -> None:
        """Print the traceback being handled (a bug), also to the log."""
        text = traceback.format_exc()
        self.write_log(text)
        self._clear_progress()
        click.echo(text, err=True, nl=False)
        self.error(f"internal error: this is a bug in preserve {__version__}")

    def record(self, record: LogRecord) -> None:
        """Report one URL attempted: verbose lines (with its redirects), and the progress."""
        detail = record.error or record.reason or (f"{record.size:,} bytes" if record.size else "")
        line = f"{record.outcome:>8} {record.role:<9} {terminal_safe(record.url)} "
        self.say((line + terminal_safe(detail)).rstrip(), level=1)
        for hop in record.redirects:
            status, url, location = (
                terminal_safe(str(hop.get(k))) for k in ("status", "url", "location")
            )
            self.say(f"{'':>8} redirect {status} {url} -> {location}", level=1)
        self.counts[record.outcome] = self.counts.get(record.outcome, 0) + 1
        if record.outcome == "captured":
            self.stored_bytes += record.size or 0
        self._draw_progress()

    def progress_line(self, now: float) -> str:
        """Return the progress line: URLs done by outcome, bytes stored, rate, time elapsed."""
        elapsed = max(now - self._started, 0.0)
        done = sum(self.counts.values())
        outcomes = ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.counts.items()))
        rate = self.stored_bytes / elapsed if elapsed > 0 else 0.0
        return (
            f"{done} URL{'' if done == 1 else 's'} ({outcomes}), {_size(self.stored_bytes)}, "
            f"{_size(rate)}/s, {duration(elapsed)}"
        )

    def _draw_progress(self) -> None:
        """Redraw the progress line in place, on a terminal, at most every PROGRESS_INTERVAL."""
        self.draw(self.progress_line)

    def draw(self, line: Callable[[float], str], *, now: bool = False) -> None:
        """Redraw `line(clock())` in place as the progress line, on a terminal, without -q or -v.

        At most every PROGRESS_INTERVAL, unless `now`. Any message said clears it first.
        """
        if not self.progress or self.quiet or self.verbose > 0:
            return
        at = self.clock()
        if not now and self._drawn_at is not None and at - self._drawn_at < PROGRESS_INTERVAL:
            return
        self._drawn_at = at
        # One column short of the width: a line that wraps cannot be redrawn in place.
        width = max(shutil.get_terminal_size().columns - 1, 20)
        click.echo(f"\r\x1b[K{line(at)[:width]}", err=True, nl=False)
        self._progress_shown = True

    def _clear_progress(self) -> None:
        if self._progress_shown:
            click.echo("\r\x1b[K", err=True, nl=False)
            self._progress_shown = False


@contextmanager
def signals_as_errors(console: Console) -> Iterator[None]:
    """Turn SIGINT and SIGTERM into Interrupted (exit 130, 143) while the block runs.

    The error unwinds through the work, so what it holds is removed on the way out (a
    scratch folder, a partial file); click never sees a KeyboardInterrupt, whose "Aborted!"
    exits 1, which `validate` and `export` give other meanings. After the first signal both
    stay ignored until the process exits: a second Ctrl-C cannot cut the cleanup short or
    change the exit code. An Interrupted that escapes `Console.run` (a signal while the
    results are printed) ends the process with its code. Outside the main thread, where
    Python runs no handler, the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        fired.append(signum)
        for other in _SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in _SIGNALS}
    try:
        yield
    except Interrupted as exc:
        console.error(str(exc))
        raise SystemExit(exc.exit_code) from None
    finally:
        if not fired:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
