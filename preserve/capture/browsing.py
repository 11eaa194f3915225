"""Pages of a capture loaded in the browser (`--browser`), and the browser's requests answered.

The run loop's coordinator hands each HTML page it ingested to `Browsing.render`; the browser
loads it on its own thread. Every request the page makes comes back to the coordinator as an
`Ask`: a URL the capture already handled is answered from what it stored (the payload file,
the status and headers as received), one it is fetching is answered when that fetch is
ingested, and any other is fetched as a requisite (or a frame) found `via browser:<type>` and
answered once ingested. So each URL is fetched once, through the Fetcher, hashed as it arrives
and recorded in the WARC. A page's rendering comes back as a `(PageLoad, Rendering)` result:
its derivatives are written under `data/access/rendered/` and described for PREMIS.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from preserve.access.rendered import RENDERED_KINDS, rendered_path
from preserve.browser import Reply, Request, Settings
from preserve.capture.ingest import Ingestion, Task
from preserve.layout import payload_path
from preserve.metadata import PayloadFile, RenderingFact
from preserve.models import CaptureOptions, FetchFailure, FetchResult, LogRecord
from preserve.urls import canonicalize, is_web_url
from preserve.webdoc import document_kind

_PAGE_ROLES = ("seed", "page", "frame")
_ABORTS = {"timeout": "timedout", "refused": "blockedbyclient", "network": "connectionfailed"}


@dataclass(frozen=True, slots=True)
class PageLoad:
    """A page handed to the browser: its task, the URL loaded, the file it is named after.

    `named` is the page's payload path (or, with `--payload warc`, the one it would have);
    `source` the bag file that holds the page as captured (the payload file or the WARC).
    """

    task: Task
    url: str
    named: str
    source: str

    @property
    def depth(self) -> int:
        """Return the page's depth, so that the run loop's results read alike."""
        return self.task.depth


@dataclass(frozen=True, slots=True)
class Ask:
    """A request of the browser, waiting for the coordinator: for which page, what, and where.

    `url` is the request's URL in canonical form; `future` is set with the reply.
    """

    load: PageLoad
    request: Request
    url: str
    future: Future[Reply]

    @property
    def via(self) -> str:
        """Return how the URL was found, for the capture log: `browser:<resource type>`."""
        return f"browser:{self.request.resource_type}"


class Browsing:
    """One capture's browser: pages handed to it, its requests answered, renderings kept."""

    def __init__(
        self,
        options: CaptureOptions,
        chromium: Path,
        ingestion: Ingestion,
        tmp_dir: Path,
    ) -> None:
        from preserve.browser.driver import Browser

        settings = Settings(
            options.browser_timeout, options.browser_quiet_ms / 1000, options.browser_scrolls
        )
        self.ingestion = ingestion
        self.sink = ingestion.sink
        self.tmp_dir = tmp_dir
        # Set by the run loop: hands what the browser's thread gives back to its coordinator.
        self.post: Callable[[object, object], None] = _unattached
        self.renderings: list[RenderingFact] = []
        self._replies: dict[str, Reply] = {}
        self._waiting: dict[str, list[Future[Reply]]] = {}
        self._rendered: set[str] = set()
        self._asked: list[Future[Reply]] = []
        self._lock = threading.Lock()
        self._kept = 0
        self.browser = Browser(chromium, settings, self._ask, self._delivered)

    def start(self) -> None:
        """Start the browser's thread (Chromium starts while the seed is fetched)."""
        self.browser.start()

    def close(self) -> None:
        """Fail every request of the browser still waiting for an answer; stop the browser."""
        with self._lock:
            asked, self._asked = self._asked, []
        for future in asked:
            if not future.done():
                future.set_result(Reply(error="aborted"))
        self.browser.close()

    def _delivered(self, load: object, rendering: object) -> None:
        self.post(load, rendering)

    def _ask(self, load: object, request: Request) -> Future[Reply]:
        """Return the future reply to one request of the browser (on the browser's thread)."""
        future: Future[Reply] = Future()
        assert isinstance(load, PageLoad)
        try:
            url = canonicalize(request.url)
        except ValueError:
            future.set_result(Reply(error="failed"))
            return future
        with self._lock:
            self._asked.append(future)
        self.post(Ask(load, request, url, future), None)
        return future

    def wait(self, ask: Ask) -> bool:
        """Answer `ask` from what the capture holds; else return True and let it wait for it."""
        reply = self._replies.get(ask.url)
        if reply is not None:
            ask.future.set_result(reply)
            return False
        self._waiting.setdefault(ask.url, []).append(ask.future)
        return True

    def keep(self, result: FetchResult) -> Path | None:
        """Keep a link to a body the sink will not keep as a file (`--payload warc`)."""
        body = result.body
        if body is None or self.sink.files:
            return None
        self._kept += 1
        kept = self.tmp_dir / f"browser-{self._kept:06d}"
        try:
            os.link(body.path, kept)
        except OSError:
            return None
        return kept

    def settle(self, task: Task, result: FetchResult, record: LogRecord, kept: Path | None) -> None:
        """Learn the replies a fetch gives: each redirect hop, then the final response."""
        hops = result.exchanges
        for hop, following in itertools.pairwise(hops):
            self._answer(hop.url, Reply(hop.status, (("Location", following.url),)))
        final = result.final
        if result.body is not None and final is not None:
            path = record.payload_path
            body = self.sink.writer.bag_dir / path if path is not None else kept
            reply = Reply(final.status, final.response_headers, body)
        elif result.body is not None:
            reply = Reply(200, (), kept)
        elif final is not None:
            reply = Reply(final.status, final.response_headers)
        else:
            reply = Reply(error=_abort_code(result.failure), note=None)
        self._answer(result.final_url, reply)
        # A URL that redirected keeps its hop's reply (set first); one that failed, this one.
        self._answer(task.url, reply)

    def refused(self, url: str, reason: str) -> None:
        """Answer a URL the capture skipped (a limit, the private-network guard): refused."""
        self._answer(url, Reply(error="blockedbyclient", note=f"{url} not fetched: {reason}"))

    def _answer(self, url: str, reply: Reply) -> None:
        try:
            url = canonicalize(url)
        except ValueError:
            return
        self._replies.setdefault(url, reply)
        for future in self._waiting.pop(url, []):
            if not future.done():
                future.set_result(self._replies[url])

    def render(self, task: Task, result: FetchResult, record: LogRecord) -> PageLoad | None:
        """Hand a page just ingested to the browser; return its load, or None if not a page.

        A page is an HTML document captured as the seed, a linked page or a frame, loaded
        once per final URL.
        """
        final = result.final_url
        if task.role not in _PAGE_ROLES or record.outcome != "captured" or not is_web_url(final):
            return None
        if final in self._rendered:
            return None
        if document_kind(result.content_type, task.via, record.payload_path or "") != "html":
            return None
        self._rendered.add(final)
        named = record.payload_path or "data/" + payload_path(final)
        source = record.payload_path or self.sink.relpath_of_warc or named
        load = PageLoad(task, final, named, source)
        self.browser.render(load, final)
        return load

    def rendered(self, load: PageLoad, rendering: object) -> None:
        """Write a page's derivatives under data/access/rendered/ and keep their description."""
        from preserve.browser import Rendering

        assert isinstance(rendering, Rendering)
        files = []
        for kind, _suffix, media in RENDERED_KINDS:
            data = getattr(rendering, kind)
            if data is None:
                continue
            path = rendered_path(load.named, kind)
            digests = self.sink.writer.write_bytes(path, data)
            files.append(PayloadFile(path, len(data), digests, media, None, load.source))
        display = self.ingestion.seed.display
        self.renderings.append(
            RenderingFact(
                source=load.source,
                url=display(load.url),
                agent=rendering.browser or "Chromium",
                files=tuple(files),
                notes=rendering.notes,
            )
        )


def _unattached(work: object, outcome: object) -> None:
    raise RuntimeError("the browser is not attached to a run loop")


def _abort_code(failure: FetchFailure | None) -> str:
    """Return the network error the browser is given for a fetch that failed this way."""
    return "failed" if failure is None else _ABORTS.get(failure.kind, "failed")
