"""URLs as preserve handles them: resolved and canonicalised the way a browser would."""

from __future__ import annotations

import codecs
import re
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit, urlunsplit

import idna

WEB_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# RFC 3986 unreserved characters: percent-encodings of these are decoded when canonicalising.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
# Characters left as they are in a path or query; everything else is percent-encoded (UTF-8).
_PATH_SAFE = "/!$&'()*+,;=:@~-._%"
_QUERY_SAFE = "/?!$&'()*+,;=:@~-._%"
_STRIPPED = "\t\n\r"


def _normalise_percent(text: str) -> str:
    """Upper-case percent-encodings, decode those of unreserved characters, escape a lone %."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    text = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", text)
    return _PCT.sub(fix, text)


def _host_ascii(host: str) -> str:
    """Return the host in lower-case ASCII (IDNA/punycode for international names)."""
    host = host.strip().rstrip(".").lower() if host not in (".",) else host
    if not host:
        raise ValueError("no host")
    if host.startswith("[") or ":" in host:
        return "[" + host.strip("[]") + "]"
    if all(ord(c) < 128 for c in host):
        if re.search(r"[\s/\\?#@]", host):
            raise ValueError(f"invalid host {host!r}")
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"invalid host {host!r}: {exc}") from exc


def _remove_dot_segments(path: str) -> str:
    """Apply RFC 3986 section 5.2.4 to a path: `.` and `..` segments never survive."""
    if not path:
        return "/"
    out: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def canonicalize(url: str) -> str:
    """Return the canonical form of an absolute http(s) or file URL.

    Lower-cases scheme and host, encodes an international host with IDNA, drops the default
    port and the fragment, makes an empty path `/`, percent-encodes non-ASCII and unsafe
    characters as UTF-8 and normalises existing percent-encodings. Raises ValueError for a
    URL that is not absolute, has no host, or a port that is not a number.
    """
    url = url.strip(" \x00\x0c").translate({ord(c): None for c in _STRIPPED})
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme:
        raise ValueError(f"not an absolute URL: {url!r}")
    if scheme == "file":
        path = _remove_dot_segments(quote(_normalise_percent(parts.path), safe=_PATH_SAFE))
        return urlunsplit(("file", "", path, "", ""))
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid port in {url!r}") from exc
    host = _host_ascii(parts.hostname or "")
    netloc = host
    if parts.username is not None or parts.password is not None:
        creds = quote(unquote(parts.username or ""), safe="")
        if parts.password is not None:
            creds += ":" + quote(unquote(parts.password), safe="")
        netloc = f"{creds}@{host}"
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    path = _remove_dot_segments(quote(_normalise_percent(parts.path), safe=_PATH_SAFE)) or "/"
    query = quote(_normalise_percent(parts.query), safe=_QUERY_SAFE)
    return urlunsplit(SplitResult(scheme, netloc, path, query, ""))


def resolve(reference: str, base_url: str) -> str | None:
    """Resolve a reference found in a document against its base URL, as a browser does.

    Strips surrounding whitespace and embedded tabs and newlines, drops the fragment, and
    returns the canonical absolute URL, or None for an empty, `data:`, `javascript:`,
    `mailto:` or other non-web reference and for anything malformed.
    """
    ref = reference.strip(" \t\n\r\x0c\x00").translate({ord(c): None for c in _STRIPPED})
    if not ref or ref.startswith("#"):
        return None
    scheme_match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", ref)
    if scheme_match and scheme_match.group(1).lower() not in WEB_SCHEMES | {"file"}:
        return None
    ref = ref.replace("\\", "/")
    if scheme_match and not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]", ref):
        return None
    try:
        absolute = urljoin(base_url, ref)
        if urlsplit(absolute).scheme.lower() not in WEB_SCHEMES | {"file"}:
            return None
        return canonicalize(absolute)
    except ValueError:
        return None


def is_web_url(url: str) -> bool:
    """Return True for an absolute http or https URL with a host."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)
    except ValueError:
        return False


def encode_query(reference: str, encoding: str) -> str:
    """Return `reference` with the non-ASCII characters of its query encoded in `encoding`.

    This is what a browser does with a URL in a page that is not UTF-8: the path is always
    UTF-8, the query is in the document's encoding, and a character that encoding cannot
    hold becomes `&#N;` (percent-encoded). UTF-8, UTF-16 and unknown encodings leave the
    reference as it is, so `resolve` encodes it as UTF-8.
    """
    head, mark, rest = reference.partition("?")
    if not mark or rest.isascii():
        return reference
    query, hash_mark, fragment = rest.partition("#")
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        return reference
    if codec in ("utf-8", "utf-16", "utf-16-le", "utf-16-be"):
        return reference
    encoded = []
    for char in query:
        if char.isascii():
            encoded.append(char)
            continue
        try:
            data = char.encode(codec)
        except UnicodeEncodeError:
            data = f"&#{ord(char)};".encode("ascii")
        encoded.append(quote(data, safe=""))
    return head + mark + "".join(encoded) + hash_mark + fragment


def resolve_in_document(reference: str, base_url: str, encoding: str) -> str | None:
    """Resolve a reference found in a document decoded from `encoding`, as a browser does.

    As `resolve`, but a non-ASCII query is encoded in the document's encoding, not UTF-8.
    """
    return resolve(encode_query(reference, encoding), base_url)
