"""The `capture` command: its options, the seeds it reads, and the run over them.

A thin layer over `preserve.capture_many`: it turns the options into CaptureOptions, checks
every seed first, and tells each outcome as it is decided. Each bag's path goes to stdout
(or one JSON document with `--json`); people read stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from preserve.bag.staging import check_output
from preserve.capture.seeds import (
    ListedSeed,
    parse_seed,
    read_url_list,
    refuse_duplicates,
    weak_checksum_warning,
)
from preserve.cli.console import Console, ExitPolicy, option, signals_as_errors
from preserve.cli.options import BROWSER, FETCHING, OUTPUT, PACKAGING, apply
from preserve.cli.values import capture_options
from preserve.errors import BadInput, Interrupted
from preserve.models import CaptureResult
from preserve.report import SeedFailure, run_document, summary_text


def _read_input_file(source: str) -> list[ListedSeed]:
    """Return the URLs of an input file (`-` for stdin), each with its `FILE:LINE`."""
    name = "stdin" if source == "-" else source
    try:
        if source == "-":
            return read_url_list(sys.stdin.buffer, name)
        with Path(source).open("rb") as stream:
            return read_url_list(stream, name)
    except OSError as exc:
        raise BadInput(f"cannot read --input-file {source}: {exc.strerror or exc}") from exc


NOTES_SHOWN = 5
"""What the browser noted of a capture's pages, shown on stderr; the rest is in PREMIS."""


@click.command("capture")
@click.argument("urls", nargs=-1, metavar="URL...")
@apply(OUTPUT)
@option(
    "-i",
    "--input-file",
    metavar="FILE",
    help="Read URLs from FILE, one per line ('-' for stdin); blank lines and # comments skipped.",
)
@option("--name", help="Bag folder name (one URL only).  [default: <host>-<UTC time>-<8 hex>]")
@apply(FETCHING)
@option(
    "--json", "as_json", is_flag=True, help="Print one JSON document for the whole run on stdout."
)
@apply(PACKAGING)
@apply(BROWSER)
@click.pass_obj
def capture_command(console: Console, /, urls: tuple[str, ...], **opts: Any) -> None:
    """Capture each URL (or local HTML file) with its requisites into a new bag.

    Writes one bag per URL inside --output and prints each bag's path on stdout.
    """
    exit_code = _run_capture(console, urls, opts)
    sys.exit(exit_code)


def _gather_seeds(urls: tuple[str, ...], input_file: str | None) -> list[str]:
    """Return every seed of the run, checked before any work; raise BadInput otherwise.

    A bad line of the input file is named `FILE:LINE`; a URL given twice, anywhere, is refused.
    """
    listed = [ListedSeed(url, f"command-line URL {n}") for n, url in enumerate(urls, 1)]
    from_file = _read_input_file(input_file) if input_file is not None else []
    if not listed and not from_file:
        raise BadInput("no URL given", hint="pass URLs or --input-file FILE")
    checked = [(parse_seed(item.text), item.where) for item in listed]
    for item in from_file:
        try:
            checked.append((parse_seed(item.text), item.where))
        except BadInput as exc:
            raise BadInput(f"{item.where}: {exc.message}", hint=exc.hint) from exc
    refuse_duplicates(checked)
    return [item.text for item in listed + from_file]


def _run_capture(console: Console, urls: tuple[str, ...], opts: dict[str, Any]) -> int:
    """Capture every seed; return the exit code of the run."""
    # Imported here, not at the top, so that `preserve --help` and `validate` start quickly.
    from preserve.capture import capture_many

    policy = ExitPolicy.for_captures()
    # One entry per seed, in the order given: a bag written, or why not.
    outcomes: list[CaptureResult | SeedFailure] = []

    def tell(outcome: CaptureResult | SeedFailure) -> None:
        outcomes.append(outcome)
        if isinstance(outcome, SeedFailure):
            policy.failed(outcome.exit_code)
            message, seed = outcome.message, outcome.seed
            console.error(message if seed in message else f"{seed}: {message}")
            return
        policy.done()
        console.say(summary_text(outcome))
        for note in outcome.notes[:NOTES_SHOWN]:
            console.say(f"preserve: warning: --browser: {note}")
        if len(outcome.notes) > NOTES_SHOWN:
            more = len(outcome.notes) - NOTES_SHOWN
            console.say(f"preserve: warning: --browser: {more} more in the bag's PREMIS record")
        if not opts["as_json"]:
            click.echo(str(outcome.bag_path))

    def capture_each(seeds: list[str]) -> None:
        options = capture_options(opts, single=len(seeds) == 1)
        check_output(opts["output"])
        weak = weak_checksum_warning(options.checksums)
        if weak is not None:
            console.say(f"preserve: warning: {weak}")
        capture_many(seeds, opts["output"], options, observer=console.record, on_outcome=tell)

    def capture_all() -> None:
        seeds = _gather_seeds(urls, opts["input_file"])
        try:
            capture_each(seeds)
        except Interrupted as exc:
            # The report lists every seed: the one cut short, and those never started.
            unfinished = seeds[len(outcomes) :]
            if unfinished:
                outcomes.append(SeedFailure(unfinished.pop(0), str(exc), exc.exit_code))
            outcomes.extend(
                SeedFailure(seed, f"not attempted: {exc}", exc.exit_code, attempted=False)
                for seed in unfinished
            )
            raise

    with signals_as_errors(console):
        exit_code = console.run(capture_all, policy)
        if opts["as_json"]:
            click.echo(json.dumps(run_document(outcomes, exit_code), ensure_ascii=False))
    return exit_code
