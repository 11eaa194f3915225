"""Decode an HTML document as a browser would and find the URLs it names, with their roles."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import cast
from urllib.parse import unquote, urlsplit

from lxml import etree

from preserve.discover.css import LinkSet, find_css_links, find_style_attribute_links
from preserve.models import HtmlLinks, Role
from preserve.urls import resolve_in_document
from preserve.webdoc import HTML_TYPES, decode_html

_XML_DECLARATION = re.compile(r"\A\ufeff?\s*<\?xml[^>]*>")

_ICON_RELS = frozenset(
    {"icon", "apple-touch-icon", "apple-touch-icon-precomposed", "apple-touch-startup-image",
     "mask-icon"}
)  # fmt: skip
_PRELOAD_RELS = frozenset({"preload", "modulepreload"})
# Elements and attributes that name one URL, with the role that URL plays for the page.
# `lowsrc` and `dynsrc` are Netscape and Internet Explorer attributes still found on old pages.
_URL_ATTRIBUTES: dict[str, tuple[tuple[str, Role], ...]] = {
    "img": (("src", "requisite"), ("lowsrc", "requisite"), ("dynsrc", "requisite")),
    # The HTML parser turns <image> into <img>; inside <svg> it is SVG's image element.
    "image": (("src", "requisite"), ("href", "requisite"), ("xlink:href", "requisite")),
    "use": (("href", "requisite"), ("xlink:href", "requisite")),
    "feimage": (("href", "requisite"), ("xlink:href", "requisite")),
    "source": (("src", "requisite"),),
    "script": (("src", "requisite"), ("href", "requisite"), ("xlink:href", "requisite")),
    "audio": (("src", "requisite"),),
    "video": (("src", "requisite"), ("poster", "requisite")),
    "track": (("src", "requisite"),),
    "embed": (("src", "requisite"),),
    "bgsound": (("src", "requisite"),),
    "iframe": (("src", "frame"),),
    "frame": (("src", "frame"),),
    "a": (("href", "page"),),
    "area": (("href", "page"),),
}
_SRCSET_ELEMENTS = frozenset({"img", "source"})
# Lazy-loading scripts keep the real URL in these until the image scrolls into view.
_LAZY_ELEMENTS: dict[str, Role] = {"img": "requisite", "source": "requisite", "iframe": "frame"}
_LAZY_URL_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src")
_LAZY_SRCSET_ATTRIBUTES = ("data-srcset", "data-lazy-srcset")
# <param> names plug-ins (Flash, QuickTime, Windows Media, RealPlayer) read a file from.
_PARAM_NAMES = frozenset({"movie", "src", "filename", "url"})
PARSE_LIMIT = 32 * 1024 * 1024
"""Documents larger than this are stored but never parsed (for links, metadata or the access
copy): the parsers hold a document whole."""
_DOCUMENT_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
# Files an archivist wants when a page links to them (audio, video, images, PDF and office
# documents), recognised by the extension of the link's path.
MEDIA_EXTENSIONS = frozenset(
    {
        "aac", "aif", "aifc", "aiff", "amr", "au", "flac", "m4a", "mid", "midi", "mp2", "mp3",
        "mpa", "oga", "ogg", "opus", "ra", "ram", "snd", "wav", "weba", "wma",
        "3g2", "3gp", "asf", "asx", "avi", "flv", "m2v", "m4v", "mkv", "mov", "mp4", "mpe",
        "mpeg", "mpg", "ogv", "qt", "rm", "rv", "swf", "webm", "wmv",
        "avif", "bmp", "gif", "heic", "ico", "jfif", "jp2", "jpe", "jpeg", "jpg", "pbm", "pcx",
        "pgm", "png", "ppm", "svg", "tga", "tif", "tiff", "webp", "xbm",
        "doc", "docm", "docx", "dot", "dotx", "eps", "epub", "key", "numbers", "odg", "odp",
        "ods", "odt", "pages", "pdf", "pot", "potx", "pps", "ppsx", "ppt", "pptm", "pptx",
        "ps", "rtf", "vsd", "vsdx", "wpd", "wps", "xls", "xlsb", "xlsm", "xlsx", "xlt", "xltx",
    }
)  # fmt: skip
# WHATWG "shared declarative refresh steps": a time, a separator, an optional `url=`.
_REFRESH = re.compile(
    r"\A[\t\n\f\r ]*[0-9.]+[\t\n\f\r ]*[;,]?[\t\n\f\r ]*(?:url[\t\n\f\r ]*=[\t\n\f\r ]*)?(.*)\Z",
    re.IGNORECASE | re.DOTALL,
)
_WHITESPACE = " \t\n\r\x0c"


def find_html_links(data: bytes, base_url: str, *, http_charset: str | None = None) -> HtmlLinks:
    """Return the URLs an HTML document names, absolute and in document order, with its title.

    Honours the first `<base href>` for the URLs after it. Requisites (images, stylesheets,
    scripts, media, icons, plug-in files, CSS in `<style>` and `style=""`), frames, linked
    pages (`a`, `area`, `meta refresh`) and linked media (a link whose path ends in one of
    MEDIA_EXTENSIONS) each appear once, under the strongest role the document gives them.
    A non-ASCII query is encoded in the document's encoding. Skips data:, javascript:,
    mailto: and malformed URLs. Unparseable input gives no links, never an exception.

    Elements nested past MAX_DEPTH are closed in the parser so that the rest of the document
    is still read (see `_Finder`): however deep the nesting, every element is seen.
    """
    text, encoding = decode_html(data, http_charset)
    text = _XML_DECLARATION.sub("", text, count=1)
    finder = _Finder(base_url, encoding)
    # No tree is built: libxml2 cuts a tree at 256 levels (2,048 with huge_tree) and drops
    # everything after the cut, where a parser target sees every element.
    # Fed text, lxml reports text: the stubs' target protocol also allows bytes.
    parser = etree.HTMLParser(target=cast("etree.ParserTarget", finder), huge_tree=True)
    try:
        for piece in _pieces(text):
            parser.feed(piece)
            finder.flatten(parser)
        parser.close()
    except (etree.LxmlError, ValueError):
        pass
    links = tuple(finder.links.links())
    return HtmlLinks(links=links, encoding=encoding, title=finder.title, base_url=finder.base)


MAX_DEPTH = 512
"""Open elements the parser may hold before the deepest are closed: Chromium's limit on DOM
depth. Each unmatched end tag makes libxml2 search its whole stack, so the depth bounds the
work per tag: unbounded, 100,000 open elements followed by as many stray end tags took about
a minute; bounded, the worst 32 MiB documents tried take seconds."""
_KEPT_DEPTH = MAX_DEPTH // 2
_PIECE = 2048
# Text that is not markup: an end tag fed inside it would become part of its text.
_TEXT_ELEMENTS = frozenset(
    {"script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "plaintext"}
)


def _pieces(text: str) -> Iterator[str]:
    """Yield `text` in pieces of about 2 KiB, each but the last ending before a `<`."""
    start = 0
    while start < len(text):
        end = text.find("<", start + _PIECE)
        end = len(text) if end == -1 else end
        yield text[start:end]
        start = end


class _Finder:
    """A parser target: finds an HTML document's links as the parser meets each element.

    It keeps the names of the open elements, as the parser does, so `flatten` can close the
    deepest ones when there are more than MAX_DEPTH: links do not depend on nesting, and a
    browser stops nesting too (Chromium adds elements past 512 levels as siblings).
    """

    def __init__(self, base_url: str, encoding: str) -> None:
        self.base_url = base_url
        self.encoding = encoding
        self.base = base_url
        self.base_seen = False
        self.title: str | None = None
        self.links = LinkSet()
        self.open: list[str] = []
        # A <title> or <style> whose text is being read: its tag, attributes and text so far.
        self.reading: tuple[str, dict[str, str], list[str]] | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        """Handle a start tag (the parser calls this, implied elements included)."""
        if self.reading is not None:
            self._done_reading()
        tag = tag.lower()
        self.open.append(tag)
        if tag in ("title", "style"):
            # Their text comes next; a <style>'s links are added with its other links.
            self.reading = (tag, dict(attrib), [])
        elif attrib:
            self._element(tag, attrib)

    def end(self, tag: str) -> None:
        """Handle an end tag, written or implied."""
        if self.reading is not None:
            self._done_reading()
        if self.open:
            self.open.pop()

    def data(self, text: str) -> None:
        """Keep the text of a <title> or <style> being read."""
        if self.reading is not None:
            self.reading[2].append(text)

    def close(self) -> None:
        """Finish the document (the parser calls this)."""
        if self.reading is not None:
            self._done_reading()

    def flatten(self, parser: etree.HTMLParser) -> None:
        """Close the deepest open elements in `parser` when more than MAX_DEPTH are open.

        Not while inside an element whose content is text, where an end tag would be text.
        """
        if len(self.open) <= MAX_DEPTH or self.open[-1] in _TEXT_ELEMENTS:
            return
        parser.feed("".join(f"</{name}>" for name in reversed(self.open[_KEPT_DEPTH:])))

    def _done_reading(self) -> None:
        """Handle the <title> or <style> whose text has been read: its text ends at a tag."""
        assert self.reading is not None
        tag, attrib, parts = self.reading
        self.reading = None
        text = "".join(parts)
        if tag == "style":
            self.links.extend(find_css_links(text, self.base, via_prefix="style"))
        elif self.title is None:
            self.title = " ".join(text.split()) or None
        self._element(tag, attrib)

    def _element(self, tag: str, attrib: Mapping[str, str]) -> None:
        """Add the links one element's attributes name."""
        if tag == "base" and not self.base_seen and attrib.get("href") is not None:
            self.base_seen = True
            href = attrib.get("href") or ""
            self.base = resolve_in_document(href, self.base_url, self.encoding) or self.base_url
            return
        for reference, named_role, via in _element_references(attrib, tag):
            url = resolve_in_document(reference, self.base, self.encoding)
            media = named_role == "page" and url is not None and is_media_url(url)
            self.links.add(url, "media" if media else named_role, via)
        style = attrib.get("style")
        if style and "(" in style:
            self.links.extend(find_style_attribute_links(style, self.base))


