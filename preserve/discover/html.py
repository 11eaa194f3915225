"""Decode an HTML document as a browser would and find the URLs it names, with their roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import lxml.html
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
    """
    text, encoding = decode_html(data, http_charset)
    text = _XML_DECLARATION.sub("", text, count=1)
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.LxmlError, ValueError):
        return HtmlLinks(links=(), encoding=encoding, title=None, base_url=base_url)
    links = LinkSet()
    base = base_url
    base_seen = False
    title: str | None = None
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        tag = tag.lower()
        if tag == "base" and not base_seen and element.get("href") is not None:
            base_seen = True
            base = resolve_in_document(element.get("href") or "", base_url, encoding) or base_url
            continue
        if tag == "title" and title is None:
            title = " ".join((element.text or "").split()) or None
        if tag == "style":
            links.extend(find_css_links(element.text or "", base, via_prefix="style"))
        for reference, named_role, via in _element_references(element, tag):
            url = resolve_in_document(reference, base, encoding)
            media = named_role == "page" and url is not None and is_media_url(url)
            links.add(url, "media" if media else named_role, via)
        style = element.get("style")
        if style and "(" in style:
            links.extend(find_style_attribute_links(style, base))
    return HtmlLinks(links=tuple(links.links()), encoding=encoding, title=title, base_url=base)


def is_media_url(url: str) -> bool:
    """Return True when the last segment of a URL's path ends in one of MEDIA_EXTENSIONS."""
    path = urlsplit(url).path
    name = unquote(path.rsplit("/", 1)[-1])
    stem, dot, extension = name.rpartition(".")
    return bool(dot and stem) and extension.lower() in MEDIA_EXTENSIONS


def _element_references(element: etree._Element, tag: str) -> Iterator[tuple[str, Role, str]]:
    """Yield (reference, role, via) for each URL an element's attributes name."""
    for attribute, role in _URL_ATTRIBUTES.get(tag, ()):
        value = element.get(attribute)
        if value is not None:
            yield value, role, f"{tag}@{attribute}"
    if tag in _SRCSET_ELEMENTS:
        for candidate in parse_srcset(element.get("srcset") or ""):
            yield candidate, "requisite", f"{tag}@srcset"
    lazy_role = _LAZY_ELEMENTS.get(tag)
    if lazy_role is not None:
        yield from _lazy_references(element, tag, lazy_role)
    if tag == "link":
        yield from _link_references(element)
    elif tag == "input" and "src" in element.attrib and _is_image_input(element):
        yield element.get("src", ""), "requisite", "input[image]@src"
    elif tag == "object" and element.get("data") is not None:
        yield element.get("data", ""), _object_role(element), "object@data"
    elif tag == "param":
        name = (element.get("name") or "").strip().lower()
        value = element.get("value")
        if name in _PARAM_NAMES and value is not None:
            yield value, "requisite", f"param[{name}]@value"
    elif tag == "applet":
        yield from _applet_references(element)
    elif tag == "meta":
        target = _refresh_target(element)
        if target is not None:
            yield target, "page", "meta[refresh]@content"
    background = element.get("background")
    if background is not None:
        yield background, "requisite", f"{tag}@background"


def _lazy_references(
    element: etree._Element, tag: str, role: Role
) -> Iterator[tuple[str, Role, str]]:
    """Yield the URLs lazy-loading scripts would put into `src` or `srcset`."""
    for attribute in _LAZY_URL_ATTRIBUTES:
        value = element.get(attribute)
        if value is not None:
            yield value, role, f"{tag}@{attribute}"
    for attribute in _LAZY_SRCSET_ATTRIBUTES:
        for candidate in parse_srcset(element.get(attribute) or ""):
            yield candidate, role, f"{tag}@{attribute}"


def _is_image_input(element: etree._Element) -> bool:
    """Return True for an `<input type=image>`, whose src is the button's picture."""
    return (element.get("type") or "").strip().lower() == "image"


def _object_role(element: etree._Element) -> Role:
    """Return `frame` for an `<object>` showing an HTML document, `requisite` otherwise."""
    kind = (element.get("type") or "").split(";")[0].strip().lower()
    # Not urlsplit: it raises on a malformed authority such as `a://[`, and only the path's
    # ending matters here.
    path = (element.get("data") or "").strip().split("#")[0].split("?")[0].lower()
    if kind in HTML_TYPES or (not kind and path.endswith(_DOCUMENT_SUFFIXES)):
        return "frame"
    return "requisite"


def _applet_references(element: etree._Element) -> Iterator[tuple[str, Role, str]]:
    """Yield a Java applet's archives, or its class file when it has none.

    Both are relative to `codebase`. A JVM looks for the class inside the archives first, so
    the class file is only named when there are no archives.
    """
    codebase = (element.get("codebase") or "").strip()
    if codebase and not codebase.endswith("/"):
        codebase += "/"
    archives = [a.strip() for a in (element.get("archive") or "").split(",") if a.strip()]
    for archive in archives:
        yield codebase + archive, "requisite", "applet@archive"
    code = (element.get("code") or "").strip()
    if code and not archives:
        name = code.removesuffix(".class").replace(".", "/")
        yield codebase + name + ".class", "requisite", "applet@code"


def _refresh_target(element: etree._Element) -> str | None:
    """Return the URL of a `<meta http-equiv=refresh>`, parsed as browsers do, or None."""
    if (element.get("http-equiv") or "").strip().lower() != "refresh":
        return None
    match = _REFRESH.match(element.get("content") or "")
    if match is None:
        return None
    target = match.group(1).strip(_WHITESPACE)
    if target[:1] in ("'", '"'):
        quote_char = target[0]
        target = target[1:].split(quote_char, 1)[0]
    return target or None


def _link_references(element: etree._Element) -> Iterator[tuple[str, Role, str]]:
    """Yield the requisite a `<link>` names: a stylesheet, an icon, a manifest or a preload.

    A preload's `as=` is kept in `via` (`link[preload as=style]@href`) so the crawl knows a
    preloaded stylesheet is CSS even when its server does not say so.
    """
    rels = frozenset((element.get("rel") or "").lower().split())
    href = element.get("href")
    kind = None
    if "stylesheet" in rels:
        kind = "stylesheet"
    elif rels & _ICON_RELS:
        kind = "icon"
    elif "manifest" in rels:
        kind = "manifest"
    elif rels & _PRELOAD_RELS:
        kind = "preload"
        destination = (element.get("as") or "").strip().lower()
        if destination and "preload" in rels and re.fullmatch(r"[a-z]+", destination):
            kind = f"preload as={destination}"
    if kind is not None and href is not None:
        yield href, "requisite", f"link[{kind}]@href"
    if kind is not None and kind.startswith("preload"):
        for candidate in parse_srcset(element.get("imagesrcset") or ""):
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
