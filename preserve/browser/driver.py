"""The browser's own thread: it owns Playwright and Chromium and renders pages one at a time.

Playwright is not thread-safe, so one thread runs its event loop; other threads hand it pages
with `Browser.render` and hear each `Rendering` through a callback. Chromium is started when
the thread starts and started again after it closes unexpectedly (a crash, a kill).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from preserve.browser import ARGUMENTS, Rendering, Reply, Request, Settings

Deliver = Callable[[object, Rendering], None]
"""Called on the browser's thread with the key given to `render` and what the page gave."""
KeyedAnswer = Callable[[object, Request], "Future[Reply]"]
"""Called on the browser's thread with the page's key and each request it makes."""

LAUNCH_SECONDS = 60.0
CLOSE_SECONDS = 10.0
JOIN_SECONDS = 30.0


class Browser:
    """Headless Chromium on a thread of its own; pages rendered in the order handed in."""

    def __init__(
        self, executable: Path, settings: Settings, answer: KeyedAnswer, deliver: Deliver
    ) -> None:
        self.executable = executable
        self.settings = settings
        self.answer = answer
        self.deliver = deliver
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[object, str] | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="preserve-browser")

    def start(self) -> None:
        """Start the thread, which starts Chromium while the capture goes on."""
        self._thread.start()
        self._ready.wait()

    def render(self, key: object, url: str) -> None:
        """Queue `url` to be rendered; `deliver(key, rendering)` is called when it is done."""
        assert self._loop is not None and self._queue is not None
        queue = self._queue
        self._loop.call_soon_threadsafe(queue.put_nowait, (key, url))

    def close(self) -> None:
        """Close Chromium and end the thread; a page being rendered is given up."""
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        self._thread.join(JOIN_SECONDS)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._queue = asyncio.Queue()
        self._task = loop.create_task(self._serve(self._queue))
        self._ready.set()
        try:
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    async def _serve(self, queue: asyncio.Queue[tuple[object, str] | None]) -> None:
        """Render the pages handed in; without a browser, say why for each of them."""
        problem = "Playwright did not start"
        try:
            from playwright.async_api import async_playwright

            async with async_playwright() as playwright:
                state = _Chromium(playwright, self.executable)
                await state.launch()
                try:
                    while (item := await queue.get()) is not None:
                        key, url = item
                        self.deliver(key, await self._render(state, key, url))
                finally:
                    await state.close()
            return
        except Exception as exc:  # noqa: BLE001 - every page waiting is told why
            problem = f"{problem}: {_first_line(exc)}"
        while (item := await queue.get()) is not None:
            key, url = item
            self.deliver(key, Rendering(url, None, notes=(f"not rendered: {problem}",)))

    async def _render(self, state: _Chromium, key: object, url: str) -> Rendering:
        from preserve.browser.render import render_page

        if state.browser is None or not state.browser.is_connected():
            await state.launch()
        if state.browser is None:
            return Rendering(url, None, notes=(f"not rendered: {state.problem}",))
        # Loading, then stopping, then three derivatives, each within the timeout; the
        # margin covers starting and closing a context.
        budget = self.settings.timeout * 4 + 60
        name = f"Chromium {state.browser.version}"
        try:
            return await asyncio.wait_for(
                render_page(
                    state.browser, name, url, functools.partial(self.answer, key), self.settings
                ),
                budget,
            )
        except TimeoutError:
            state.browser = None
            await state.close()
            return Rendering(url, name, notes=("the browser stopped answering: not rendered",))


class _Chromium:
    """The running Chromium, or why it is not running."""

    def __init__(self, playwright: Any, executable: Path) -> None:
        self.playwright = playwright
        self.executable = executable
        self.browser: Any = None
        self.problem = "Chromium did not start"

    async def launch(self) -> None:
        await self.close()
        try:
            self.browser = await self.playwright.chromium.launch(
                executable_path=str(self.executable),
                headless=True,
                args=list(ARGUMENTS),
                timeout=LAUNCH_SECONDS * 1000,
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
            )
        except Exception as exc:  # noqa: BLE001 - a browser that cannot start is recorded
            self.browser = None
            self.problem = f"Chromium ({self.executable}) did not start: {_first_line(exc)}"

    async def close(self) -> None:
        browser, self.browser = self.browser, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), CLOSE_SECONDS)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