def is_media_url(url: str) -> bool:
    """Return True when the last segment of a URL's path ends in one of MEDIA_EXTENSIONS."""
    path = urlsplit(url).path
    name = unquote(path.rsplit("/", 1)[-1])
    stem, dot, extension = name.rpartition(".")
    return bool(dot and stem) and extension.lower() in MEDIA_EXTENSIONS


def _element_references(attrs: Mapping[str, str], tag: str) -> Iterator[tuple[str, Role, str]]:
    """Yield (reference, role, via) for each URL an element's attributes name."""
    for attribute, role in _URL_ATTRIBUTES.get(tag, ()):
        value = attrs.get(attribute)
        if value is not None:
            yield value, role, f"{tag}@{attribute}"
    if tag in _SRCSET_ELEMENTS:
        for candidate in parse_srcset(attrs.get("srcset") or ""):
            yield candidate, "requisite", f"{tag}@srcset"
    lazy_role = _LAZY_ELEMENTS.get(tag)
    if lazy_role is not None:
        yield from _lazy_references(attrs, tag, lazy_role)
    if tag == "link":
        yield from _link_references(attrs)
    elif tag == "input" and "src" in attrs and _is_image_input(attrs):
        yield attrs.get("src", ""), "requisite", "input[image]@src"
    elif tag == "object" and attrs.get("data") is not None:
        yield attrs.get("data", ""), _object_role(attrs), "object@data"
    elif tag == "param":
        name = (attrs.get("name") or "").strip().lower()
        value = attrs.get("value")
        if name in _PARAM_NAMES and value is not None:
            yield value, "requisite", f"param[{name}]@value"
    elif tag == "applet":
        yield from _applet_references(attrs)
    elif tag == "meta":
        target = _refresh_target(attrs)
        if target is not None:
            yield target, "page", "meta[refresh]@content"
    background = attrs.get("background")
    if background is not None:
        yield background, "requisite", f"{tag}@background"


