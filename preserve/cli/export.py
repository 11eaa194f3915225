"""The `export` command: a bag's WARCs as a WACZ, a thin layer over `preserve.export_wacz`.

stdout carries the path written; stderr a one-line summary and errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from preserve.cli.console import Console, ExitPolicy, option, signals_as_errors


@click.command("export")
@click.argument("bag", metavar="BAG")
@option(
    "--wacz",
    "wacz",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help=(
        "Write the bag's WARCs, their index and page list as a WACZ file (never replaced;"
        " missing folders are created)."
    ),
)
@click.pass_obj
def export_command(console: Console | None, /, bag: str, wacz: Path) -> None:
    """Export BAG (a folder or a .zip/.tar/.tar.gz file) as a WACZ for replay.

    The bag must hold a WARC under data/warc/, as a capture without --payload files
    does. Missing folders above FILE are created. Exit codes: 0 written, 1 the bag's
    WARC does not match its manifest, 2 not a bag, no WARC under data/warc/, or cannot
    be read, 4 FILE exists or cannot be written (or the temporary folder, where a
    serialised bag is unpacked), 70 internal error, 130/143 interrupted (nothing is left).
    """
    console = console or Console()
    policy = ExitPolicy()

    def export() -> None:
        from preserve.bag.scratch import clean_stale_scratch
        from preserve.wacz import export_wacz

        clean_stale_scratch()
        result = export_wacz(Path(bag), wacz)
        console.say(
            f"{result.path}: WACZ of {len(result.warcs)} WARC(s), {result.pages} page(s), "
            f"sha256 {result.sha256}"
        )
        click.echo(str(result.path))
        policy.done()

    with signals_as_errors(console):
        exit_code = console.run(export, policy)
    sys.exit(exit_code)
