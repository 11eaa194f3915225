"""The `export` command: a bag's WARCs as a WACZ that ReplayWeb.page opens.

A standalone click command that `preserve.cli` adds to its group, as `preserve.cli_bag`'s are.
stdout carries the path written; stderr a one-line summary and errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from preserve.cli import Console, _option
from preserve.errors import PreserveError


@click.command("export")
@click.argument("bag", metavar="BAG")
@_option(
    "--wacz",
    "wacz",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the bag's WARCs, their index and page list as a WACZ file (never replaced).",
)
@click.pass_obj
def export_command(console: Console | None, /, bag: str, wacz: Path) -> None:
    """Export BAG (a folder or a .zip/.tar/.tar.gz file) as a WACZ for replay.

    The bag must hold a WARC (a capture without --payload files). Exit codes: 0 written,
    1 the bag's WARC does not match its manifest, 2 not a bag with a WARC or cannot be
    read, 4 FILE exists or cannot be written, 70 internal error.
    """
    console = console or Console()
    exit_code = 0
    try:
        from preserve.wacz import export_wacz

        summary = export_wacz(Path(bag), wacz)
        console.say(
            f"{summary.path}: WACZ of {len(summary.warcs)} WARC(s), {summary.pages} page(s), "
            f"sha256 {summary.sha256}"
        )
        click.echo(str(summary.path))
    except PreserveError as exc:
        console.error(str(exc))
        exit_code = exc.exit_code
    except Exception:  # noqa: BLE001 - anything else is a bug: show it, exit 70
        exit_code = console.internal_error()
    sys.exit(exit_code)
