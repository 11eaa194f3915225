"""robots.txt: where it is for a URL, and what its answer means, as RFC 9309 says.

Pure: the crawl fetches the file and hands the status and bytes here; protego parses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

# RFC 9309 section 2.5: crawlers must read at least the first 500 KiB.
MAX_ROBOTS_BYTES = 500 * 1024


def robots_url(url: str) -> str:
    """Return the URL of the robots.txt that governs `url` (same scheme, host and port)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """What one host's robots.txt allows: parsed rules, or everything, or nothing.

    `note` says why there are no rules to read (`HTTP 404 Not Found: all allowed`) and is
    written into the log beside a URL the rules refuse.
    """

    source: str
    parser: Protego | None = None
    allow_all: bool = True
    note: str | None = None

    def allows(self, url: str, user_agent: str) -> bool:
        """Return True when `user_agent` may fetch `url` under these rules."""
        if self.parser is not None:
            return bool(self.parser.can_fetch(url, user_agent))
        return self.allow_all

    def refusal(self, url: str, user_agent: str) -> str | None:
        """Return why `url` may not be fetched, for the capture log, or None when it may."""
        if self.allows(url, user_agent):
            return None
        if self.note:
            return f"{self.source}: {self.note}"
        return f"disallowed by {self.source}"


def rules_from_response(
    source: str, status: int | None, body: bytes | None, error: str | None = None
) -> RobotsRules:
    """Return the rules a robots.txt fetch gives, as RFC 9309 section 2.3.1 reads them.

    2xx: the file's rules (its first 500 KiB, as UTF-8). 4xx but 429, or a redirect chain
    that never ended: no rules, everything allowed. 429, 5xx or no answer at all: the host
    is unreachable, and everything is disallowed until a later capture.
    """
    if status is not None and 200 <= status < 300 and body is not None:
        text = body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace").lstrip("\ufeff")
        return RobotsRules(source, parser=Protego.parse(text))
    if status is not None and (300 <= status < 500) and status != 429:
        reason = error or f"HTTP {status}"
        return RobotsRules(source, allow_all=True, note=f"{reason}: all allowed")
    reason = error or (f"HTTP {status}" if status is not None else "no answer")
    return RobotsRules(source, allow_all=False, note=f"unreachable ({reason}): all disallowed")


@dataclass(frozen=True, slots=True)
class RobotsFile:
    """What one fetch of a robots.txt gave: enough to read its rules again, in any process.

    `refused` is a host the private-network guard refused: its pages are logged as
    private-address, so its rules allow everything. `body` is at most the first 500 KiB.
    """

    source: str
    status: int | None
    body: bytes | None
    error: str | None = None
    refused: bool = False

    def rules(self) -> RobotsRules:
        """Return the rules this fetch gives."""
        if self.refused:
            return RobotsRules(self.source, allow_all=True, note=self.error)
        return rules_from_response(self.source, self.status, self.body, self.error)


class RobotsStore(Protocol):
    """robots.txt files already fetched, kept for every capture of a batch."""

    def get(self, source: str) -> RobotsFile | None:
        """Return the file fetched from `source`, or None when none was yet."""
        ...

    def put(self, file: RobotsFile) -> None:
        """Keep `file` for later captures."""
        ...
