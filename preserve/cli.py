"""The command line: parse options, call the API, print, and map errors to exit codes.

This module holds the `preserve` group and its Console; the commands live in `cli_capture`,
`cli_bag` (validate, info) and `cli_export`, and are added to the group at the end. stdout
carries results (the path of each bag written, or with `--json` one JSON document);
stderr carries everything meant for a person: progress, summaries, warnings and errors.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from preserve._version import __version__
from preserve.errors import PreserveError
from preserve.models import LogRecord

F = TypeVar("F", bound=Callable[..., Any])

ARGS_KEY = "preserve.args"
"""Where the group keeps the command line as given (`ctx.meta`), for the --log-file header."""

PROGRESS_INTERVAL = 0.1
"""Seconds between two redraws of the terminal progress line, whatever the URL rate."""

_GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "--version"})
_GLOBAL_WITH_VALUE = "--log-file"
_SHORT_GLOBALS = re.compile(r"-[qv]+")
# C0 and C1 controls (ESC starts terminal escape sequences), DEL, lone surrogates and the
# bidirectional overrides that make text read differently from its bytes.
_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_USERINFO = re.compile(r"(?<=://)[^/?#@\s]*@")


def _option(*decls: str, **attrs: Any) -> Callable[[F], F]:
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


def _value_counts(command: click.Command) -> dict[str, int]:
    """Return how many values each of `command`'s own options takes, by every spelling."""
    counts = {"-h": 0, "--help": 0}
    for param in command.params:
        if isinstance(param, click.Option):
            taken = 0 if param.is_flag or param.count else param.nargs
            counts.update(dict.fromkeys(param.opts + param.secondary_opts, taken))
    return counts


def _command_index(args: Sequence[str]) -> int | None:
    """Return where the command's name is among the group's arguments, or None."""
    at = 0
    while at < len(args):
        word = args[at]
        if word == "--":
            return None
        if not word.startswith("-") or word == "-":
            return at
        at += 2 if word == _GLOBAL_WITH_VALUE else 1
    return None


def lift_global_options(args: Sequence[str], commands: Mapping[str, click.Command]) -> list[str]:
    """Return `args` with the global options given after the command's name moved before it.

    `-q`, `-v` (also `-vv`, `-qv`), `--quiet`, `--verbose`, `--version` and `--log-file FILE`
    are moved; nothing after `--`, no value of the command's own options (`--name -v` names
    the bag "-v") and no option the command defines itself. Order is otherwise kept.
    """
    args = list(args)
    at = _command_index(args)
    if at is None or args[at] not in commands:
        return args
    own = _value_counts(commands[args[at]])
    lifted: list[str] = []
    kept: list[str] = []
    rest = args[at + 1 :]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word == "--":
            kept += rest[i:]
            break
        flag = word.partition("=")[0] if word.startswith("--") else word
        short_with_value = (
            len(word) > 2 and word[0] == "-" and word[1] != "-" and own.get(word[:2], 0) > 0
        )
        if flag in own or short_with_value:
            taken = own.get(word, 0)
            kept += rest[i : i + 1 + taken]
            i += 1 + taken
            continue
        short_globals = _SHORT_GLOBALS.fullmatch(word) is not None and all(
            f"-{c}" not in own for c in word[1:]
        )
        if word in _GLOBAL_FLAGS or short_globals or flag == _GLOBAL_WITH_VALUE:
            taken = 1 if word == _GLOBAL_WITH_VALUE else 0
            lifted += rest[i : i + 1 + taken]
            i += 1 + taken
            continue
        kept.append(word)
        i += 1
    return args[:at] + lifted + [args[at]] + kept


class PreserveGroup(click.Group):
    """The `preserve` group, whose global options may also follow the command's name."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse `args` with the global options lifted out of the command's arguments."""
        ctx.meta[ARGS_KEY] = tuple(args)
        return super().parse_args(ctx, lift_global_options(args, self.commands))


def _size(n: float) -> str:
    """Return a byte count in decimal units, as Bag-Size writes them: `1.2 MB`."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _duration(seconds: float) -> str:
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

    def run(self, work: Callable[[], int]) -> int:
        """Return the exit code `work` returns, or, when it raises, the error's code.

        A PreserveError is one line on stderr and its own exit code; anything else is a bug:
        its traceback, and 70.
        """
        try:
            return work()
        except PreserveError as exc:
            self.error(str(exc))
            return exc.exit_code
        except Exception:  # noqa: BLE001 - anything else is a bug: show it, exit 70
            return self.internal_error()

    def internal_error(self) -> int:
        """Print the traceback being handled (a bug), also to the log, and return exit 70."""
        text = traceback.format_exc()
        self.write_log(text)
        self._clear_progress()
        click.echo(text, err=True, nl=False)
        self.error(f"internal error: this is a bug in preserve {__version__}")
        return 70

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
            f"{_size(rate)}/s, {_duration(elapsed)}"
        )

    def _draw_progress(self) -> None:
        """Redraw the progress line in place, on a terminal, at most every PROGRESS_INTERVAL."""
        if not self.progress or self.quiet or self.verbose > 0:
            return
        now = self.clock()
        if self._drawn_at is not None and now - self._drawn_at < PROGRESS_INTERVAL:
            return
        self._drawn_at = now
        # One column short of the width: a line that wraps cannot be redrawn in place.
        width = max(shutil.get_terminal_size().columns - 1, 20)
        click.echo(f"\r\x1b[K{self.progress_line(now)[:width]}", err=True, nl=False)
        self._progress_shown = True

    def _clear_progress(self) -> None:
        if self._progress_shown:
            click.echo("\r\x1b[K", err=True, nl=False)
            self._progress_shown = False


@click.group(cls=PreserveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="preserve")
@_option("-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors.")
@_option(
    "-v", "--verbose", count=True, help="Also print one line per URL attempted and its redirects."
)
@_option(
    "--log-file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Append a full log of the run (a header with the command line, then every URL, "
    "errors, tracebacks, each line with its UTC time) to FILE.",
)
@click.pass_context
def main(ctx: click.Context, quiet: bool, verbose: int, log_file: Path | None) -> None:
    """Capture web pages into described, verifiable BagIt bags.

    The options above may also follow the command (`preserve capture URL -o DIR -v`).
    Exit codes: 0 success, 2 bad input, 3 a seed could not be fetched, 4 writing failed,
    5 some seeds failed, 70 internal error, 130/143 interrupted.
    """
    log: IO[str] | None = None
    if log_file is not None:
        try:
            log = ctx.with_resource(log_file.open("a", encoding="utf-8"))
        except OSError as exc:
            raise click.BadParameter(str(exc.strerror), param_hint="--log-file") from exc
    console = Console(quiet=quiet, verbose=verbose, log=log, progress=sys.stderr.isatty())
    args = redact_args(ctx.meta.get(ARGS_KEY, ()))
    console.write_log(
        f"===== preserve {__version__} (pid {os.getpid()}): {shlex.join(['preserve', *args])}"
    )
    ctx.obj = console


from preserve.cli_bag import info_command, validate_command  # noqa: E402
from preserve.cli_capture import capture_command  # noqa: E402
from preserve.cli_export import export_command  # noqa: E402

main.add_command(capture_command)
main.add_command(validate_command)
main.add_command(info_command)
main.add_command(export_command)
