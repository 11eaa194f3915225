"""CDXJ index lines for the records replay looks up: responses, revisits and resources.

Written from what the WARC writer already knows (offset, length, status, digest), so the
WARC is never read back to index it. The lines are those `cdxj-indexer` writes for the
same records (the tests compare them), sorted as replay tools expect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime

_SPACE = re.compile(r"[;\s]")


def url_key(url: str) -> str:
    """Return the SURT sort key of a URL, as pywb and cdxj-indexer compute it."""
    # Imported here: surt pulls in tldextract, which only a capture writing a WARC needs.
    import surt

    try:
        return str(surt.surt(url))
    except Exception:  # noqa: BLE001 - cdxj-indexer falls back to the URL the same way
        return url


def timestamp(when: datetime) -> str:
    """Return the 14-digit CDX timestamp of a moment."""
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def cdxj_line(
    url: str,
    when: datetime,
    *,
    mime: str | None,
    status: int | None,
    digest: str,
    length: int,
    offset: int,
    filename: str,
) -> str:
    """Return one CDXJ line (with its newline) for a record at `offset` in `filename`."""
    fields: dict[str, str] = {"url": url}
    media = _SPACE.split(mime, 1)[0].strip() if mime else ""
    if media:
        fields["mime"] = media
    if status is not None:
        fields["status"] = str(status)
    fields["digest"] = digest
    fields["length"] = str(length)
    fields["offset"] = str(offset)
    fields["filename"] = filename
    return f"{url_key(url)} {timestamp(when)} {json.dumps(fields)}\n"


def cdxj_index(lines: Iterable[str]) -> bytes:
    """Return the index file: the lines sorted, duplicates dropped, as UTF-8."""
    return "".join(sorted(set(lines))).encode("utf-8")
