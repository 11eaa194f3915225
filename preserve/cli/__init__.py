"""The command line: the `preserve` group, its global options, and the commands it adds.

Each command (`capture`, `batch`, `validate`, `info`, `export`) lives in its own module, parses its
options, calls the Python API, prints, and leaves its exit code to an ExitPolicy
(`preserve.cli.console`). The commands import the console; only this module imports them.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import click

from preserve._version import __version__
from preserve.cli.bag import info_command, validate_command
from preserve.cli.batch import batch_command
from preserve.cli.capture import capture_command
from preserve.cli.console import Console, option, redact_args
from preserve.cli.export import export_command
from preserve.cli.worker import worker_command
from preserve.errors import Interrupted
from preserve.pausepoint import pause_point

__all__ = ["lift_global_options", "main"]

ARGS_KEY = "preserve.args"
"""Where the group keeps the command line as given (`ctx.meta`), for the --log-file header."""

_GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "--version"})
_GLOBAL_WITH_VALUE = "--log-file"
_SHORT_GLOBALS = re.compile(r"-[qv]+")


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


def _interrupted_at_start(signum: int, _frame: object) -> None:
    """End a run stopped before its command took over its signals: 130 or 143, one line."""
    sys.stderr.write(f"preserve: error: {Interrupted(signum)}\n")
    raise SystemExit(128 + signum)


class PreserveGroup(click.Group):
    """The `preserve` group, whose global options may also follow the command's name."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line; SIGINT or SIGTERM before a command handles them ends it.

        Without this, a Ctrl-C while the options are read or the code loads would be click's
        "Aborted!" and exit 1, which `validate` gives another meaning.
        """
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _interrupted_at_start)
        return super().main(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse `args` with the global options lifted out of the command's arguments."""
        ctx.meta[ARGS_KEY] = tuple(args)
        return super().parse_args(ctx, lift_global_options(args, self.commands))


@click.group(cls=PreserveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="preserve")
@option("-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors.")
@option(
    "-v", "--verbose", count=True, help="Also print one line per URL attempted and its redirects."
)
@option(
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
    pause_point("starting")


main.add_command(capture_command)
main.add_command(validate_command)
main.add_command(info_command)
main.add_command(export_command)
main.add_command(batch_command)
main.add_command(worker_command)
