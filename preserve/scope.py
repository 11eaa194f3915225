"""Which linked pages and media a capture may follow: pure decisions on URLs.

Requisites and frames are part of the page and come from any host; only links to other pages
and to media are held to the scope, the `--include`/`--exclude` patterns and robots.txt.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from functools import cache
from typing import Literal
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from preserve.models import Role
from preserve.urls import DEFAULT_PORTS

ScopeName = Literal["page", "host", "domain", "prefix"]
SCOPES: tuple[ScopeName, ...] = ("page", "host", "domain", "prefix")


@cache
def _suffix_list() -> PublicSuffixList:
    """Return the public-suffix list bundled with the package; it is never fetched."""
    return PublicSuffixList()


def compile_patterns(patterns: tuple[str, ...], flag: str) -> tuple[re.Pattern[str], ...]:
    """Return the compiled regular expressions of `--include` or `--exclude`.

    Raises ValueError naming the flag and the pattern when one is not a valid expression.
    """
    compiled = []
    for pattern in patterns:
        try:
            # A pattern the next Python will read differently (`[[a]`) warns; it is read
            # as this one reads it, without the warning.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                compiled.append(re.compile(pattern))
        except (re.error, RecursionError, OverflowError) as exc:
            reason = exc if isinstance(exc, re.error) else "it is nested too deeply"
            raise ValueError(
                f"{flag} {_shown(pattern)} is not a valid regular expression: {reason}"
            ) from exc
    return tuple(compiled)


def _shown(pattern: str) -> str:
    """Return a pattern for a message, cut short when it is long."""
    return repr(pattern) if len(pattern) <= 200 else repr(pattern[:200]) + "…"


def host_key(url: str) -> tuple[str, int | None]:
    """Return a URL's host name and its port when that is not the scheme's default.

    http and https on their default ports are one host; a file URL's host is "".
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        return "", None
    try:
        port = parts.port
    except ValueError:
        port = None
    if port == DEFAULT_PORTS.get(parts.scheme):
        port = None
    return (parts.hostname or "").lower(), port


def registrable_domain(host: str) -> str:
    """Return the domain a host belongs to (`news.bbc.co.uk` → `bbc.co.uk`), by the PSL.

    IP addresses, `localhost` and hosts that are themselves public suffixes are their own
    domain.
    """
    host = host.lower().rstrip(".")
    if not host or host.startswith("[") or re.fullmatch(r"[0-9.]+", host):
        return host
    return _suffix_list().privatesuffix(host) or host


def prefix_of(url: str) -> str:
    """Return the folder of a URL's path (`/a/b/page.html` → `/a/b/`), for `--scope prefix`."""
    path = urlsplit(url).path or "/"
    return path[: path.rfind("/") + 1] or "/"


@dataclass(frozen=True, slots=True)
class Scope:
    """The rules a linked page or media URL must meet, around one or more origins.

    `origins` are the seed and, once known, the URL its redirects ended at: a seed
    `http://example.org/` that lands on `https://www.example.org/` keeps that host in scope.
    """

    kind: ScopeName
    origins: tuple[str, ...]
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    _domains: frozenset[str] = field(default=frozenset(), repr=False)

    @classmethod
    def build(
        cls, kind: ScopeName, seed: str, include: tuple[str, ...], exclude: tuple[str, ...]
    ) -> Scope:
        """Return the scope of a capture of `seed`; raise ValueError for a bad pattern."""
        return cls(
            kind=kind,
            origins=(seed,),
            include=compile_patterns(include, "--include"),
            exclude=compile_patterns(exclude, "--exclude"),
            _domains=frozenset({registrable_domain(host_key(seed)[0])}),
        )

    def with_origin(self, url: str) -> Scope:
        """Return this scope with `url` (such as the seed's final URL) as a further origin."""
        if url in self.origins:
            return self
        domains = self._domains | {registrable_domain(host_key(url)[0])}
        return Scope(self.kind, (*self.origins, url), self.include, self.exclude, domains)

    def refusal(self, url: str, role: Role) -> str | None:
        """Return why a linked page or media URL is out of scope, or None when it is in.

        `--exclude` wins over everything; with any `--include`, a URL must match one.
        """
        for pattern in self.exclude:
            if pattern.search(url):
                return f"matches --exclude {pattern.pattern}"
        if self.include and not any(pattern.search(url) for pattern in self.include):
            return "matches no --include"
        if not self._within(url, role):
            return f"outside --scope {self.kind}"
        return None

    def _within(self, url: str, role: Role) -> bool:
        """Return True when `url` is inside the scope's kind around one of its origins."""
        kind = self.kind
        if kind == "page" and role != "media":
            return False
        if kind == "domain":
            return registrable_domain(host_key(url)[0]) in self._domains
        key = host_key(url)
        same_host = [origin for origin in self.origins if host_key(origin) == key]
        if kind in ("page", "host"):
            return bool(same_host)
        path = urlsplit(url).path or "/"
        return any(path.startswith(prefix_of(origin)) for origin in same_host)
