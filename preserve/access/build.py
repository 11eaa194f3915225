"""The whole access copy of a capture: a copy of each page and stylesheet, and an index page."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from preserve.access.catalog import INDEX_PATH, Catalog, Document, documents, relative_url
from preserve.access.css import rewrite_stylesheet
from preserve.access.html import CONTENT_SECURITY_POLICY, rewrite_html
from preserve.models import LogRecord

_MEDIA_TYPES = {"html": "text/html", "css": "text/css"}
# Pages first by how they came into the capture, then in capture order.
_ROLE_ORDER = {"seed": 0, "page": 1, "frame": 2, "media": 3, "requisite": 4}


@dataclass(frozen=True, slots=True)
class AccessFile:
    """One file of the access copy: its bag path, bytes and media type.

    `source` is the bag path of the original it was made from; None for the index page.
    """

    path: str
    data: bytes
    media_type: str
    source: str | None


@dataclass(frozen=True, slots=True)
class _Entry:
    document: Document
    title: str | None


def build_access_copy(
    records: Sequence[LogRecord],
    url_map: Sequence[tuple[str, str]],
    read: Callable[[str], bytes],
) -> Iterator[AccessFile]:
    """Yield the files of the access copy of a capture, the index page last.

    `records` are the capture log's records, `url_map` the (URL, bag path) pairs of
    `urls.tsv`, and `read` returns the stored bytes of a bag path. Each page and stylesheet
    captured gets a copy whose links lead to the other copies and to the originals under
    `data/web/`; the originals are only read.
    """
    found = documents(records)
    catalog = Catalog(url_map, found)
    entries: list[_Entry] = []
    for document in found:
        data = read(document.source)
        if document.kind == "html":
            page = rewrite_html(data, document, catalog)
            entries.append(_Entry(document, page.title))
            copy = page.data
        else:
            copy = rewrite_stylesheet(data, document, catalog)
        yield AccessFile(document.path, copy, _MEDIA_TYPES[document.kind], document.source)
    yield AccessFile(INDEX_PATH, index_page(entries), "text/html", None)


def index_page(entries: Sequence[_Entry]) -> bytes:
    """Return `data/access/index.html`: every page of the copy with its title, role and URL.

    The originals are named but not linked: opened from disk, an original page would ask the
    live web for its images and stylesheets.
    """
    ordered = sorted(entries, key=lambda entry: _ROLE_ORDER.get(entry.document.role, 5))
    rows = []
    for entry in ordered:
        document = entry.document
        link = html.escape(relative_url(INDEX_PATH, document.path))
        title = html.escape(entry.title or document.url)
        rows.append(
            f'<tr><td><a href="{link}">{title}</a></td><td>{document.role}</td>'
            f"<td>{html.escape(document.url)}</td>"
            f"<td><code>{html.escape(document.source)}</code></td></tr>"
        )
    body = "\n".join(rows) if rows else '<tr><td colspan="4">No page was captured.</td></tr>'
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<title>Offline access copy</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; vertical-align: top; padding: 0.3em 0.8em; }}
tr:nth-child(even) td {{ background: #f2f2f2; }}
</style>
</head>
<body>
<h1>Offline access copy</h1>
<p>Each page below is a copy of a captured page whose links lead to the files of this bag,
so it opens from disk without the network. Links to what was not captured still name the live
web and do not load. The originals, as received, are in the <code>data/web/</code> folder;
content that only a script would have fetched was not captured.</p>
<table>
<thead><tr><th>Page</th><th>Role</th><th>Captured from</th><th>Original</th></tr></thead>
<tbody>
{body}
</tbody>
</table>
</body>
</html>
"""
    return page.encode("utf-8")