def _lazy_references(
    attrs: Mapping[str, str], tag: str, role: Role
) -> Iterator[tuple[str, Role, str]]:
    """Yield the URLs lazy-loading scripts would put into `src` or `srcset`."""
    for attribute in _LAZY_URL_ATTRIBUTES:
        value = attrs.get(attribute)
        if value is not None:
            yield value, role, f"{tag}@{attribute}"
    for attribute in _LAZY_SRCSET_ATTRIBUTES:
        for candidate in parse_srcset(attrs.get(attribute) or ""):
            yield candidate, role, f"{tag}@{attribute}"


def _is_image_input(attrs: Mapping[str, str]) -> bool:
    """Return True for an `<input type=image>`, whose src is the button's picture."""
    return (attrs.get("type") or "").strip().lower() == "image"


def _object_role(attrs: Mapping[str, str]) -> Role:
    """Return `frame` for an `<object>` showing an HTML document, `requisite` otherwise."""
    kind = (attrs.get("type") or "").split(";")[0].strip().lower()
    # Not urlsplit: it raises on a malformed authority such as `a://[`, and only the path's
    # ending matters here.
    path = (attrs.get("data") or "").strip().split("#")[0].split("?")[0].lower()
    if kind in HTML_TYPES or (not kind and path.endswith(_DOCUMENT_SUFFIXES)):
        return "frame"
    return "requisite"


