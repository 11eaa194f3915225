"""What was captured, seen from the access copy: which file each URL is, and where copies go."""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

from preserve.discover import PARSE_LIMIT
from preserve.models import LogRecord, Role
from preserve.urls import canonicalize, resolve_in_document
from preserve.webdoc import DocumentKind, document_kind, parse_content_type

ACCESS_FOLDER = "data/access"
INDEX_PATH = "data/access/index.html"
"""The access copy's front page: the capture, its pages and its linked media."""

WEB_PREFIX = "data/web/"
# Opening a file from disk, a browser takes its type from the name: a page must end in .html
# (not .php or .asp) and a stylesheet in .css, or it is shown as text or refused.
_SUFFIXES = {"html": (".html", ".htm"), "css": (".css",)}
_EXTENSION = {"html": ".html", "css": ".css"}
_MAX_PATH_BYTES = 1024
# Left as they are in a relative URL; anything else, `%` `,` `&` `'` `(` `)` included, is
# percent-encoded so the URL means the same in HTML, in `srcset` and in CSS.
_URL_SAFE = "/-._~@+="
_WHITESPACE = " \t\n\r\x0c"
_ABSOLUTE = re.compile(r"https?://", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Document:
    """A captured page or stylesheet that gets an access copy.

    `url` is the URL its relative references resolve against (its final URL, as the capture log
    writes it); `source` the bag path of the original (`data/web/…`); `path` that of its copy
    (`data/access/web/…`); `charset` the HTTP charset it was served with.
    """

    kind: DocumentKind
    url: str
    source: str
    path: str
    charset: str | None = None
    role: Role = "requisite"


def access_path(source: str, kind: DocumentKind) -> str:
    """Return the bag path of the access copy of the original at bag path `source`.

    `data/web/<path>` becomes `data/access/web/<path>`, with `~.html` (pages) or `~.css`
    (stylesheets) added when the name does not already end so. No payload name ends in
    `~.html` or `~.css` (a hashed name has 8 hex digits after its `~`), so two originals never
    share a copy. A path that would pass 1,024 bytes under `data/` is shortened to
    `data/access/web/<host>/~long/<32 hex>.html`.
    """
    if not source.startswith(WEB_PREFIX):
        raise ValueError(f"not a payload file under data/web/: {source!r}")
    relative = source.removeprefix(WEB_PREFIX)
    name = f"web/{relative}"
    if not relative.lower().endswith(_SUFFIXES[kind]):
        name += "~" + _EXTENSION[kind]
    if len(name.encode("utf-8")) + len("access/") > _MAX_PATH_BYTES:
        digest = hashlib.sha256(("a:" + source).encode("utf-8", "surrogatepass")).hexdigest()
        host = relative.split("/", 1)[0]
        name = f"web/{host}/~long/{digest[:32]}{_EXTENSION[kind]}"
    return f"{ACCESS_FOLDER}/{name}"


def relative_url(origin: str, target: str) -> str:
    """Return the relative URL that leads from the file at bag path `origin` to `target`."""
    relative = posixpath.relpath(target, posixpath.dirname(origin) or ".")
    return quote(relative, safe=_URL_SAFE)


def url_key(url: str) -> str:
    """Return the form under which a URL is looked up: canonical, local paths decoded.

    The capture log writes a local file as `file:<path relative to the seed's folder>`; here
    it becomes `file:///<path>`, so references resolved against a local page meet it.
    """
    if url.startswith("file:"):
        return "file:///" + unquote(url.removeprefix("file:").lstrip("/"))
    try:
        return canonicalize(url)
    except ValueError:
        return url


def base_url(url: str) -> str:
    """Return the URL a document's references resolve against: local pages from `file:///`."""
    if url.startswith("file:") and not url.startswith("file://"):
        return "file:///" + url.removeprefix("file:").lstrip("/")
    return url


class Catalog:
    """Which file in the bag each captured URL leads to: an access copy, else the original."""

    def __init__(self, url_map: Iterable[tuple[str, str]], documents: Iterable[Document]) -> None:
        self._paths: dict[str, str] = {}
        for url, path in url_map:
            self._paths.setdefault(url_key(url), path)
        self._copies = {document.source: document.path for document in documents}

    def target(self, url: str) -> str | None:
        """Return the bag path a link to `url` should open, or None if it was not captured."""
        # A resolved http(s) URL is canonical already, as the keys are.
        path = self._paths.get(url)
        if path is None:
            path = self._paths.get(url_key(url))
        if path is None:
            return None
        return self._copies.get(path, path)


def documents(records: Sequence[LogRecord]) -> list[Document]:
    """Return the pages and stylesheets captured, each stored file once, in capture order.

    Documents over 32 MiB are left out: the crawl did not read them either.
    """
    found: dict[str, Document] = {}
    for record in records:
        source = record.payload_path
        if record.outcome != "captured" or source is None or source in found:
            continue
        if not source.startswith(WEB_PREFIX) or (record.size or 0) > PARSE_LIMIT:
            continue
        kind = document_kind(record.content_type, record.via, source)
        if kind is None:
            continue
        found[source] = Document(
            kind=kind,
            url=record.final_url or record.url,
            source=source,
            path=access_path(source, kind),
            charset=parse_content_type(record.content_type).charset,
            role=record.role,
        )
    return list(found.values())


@dataclass(frozen=True, slots=True)
class Rewritten:
    """What a reference becomes in an access copy, and whether it now leads into the bag.

    `text` is what to write in its place; None leaves the reference as written.
    """

    text: str | None
    local: bool


class Linker:
    """Rewrites the references of one document for its access copy at bag path `origin`.

    `encoding` is the document's, in which a non-ASCII query is encoded as a browser would.
    """

    def __init__(self, catalog: Catalog, origin: str, encoding: str = "utf-8") -> None:
        self.catalog = catalog
        self.origin = origin
        self.encoding = encoding
        # Pages name the same few URLs many times over; resolving is the costly part.
        self._seen: dict[tuple[str, str], Rewritten] = {}

    def rewrite(self, reference: str, base: str) -> Rewritten:
        """Return what `reference`, found in a document whose base URL is `base`, becomes.

        A captured URL becomes a relative URL to its copy or original, keeping its fragment.
        Any other http(s) URL becomes absolute (it cannot load: the access copy's policy
        refuses the network) unless already written so. Fragments alone, `data:`,
        `javascript:`, `mailto:`, local files not captured and malformed references are left.
        """
        known = self._seen.get((reference, base))
        if known is None:
            known = self._seen[reference, base] = self._rewrite(reference, base)
        return known

    def _rewrite(self, reference: str, base: str) -> Rewritten:
        url = resolve_in_document(reference, base, self.encoding)
        if url is None:
            return Rewritten(None, local=False)
        fragment = reference.strip(_WHITESPACE).partition("#")[2]
        suffix = f"#{fragment}" if fragment else ""
        target = self.catalog.target(url)
        if target is not None:
            return Rewritten(relative_url(self.origin, target) + suffix, local=True)
        if url.startswith("file:") or _ABSOLUTE.match(reference.strip(_WHITESPACE)):
            return Rewritten(None, local=False)
        return Rewritten(url + suffix, local=False)
