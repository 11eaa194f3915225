"""Pages loaded in headless Chromium (Debian's `chromium`, driven by Playwright).

The browser fetches nothing itself: each request it makes is handed to an `Answer` callback,
which returns the reply to give it (the capture answers from what preserve's own fetch layer
stored). A page is loaded, left to go quiet, scrolled to its end and stopped; then its
screenshot, rendered DOM and PDF are taken. Every step is bounded. Playwright is imported by
`preserve.browser.driver` only, when a browser is started.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from preserve.errors import BadInput

CHROMIUM_VARIABLE = "CHROMIUM"
"""The environment variable that names the Chromium to run, when it is not on PATH."""

ARGUMENTS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Every request of a page is answered by preserve; anything that slips past the answers
    # (a connection opened ahead of a request) meets a proxy where nothing listens.
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)
"""Chromium's command line: no sandbox (containers), no traffic of its own, no network."""

MAX_REPLY_BYTES = 32 * 1024**2
"""The largest body handed to the browser: larger files are stored but not shown to it."""

INSTALL_HINT = (
    "install Chromium (on Debian: apt-get install chromium) or set CHROMIUM=/path/to/chromium"
)


@dataclass(frozen=True, slots=True)
class Settings:
    """How long a page is given: the whole load, the quiet that ends it, the scroll steps.

    `timeout` (seconds) bounds loading, going quiet and scrolling together, and then each
    derivative again; `quiet` (seconds) is how long no request may be in flight before the
    page counts as loaded; `scrolls` the most steps of one window height to reach its end.
    """

    timeout: float = 30.0
    quiet: float = 0.5
    scrolls: int = 20


@dataclass(frozen=True, slots=True)
class Request:
    """A request the browser made: URL, Playwright's resource type, method, frame navigation."""

    url: str
    resource_type: str
    method: str
    frame: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """What the browser is given for a request: a response, or an error when `status` is 0.

    `body` is the file whose bytes answer (None: an empty body); `error` is Playwright's
    abort code (`failed`, `timedout`, `blockedbyclient`...); `note` says what the rendering
    should record about this answer, when there is something to say.
    """

    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: Path | None = None
    error: str = "failed"
    note: str | None = None


Answer = Callable[[Request], "Future[Reply]"]
"""Called on the browser's thread for each request; the future is set from any thread."""


@dataclass(frozen=True, slots=True)
class Rendering:
    """What loading one page gave: its derivatives, the browser's name, what happened.

    `browser` is `Chromium <version>` (None when no browser could start); `screenshot`,
    `dom` and `pdf` are None when they could not be taken; `notes` say what the page did
    that the capture should record (went on past the time, navigated away, opened a popup,
    kept the browser busy, crashed); `leads` are the URLs it tried to open, with how.
    """

    url: str
    browser: str | None
    screenshot: bytes | None = None
    dom: bytes | None = None
    pdf: bytes | None = None
    notes: tuple[str, ...] = ()
    leads: tuple[tuple[str, str], ...] = ()


def find_chromium() -> Path:
    """Return the Chromium to run: $CHROMIUM, else `chromium` on PATH; raise BadInput if none.

    Also checks that Playwright, which drives it, is installed.
    """
    named = os.environ.get(CHROMIUM_VARIABLE)
    if named:
        path = Path(named)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BadInput(
                f"--browser: CHROMIUM={named} is not an executable file", hint=INSTALL_HINT
            )
    else:
        found = shutil.which("chromium") or shutil.which("chromium-browser")
        if found is None:
            raise BadInput("--browser needs Chromium, which is not installed", hint=INSTALL_HINT)
        path = Path(found)
    import importlib.util

    if importlib.util.find_spec("playwright") is None:
        raise BadInput(
            "--browser needs the playwright package, which is not installed",
            hint="pip install 'playwright>=1.40' (preserve never lets it download a browser)",
        )
    return path