def _applet_references(attrs: Mapping[str, str]) -> Iterator[tuple[str, Role, str]]:
    """Yield a Java applet's archives, or its class file when it has none.

    Both are relative to `codebase`. A JVM looks for the class inside the archives first, so
    the class file is only named when there are no archives.
    """
    codebase = (attrs.get("codebase") or "").strip()
    if codebase and not codebase.endswith("/"):
        codebase += "/"
    archives = [a.strip() for a in (attrs.get("archive") or "").split(",") if a.strip()]
    for archive in archives:
        yield codebase + archive, "requisite", "applet@archive"
    code = (attrs.get("code") or "").strip()
    if code and not archives:
        name = code.removesuffix(".class").replace(".", "/")
        yield codebase + name + ".class", "requisite", "applet@code"


def _refresh_target(attrs: Mapping[str, str]) -> str | None:
    """Return the URL of a `<meta http-equiv=refresh>`, parsed as browsers do, or None."""
    if (attrs.get("http-equiv") or "").strip().lower() != "refresh":
        return None
    match = _REFRESH.match(attrs.get("content") or "")
    if match is None:
        return None
    target = match.group(1).strip(_WHITESPACE)
    if target[:1] in ("'", '"'):
        quote_char = target[0]
        target = target[1:].split(quote_char, 1)[0]
    return target or None


def _link_references(attrs: Mapping[str, str]) -> Iterator[tuple[str, Role, str]]:
    """Yield the requisite a `<link>` names: a stylesheet, an icon, a manifest or a preload.

    A preload's `as=` is kept in `via` (`link[preload as=style]@href`) so the crawl knows a
    preloaded stylesheet is CSS even when its server does not say so.
    """
    rels = frozenset((attrs.get("rel") or "").lower().split())
    href = attrs.get("href")
    kind = None
    if "stylesheet" in rels:
        kind = "stylesheet"
    elif rels & _ICON_RELS:
        kind = "icon"
    elif "manifest" in rels:
        kind = "manifest"
    elif rels & _PRELOAD_RELS:
        kind = "preload"
        destination = (attrs.get("as") or "").strip().lower()
        if destination and "preload" in rels and re.fullmatch(r"[a-z]+", destination):
            kind = f"preload as={destination}"
    if kind is not None and href is not None:
        yield href, "requisite", f"link[{kind}]@href"
    if kind is not None and kind.startswith("preload"):
        for candidate in parse_srcset(attrs.get("imagesrcset") or ""):
            yield candidate, "requisite", "link[preload]@imagesrcset"


def srcset_candidates(value: str) -> list[tuple[str, str]]:
    """Return each candidate of a `srcset` value as (URL, descriptors), in order.

    Follows the WHATWG parsing: a URL runs to the next whitespace (so it may hold commas),
    trailing commas end a candidate, descriptors run to a comma outside parentheses.
    """
    candidates: list[tuple[str, str]] = []
    position, end = 0, len(value)
    while True:
        while position < end and (value[position] in _WHITESPACE or value[position] == ","):
            position += 1
        if position >= end:
            return candidates
        start = position
        while position < end and value[position] not in _WHITESPACE:
            position += 1
        url = value[start:position]
        if url.endswith(","):
            candidates.append((url.rstrip(","), ""))
            continue
        descriptor_start, depth = position, 0
        while position < end:
            char = value[position]
            if char == "(":
                depth += 1
            elif char == ")" and depth:
                depth -= 1
            elif char == "," and not depth:
                break
            position += 1
        candidates.append((url, " ".join(value[descriptor_start:position].split())))
        position += 1


def parse_srcset(value: str) -> list[str]:
    """Return the URL of each image candidate in a `srcset` value, in order."""
    return [url for url, _descriptors in srcset_candidates(value)]
