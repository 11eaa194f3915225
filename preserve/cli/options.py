"""The capture options shared by `capture` and `batch`: one definition, one meaning.

Each list holds click options in the order `--help` shows them; `apply` puts a list on a
command. `capture` adds its own (`-i`, `--name`, `--json`) between them, `batch` its own
(`--jobs`, `--report`, `--retry-failed`, `--broker`) after them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from preserve.cli.console import option
from preserve.cli.values import LineListType, SizeType

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[Any], Any]


def apply(decorators: Sequence[Decorator]) -> Callable[[F], F]:
    """Return a decorator putting `decorators` on a command, in the order listed."""

    def decorate(command: F) -> F:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return decorate


OUTPUT: list[Decorator] = [
    option(
        "-o",
        "--output",
        required=True,
        type=click.Path(path_type=Path),
        metavar="DIR",
        help="Folder the new bags go in; created if missing (not inside a bag).",
    ),
]
"""`-o/--output`."""

FETCHING: list[Decorator] = [
    option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=30.0,
        show_default=True,
        help="Connect and per-read timeout, in seconds.",
    ),
    option(
        "--retries",
        type=click.IntRange(min=0),
        default=3,
        show_default=True,
        help="Retries on connection errors, 429 and 5xx; Retry-After honoured up to 60 s.",
    ),
    option(
        "--max-redirects",
        type=click.IntRange(min=0),
        default=10,
        show_default=True,
        help="Redirects followed per URL.",
    ),
    option(
        "--max-size",
        type=SizeType(),
        default="2G",
        show_default=True,
        help="Largest resource, after content decoding (K, M, G, T are powers of 1024).",
    ),
    option(
        "--max-bytes",
        type=SizeType(),
        default="10G",
        show_default=True,
        help="Largest capture in all; later resources are skipped (reason: limit).",
    ),
    option(
        "--max-pages",
        type=click.IntRange(min=1),
        default=100,
        show_default=True,
        help="Pages (the seed, linked pages and frames) per capture.",
    ),
    option(
        "--max-requisites",
        type=click.IntRange(min=0),
        default=2000,
        show_default=True,
        help="Requisites per page.",
    ),
    option(
        "--workers",
        type=click.IntRange(min=1),
        default=8,
        show_default=True,
        help="Concurrent requests in all.",
    ),
    option(
        "--host-workers",
        type=click.IntRange(min=1),
        default=6,
        show_default=True,
        help="Concurrent requests to one host.",
    ),
    option(
        "--wait",
        type=click.FloatRange(min=0),
        default=0.0,
        show_default=True,
        help="Pause between requests to one host, in seconds.",
    ),
    option(
        "--depth",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="Levels of linked pages to follow from the seed (0: the seed page alone).",
    ),
    option(
        "--scope",
        type=click.Choice(["page", "host", "domain", "prefix"]),
        default="host",
        show_default=True,
        help="Which linked pages and media may be followed: the seed's host, its registered "
        "domain, URLs under the seed's folder, or no other page.",
    ),
    option(
        "--include",
        "include",
        multiple=True,
        type=LineListType(),
        metavar="RE",
        help="Follow only linked pages and media whose URL matches RE; repeatable.",
    ),
    option(
        "--exclude",
        "exclude",
        multiple=True,
        type=LineListType(),
        metavar="RE",
        help="Never follow linked pages and media whose URL matches RE; repeatable.",
    ),
    option(
        "--linked-media/--no-linked-media",
        default=True,
        show_default=True,
        help="With --depth 1 or more, capture in-scope links to audio, video, images, PDF and "
        "office files.",
    ),
    option(
        "--ignore-robots",
        is_flag=True,
        help="Follow linked pages and media that robots.txt disallows (requisites never ask).",
    ),
    option(
        "--allow-private",
        is_flag=True,
        help="Let requisites and redirects reach loopback, private, link-local and cloud-metadata "
        "addresses (allowed anyway when the seed is on one).",
    ),
    option(
        "--user-agent",
        metavar="UA",
        help="User-Agent header.  [default: preserve/<version> (+project URL)]",
    ),
    option(
        "--header",
        "headers",
        multiple=True,
        type=LineListType(),
        metavar="'NAME: VALUE'",
        help="Header sent with every request; repeatable.",
    ),
    option(
        "--cookies",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Netscape cookies.txt file, as wget and curl read.",
    ),
    option(
        "--proxy",
        metavar="URL",
        help="Proxy for every request.  [default: HTTP(S)_PROXY and NO_PROXY]",
    ),
    option(
        "--ca-bundle",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="CA certificates to trust.  [default: system, or REQUESTS_CA_BUNDLE]",
    ),
    option(
        "--insecure",
        is_flag=True,
        help="Do not verify TLS certificates (recorded in the capture log).",
    ),
    option(
        "--checksum",
        "checksums",
        multiple=True,
        metavar="ALG",
        type=click.Choice(["sha512", "sha256", "sha384", "sha224", "sha1", "md5"]),
        help="Manifest algorithm; repeatable.  [default: sha512 and sha256]",
    ),
    option("--strict", is_flag=True, help="A missing requisite fails the capture (exit 3)."),
]
"""What is fetched and how: `--timeout` to `--strict`."""

PACKAGING: list[Decorator] = [
    option("--source-organization", metavar="TEXT", help="bag-info Source-Organization."),
    option("--contact-name", metavar="TEXT", help="bag-info Contact-Name."),
    option("--contact-email", metavar="TEXT", help="bag-info Contact-Email."),
    option("--contact-phone", metavar="TEXT", help="bag-info Contact-Phone."),
    option("--organization-address", metavar="TEXT", help="bag-info Organization-Address."),
    option(
        "--info",
        "info",
        multiple=True,
        type=LineListType(),
        metavar="LABEL=VALUE",
        help="Extra bag-info field, in the order given; repeatable.",
    ),
    option(
        "--dc",
        "dc",
        multiple=True,
        type=LineListType(),
        metavar="ELEMENT=VALUE",
        help="Dublin Core value that wins over what the page states; repeatable.",
    ),
    option(
        "--metadata",
        "metadata_file",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="JSON file of Dublin Core terms (schemas/metadata.schema.json); wins over the page.",
    ),
    option(
        "--metadata-location",
        type=click.Choice(["payload", "tag"]),
        default="payload",
        show_default=True,
        help="Write the metadata records in data/metadata/ or in a metadata/ tag folder.",
    ),
    option(
        "--access/--no-access",
        default=True,
        show_default=True,
        help="Write the offline access copy in data/access/: pages whose links open the bag's "
        "files, without the network.",
    ),
    option(
        "--profile",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="BagIt Profile the bags must meet; the options are checked before fetching.",
    ),
    option(
        "--serialize",
        type=click.Choice(["zip", "tar", "tar.gz"]),
        help="Write each bag as one file (a single top folder named after the bag).",
    ),
    option(
        "--payload",
        type=click.Choice(["both", "files", "warc"]),
        default="both",
        show_default=True,
        help="Keep the bytes as files under data/web/ and in the WARC, as files only (no WARC), "
        "or in the WARC only.",
    ),
]
"""What the bag holds and says: bag-info, Dublin Core, metadata, access copy, profile, form."""

BROWSER: list[Decorator] = [
    option(
        "--browser",
        is_flag=True,
        help="Also load each page in headless Chromium and capture what its scripts fetch; keep "
        "a screenshot, the rendered DOM and a PDF of it in data/access/rendered/.",
    ),
    option(
        "--browser-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        help="With --browser: time a page is given to load, go quiet and scroll to its end.",
    ),
    option(
        "--browser-quiet",
        type=click.IntRange(min=0),
        default=500,
        show_default=True,
        metavar="MS",
        help="With --browser: a page is loaded once no request was in flight for this long.",
    ),
    option(
        "--browser-scrolls",
        type=click.IntRange(min=0),
        default=20,
        show_default=True,
        metavar="N",
        help="With --browser: most scroll steps of one window height to reach a page's end.",
    ),
]
"""`--browser` and the caps on each page it loads."""
