"""The crawl's frontier: which link to follow, with what role and depth, and in what order.

Pure: the run loop asks `Frontier.decide` about every link a document names and fetches what
it is told to. When a host's robots.txt has not been read yet, the decision says so
(`Decision.robots`); the loop has it fetched off its own thread and hands the rules back with
`learn_robots`, then asks again.
"""

from __future__ import annotations

import heapq
import itertools
import queue
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from preserve.models import CaptureOptions, Link, Role, SkipReason
from preserve.robots import RobotsRules, robots_url
from preserve.scope import Scope


class _Ordered(Protocol):
    @property
    def depth(self) -> int: ...

    @property
    def seq(self) -> int: ...


T = TypeVar("T", bound=_Ordered)


class DepthQueue(queue.Queue[T | None], Generic[T]):
    """A task queue that hands out the shallowest task first, then the earliest found.

    So a page's requisites and the pages nearer the seed are fetched before deeper pages,
    and a page reached by two paths is first found by the shorter. `None`, the signal for a
    worker to stop, goes ahead of every task.
    """

    def _init(self, maxsize: int) -> None:
        self._heap: list[tuple[int, int, int, T | None]] = []
        self._order = itertools.count()

    def _qsize(self) -> int:
        return len(self._heap)

    def _put(self, item: T | None) -> None:
        key = (-1, 0) if item is None else (item.depth, item.seq)
        heapq.heappush(self._heap, (*key, next(self._order), item))

    def _get(self) -> T | None:
        return heapq.heappop(self._heap)[-1]


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a link: fetch it with this role, depth and page, or log a skip."""

    role: Role
    depth: int
    page: str
    skip: SkipReason | None = None
    detail: str | None = None
    robots: str | None = None
    """The robots.txt whose rules are needed before deciding; ask again once learned."""


class Frontier:
    """Decides, for each link found, whether and how the capture follows it.

    Requisites keep their page's depth and count against that page; frames are pages of
    their own at their parent's depth. Linked pages go one level deeper, up to `--depth`;
    linked media are leaves, taken from any page captured once `--depth` is at least 1.
    Both must be in scope and allowed by robots.txt (unless `--ignore-robots`). Links
    beyond `--depth`, or media under `--no-linked-media`, are not followed and not logged.
    """

    def __init__(self, seed_url: str, options: CaptureOptions, user_agent: str) -> None:
        self.options = options
        self.scope = Scope.build(options.scope, seed_url, options.include, options.exclude)
        self.user_agent = user_agent
        self.pages = 0
        self.requisites: dict[str, int] = {}
        self._robots: dict[str, RobotsRules] = {}

    def learn_robots(self, rules: RobotsRules) -> None:
        """Keep the rules of one host's robots.txt, for every later decision on that host."""
        self._robots[rules.source] = rules

    def add_origin(self, url: str) -> None:
        """Hold `url` (the seed's final URL, after redirects) in scope as the seed is."""
        self.scope = self.scope.with_origin(url)

    def admit(self, role: Role, page: str) -> None:
        """Count a URL about to be fetched against `--max-pages` or its page's requisites."""
        if role in ("seed", "page", "frame"):
            self.pages += 1
        elif role == "requisite":
            self.requisites[page] = self.requisites.get(page, 0) + 1

    def limit(self, role: Role, page: str, total_bytes: int) -> tuple[SkipReason, str] | None:
        """Return ("limit", which limit) when fetching a URL would pass one, else None.

        `--max-pages` counts the seed, linked pages and frames; `--max-requisites` counts
        each page's requisites; `--max-bytes` stops every fetch once the payload reaches it.
        The seed is never left out: without it there is no capture.
        """
        opts = self.options
        if role == "seed":
            return None
        if total_bytes >= opts.max_bytes:
            return "limit", f"--max-bytes {opts.max_bytes} reached"
        if role in ("page", "frame") and self.pages >= opts.max_pages:
            return "limit", f"--max-pages {opts.max_pages} reached"
        if role == "requisite" and self.requisites.get(page, 0) >= opts.max_requisites:
            return "limit", f"--max-requisites {opts.max_requisites} reached for its page"
        return None

    def decide(self, link: Link, depth: int, page: str) -> Decision | None:
        """Return how to treat `link`, found at `depth` in `page`, or None to pass it by."""
        if link.role == "requisite":
            return Decision("requisite", depth, page)
        if link.role == "frame":
            return Decision("frame", depth, link.url)
        opts = self.options
        if link.role == "media":
            if opts.depth < 1 or not opts.linked_media:
                return None
        elif link.role != "page" or depth + 1 > opts.depth:
            return None
        decision = Decision(link.role, depth + 1, link.url)
        detail = self.scope.refusal(link.url, link.role)
        if detail is not None:
            return Decision(decision.role, decision.depth, link.url, "scope", detail)
        if not opts.ignore_robots and not link.url.startswith("file:"):
            source = robots_url(link.url)
            rules = self._robots.get(source)
            if rules is None:
                return Decision(decision.role, decision.depth, link.url, robots=source)
            detail = rules.refusal(link.url, self.user_agent)
            if detail is not None:
                return Decision(decision.role, decision.depth, link.url, "robots", detail)
        return decision
