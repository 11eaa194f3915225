"""One page in the browser: loaded, left to go quiet, scrolled to its end, stopped, rendered.

Every request of the page is answered by the capture (`Answer`); a navigation of the whole
page after it loaded, and any popup, is refused and recorded; the page's scripts are stopped
before the screenshot, the DOM and the PDF are taken. Each await is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

from playwright.async_api import (
    BrowserContext,
    CDPSession,
    FloatRect,
    Page,
    Route,
    WebSocketRoute,
)
from playwright.async_api import Error as PlaywrightError

from preserve.browser import MAX_REPLY_BYTES, Answer, Reply, Request, Settings

T = TypeVar("T")

VIEWPORT = {"width": 1280, "height": 800}
MAX_SCREENSHOT_HEIGHT = 16_384
"""CSS pixels of a full-page screenshot; a longer page is cut there (and the note says so)."""
MAX_DOM_BYTES = 64 * 1024**2
MAX_NOTES = 50
"""Notes kept per page (a page posting to many URLs would otherwise write one for each)."""
STOP_SECONDS = 5.0
"""The most time stopping the page's scripts may take; then its derivatives are attempted."""
_POLL = 0.05
_WEB = re.compile(r"^https?://", re.IGNORECASE)
_DROPPED_HEADERS = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
)
_SCROLL = """() => {
    window.scrollBy(0, window.innerHeight);
    const root = document.scrollingElement || document.documentElement;
    return root ? root.scrollHeight - window.scrollY - window.innerHeight : 0;
}"""
_LEFT = """() => {
    const root = document.scrollingElement || document.documentElement;
    return root ? root.scrollHeight - window.scrollY - window.innerHeight : 0;
}"""


class Busy(Exception):
    """The page's scripts did not let the browser answer in time."""


# Self-closed, so that an XHTML page's DOM stays well-formed XML.
_CSP = (
    b'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    b"img-src data:; style-src 'unsafe-inline'; font-src data:\" />"
)
_HEAD = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)


def rendered_dom(html: str) -> bytes:
    """Return the serialised DOM as UTF-8 with a policy that keeps it offline when opened.

    The policy is one `<meta>` at the start of `<head>` (or before everything, without one):
    opened from disk the copy runs no script and reaches no network.
    """
    # A script may leave lone surrogates in the text: not UTF-8, so they become "?".
    data = html.encode("utf-8", "replace")
    match = _HEAD.search(data)
    if match is None:
        return _CSP + data
    return data[: match.end()] + _CSP + data[match.end() :]


