"""The access copy's front page: what was captured, and where each thing is in the bag."""

from __future__ import annotations

import functools
import html
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from preserve.access.catalog import INDEX_PATH, WEB_PREFIX, relative_url
from preserve.access.html import CONTENT_SECURITY_POLICY
from preserve.access.rendered import RenderedPage
from preserve.models import LogRecord, Role

# Pages first by how they came into the capture, then in capture order.
_ROLE_ORDER = {"seed": 0, "page": 1, "frame": 2, "requisite": 3}
_PAGE_ROLES = frozenset({"seed", "page", "frame"})
# Only a URL that starts, as written, with an http(s) scheme becomes a link. Printable ASCII
# only (captured URLs are canonical): a browser drops or reads spaces and control characters
# in ways the text shown would not tell. Quotes and `<` are escaped where the link is written.
_WEB_LINK = re.compile(r"https?://[\x21-\x7e]+", re.IGNORECASE)
_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")


@dataclass(frozen=True, slots=True)
class CaptureInfo:
    """What the front page says about the capture as a whole.

    `identifier` is the capture's `urn:uuid:`, `seed_url` the URL asked for, `created` when
    the capture started, `bag_name` the name of the bag's folder as the capture wrote it.
    """

    identifier: str
    seed_url: str
    created: datetime
    bag_name: str


@dataclass(frozen=True, slots=True)
class Listed:
    """One captured page or linked media file as the front page lists it.

    `url` is where it came from (its final URL), `source` its original under `data/web/`,
    `target` the file a click opens (the page's access copy, else the original), `title` the
    page's title, if it is a page that has one.
    """

    role: Role
    url: str
    source: str
    target: str
    media_type: str | None
    size: int | None
    title: str | None = None
    rendered: RenderedPage = field(default_factory=RenderedPage)
    """The page's derivatives made in the browser (`--browser`), and what it noted."""

    @property
    def name(self) -> str:
        """Return the file's name in the bag."""
        return posixpath.basename(self.source)


def listed(
    records: Sequence[LogRecord],
    copies: Mapping[str, str],
    titles: Mapping[str, str | None],
    rendered: Mapping[str, RenderedPage] | None = None,
) -> list[Listed]:
    """Return the pages and linked media captured, each stored file once, in capture order.

    Pages are the seed, linked pages and frames, and any other file with a page copy (a page
    embedded with `<object>`); media are the linked media. `copies` maps an original's bag
    path to its access copy's, `titles` a page copy's original to its title, and `rendered`
    a page's original to its derivatives.
    """
    found: dict[str, Listed] = {}
    for record in records:
        source = record.payload_path
        if record.outcome != "captured" or source is None or source in found:
            continue
        if not source.startswith(WEB_PREFIX):
            continue
        if record.role not in _PAGE_ROLES and record.role != "media" and source not in titles:
            continue
        found[source] = Listed(
            role=record.role,
            url=record.final_url or record.url,
            source=source,
            target=copies.get(source, source),
            media_type=(record.content_type or "").split(";")[0].strip().lower() or None,
            size=record.size,
            title=titles.get(source),
            rendered=(rendered or {}).get(source, RenderedPage()),
        )
    return list(found.values())


def index_page(info: CaptureInfo, entries: Iterable[Listed], *, browser: bool = False) -> bytes:
    """Return `data/access/index.html`: the capture, then every page and linked media file.

    Each entry links to its file in the bag (a page to its access copy) by a relative URL,
    and to its original URL when that is an http(s) URL. Everything that came from the
    capture is escaped. The originals of pages are named but not linked: opened from disk, an
    original page would ask the live web for its images and stylesheets. With `browser`
    (the pages were loaded in a browser), a page's row links its rendered derivatives.
    """
    entries = list(entries)
    pages = sorted(
        (entry for entry in entries if entry.role != "media"),
        key=lambda entry: _ROLE_ORDER.get(entry.role, len(_ROLE_ORDER)),
    )
    media = [entry for entry in entries if entry.role == "media"]
    seed = next((entry for entry in pages if entry.role == "seed"), None)
    page = _TEMPLATE.format(
        policy=CONTENT_SECURITY_POLICY,
        header=_header(info, seed),
        page_count=len(pages),
        rendered_head="<th>Rendered</th>" if browser else "",
        page_rows=_rows(
            pages,
            functools.partial(_page_row, browser=browser),
            5 if browser else 4,
            "No page was captured.",
        ),
        scripts=_BROWSER_TEXT if browser else _STATIC_TEXT,
        media_count=len(media),
        media_rows=_rows(media, _media_row, 4, "No linked media was captured."),
    )
    return page.encode("utf-8")


