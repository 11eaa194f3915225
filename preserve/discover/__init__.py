"""Find the URLs HTML and CSS documents name: pure functions of bytes and a base URL."""

from __future__ import annotations

from preserve.discover.css import find_css_links, find_style_attribute_links, url_tokens
from preserve.discover.html import (
    MEDIA_EXTENSIONS,
    PARSE_LIMIT,
    find_html_links,
    is_media_url,
    parse_srcset,
    srcset_candidates,
)

__all__ = [
    "MEDIA_EXTENSIONS",
    "PARSE_LIMIT",
    "find_css_links",
    "find_html_links",
    "find_style_attribute_links",
    "is_media_url",
    "parse_srcset",
    "srcset_candidates",
    "url_tokens",
]
