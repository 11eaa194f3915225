"""The `validate` and `info` commands: thin layers over `preserve.validate` and `describe`.

`validate` lists problems on stderr one per line; stdout carries one verdict line per bag,
or with `--json` one document. `info` prints what `describe` returns, as text or JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from preserve._version import __version__
from preserve.cli.console import Console, ExitPolicy, option, signals_as_errors
from preserve.errors import Interrupted, InvalidBag, PreserveError

if TYPE_CHECKING:
    from preserve.bag.profile import Profile
    from preserve.bag.validate import ValidationReport

_MODE_NOTE = {
    "fast": "fast: Payload-Oxum only, checksums not verified",
    "completeness": "completeness only, checksums not verified",
}


def _report_lines(console: Console, name: str, report: ValidationReport) -> None:
    """Print a report's problems (always) and warnings (unless --quiet) on stderr.

    Each problem is one line, `BAG: KIND: PATH: message`, except the profile's: a line
    naming the profile once, then each of its problems on an indented line.
    """
    from preserve.bag.profile import listing

    for problem in report.problems:
        if problem.kind != "profile":
            where = f"{problem.path}: " if problem.path else ""
            console.error(f"{name}: {problem.kind}: {where}{problem.message}")
    broken = [p.message for p in report.problems if p.kind == "profile"]
    if broken:
        console.error(listing(f"{name}: does not meet the profile {report.profile}", broken))
    for warning in report.warnings:
        if warning.kind != "profile":
            where = f"{warning.path}: " if warning.path else ""
            console.say(f"preserve: warning: {name}: {warning.kind}: {where}{warning.message}")
    said = [w.message for w in report.warnings if w.kind == "profile"]
    if said:
        console.say(listing(f"preserve: warning: {name}: about the profile {report.profile}", said))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _verdict(report: ValidationReport) -> str:
    """Return the one-line verdict for stdout: valid or invalid, and how far it checked."""
    notes = [_MODE_NOTE[report.mode]] if report.mode in _MODE_NOTE else []
    if report.profile:
        notes.append(f"profile {report.profile}")
    if report.warnings:
        notes.append(_count(len(report.warnings), "warning"))
    if not report.valid:
        notes.insert(0, _count(len(report.problems), "problem"))
    suffix = f" ({'; '.join(notes)})" if notes else ""
    return f"{'valid' if report.valid else 'invalid'}{suffix}"


@click.command("validate")
@click.argument("bags", nargs=-1, required=True, metavar="BAG...")
@option("--fast", is_flag=True, help="Check only the Payload-Oxum (file count and bytes).")
@option(
    "--completeness-only",
    is_flag=True,
    help="Check that every file is present and listed, without checksums.",
)
@option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Hash N files at once (threads; hashing runs on N cores).",
)
@option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also check the rules of this BagIt Profile (JSON).",
)
@option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.pass_obj
def validate_command(
    console: Console | None,
    /,
    bags: tuple[str, ...],
    fast: bool,
    completeness_only: bool,
    processes: int,
    profile: Path | None,
    as_json: bool,
) -> None:
    """Check each BAG (a folder, or a .zip, .tar, .tar.gz or .tgz file).

    Lists every problem on stderr and one verdict per bag on stdout. Exit codes: 0 every bag
    valid (warnings allowed), 1 a bag is invalid or fails the profile, 2 bad usage, a folder
    with nothing of a bag, or a bag that cannot be read, 4 the temporary folder cannot take
    a serialised bag's lists, 70 internal error, 130/143 interrupted (SIGINT/SIGTERM).
    """
    console = console or Console()
    if fast and completeness_only:
        raise click.UsageError("choose --fast or --completeness-only, not both")
    entries: list[dict[str, object]] = []
    policy = ExitPolicy.for_checks()

    def check_all() -> None:
        # Imported here so that `preserve --help` and `capture` do not load the validator.
        from preserve.bag.profile import load_profile
        from preserve.bag.scratch import clean_stale_scratch
        from preserve.bag.validate import validate

        clean_stale_scratch()
        loaded: Profile | None = load_profile(profile) if profile is not None else None
        for bag in bags:
            try:
                report = validate(
                    Path(bag),
                    fast=fast,
                    completeness_only=completeness_only,
                    processes=processes,
                    profile=loaded,
                )
            except PreserveError as exc:
                if not isinstance(exc, Interrupted):
                    console.error(str(exc))
                if not as_json:
                    click.echo(f"{bag}: not checked")
                entries.append(_unreadable(bag, str(exc), exc.exit_code))
                if isinstance(exc, Interrupted):
                    # The run stops here: the bags after this one are not checked either.
                    raise
                policy.failed(exc.exit_code)
                continue
            _report_lines(console, bag, report)
            if not as_json:
                click.echo(f"{bag}: {_verdict(report)}")
            entries.append(report.to_dict() | {"bag": bag})
            if report.valid:
                policy.done()
            else:
                policy.failed(InvalidBag.exit_code)

    with signals_as_errors(console):
        exit_code = console.run(check_all, policy)
        if as_json:
            document = {
                "software": f"preserve/{__version__}",
                "exit_code": exit_code,
                "bags": entries,
            }
            click.echo(json.dumps(document, ensure_ascii=False))
    sys.exit(exit_code)


def _unreadable(bag: str, message: str, exit_code: int) -> dict[str, object]:
    """Return the JSON entry of a bag that could not be read at all."""
    return {
        "bag": bag,
        "valid": False,
        "exit_code": exit_code,
        "mode": None,
        "serialization": None,
        "bagit_version": None,
        "profile": None,
        "payload_files": None,
        "payload_bytes": None,
        "algorithms": [],
        "problems": [],
        "warnings": [],
        "error": message,
    }


@click.command("info")
@click.argument("bag", metavar="BAG")
@option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.pass_obj
def info_command(console: Console | None, /, bag: str, as_json: bool) -> None:
    """Describe BAG: BagIt version, bag-info, Dublin Core, payload, manifests, capture.

    Reads the tag files only; nothing is verified (use `preserve validate`). Exit codes:
    0 described, 2 not a bag or cannot be read, 70 internal error, 130/143 interrupted.
    """
    console = console or Console()
    policy = ExitPolicy()

    def show() -> None:
        from preserve import describe
        from preserve.bag.scratch import clean_stale_scratch

        clean_stale_scratch()
        description = describe(Path(bag))
        if as_json:
            click.echo(json.dumps(description.to_dict() | {"bag": bag}, ensure_ascii=False))
        else:
            click.echo(description.text())
        policy.done()

    with signals_as_errors(console):
        exit_code = console.run(show, policy)
    sys.exit(exit_code)