def web_link(url: str) -> str:
    """Return `url` as HTML: an `<a href>` if it is an http(s) URL, else escaped text.

    Anything else (`javascript:`, `data:`, `file:`, a URL with a space or control character) is
    never a link, so no address from the capture can run script or open a local file.
    """
    shown = html.escape(url)
    if _WEB_LINK.fullmatch(url) is None:
        return shown
    return f'<a class="original" href="{html.escape(url)}">{shown}</a>'


def _header(info: CaptureInfo, seed: Listed | None) -> str:
    created = info.created.astimezone(UTC)
    seed_url = web_link(info.seed_url)
    if seed is not None and seed.url != info.seed_url:
        seed_url += f" (redirected to {web_link(seed.url)})"
    title = seed.title if seed is not None else None
    rows = [
        ("Bag", f"<code>{html.escape(info.bag_name)}</code>"),
        ("Identifier", f"<code>{html.escape(info.identifier)}</code>"),
        ("Seed", seed_url),
        (
            "Captured",
            f'<time datetime="{created:%Y-%m-%dT%H:%M:%SZ}">{created:%Y-%m-%d %H:%M:%S} UTC</time>',
        ),
        ("Title", html.escape(title) if title else "<i>none</i>"),
    ]
    return "\n".join(
        f'<div><dt>{label}</dt><dd id="{label.lower()}">{value}</dd></div>' for label, value in rows
    )


def _rows(entries: Sequence[Listed], row: Callable[[Listed], str], columns: int, empty: str) -> str:
    if not entries:
        return f'<tr><td colspan="{columns}">{empty}</td></tr>'
    return "\n".join(row(entry) for entry in entries)


def _page_row(entry: Listed, *, browser: bool = False) -> str:
    link = html.escape(relative_url(INDEX_PATH, entry.target))
    text = html.escape(entry.title or entry.name)
    return (
        f'<tr><td><a class="local" href="{link}">{text}</a></td><td>{html.escape(entry.role)}</td>'
        f"<td>{web_link(entry.url)}</td><td><code>{html.escape(entry.source)}</code></td>"
        + (f"<td>{_rendered_cell(entry)}</td>" if browser else "")
        + "</tr>"
    )


def _rendered_cell(entry: Listed) -> str:
    """Return a page's derivatives as links, then what the browser noted, as a list."""
    links = [
        f'<a class="rendered" href="{html.escape(relative_url(INDEX_PATH, link.path))}">'
        f"{html.escape(link.label)}</a>"
        for link in entry.rendered.links
    ]
    cell = " ".join(links) or "—"
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in entry.rendered.notes)
    return cell + (f'<ul class="notes">{notes}</ul>' if notes else "")


def _media_row(entry: Listed) -> str:
    link = html.escape(relative_url(INDEX_PATH, entry.target))
    kind = html.escape(entry.media_type or "unknown")
    return (
        f'<tr><td><a class="local" href="{link}">{html.escape(entry.name)}</a></td>'
        f"<td>{kind}</td><td>{_size(entry.size)}</td><td>{web_link(entry.url)}</td></tr>"
    )


def _size(size: int | None) -> str:
    """Return a size as a person reads it, with the exact count of bytes as its tooltip."""
    if size is None:
        return "unknown"
    value = float(size)
    unit = 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    shown = f"{size} bytes" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"
    return f'<span title="{size:,} bytes">{shown}</span>'


_STATIC_TEXT = "content that only a script would have fetched was not captured."
_BROWSER_TEXT = (
    "each page was also loaded in headless Chromium, which captured what its scripts fetched"
    " and made the screenshot, rendered DOM and PDF linked under <em>Rendered</em>"
    " (<code>data/access/rendered/</code>)."
)
_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>Offline access copy</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }}
dl div {{ display: contents; }}
dt {{ font-weight: bold; }}
dd {{ margin: 0; overflow-wrap: anywhere; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; vertical-align: top; padding: 0.3em 0.8em; }}
td {{ overflow-wrap: anywhere; }}
tr:nth-child(even) td {{ background: #f2f2f2; }}
</style>
</head>
<body>
<h1>Offline access copy</h1>
<dl>
{header}
</dl>
<p>The pages below are copies of the captured pages whose links lead to the files of this bag,
so they open from disk without the network; links to what was not captured still name the
live web and do not load. Linked media open from their files as captured. The originals, as
received, are in the <code>data/web/</code> folder; {scripts} The addresses under
<em>Original</em> lead to the live web, which may have changed or gone since.</p>
<h2 id="pages">Pages ({page_count})</h2>
<table>
<thead><tr><th>Page</th><th>Role</th><th>Original</th><th>Stored as</th>{rendered_head}</tr></thead>
<tbody>
{page_rows}
</tbody>
</table>
<h2 id="media">Linked media ({media_count})</h2>
<table>
<thead><tr><th>File</th><th>Type</th><th>Size</th><th>Original</th></tr></thead>
<tbody>
{media_rows}
</tbody>
</table>
</body>
</html>
"""
