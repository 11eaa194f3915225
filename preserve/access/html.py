"""Pages for the access copy: links rewritten in place, a charset and a security policy added."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from preserve.access.catalog import Catalog, Document, Linker, base_url
from preserve.access.charsets import codec_name, decode, encode, split_bom, web_label
from preserve.access.css import rewrite_css
from preserve.access.tokens import Attribute, Token, tokenize
from preserve.discover import decode_html, srcset_candidates
from preserve.urls import resolve_in_document

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src file: data: blob:; media-src file: data: blob:; "
    "font-src file: data:; style-src file: 'unsafe-inline'; "
    "script-src file: 'unsafe-inline' 'unsafe-eval'; frame-src file:; child-src file:; "
    "object-src file:; connect-src 'none'; form-action 'none'; base-uri 'none'"
)
"""The policy every access page declares: files and inline data only, never the network.

`file:` rather than `'self'`: for a page opened from disk, Chromium's `'self'` matches every
`file:` URL anyway, and other browsers give file: pages an opaque origin that `'self'` may
not match at all. A folder cannot be named without the absolute path of the bag, which moves.
"""

_SPACE = "\t\n\x0c\r "
# Attributes holding one URL, on whatever element they appear.
_URL_ATTRIBUTES = frozenset(
    {"src", "href", "xlink:href", "background", "lowsrc", "dynsrc", "poster", "longdesc",
     "cite", "action", "formaction", "data-src", "data-original", "data-lazy-src"}
)  # fmt: skip
_SRCSET_ATTRIBUTES = frozenset({"srcset", "imagesrcset", "data-srcset", "data-lazy-srcset"})
# Plug-in parameters that name a file (Flash, QuickTime, Windows Media, RealPlayer).
_PARAM_NAMES = frozenset({"movie", "src", "filename", "url"})
# Hints that open connections or fetch ahead of time without any policy being asked.
_NETWORK_HINTS = frozenset({"dns-prefetch", "preconnect", "prefetch", "prerender"})
# A copy differs from its original, so a checksum of the original no longer matches; and a
# `crossorigin` request from a page opened from disk is refused by Chromium.
_ORIGIN_ONLY = ("integrity", "crossorigin")
_UNDECODED = re.compile("[\udc80-\udcff]")
_POLICY_EQUIV = frozenset({"content-security-policy", "content-security-policy-report-only"})
# WHATWG "shared declarative refresh steps": a time, a separator, an optional `url=`.
_REFRESH = re.compile(r"\A\s*[0-9.]+\s*[;,]?\s*(?:url\s*=\s*)?", re.IGNORECASE | re.ASCII)


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
    rewriter = _Rewriter(text, base_url(document.url), Linker(catalog, document.path, codec))
    tokens = list(tokenize(text))
    for token in tokens:
        rewriter.token(token)
    # A UTF-16 page keeps its byte order mark, which browsers read before any <meta>.
    header = f'<meta charset="{label}">' if label else ""
    header += f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
    position = _insertion_point(text, tokens)
    rewriter.edits.append((position, position, header))
    return Page(bom + encode(_apply(text, rewriter.edits), codec), rewriter.title)


@dataclass
class _Rewriter:
    """The edits that turn one page's text into its access copy, found tag by tag."""

    text: str
    base: str
    linker: Linker
    edits: list[tuple[int, int, str]] = field(default_factory=list)
    title: str | None = None
    base_seen: bool = False
    css: Linker = field(init=False)

    def __post_init__(self) -> None:
        # CSS URLs are resolved as UTF-8 whatever the page's encoding, as browsers do.
        self.css = Linker(self.linker.catalog, self.linker.origin)

    def token(self, token: Token) -> None:
        """Add the edits one token needs: a start tag's attributes, a `<style>`'s CSS."""
        if token.kind == "start":
            self.start_tag(token)
        elif token.kind == "raw" and token.name == "style":
            css = rewrite_css(self.text[token.start : token.end], self.base, self.css)
            if css is not None:
                self.edits.append((token.start, token.end, css))
        elif token.kind == "raw" and token.name == "title" and self.title is None:
            words = html.unescape(self.text[token.start : token.end]).split()
            # Bytes the page's encoding could not decode show as U+FFFD, as in a browser.
            self.title = _UNDECODED.sub("\ufffd", " ".join(words)) or None

    def start_tag(self, tag: Token) -> None:
        """Rewrite the URLs of a start tag's attributes (the first of each name, as browsers)."""
        name = tag.name
        if name == "base":
            self.base_tag(tag)
            return
        if name == "meta":
            self.meta_tag(tag)
        local = False
        seen: set[str] = set()
        for attribute in tag.attributes:
            if attribute.name in seen:
                continue
            seen.add(attribute.name)
            if attribute.name in _URL_ATTRIBUTES or (name == "object" and attribute.name == "data"):
                local |= self.url(attribute)
            elif attribute.name in _SRCSET_ATTRIBUTES:
                local |= self.srcset(attribute)
            elif attribute.name == "style":
                css = rewrite_css(attribute.value(self.text), self.base, self.css)
                if css is not None:
                    self.set(attribute, css)
            elif attribute.name == "rel" and name == "link":
                self.rel(attribute)
        if name == "param":
            local |= self.param_tag(tag)
        if local:
            for attribute_name in _ORIGIN_ONLY:
                found = tag.attribute(attribute_name)
                if found is not None:
                    self.edits.append((found.start, found.end, ""))

    def url(self, attribute: Attribute) -> bool:
        """Rewrite an attribute holding one URL; return True if it now leads into the bag."""
        rewritten = self.linker.rewrite(attribute.value(self.text), self.base)
        if rewritten.text is not None:
            self.set(attribute, rewritten.text)
        return rewritten.local

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
        kept = [word for word in words if word.lower() not in _NETWORK_HINTS]
        if len(kept) != len(words):
            self.set(attribute, " ".join(kept))

    def base_tag(self, tag: Token) -> None:
        """Follow the first `<base href>` for what comes after it, and remove every one.

        Left in place, it would resolve the copy's relative links against the live site.
        """
        href = tag.attribute("href")
        if href is None:
            return
        if not self.base_seen:
            self.base_seen = True
            found = resolve_in_document(href.value(self.text), self.base, self.linker.encoding)
            self.base = found or self.base
        self.edits.append((href.start, href.end, ""))

    def meta_tag(self, tag: Token) -> None:
        """Disable the page's own policy and a refresh that would leave the bag."""
        equiv = tag.attribute("http-equiv")
        if equiv is None:
            return
        value = equiv.value(self.text).strip(_SPACE).lower()
        if value in _POLICY_EQUIV:
            # The page's policy would be enforced with ours and could refuse the copy's files.
            self.set(equiv, f"x-archived-{value}")
            return
        content = tag.attribute("content")
        if value != "refresh" or content is None:
            return
        text = content.value(self.text)
        match = _REFRESH.match(text)
        target = text[match.end() :].strip(_SPACE).strip("'\"") if match else ""
        if not target:
            return
        rewritten = self.linker.rewrite(target, self.base)
        if rewritten.local and rewritten.text is not None and match is not None:
            self.set(content, text[: match.end()] + rewritten.text)
        else:
            self.set(equiv, "x-archived-refresh")

    def param_tag(self, tag: Token) -> bool:
        """Rewrite a plug-in `<param>` that names a file; return True if it leads into the bag."""
        name = tag.attribute("name")
        value = tag.attribute("value")
        if name is None or value is None:
            return False
        if name.value(self.text).strip(_SPACE).lower() not in _PARAM_NAMES:
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
        if text[position : token.start].strip(_SPACE):
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
