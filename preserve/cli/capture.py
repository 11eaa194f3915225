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
from preserve.cli.values import LineListType, SizeType, capture_options
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


@click.command("capture")
@click.argument("urls", nargs=-1, metavar="URL...")
@option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Folder the new bags go in; created if missing (not inside a bag).",
)
@option(
    "-i",
    "--input-file",
    metavar="FILE",
    help="Read URLs from FILE, one per line ('-' for stdin); blank lines and # comments skipped.",
)
@option("--name", help="Bag folder name (one URL only).  [default: <host>-<UTC time>-<8 hex>]")
@option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Connect and per-read timeout, in seconds.",
)
@option(
    "--retries",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Retries on connection errors, 429 and 5xx; Retry-After honoured up to 60 s.",
)
@option(
    "--max-redirects",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Redirects followed per URL.",
)
@option(
    "--max-size",
    type=SizeType(),
    default="2G",
    show_default=True,
    help="Largest resource, after content decoding (K, M, G, T are powers of 1024).",
)
@option(
    "--max-bytes",
    type=SizeType(),
    default="10G",
    show_default=True,
    help="Largest capture in all; later resources are skipped (reason: limit).",
)
@option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Pages (the seed, linked pages and frames) per capture.",
)
@option(
    "--max-requisites",
    type=click.IntRange(min=0),
    default=2000,
    show_default=True,
    help="Requisites per page.",
)
@option(
    "--workers",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Concurrent requests in all.",
)
@option(
    "--host-workers",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="Concurrent requests to one host.",
)
@option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Pause between requests to one host, in seconds.",
)
@option(
    "--depth",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Levels of linked pages to follow from the seed (0: the seed page alone).",
)
@option(
    "--scope",
    type=click.Choice(["page", "host", "domain", "prefix"]),
    default="host",
    show_default=True,
    help="Which linked pages and media may be followed: the seed's host, its registered "
    "domain, URLs under the seed's folder, or no other page.",
)
@option(
    "--include",
    "include",
    multiple=True,
    type=LineListType(),
    metavar="RE",
    help="Follow only linked pages and media whose URL matches RE; repeatable.",
)
@option(
    "--exclude",
    "exclude",
    multiple=True,
    type=LineListType(),
    metavar="RE",
    help="Never follow linked pages and media whose URL matches RE; repeatable.",
)
@option(
    "--linked-media/--no-linked-media",
    default=True,
    show_default=True,
    help="With --depth 1 or more, capture in-scope links to audio, video, images, PDF and "
    "office files.",
)
@option(
    "--ignore-robots",
    is_flag=True,
    help="Follow linked pages and media that robots.txt disallows (requisites never ask).",
)
@option(
    "--allow-private",
    is_flag=True,
    help="Let requisites and redirects reach loopback, private, link-local and cloud-metadata "
    "addresses (allowed anyway when the seed is on one).",
)
@option(
    "--user-agent",
    metavar="UA",
    help="User-Agent header.  [default: preserve/<version> (+project URL)]",
)
@option(
    "--header",
    "headers",
    multiple=True,
    type=LineListType(),
    metavar="'NAME: VALUE'",
    help="Header sent with every request; repeatable.",
)
@option(
    "--cookies",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Netscape cookies.txt file, as wget and curl read.",
)
@option(
    "--proxy", metavar="URL", help="Proxy for every request.  [default: HTTP(S)_PROXY and NO_PROXY]"
)
@option(
    "--ca-bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="CA certificates to trust.  [default: system, or REQUESTS_CA_BUNDLE]",
)
@option(
    "--insecure", is_flag=True, help="Do not verify TLS certificates (recorded in the capture log)."
)
@option(
    "--checksum",
    "checksums",
    multiple=True,
    metavar="ALG",
    type=click.Choice(["sha512", "sha256", "sha384", "sha224", "sha1", "md5"]),
    help="Manifest algorithm; repeatable.  [default: sha512 and sha256]",
)
@option("--strict", is_flag=True, help="A missing requisite fails the capture (exit 3).")
@option(
    "--json", "as_json", is_flag=True, help="Print one JSON document for the whole run on stdout."
)
@option("--source-organization", metavar="TEXT", help="bag-info Source-Organization.")
@option("--contact-name", metavar="TEXT", help="bag-info Contact-Name.")
@option("--contact-email", metavar="TEXT", help="bag-info Contact-Email.")
@option("--contact-phone", metavar="TEXT", help="bag-info Contact-Phone.")
@option("--organization-address", metavar="TEXT", help="bag-info Organization-Address.")
@option(
    "--info",
    "info",
    multiple=True,
    type=LineListType(),
    metavar="LABEL=VALUE",
    help="Extra bag-info field, in the order given; repeatable.",
)
@option(
    "--dc",
    "dc",
    multiple=True,
    type=LineListType(),
    metavar="ELEMENT=VALUE",
    help="Dublin Core value that wins over what the page states; repeatable.",
)
@option(
    "--metadata",
    "metadata_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="JSON file of Dublin Core terms (schemas/metadata.schema.json); wins over the page.",
)
@option(
    "--metadata-location",
    type=click.Choice(["payload", "tag"]),
    default="payload",
    show_default=True,
    help="Write the metadata records in data/metadata/ or in a metadata/ tag folder.",
)
@option(
    "--access/--no-access",
    default=True,
    show_default=True,
    help="Write the offline access copy in data/access/: pages whose links open the bag's "
    "files, without the network.",
)
@option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="BagIt Profile the bags must meet; the options are checked before fetching.",
)
@option(
    "--serialize",
    type=click.Choice(["zip", "tar", "tar.gz"]),
    help="Write each bag as one file (a single top folder named after the bag).",
)
@option(
    "--payload",
    type=click.Choice(["both", "files", "warc"]),
    default="both",
    show_default=True,
    help="Keep the bytes as files under data/web/ and in the WARC, as files only (no WARC), "
    "or in the WARC only.",
)
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
