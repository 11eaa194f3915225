"""Pages for the access copy: links rewritten in place, a charset and a security policy added."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from preserve.access.catalog import ACCESS_FOLDER, Catalog, Document, Linker, base_url
from preserve.access.charsets import codec_name, decode, encode, split_bom, web_label
from preserve.access.css import rewrite_css
from preserve.access.hazards import NETWORK_HINTS, SPACE, disarm, read_refresh, stays_in_place
from preserve.access.tokens import Attribute, Token, tokenize
from preserve.discover import srcset_candidates
from preserve.urls import resolve_in_document
from preserve.webdoc import decode_html

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src file: data: blob:; media-src file: data: blob:; "
    "font-src file: data:; style-src file: 'unsafe-inline'; "
    "script-src file: 'unsafe-eval'; frame-src file:; child-src file:; "
    "object-src file:; connect-src 'none'; form-action 'none'; base-uri 'none'"
)
"""The policy every access page declares: files and inline data only, never the network.

Scripts run from captured files only: an inline `<script>` (in SVG too), an event handler
attribute or a `javascript:` URL could send the window to the web, and no directive forbids
that. `file:` rather than `'self'`: for a page opened from disk, Chromium's `'self'` matches
every `file:` URL anyway, and other browsers give file: pages an opaque origin that `'self'`
may not match at all. A folder cannot be named without the absolute path of the bag, which
moves.
"""

_POLICY_META = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
# Attributes holding one URL, on whatever element they appear.
_URL_ATTRIBUTES = frozenset(
    {"src", "href", "xlink:href", "background", "lowsrc", "dynsrc", "poster", "longdesc",
     "cite", "action", "formaction", "data-src", "data-original", "data-lazy-src"}
)  # fmt: skip
_SRCSET_ATTRIBUTES = frozenset({"srcset", "imagesrcset", "data-srcset", "data-lazy-srcset"})
# Plug-in parameters that name a file (Flash, QuickTime, Windows Media, RealPlayer).
_PARAM_NAMES = frozenset({"movie", "src", "filename", "url"})
# The attribute naming the document an element opens inside the page.
_FRAMES = {"iframe": "src", "frame": "src", "embed": "src", "object": "data"}
# Files a browser opens from disk as documents that run scripts and load what they name
# (the type of a file: URL comes from its extension). Opened in a frame, such a file does not
# carry the page's policy, so only an access copy may be; an original is named by its URL.
_ACTIVE_DOCUMENT = re.compile(
    r"\.(?:s?html?|xht(?:ml?)?|xml|xslt?|xbl|svgz?|rss|rdf|atom|mht(?:ml)?)$", re.IGNORECASE
)
# SVG animation that sets a link: its values are URLs too.
_ANIMATIONS = frozenset({"animate", "set"})
_ANIMATED_URL = frozenset({"href", "xlink:href"})
# Requests a browser sends by itself, or on a click, to an address the page names.
_TRACKING = ("ping", "attributionsrc")
# A copy differs from its original, so a checksum of the original no longer matches; and a
# `crossorigin` request from a page opened from disk is refused by Chromium.
_ORIGIN_ONLY = ("integrity", "crossorigin")
# Raw text with scripting on; markup to a reader with scripting (or frames, plug-ins) off.
_MARKUP_TOO = frozenset({"noscript", "noembed", "noframes"})
# How deep `srcdoc` documents and `<noscript>` content are read as pages of their own.
_MAX_DEPTH = 3
_UNDECODED = re.compile("[\udc80-\udcff]")
_POLICY_EQUIV = frozenset({"content-security-policy", "content-security-policy-report-only"})


@dataclass(frozen=True, slots=True)
class Page:
    """The access copy of one page: its bytes and its title, if it has one."""

    data: bytes
    title: str | None


def rewrite_html(data: bytes, document: Document, catalog: Catalog) -> Page:
    """Return the access copy of a page: links rewritten, its encoding kept and declared.

    The page is decoded as the crawl decoded it (byte order mark, HTTP charset, `<meta>`,
    detection), rewritten on the text, and encoded again with the same codec, so characters
    not rewritten keep their bytes. First in `<head>` go a `<meta charset>` naming that
    encoding (a browser opening the file has no HTTP header to go by) and the
    Content-Security-Policy. A page in an encoding no browser label names is written as UTF-8.
    """
    bom, body, codec = split_bom(data)
    if codec is None:
        codec = codec_name(decode_html(data, document.charset)[1]) or "utf-8"
    text = decode(body, codec)
    label = web_label(codec)
    if label is None and not bom:
        codec, label = "utf-8", "utf-8"
    linker = Linker(catalog, document.path, codec)
    # A UTF-16 page keeps its byte order mark, which browsers read before any <meta>.
    copy, title = _rewrite_text(text, base_url(document.url), linker, label)
    return Page(bom + encode(copy, codec), title)


def _rewrite_text(
    text: str, base: str, linker: Linker, label: str | None, depth: int = 0
) -> tuple[str, str | None]:
    """Return the copy of a page's text and its title; `depth` counts enclosing pages."""
    rewriter = _Rewriter(text, base, linker, depth)
    tokens = list(tokenize(text))
    rewriter.rewrite(tokens)
    header = (f'<meta charset="{label}">' if label else "") + _POLICY_META
    position = _insertion_point(text, tokens)
    rewriter.edits.append((position, position, header))
    return disarm(_apply(text, rewriter.edits)), rewriter.title


