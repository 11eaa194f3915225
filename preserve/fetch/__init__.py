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
from preserve.fetch.fetcher import Fetcher
from preserve.fetch.session import default_user_agent

__all__ = [
    "CHUNK",
    "ERROR_BODY_LIMIT",
    "PARALLEL_AFTER",
    "Cancelled",
    "Fetcher",
    "copy_local_file",
    "default_user_agent",
]
