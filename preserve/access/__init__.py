"""The offline access copy: each captured page and stylesheet with links into the bag.

`build_access_copy(records, url_map, read, info)` is the entry point: from the capture log's
records, the URL -> bag path map, a reader of stored bytes and what to say about the capture,
it yields the files of `data/access/`, the index page (`index.html`) last.
Pages and stylesheets are rewritten as text in their own encoding, span by span, so everything
but their links keeps its bytes; the originals under `data/web/` are never written.
"""

from __future__ import annotations

from preserve.access.build import AccessFile, build_access_copy
from preserve.access.catalog import (
    ACCESS_FOLDER,
    INDEX_PATH,
    Catalog,
    Document,
    Linker,
    access_path,
    documents,
    relative_url,
)
from preserve.access.css import rewrite_css, rewrite_stylesheet
from preserve.access.html import CONTENT_SECURITY_POLICY, Page, rewrite_html
from preserve.access.index import CaptureInfo, Listed, index_page, listed, web_link

__all__ = [
    "ACCESS_FOLDER",
    "CONTENT_SECURITY_POLICY",
    "INDEX_PATH",
    "AccessFile",
    "CaptureInfo",
    "Catalog",
    "Document",
    "Linker",
    "Listed",
    "Page",
    "access_path",
    "build_access_copy",
    "documents",
    "index_page",
    "listed",
    "relative_url",
    "rewrite_css",
    "rewrite_html",
    "rewrite_stylesheet",
    "web_link",
]
