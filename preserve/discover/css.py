"""Find the URLs a stylesheet needs: `@import` targets, `url()` and `image-set()` references."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import tinycss2

from preserve.models import Link, Role
from preserve.urls import resolve

# A string given directly to these functions is an image URL, as if wrapped in url().
_IMAGE_SET_FUNCTIONS = frozenset({"image-set", "-webkit-image-set"})
_BLOCKS = frozenset({"() block", "[] block", "{} block"})
# A URL named several times keeps the strongest of its roles: a file linked with <a> and also
# embedded must still be fetched as a requisite.
_ROLE_STRENGTH: dict[Role, int] = {"requisite": 3, "frame": 2, "page": 1, "media": 1, "seed": 0}


class LinkSet:
    """Links in the order their URLs were first named, one per URL."""

    def __init__(self) -> None:
        self._links: dict[str, Link] = {}

    def add(self, url: str | None, role: Role, via: str) -> None:
        """Record `url` (skipped when None) unless already named with an equal or stronger role.

        A stronger role replaces the earlier link but keeps the URL's first position.
        """
        if url is None:
            return
        known = self._links.get(url)
        if known is None or _ROLE_STRENGTH[role] > _ROLE_STRENGTH[known.role]:
            self._links[url] = Link(url=url, role=role, via=via)

    def extend(self, links: Iterable[Link]) -> None:
        """Record each of `links` as `add` would."""
        for link in links:
            self.add(link.url, link.role, link.via)

    def links(self) -> list[Link]:
        """Return the links recorded, in first-named order."""
        return list(self._links.values())


def find_css_links(
    data: bytes | str,
    base_url: str,
    *,
    http_charset: str | None = None,
    via_prefix: str = "css",
) -> list[Link]:
    """Return the URLs a stylesheet imports or references, absolute, deduplicated, in order.

    Bytes are decoded as browsers do (BOM, then `http_charset`, then `@charset`, then UTF-8).
    Finds `@import` (via `<prefix>@import`) and every `url()` and `image-set()` string in
    declarations and in nested at-rule blocks (via `<prefix>:url()`), all as requisites.
    Skips data:, javascript: and malformed URLs; never raises on malformed CSS.
    """
    links = LinkSet()
    for rule in _parse_stylesheet(data, http_charset):
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            target = _import_target(rule.prelude)
            if target is not None:
                links.add(resolve(target, base_url), "requisite", f"{via_prefix}@import")
        elif rule.type in ("qualified-rule", "at-rule") and rule.content is not None:
            for reference in _url_references(rule.content):
                links.add(resolve(reference, base_url), "requisite", f"{via_prefix}:url()")
    return links.links()


def find_style_attribute_links(value: str, base_url: str) -> list[Link]:
    """Return the URLs named by `url()` or `image-set()` in a `style=""` attribute value."""
    links = LinkSet()
    tokens = tinycss2.parse_component_value_list(value, skip_comments=True)
    for reference in _url_references(tokens):
        links.add(resolve(reference, base_url), "requisite", "style-attr:url()")
    return links.links()


def _parse_stylesheet(data: bytes | str, http_charset: str | None) -> list[Any]:
    """Return the top-level rules of a stylesheet given as bytes or text."""
    if isinstance(data, bytes):
        rules, _encoding = tinycss2.parse_stylesheet_bytes(
            data, protocol_encoding=http_charset, skip_comments=True, skip_whitespace=True
        )
        return list(rules)
    return list(
        tinycss2.parse_stylesheet(data.lstrip("\ufeff"), skip_comments=True, skip_whitespace=True)
    )


def _import_target(prelude: Iterable[Any]) -> str | None:
    """Return the URL of an `@import` prelude (string or url() form), or None."""
    for token in prelude:
        kind = token.type
        if kind in ("whitespace", "comment"):
            continue
        if kind in ("string", "url"):
            return str(token.value)
        if kind == "function" and token.lower_name == "url":
            return _first_string(token.arguments)
        return None
    return None


def _first_string(arguments: Iterable[Any]) -> str | None:
    """Return the value of the first string token among a function's arguments, or None."""
    for token in arguments:
        if token.type == "string":
            return str(token.value)
    return None


def url_tokens(tokens: Iterable[Any], *, imports: bool = False) -> Iterator[tuple[Any, bool]]:
    """Yield each token that holds a URL, with True when it is a string token.

    url() tokens, and strings given to url() or image-set(), at any nesting depth; with
    `imports`, also the string after a top-level `@import` in a flat token list (a style
    block parsed as component values). Walks with an explicit stack: hostile CSS can nest
    blocks deeper than Python's recursion limit.
    """
    stack: list[tuple[Iterator[Any], bool]] = [(iter(tokens), False)]
    import_pending = False
    while stack:
        children, strings_are_urls = stack[-1]
        token = next(children, None)
        if token is None:
            stack.pop()
            continue
        kind = token.type
        if imports and len(stack) == 1:
            if kind == "at-keyword" and token.lower_value == "import":
                import_pending = True
                continue
            if kind in ("whitespace", "comment"):
                continue
            if import_pending and kind == "string":
                import_pending = False
                yield token, True
                continue
            import_pending = False
        if kind == "url":
            yield token, False
        elif kind == "string" and strings_are_urls:
            yield token, True
        elif kind == "function":
            name = token.lower_name
            if name == "url":
                string = next((arg for arg in token.arguments if arg.type == "string"), None)
                if string is not None:
                    yield string, True
            else:
                stack.append((iter(token.arguments), name in _IMAGE_SET_FUNCTIONS))
        elif kind in _BLOCKS:
            stack.append((iter(token.content), False))


def _url_references(tokens: Iterable[Any]) -> Iterator[str]:
    """Yield every URL written as url() or an image-set() string, at any nesting depth."""
    for token, _is_string in url_tokens(tokens):
        yield str(token.value)