@dataclass
class _Rewriter:
    """The edits that turn one page's text into its access copy, found tag by tag."""

    text: str
    base: str
    linker: Linker
    depth: int = 0
    edits: list[tuple[int, int, str]] = field(default_factory=list)
    title: str | None = None
    base_seen: bool = False
    css: Linker = field(init=False)
    # An SVG or MathML <style> being read: where its content starts, and its CDATA section.
    style: int | None = None
    cdata: Token | None = None

    def __post_init__(self) -> None:
        # CSS URLs are resolved as UTF-8 whatever the page's encoding, as browsers do.
        self.css = Linker(self.linker.catalog, self.linker.origin)

    def rewrite(self, tokens: Iterable[Token]) -> None:
        """Add the edits every token needs, in document order."""
        for token in tokens:
            if self.style is not None and self.foreign_style(token):
                continue
            if token.kind == "start":
                self.start_tag(token)
            elif token.kind == "raw":
                self.raw(token)

    def raw(self, token: Token) -> None:
        """Rewrite a `<style>`'s CSS, take the first `<title>`, read `<noscript>` as markup."""
        content = self.text[token.start : token.end]
        if token.name == "style":
            css = rewrite_css(content, self.base, self.css)
            if css is not None:
                self.edits.append((token.start, token.end, css))
        elif token.name == "title" and self.title is None and self.depth == 0:
            words = html.unescape(content).split()
            # Bytes the page's encoding could not decode show as U+FFFD, as in a browser.
            self.title = _UNDECODED.sub("\ufffd", " ".join(words)) or None
        elif token.name in _MARKUP_TOO and self.depth < _MAX_DEPTH:
            inner = _Rewriter(content, self.base, self.linker, self.depth + 1)
            inner.rewrite(tokenize(content))
            self.edits += [(start + token.start, end + token.start, replacement)
                           for start, end, replacement in inner.edits]  # fmt: skip

    def foreign_style(self, token: Token) -> bool:
        """Follow an SVG or MathML `<style>` to its end tag; return True if `token` is its CDATA.

        Its CSS is rewritten when it holds text alone, or one CDATA section: there, unlike in
        an HTML `<style>`, character references are decoded and `<` would open a tag.
        """
        if token.kind == "cdata" and self.cdata is None:
            self.cdata = token
            return True
        start, cdata, self.style, self.cdata = self.style, self.cdata, None, None
        if start is None or (token.kind, token.name) != ("end", "style"):
            return False
        if cdata is None:
            css = rewrite_css(html.unescape(self.text[start : token.start]), self.base, self.css)
            if css is not None:
                escaped = css.replace("&", "&amp;").replace("<", "&lt;")
                self.edits.append((start, token.start, escaped))
            return False
        around = self.text[start : cdata.start - 9] + self.text[cdata.end + 3 : token.start]
        css = rewrite_css(self.text[cdata.start : cdata.end], self.base, self.css)
        if css is not None and "]]>" not in css and not around.strip(SPACE):
            self.edits.append((cdata.start, cdata.end, css))
        return False

    def start_tag(self, tag: Token) -> None:
        """Rewrite the URLs of a start tag's attributes (the first of each name, as browsers)."""
        name = tag.name
        if name == "base":
            self.base_tag(tag)
            return
        if name == "meta":
            self.meta_tag(tag)
        elif name in _ANIMATIONS:
            self.animation(tag)
        elif name == "style" and tag.namespace != "html" and not tag.self_closing:
            self.style = tag.end
        local = False
        seen: set[str] = set()
        for attribute in tag.attributes:
            if attribute.name not in seen:
                seen.add(attribute.name)
                local |= self.attribute(tag, attribute)
        if name == "param":
            local |= self.param_tag(tag)
        removed = _TRACKING + _ORIGIN_ONLY if local else _TRACKING
        for attribute in tag.attributes:
            if attribute.name in removed:
                self.edits.append((attribute.start, attribute.end, ""))

    def attribute(self, tag: Token, attribute: Attribute) -> bool:
        """Rewrite one attribute; return True if it now leads into the bag."""
        name = attribute.name
        if name == _FRAMES.get(tag.name):
            return self.frame(attribute)
        if name in _URL_ATTRIBUTES:
            return self.url(attribute)
        if name in _SRCSET_ATTRIBUTES:
            return self.srcset(attribute)
        if name == "style":
            css = rewrite_css(attribute.value(self.text), self.base, self.css)
            if css is not None:
                self.set(attribute, css)
        elif name == "rel" and tag.name == "link":
            self.rel(attribute)
        elif name == "srcdoc" and tag.name == "iframe":
            self.srcdoc(attribute)
        return False

    def url(self, attribute: Attribute) -> bool:
        """Rewrite an attribute holding one URL; return True if it now leads into the bag."""
        rewritten = self.linker.rewrite(attribute.value(self.text), self.base)
        if rewritten.text is not None:
            self.set(attribute, rewritten.text)
        return rewritten.local

    def frame(self, attribute: Attribute) -> bool:
        """Rewrite the URL of a document opened inside the page (frame, object, embed).

        An original that a browser would open as a page, an SVG or an XML document is named
        by its URL, which the policy refuses: opened from its file, it would run its scripts
        and load what it names from the web. A page's access copy is opened.
        """
        url = resolve_in_document(attribute.value(self.text), self.base, self.linker.encoding)
        target = None if url is None else self.linker.catalog.target(url)
        opened_as_is = target is not None and not target.startswith(ACCESS_FOLDER + "/")
        if opened_as_is and url is not None and _ACTIVE_DOCUMENT.search(target or ""):
            self.set(attribute, url)
            return False
        return self.url(attribute)

    def srcset(self, attribute: Attribute) -> bool:
        """Rewrite a `srcset`; candidates not captured are dropped when any other was.

        A browser picks one candidate by size, not by what is on disk, and would pick one that
        cannot load. With no candidate captured, each is kept (made absolute).
        """
        candidates = srcset_candidates(attribute.value(self.text))
        results = [(self.linker.rewrite(url, self.base), url, size) for url, size in candidates]
        kept = [result for result in results if result[0].local] or results
        if len(kept) == len(results) and all(r.text is None for r, _, _ in results):
            return False
        parts = [(r.text if r.text is not None else url) + (f" {size}" if size else "")
                 for r, url, size in kept]  # fmt: skip
        self.set(attribute, ", ".join(parts))
        return any(r.local for r, _, _ in kept)

    def rel(self, attribute: Attribute) -> None:
        """Drop the link types that make a browser connect or fetch ahead by itself."""
        words = attribute.value(self.text).split()
        kept = [word for word in words if word.lower() not in NETWORK_HINTS]
        if len(kept) != len(words):
            self.set(attribute, " ".join(kept))

    def srcdoc(self, attribute: Attribute) -> None:
        """Rewrite an `<iframe srcdoc>`, a page of its own, as a page; emptied past `_MAX_DEPTH`."""
        inner = ""
        if self.depth < _MAX_DEPTH:
            value = attribute.value(self.text)
            inner = _rewrite_text(value, self.base, self.linker, None, self.depth + 1)[0]
        self.set(attribute, inner)

    def animation(self, tag: Token) -> None:
        """Rewrite the URLs an SVG `<animate>` or `<set>` gives a link (`href`) over time."""
        target = tag.attribute("attributename")
        if target is None or target.value(self.text).strip(SPACE) not in _ANIMATED_URL:
            return
        for name in ("from", "to", "by"):
            found = tag.attribute(name)
            if found is not None:
                self.url(found)
        values = tag.attribute("values")
        if values is not None:
            parts = values.value(self.text).split(";")
            rewritten = [self.linker.rewrite(part, self.base).text for part in parts]
            if any(text is not None for text in rewritten):
                kept = [text or part for text, part in zip(rewritten, parts, strict=True)]
                self.set(values, ";".join(kept))

    def base_tag(self, tag: Token) -> None:
        """Follow the first HTML `<base href>` for what comes after it; remove every `href`.

        Left in place, it would resolve the copy's relative links against the live site. An
        SVG or MathML `<base>` means nothing to a browser, so it is not followed.
        """
        hrefs = [attribute for attribute in tag.attributes if attribute.name == "href"]
        if not hrefs:
            return
        if not self.base_seen and tag.namespace == "html":
            self.base_seen = True
            value = hrefs[0].value(self.text)
            found = resolve_in_document(value, self.base, self.linker.encoding)
            self.base = found or self.base
        self.edits += [(href.start, href.end, "") for href in hrefs]

    def meta_tag(self, tag: Token) -> None:
        """Disable the page's own policy and a refresh that would leave the bag.

        A refresh to a captured page leads to its copy; one that only reloads the page is
        kept; any other is made inactive.
        """
        equiv = tag.attribute("http-equiv")
        if equiv is None:
            return
        value = equiv.value(self.text).strip(SPACE).lower()
        if value in _POLICY_EQUIV:
            # The page's policy would be enforced with ours and could refuse the copy's files.
            self.set(equiv, f"x-archived-{value}")
            return
        content = tag.attribute("content")
        if value != "refresh" or content is None:
            return
        text = content.value(self.text)
        refresh = read_refresh(text)
        if refresh is not None and not refresh.url and stays_in_place(text):
            return
        if refresh is not None and refresh.url:
            rewritten = self.linker.rewrite(refresh.url, self.base)
            if rewritten.local and rewritten.text is not None:
                local = text[: refresh.prefix] + rewritten.text
                again = read_refresh(local)
                if again is not None and again.url == rewritten.text and stays_in_place(local):
                    self.set(content, local)
                    return
        self.set(equiv, "x-archived-refresh")

    def param_tag(self, tag: Token) -> bool:
        """Rewrite a plug-in `<param>` that names a file; return True if it leads into the bag."""
        name = tag.attribute("name")
        value = tag.attribute("value")
        if name is None or value is None:
            return False
        if name.value(self.text).strip(SPACE).lower() not in _PARAM_NAMES:
            return False
        return self.url(value)

    def set(self, attribute: Attribute, value: str) -> None:
        """Replace an attribute's value (quotes included) with `value`, double-quoted."""
        quoted = '"' + value.replace("&", "&amp;").replace('"', "&quot;") + '"'
        if attribute.quote:
            self.edits.append((attribute.value_start - 1, attribute.value_end + 1, quoted))
        else:
            self.edits.append((attribute.value_start, attribute.value_end, quoted))


def _insertion_point(text: str, tokens: list[Token]) -> int:
    """Return where the copy's `<meta>` elements go: first in `<head>`, else as early as valid.

    After the `<head>` tag when it comes first (past a doctype, comments and `<html>`); else
    after `<html>`; else after the doctype and comments. Never after text, which would open
    the body, where a policy in `<meta>` is ignored; never before the doctype, which would
    change the rendering mode.
    """
    position = 0
    for token in tokens:
        if text[position : token.start].strip(SPACE):
            break
        if token.kind in ("doctype", "comment") or (token.kind, token.name) == ("start", "html"):
            position = token.end
        elif token.kind == "start" and token.name == "head":
            return token.end
        else:
            break
    return position


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Return `text` with each (start, end, replacement) edit made; edits never overlap."""
    parts, position = [], 0
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        parts += [text[position:start], replacement]
        position = end
    parts.append(text[position:])
    return "".join(parts)
