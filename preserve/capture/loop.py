"""The run loop of one capture: a pool of workers fetching, one coordinator deciding.

Workers only fetch (a URL from its source, or a host's robots.txt); the coordinator thread
hands each result to ingestion, asks the frontier about the links found, and queues what
to fetch next. It never waits on the network: a link whose host's robots.txt is not known
yet waits, while that file is fetched by a worker and other results go on being handled.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, replace

from preserve.browser import Rendering
from preserve.capture.browsing import Ask, Browsing, PageLoad
from preserve.capture.frontier import Decision, DepthQueue, Frontier
from preserve.capture.ingest import Ingestion, Task
from preserve.capture.sources import RobotsAnswer, Sources, remove_body
from preserve.errors import PackagingFailed
from preserve.fetch import Cancelled
from preserve.models import CaptureOptions, FetchResult, Link, Role, SkipReason
from preserve.robots import RobotsRules, RobotsStore
from preserve.urls import canonicalize, is_web_url


@dataclass(slots=True)
class _RobotsTask:
    """A host's robots.txt to fetch; ahead of every page of the same depth."""

    source: str
    depth: int = -1
    seq: int = -1


@dataclass(slots=True)
class _Waiting:
    """A link held until its host's robots.txt is known, with its place in the log."""

    link: Link
    base: str
    task: Task
    seq: int


_Work = Task | _RobotsTask
_Result = _Work | PageLoad | Ask
_Outcome = FetchResult | RobotsAnswer | Rendering | BaseException | None


