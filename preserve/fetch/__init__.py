"""Fetching: the only package that talks HTTP. Streams bodies to disk, hashing as they arrive.

`session` makes the capture's requests session (guarded connections, the environment read
once, cookies) and words its errors; `body` streams a response body to disk, decoding and
hashing it on the way; `fetcher` follows redirects, retries and paces requests per host.
"""

from __future__ import annotations

from preserve.fetch.body import (
    CHUNK,
    ERROR_BODY_LIMIT,
    PARALLEL_AFTER,
    Cancelled,
    copy_local_file,
)
from preserve.fetch.fetcher import MAX_HEADER_BYTES, REDIRECT_STATUSES, Fetcher
from preserve.fetch.session import PROJECT_URL, default_user_agent, load_cookies

__all__ = [
    "CHUNK",
    "ERROR_BODY_LIMIT",
    "MAX_HEADER_BYTES",
    "PARALLEL_AFTER",
    "PROJECT_URL",
    "REDIRECT_STATUSES",
    "Cancelled",
    "Fetcher",
    "copy_local_file",
    "default_user_agent",
    "load_cookies",
]
