"""The whole access copy of a capture: a copy of each page and stylesheet, and an index page."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from preserve.access.catalog import INDEX_PATH, Catalog, documents
from preserve.access.css import rewrite_stylesheet
from preserve.access.html import rewrite_html
from preserve.access.index import CaptureInfo, index_page, listed
from preserve.access.rendered import RenderedPage
from preserve.models import LogRecord

_MEDIA_TYPES = {"html": "text/html", "css": "text/css"}


@dataclass(frozen=True, slots=True)
class AccessFile:
    """One file of the access copy: its bag path, bytes and media type.

    `source` is the bag path of the original it was made from; None for the index page.
    """

    path: str
    data: bytes
    media_type: str
    source: str | None


def build_access_copy(
    records: Sequence[LogRecord],
    url_map: Sequence[tuple[str, str]],
    read: Callable[[str], bytes],
    info: CaptureInfo,
    rendered: Mapping[str, RenderedPage] | None = None,
) -> Iterator[AccessFile]:
    """Yield the files of the access copy of a capture, the index page last.

    `records` are the capture log's records, `url_map` the (URL, bag path) pairs of
    `urls.tsv`, `read` returns the stored bytes of a bag path, and `info` names the capture
    on the index page. Each page and stylesheet captured gets a copy whose links lead to the
    other copies and to the originals under `data/web/`; the originals are only read.
    `rendered` maps a page's original to its derivatives and the browser's notes (`--browser`),
    which the index shows.
    """
    found = documents(records)
    catalog = Catalog(url_map, found)
    titles: dict[str, str | None] = {}
    for document in found:
        data = read(document.source)
        if document.kind == "html":
            page = rewrite_html(data, document, catalog)
            titles[document.source] = page.title
            copy = page.data
        else:
            copy = rewrite_stylesheet(data, document, catalog)
        yield AccessFile(document.path, copy, _MEDIA_TYPES[document.kind], document.source)
    copies = {document.source: document.path for document in found}
    entries = listed(records, copies, titles, rendered or {})
    yield AccessFile(
        INDEX_PATH, index_page(info, entries, browser=rendered is not None), "text/html", None
    )