class RunLoop:
    """Fetches a capture's URLs with `options.workers` threads, coordinated on one thread."""

    def __init__(
        self,
        options: CaptureOptions,
        sources: Sources,
        frontier: Frontier,
        ingestion: Ingestion,
        cancel: threading.Event,
        robots: RobotsStore | None = None,
        browsing: Browsing | None = None,
    ) -> None:
        self.options = options
        # With --browser: each page ingested is loaded in the browser, whose requests come
        # back here as `Ask`s (not counted as pending: their page's load is).
        self.browsing = browsing
        if browsing is not None:
            browsing.post = self._post
        # robots.txt files other captures of the same batch fetched already.
        self.robots = robots
        self.sources = sources
        self.frontier = frontier
        self.ingestion = ingestion
        self.cancel = cancel
        # Shallowest first: a page's requisites before deeper pages, nearer pages first.
        self.tasks: DepthQueue[_Work] = DepthQueue()
        self.results: queue.Queue[tuple[_Result, _Outcome]] = queue.Queue()
        self.seen: set[str] = set()
        self.waiting: dict[str, list[_Waiting]] = {}
        self.pending = 0
        self.seq = 0

    def run(self, seed_url: str) -> None:
        """Capture from `seed_url` until nothing is left to fetch; raise what stops it."""
        workers = [
            threading.Thread(target=self._worker, daemon=True, name=f"preserve-fetch-{i}")
            for i in range(self.options.workers)
        ]
        for worker in workers:
            worker.start()
        if self.browsing is not None:
            self.browsing.start()
        try:
            self._submit(seed_url, "seed", None, None, 0, seed_url)
            while self.pending:
                try:
                    work, outcome = self.results.get(timeout=0.2)
                except queue.Empty:
                    continue
                if not isinstance(work, Ask):
                    self.pending -= 1
                self._handle(work, outcome)
        finally:
            self.cancel.set()
            for _ in workers:
                self.tasks.put(None)
            if self.browsing is not None:
                self.browsing.close()
            self.sources.close()

    def _post(self, work: object, outcome: object) -> None:
        """Queue what the browser's thread hands back: a request, or a page's rendering."""
        assert isinstance(work, PageLoad | Ask)
        assert outcome is None or isinstance(outcome, Rendering)
        self.results.put((work, outcome))

    def _worker(self) -> None:
        while True:
            work = self.tasks.get()
            if work is None or self.cancel.is_set():
                return
            try:
                outcome: _Outcome = self._fetch(work)
            except BaseException as exc:  # noqa: BLE001 - the coordinator decides what it means
                outcome = exc
            self.results.put((work, outcome))

    def _fetch(self, work: _Work) -> FetchResult | RobotsAnswer:
        if isinstance(work, _RobotsTask):
            return self.sources.http.robots(work.source)
        return self.sources.for_url(work.url).fetch(work.url, work.referrer)

    def _handle(self, work: _Result, outcome: _Outcome) -> None:
        if isinstance(work, Ask):
            self._asked(work)
            return
        if isinstance(work, PageLoad):
            assert isinstance(outcome, Rendering)
            self._rendered(work, outcome)
            return
        if isinstance(outcome, BaseException):
            if isinstance(outcome, Cancelled):
                return
            if isinstance(outcome, OSError):
                reason = outcome.strerror or str(outcome)
                raise PackagingFailed(f"cannot write to staging: {reason}") from outcome
            raise outcome
        if isinstance(outcome, RobotsAnswer):
            self._learn(outcome)
            return
        assert isinstance(work, Task)
        assert isinstance(outcome, FetchResult)
        kept = None if self.browsing is None else self.browsing.keep(outcome)
        links = self.ingestion.ingest(work, outcome)
        if self.browsing is not None:
            record = self.ingestion.records[work.seq]
            self.browsing.settle(work, outcome, record, kept)
            if self.browsing.render(work, outcome, record) is not None:
                self.pending += 1
        if outcome.body is not None:
            # Captured once: a later link to where this URL led is not fetched again.
            self.seen.add(outcome.final_url)
        if work.role == "seed":
            self.frontier.add_origin(outcome.final_url)
        for link, base in links:
            self._follow(work, link, base)

    def _asked(self, ask: Ask) -> None:
        """Answer a request of the browser, or fetch its URL first, as a requisite or frame."""
        assert self.browsing is not None
        if not self.browsing.wait(ask) or ask.url in self.seen:
            return
        load = ask.load
        role: Role = "frame" if ask.request.frame else "requisite"
        page = ask.url if ask.request.frame else load.task.page
        self._submit(ask.url, role, ask.via, load.url, load.depth, page)

    def _rendered(self, load: PageLoad, rendering: Rendering) -> None:
        """Keep a page's derivatives; follow where it tried to go as links of the page."""
        assert self.browsing is not None
        self.browsing.rendered(load, rendering)
        for url, via in rendering.leads:
            try:
                link = Link(canonicalize(url), "page", via)
            except ValueError:
                continue
            self._follow(load.task, link, load.url)

    def _learn(self, answer: RobotsAnswer) -> None:
        """Keep a host's robots.txt rules, record the fetch, and decide the links that waited."""
        try:
            self.ingestion.sink.recorded_robots(answer.result)
        finally:
            remove_body(answer.result)
        if self.robots is not None:
            self.robots.put(answer.file)
        self._release(answer.rules)

    def _release(self, rules: RobotsRules) -> None:
        """Learn a host's rules and decide the links that waited for them."""
        self.frontier.learn_robots(rules)
        for held in self.waiting.pop(rules.source, []):
            decision = self._decide(held.link, held.task)
            self._decided(held.link, held.base, decision, seq=held.seq)

    def _follow(self, task: Task, link: Link, base: str) -> None:
        """Submit a link found in `task`'s document as the frontier decides, or pass it by."""
        url = link.url
        if url in self.seen:
            return
        if url.startswith("file:") and self.ingestion.seed.root is None:
            return
        if not (url.startswith("file:") or is_web_url(url)):
            return
        decision = self._decide(link, task)
        if decision is not None and decision.robots is not None and self.robots is not None:
            known = self.robots.get(decision.robots)
            if known is not None:
                # Fetched for an earlier capture of the batch: its WARC holds the record.
                self.frontier.learn_robots(known.rules())
                decision = self._decide(link, task)
        if decision is not None and decision.robots is not None:
            # Its place in the log is where it was found; later mentions of it wait on this.
            self.seen.add(url)
            self.seq += 1
            held = self.waiting.setdefault(decision.robots, [])
            if not held:
                self.pending += 1
                self.tasks.put(_RobotsTask(decision.robots))
            held.append(_Waiting(link, base, task, self.seq))
            return
        self._decided(link, base, decision)

    def _decide(self, link: Link, task: Task) -> Decision | None:
        return self.frontier.decide(link, task.depth, task.page)

    def _decided(
        self, link: Link, base: str, decision: Decision | None, *, seq: int | None = None
    ) -> None:
        if decision is None:
            return
        skip = None if decision.skip is None else (decision.skip, decision.detail)
        role, depth, page = decision.role, decision.depth, decision.page
        self._submit(link.url, role, link.via, base, depth, page, skip, seq=seq)

    def _submit(
        self,
        url: str,
        role: Role,
        via: str | None,
        referrer: str | None,
        depth: int,
        page: str,
        skip: tuple[SkipReason, str | None] | None = None,
        *,
        seq: int | None = None,
    ) -> None:
        """Queue `url` for fetching once, or log it as skipped (`skip`, or a limit reached).

        `seq` is the place in the log of a link that waited for robots.txt (already seen).
        """
        if seq is None:
            if url in self.seen:
                return
            self.seen.add(url)
            self.seq += 1
            seq = self.seq
        task = Task(seq, url, role, via, referrer, depth, page)
        refusal = skip or self.frontier.limit(role, page, self.ingestion.sink.stored_bytes())
        if refusal is not None:
            reason, detail = refusal
            self.ingestion.record(
                task, replace(task.record("skipped"), reason=reason, error=detail)
            )
            if self.browsing is not None:
                self.browsing.refused(url, detail or reason)
            return
        self.frontier.admit(role, page)
        self.pending += 1
        self.tasks.put(task)
