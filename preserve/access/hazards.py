"""What in a page could leave the bag by itself, and its disarming wherever a parser may see it.

The copy's Content-Security-Policy refuses every request and connection, but three things in
markup act outside it: `<meta http-equiv=refresh>` navigates, `<base href>` moves every
relative address, and `<link rel=preconnect|dns-prefetch>` opens connections no policy is
asked about. The rewrite reads a page as the HTML standard does and neutralises each of them
in the tags it finds; `disarm` then reads every `<meta`, `<base` and `<link` left anywhere in
the copy as a tag, inside a script, a comment or an attribute value too, since a browser with
scripting off, another parser version or a page written to be read two ways may see a tag
there, and turns the `<` of each one that could still leave the bag into `&lt;`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from preserve.access.tokens import Token, read_tag

SPACE = "\t\n\x0c\r "
# Hints that open connections or fetch ahead of time without any policy being asked.
NETWORK_HINTS = frozenset({"dns-prefetch", "preconnect", "prefetch", "prerender"})
_CANDIDATE = re.compile(r"<(?:meta|base|link)[\t\n\x0c\r />]", re.IGNORECASE | re.ASCII)
_DIGITS = re.compile(r"[0-9]*")
_TIME = re.compile(r"[0-9.]*")
_SPACES = re.compile(r"[\t\n\x0c\r ]*")
_URL = re.compile("url", re.IGNORECASE | re.ASCII)
# Removed by the URL parser wherever they are, so `/\t/host` is `//host`.
_URL_IGNORED = str.maketrans("", "", "\t\n\r")
_AUTHORITY = re.compile(r"[/\\]{2}")
# Reading the candidates reads at most as many characters again as the page holds (and 64
# KiB): a page of overlapping tags cut short could otherwise cost the square of its length.
_BUDGET = 65536


@dataclass(frozen=True, slots=True)
class Refresh:
    """What a `<meta http-equiv=refresh>`'s content asks for, read as the HTML standard does.

    `url` is the address to go to (empty: load the page again); `prefix` is where it starts
    in the content, after any `url=` and before any quote.
    """

    url: str
    prefix: int


def read_refresh(content: str) -> Refresh | None:
    """Return what a refresh content asks for; None if a browser following the standard ignores it.

    WHATWG "shared declarative refresh steps": a time, a `;` or `,`, then a URL, optionally
    after `url=` and in quotes.
    """
    position = _skip(_SPACES, content, 0)
    if _skip(_DIGITS, content, position) == position and not content.startswith(".", position):
        return None
    position = _skip(_TIME, content, position)
    if position < len(content):
        if content[position] not in ";," + SPACE:
            return None
        position = _skip(_SPACES, content, position)
        if content.startswith((";", ","), position):
            position = _skip(_SPACES, content, position + 1)
    if position >= len(content):
        return Refresh("", position)
    whole = Refresh(content[position:], position)
    if _URL.match(content, position):
        position = _skip(_SPACES, content, position + 3)
        if not content.startswith("=", position):
            return whole
        position = _skip(_SPACES, content, position + 1)
    elif content[position] in "uU":
        return whole
    quote = content[position] if content.startswith(("'", '"'), position) else ""
    url = content[position + len(quote) :]
    if quote and quote in url:
        url = url[: url.index(quote)]
    return Refresh(url, position)


def stays_in_place(content: str) -> bool:
    """Whether a refresh content can only reload the page or open a file beside it.

    Read for any parser, not only the standard's: no scheme (no `:` at all) and no host
    (no two slashes or backslashes in a row), whatever the time and quotes around it.
    """
    plain = content.translate(_URL_IGNORED)
    return ":" not in plain and _AUTHORITY.search(plain) is None


def hazardous(tag: Token, text: str) -> bool:
    """Whether a tag could leave the bag by itself: refresh away, set a base, or connect."""
    if tag.kind != "start":
        return False
    if tag.name == "meta":
        equiv = tag.attribute("http-equiv")
        content = tag.attribute("content")
        if equiv is None or content is None:
            return False
        refreshes = equiv.value(text).strip(SPACE).lower() == "refresh"
        return refreshes and not stays_in_place(content.value(text))
    if tag.name == "base":
        return tag.attribute("href") is not None
    if tag.name == "link":
        rel = tag.attribute("rel")
        words = rel.value(text).lower().split() if rel is not None else []
        return any(word in NETWORK_HINTS for word in words)
    return False


def disarm(text: str) -> str:
    """Return `text` with each `<meta`, `<base` or `<link` that could leave the bag made text.

    Every occurrence is read as a tag from its `<`, wherever it is; one cut short by the end
    of the text is not a tag to any browser. Past the reading budget, every later occurrence
    is made text unread.
    """
    parts, position = [], 0
    budget = len(text) + _BUDGET
    for match in _CANDIDATE.finditer(text):
        start = match.start()
        tag = read_tag(text, start, start + budget) if budget > 0 else None
        if tag is not None:
            budget -= tag.end - start
            if not hazardous(tag, text):
                continue
        elif budget >= len(text) - start:
            budget -= len(text) - start
            continue
        else:
            budget = 0
        parts += [text[position:start], "&lt;"]
        position = start + 1
    parts.append(text[position:])
    return "".join(parts)


def _skip(pattern: re.Pattern[str], text: str, position: int) -> int:
    match = pattern.match(text, position)
    return position if match is None else match.end()
