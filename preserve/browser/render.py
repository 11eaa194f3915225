"""The whole of rendering one page: a Visit opened, loaded, stopped, its derivatives taken.

Whatever the page does, a Rendering comes back; what could not be taken is None and the
notes say why.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Error as PlaywrightError

from preserve.browser import Answer, Rendering, Settings
from preserve.browser.page import STOP_SECONDS, VIEWPORT, Busy, Visit


async def render_page(
    browser: Any, name: str, url: str, answer: Answer, settings: Settings
) -> Rendering:
    """Load `url` in a new context of `browser`, then take its derivatives; return them all.

    Whatever the page does, a Rendering comes back: what could not be taken is None and the
    notes say why.
    """
    loop = asyncio.get_running_loop()
    context = await browser.new_context(
        viewport=VIEWPORT, service_workers="block", accept_downloads=False
    )
    visit = Visit(context, url, answer, settings)
    taken: dict[str, bytes | None] = {"screenshot": None, "dom": None, "pdf": None}
    try:
        session = await visit.bounded(visit.open(), loop.time() + settings.timeout)
        try:
            await visit.load(loop.time() + settings.timeout)
        except Busy as exc:
            visit.note(f"{exc}: stopped after --browser-timeout {settings.timeout:g} s")
        except PlaywrightError as exc:
            visit.note(f"the page did not load: {_first_line(exc)}")
        await visit.stop(session)
        steps: tuple[tuple[str, Callable[[], Awaitable[bytes]]], ...] = (
            ("screenshot", functools.partial(visit.screenshot, session)),
            ("dom", visit.dom),
            ("pdf", visit.pdf),
        )
        for kind, take in steps:
            try:
                taken[kind] = await take()
            except (Busy, PlaywrightError) as exc:
                visit.note(f"no {_LABELS[kind]}: {_first_line(exc)}")
    except (Busy, PlaywrightError) as exc:
        visit.note(f"the browser failed: {_first_line(exc)}")
    finally:
        if visit.crashed:
            visit.note("the page crashed")
        if not browser.is_connected():
            visit.note("the browser closed unexpectedly (crashed or was killed)")
        try:
            await asyncio.wait_for(context.close(), STOP_SECONDS)
        except (TimeoutError, PlaywrightError):
            visit.note("the page's context could not be closed")
    return Rendering(
        url,
        name,
        screenshot=taken["screenshot"],
        dom=taken["dom"],
        pdf=taken["pdf"],
        notes=tuple(visit.notes),
        leads=tuple(visit.leads.items()),
    )


_LABELS = {"screenshot": "screenshot", "dom": "rendered DOM", "pdf": "PDF"}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