class Visit:
    """Loads one page into a fresh browser context and records what it does."""

    def __init__(self, context: BrowserContext, url: str, answer: Answer, settings: Settings):
        self.context = context
        self.url = url
        self.answer = answer
        self.settings = settings
        self.page: Page | None = None
        self.committed = False
        self.loaded = False
        self.crashed = False
        self.inflight: set[object] = set()
        self.changed = 0.0
        self.notes: list[str] = []
        self.leads: dict[str, str] = {}
        self.closing: list[asyncio.Future[None]] = []
        self.loop = asyncio.get_running_loop()

    def note(self, text: str) -> None:
        """Record something the page did, once; past MAX_NOTES, only that there were more."""
        if text in self.notes:
            return
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)
        elif len(self.notes) == MAX_NOTES:
            self.notes.append("more notes left out")

    def lead(self, url: str, via: str) -> None:
        """Record a URL the page tried to open as a new document, with how."""
        if _WEB.match(url):
            self.leads.setdefault(url, via)

    async def open(self) -> CDPSession:
        """Open the page with its routes and listeners; return a DevTools session on it."""
        # A page that prints itself would hold the printer the PDF needs.
        await self.context.add_init_script("window.print = () => {};")
        await self.context.route("**/*", self._route)
        await self.context.route_web_socket(re.compile(".*"), self._socket)
        page = await self.context.new_page()
        self.page = page
        page.on("popup", self._popup)
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)
        page.on("load", self._loaded)
        page.on("crash", lambda _page: setattr(self, "crashed", True))
        # Attached before any script runs, the session can stop a script that never yields.
        session = await self.context.new_cdp_session(page)
        await session.send("Runtime.enable")
        return session

    async def load(self, deadline: float) -> None:
        """Go to the page, wait until it is quiet, scroll to its end; all before `deadline`."""
        assert self.page is not None
        self.changed = self.loop.time()
        await self.page.goto(self.url, wait_until="commit", timeout=self._left_ms(deadline))
        quiet = await self._quiet(deadline, need_load=True)
        for _ in range(self.settings.scrolls if quiet else 0):
            await self.bounded(self.page.evaluate(_SCROLL), deadline)
            # What the scroll brings into view asks for its files a frame or more later.
            self.changed = self.loop.time()
            quiet = await self._quiet(deadline, need_load=False)
            if not quiet or await self.bounded(self.page.evaluate(_LEFT), deadline) <= 1:
                break
        if not quiet:
            waiting = sorted(str(getattr(r, "url", r)) for r in self.inflight)
            shown = ", ".join(waiting[:3]) + (", …" if len(waiting) > 3 else "")
            self.note(
                f"the page did not go quiet within --browser-timeout {self.settings.timeout:g} s"
                f" ({len(waiting)} request(s) in flight{': ' if waiting else ''}{shown}): "
                "stopped there"
            )
        # Back to the top for the screenshot, even past the deadline: it is one quick step.
        await self.bounded(
            self.page.evaluate("() => window.scrollTo(0, 0)"), self.loop.time() + STOP_SECONDS
        )

    async def stop(self, session: CDPSession) -> None:
        """Stop the page's scripts for good, so that the derivatives show one state."""
        deadline = self.loop.time() + STOP_SECONDS
        try:
            await self.bounded(session.send("Runtime.terminateExecution"), deadline)
            await self.bounded(
                session.send("Emulation.setScriptExecutionDisabled", {"value": True}), deadline
            )
        except Busy:
            self.note("the page's scripts could not be stopped")

    async def screenshot(self, session: CDPSession) -> bytes:
        """Return a full-page PNG, cut at MAX_SCREENSHOT_HEIGHT CSS pixels."""
        assert self.page is not None
        deadline = self.loop.time() + self.settings.timeout
        metrics = await self.bounded(session.send("Page.getLayoutMetrics"), deadline)
        height = float(metrics.get("cssContentSize", {}).get("height", 0))
        clip: FloatRect | None = None
        if height > MAX_SCREENSHOT_HEIGHT:
            self.note(f"screenshot cut at {MAX_SCREENSHOT_HEIGHT} of {height:.0f} pixels")
            width = float(VIEWPORT["width"])
            clip = {"x": 0.0, "y": 0.0, "width": width, "height": float(MAX_SCREENSHOT_HEIGHT)}
        shot = self.page.screenshot(
            full_page=True, type="png", clip=clip, timeout=self._left_ms(deadline)
        )
        return await self.bounded(shot, deadline)

    async def dom(self) -> bytes:
        """Return the DOM as it is now, serialised as HTML (see `rendered_dom`)."""
        assert self.page is not None
        deadline = self.loop.time() + self.settings.timeout
        html = await self.bounded(self.page.content(), deadline)
        if len(html) > MAX_DOM_BYTES:
            raise Busy(f"rendered DOM over {MAX_DOM_BYTES // 1024**2} MiB: not kept")
        return rendered_dom(html)

    async def pdf(self) -> bytes:
        """Return the page printed to PDF (print media, backgrounds kept)."""
        assert self.page is not None
        deadline = self.loop.time() + self.settings.timeout
        return await self.bounded(self.page.pdf(print_background=True), deadline)

    async def bounded(self, step: Awaitable[T], deadline: float) -> T:
        """Return what `step` gives before `deadline`; raise Busy when it takes longer."""
        left = deadline - self.loop.time()
        task = asyncio.ensure_future(step)
        if left <= 0:
            task.cancel()
            raise Busy("no time left")
        try:
            return await asyncio.wait_for(task, left)
        except TimeoutError as exc:
            raise Busy("the page's scripts kept the browser busy") from exc

    def _left_ms(self, deadline: float) -> float:
        return max(1.0, (deadline - self.loop.time()) * 1000)

    async def _quiet(self, deadline: float, *, need_load: bool) -> bool:
        """Wait until no request has been in flight for `quiet` seconds; False at deadline."""
        quiet = self.settings.quiet
        while True:
            now = self.loop.time()
            if now >= deadline:
                return False
            if self.crashed:
                raise Busy("the page crashed")
            ready = self.loaded or not need_load
            if ready and not self.inflight and now - self.changed >= quiet:
                return True
            await asyncio.sleep(_POLL)

    def _loaded(self, _page: Page) -> None:
        self.loaded = True
        self.changed = self.loop.time()

    def _started(self, request: Any) -> None:
        self.inflight.add(request)
        self.changed = self.loop.time()

    def _ended(self, request: Any) -> None:
        self.inflight.discard(request)
        self.changed = self.loop.time()

    def _popup(self, page: Page) -> None:
        if page is self.page:
            return
        if _WEB.match(page.url):
            self.lead(page.url, "browser:popup")
        self.note("the page opened a popup window: closed")
        self.closing.append(asyncio.ensure_future(_quietly(page.close())))

    async def _socket(self, socket: WebSocketRoute) -> None:
        # Never connected to the server: a WebSocket's messages are not captured.
        self.note(f"WebSocket {socket.url} refused: preserve does not capture WebSockets")
        await _quietly(socket.close())

    async def _route(self, route: Route) -> None:
        """Answer one request of the page from the capture, or refuse it.

        Once answered, a request no longer counts as in flight: the page has all the capture
        will give it, though Chromium may keep a media stream open for as long as it plays.
        """
        try:
            await self._answer(route)
        finally:
            self._ended(route.request)

    async def _answer(self, route: Route) -> None:
        request = route.request
        try:
            frame = request.frame
            owner = frame.page
        except PlaywrightError:
            frame, owner = None, None
        navigation = request.is_navigation_request()
        if owner is not self.page or self.page is None:
            if navigation:
                self.lead(request.url, "browser:popup")
            await _quietly(route.abort("blockedbyclient"))
            return
        main = frame is self.page.main_frame
        if navigation and main and self.committed:
            self.lead(request.url, "browser:navigation")
            self.note(f"the page navigated to {request.url}: refused, the page was kept")
            # A 204 leaves the page where it is, as a navigation that gives no document.
            await _quietly(route.fulfill(status=204))
            return
        if request.method not in ("GET", "HEAD"):
            self.note(f"a {request.method} request to {request.url} was not sent (GET only)")
            await _quietly(route.abort("blockedbyclient"))
            return
        if not _WEB.match(request.url):
            await _quietly(route.abort("blockedbyclient"))
            return
        asked = Request(request.url, request.resource_type, request.method, navigation and not main)
        try:
            reply = await asyncio.wrap_future(self.answer(asked))
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the request fails
            reply = Reply(note=f"{request.url} could not be answered: {exc}")
        if navigation and main and not 300 <= reply.status < 400:
            # The page's document: any later navigation of the whole page leaves it.
            self.committed = True
        await self._fulfil(route, reply, head=request.method == "HEAD")

    async def _fulfil(self, route: Route, reply: Reply, *, head: bool) -> None:
        if reply.note is not None:
            self.note(reply.note)
        if reply.status == 0:
            await _quietly(route.abort(reply.error))
            return
        body = b""
        if reply.body is not None and not head:
            path = reply.body
            try:
                size = path.stat().st_size
                if size <= MAX_REPLY_BYTES:
                    body = await asyncio.to_thread(path.read_bytes)
                else:
                    limit = MAX_REPLY_BYTES // 1024**2
                    self.note(f"{route.request.url}: over {limit} MiB, not given to the browser")
            except OSError:
                await _quietly(route.abort("failed"))
                return
        await _quietly(route.fulfill(status=reply.status, headers=_headers(reply), body=body))


def _headers(reply: Reply) -> dict[str, str]:
    """Return a reply's headers as Playwright takes them: one entry per name.

    The body given is decoded and whole, so its coding and length headers are not passed on.
    """
    joined: dict[str, str] = {}
    for name, value in reply.headers:
        key = name.lower()
        if key in _DROPPED_HEADERS:
            continue
        if key in joined:
            joined[key] += ("\n" if key == "set-cookie" else ", ") + value
        else:
            joined[key] = value
    return joined


async def _quietly(step: Awaitable[object]) -> None:
    """Await a step whose failure changes nothing (the page or route is gone already)."""
    with contextlib.suppress(PlaywrightError):
        await step
