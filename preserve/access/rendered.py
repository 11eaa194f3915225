"""Where a page's rendered derivatives go: `data/access/rendered/`, named after its payload file.

A page loaded in the browser (`--browser`) leaves a screenshot, its rendered DOM and a PDF.
Each is named by the page's payload path under `data/web/` with `~.png`, `~.html` or `~.pdf`
added: no payload name ends so (a `~` in a payload name is followed by 8 hex digits), so two
pages never share a derivative and no derivative takes the name of a folder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from preserve.access.catalog import ACCESS_FOLDER, WEB_PREFIX

RENDERED_FOLDER = f"{ACCESS_FOLDER}/rendered"
RenderedKind = Literal["screenshot", "dom", "pdf"]

RENDERED_KINDS: tuple[tuple[RenderedKind, str, str], ...] = (
    ("screenshot", "~.png", "image/png"),
    ("dom", "~.html", "text/html"),
    ("pdf", "~.pdf", "application/pdf"),
)
"""Each derivative: its kind, the suffix added to the page's payload name, its media type."""

LABELS: dict[RenderedKind, str] = {"screenshot": "screenshot", "dom": "DOM", "pdf": "PDF"}
_MAX_PATH_BYTES = 1024


@dataclass(frozen=True, slots=True)
class RenderedLink:
    """One derivative as the index page links it: its label and bag path."""

    label: str
    path: str


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A page's derivatives as the index page links them, and what the browser noted."""

    links: tuple[RenderedLink, ...] = ()
    notes: tuple[str, ...] = ()


def rendered_path(source: str, kind: RenderedKind) -> str:
    """Return the bag path of a derivative of the page whose payload file is at `source`.

    `data/web/<path>` gives `data/access/rendered/<path>~.png` (or `~.html`, `~.pdf`); a path
    that would pass 1,024 bytes under `data/` is shortened to
    `data/access/rendered/<host>/~long/<32 hex>~.png`. Raises ValueError for a path that is
    not under `data/web/`.
    """
    if not source.startswith(WEB_PREFIX):
        raise ValueError(f"not a payload file under data/web/: {source!r}")
    suffix = next(suffix for name, suffix, _media in RENDERED_KINDS if name == kind)
    relative = source.removeprefix(WEB_PREFIX)
    name = f"rendered/{relative}{suffix}"
    if len(name.encode("utf-8", "surrogatepass")) + len("access/") > _MAX_PATH_BYTES:
        digest = hashlib.sha256(("r:" + source).encode("utf-8", "surrogatepass")).hexdigest()
        host = relative.split("/", 1)[0]
        name = f"rendered/{host}/~long/{digest[:32]}{suffix}"
    return f"{ACCESS_FOLDER}/{name}"
