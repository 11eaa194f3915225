"""Where a captured URL is stored in the bag: a pure, portable, collision-free payload path.

Payload paths are relative to the bag's `data/` folder, POSIX, and start with `web/`. They
depend on the URL alone (never on fetch order or on other URLs), so parallel workers and golden
files agree; only a URL whose path another URL of the bag already has takes a twin path (rule
8). The input is a canonical URL, as `preserve.urls.canonicalize` returns it.

1. Host folder, directly under `web/`: `host` for http on port 80, `host+port` for http on
   another port (`127.0.0.1+8080`), `host+https` for https on 443, `host+https+port` otherwise.
   An IPv6 literal keeps its brackets and has its colons turned into hyphens (`[--1]`).
   `web/file/` holds local-file captures, so a web host folder that would be `file` is
   `file+http`. A host that is not plain (a character outside `a-z0-9-._`, a leading `.` or
   `-`, a trailing `.`, more than 200 bytes, a Windows-reserved stem, a port not written
   canonically, or user information in the URL) gets `<sanitised host>~<8 hex>`, hashing
   `"h:" + scheme://netloc`; credentials never show.
2. The URL path is split on `/`: every segment but the last names a folder, the last names the
   file. An empty last segment is `index.html`; with a query it is the stem `index` with the
   query suffix of rule 6 and the extension `.html` (`/?p=1` becomes `index@p=1~<hash>.html`).
3. A segment is plain when percent-decoding it (UTF-8, strict) and re-encoding it gives it back;
   the decoded text is NFC, equal to its lower case and to its case fold; every character is a
   letter or digit (`str.isalnum`) or one of `-._=,;!'()&$`; it starts with neither `.` nor `-`
   and does not end with `.`; its stem (up to the first `.`) is not Windows-reserved (`con`,
   `prn`, `aux`, `nul`, `conin$`, `conout$`, `com0`-`com9`, `lpt0`-`lpt9`, also with `¹²³`); and
   it is at most 200 bytes of UTF-8. A folder segment must also contain no `.`. A file segment
   must also contain a `.`, must not be `index.html`, and the URL must have no query.
4. A plain segment is stored as its decoded text.
5. Any other folder segment becomes `<base>+<8 hex>`: base is the decoded text lower-cased,
   NFC, with every character that is not a letter, digit or one of `-_=,;!'()&$` (so `.` too)
   replaced by `_`, runs of `_` collapsed, leading `-` and `_` stripped, cut to 60 bytes on a
   character boundary, `_` if empty; the hash is of `"d:" + the URL up to this segment`.
6. Any other file segment becomes `<stem>[@<query>]~<8 hex>[.<ext>]`: ext is what follows the
   last `.` when that is 1 to 10 ASCII letters or digits (lower-cased); stem is the rest and the
   query is the decoded query, both sanitised as in rule 5; the hash is of `"f:" + the URL`.
7. A path over 1,024 bytes (or with a segment over 255) becomes
   `web/<host folder>/~long/<32 hex>[.<ext>]`, hashing `"l:" + the URL`.
8. Twins. Eight hex digits tell two URLs apart until about 77,000 URLs share a sanitised
   name, so two URLs of one bag can be given one path (a birthday search finds a pair in a
   second). The bag, which knows what it holds, then asks for twin 1, 2, ... of the URL that
   comes second until one is free. Twin 1 keeps the folders and names the file as rule 6
   does, even a plain or `index.html` file, with 32 hex digits of the same hash:
   `<stem>[@<query>]~<32 hex>[.<ext>]`; over the limits of rule 7, or for twin n > 1, it is
   `web/<host folder>/~long/<32 hex>-<n>[.<ext>]`.

Why names never collide: `+` and `~` are never in a plain segment nor in sanitised text, so the
four forms are disjoint. A plain folder has no `.`, `+` or `~`; a plain file has a `.` and no
`+` or `~`; a hashed folder has a `+` and no `.` or `~`; a hashed file has a `~` and no `+`.
So a file and a folder never share a name (`/a` is the file `a~<hash>`, `/a/b` needs the folder
`a`), and `~long`, starting with `~` where no URL-derived name does, is never a URL's folder.
Host folders are alone on their level, where no file lives; only a hashed one has a `~`.
Twin names are files with 32 hex digits after the `~` (where rule 6 writes 8), or, in `~long`,
with a `-` after the hex (where rule 7 writes none), so no twin has a name rule 1 to 7 gives.
A plain name determines its URL segment (decoding is undone exactly) and a hashed name carries a
hash of the URL itself, so two URLs share a path only if their hashes collide. Plain names are
their own case fold and NFC form, and a hashed name's hash survives both, so names stay distinct
on case-insensitive and normalising file systems. No segment is empty, `.` or `..`, or holds
`%`, `\\`, `/`, `:`, a control character or a trailing dot or space.

Local-file captures use the same segment rules under `web/file/`, on the file's path relative
to the seed's folder, percent-encoded as a URL path would be.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import quote, unquote

__all__ = ["host_folder", "is_portable_name", "local_payload_path", "payload_path"]

WEB_FOLDER = "web"
LOCAL_FOLDER = "file"
LONG_FOLDER = "~long"
MAX_PATH_BYTES = 1024
MAX_NAME_BYTES = 255

_PLAIN_BYTES = 200
_TEXT_BYTES = 60
_KEPT_PUNCT = frozenset("-_=,;!'()&$")
_PLAIN_PUNCT = "-._=,;!'()&$"
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {stem + digit for stem in ("com", "lpt") for digit in "0123456789¹²³"}
)
_UNPORTABLE = frozenset('/\\:*?"<>|%')
_URL = re.compile(r"(https?)://([^/?]+)([^?]*)(?:\?(.*))?", re.DOTALL)
_HOST_PORT = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_][a-z0-9._-]*)(?::(0|[1-9][0-9]{0,4}))?")
_EXT = re.compile(r"[A-Za-z0-9]{1,10}")
_UNDERSCORES = re.compile(r"_+")


def payload_path(url: str, twin: int = 0) -> str:
    """Return where the canonical http(s) `url` is stored, relative to the bag's `data/`.

    `twin` n > 0 gives the n-th path to try when another URL of the bag has the path already
    (rule 8). Raises ValueError for a URL that is not absolute http(s) with a host.
    """
    match = _URL.fullmatch(url)
    if match is None:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    scheme, netloc, path, query = match.groups()
    origin = f"{scheme}://{netloc}"
    segments = (path or "/")[1:].split("/")
    return _assemble(_host_folder(scheme, netloc), origin, segments, query, url, twin=twin)


def local_payload_path(relative: str, twin: int = 0) -> str:
    """Return where a local file is stored under `data/`, given its path from the seed's folder.

    The path is POSIX, as `css/style.css`; `twin` is as for `payload_path`. Raises ValueError
    for an absolute path or one with an empty, `.` or `..` segment.
    """
    segments = relative.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(f"not a relative path inside the seed's folder: {relative!r}")
    # Encoded as a URL path would be, so the URL rules apply and `%` in a name stays distinct.
    encoded = [quote(segment, safe=_PLAIN_PUNCT) for segment in segments]
    origin = "file://"
    url = origin + "/" + "/".join(encoded)
    return _assemble(LOCAL_FOLDER, origin, encoded, None, url, local=True, twin=twin)


def host_folder(url: str) -> str:
    """Return the folder under `web/` that holds the captures of the canonical http(s) `url`.

    Raises ValueError for a URL that is not absolute http(s) with a host.
    """
    match = _URL.fullmatch(url)
    if match is None:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    return _host_folder(match.group(1), match.group(2))


def is_portable_name(name: str) -> bool:
    """Return True if `name` is safe as one path segment on Windows, macOS and Linux.

    Checks: not empty, `.` or `..`; at most 255 bytes of UTF-8; NFC; no control, format or line
    separator characters; none of `/ \\ : * ? " < > | %`; no trailing dot or space; no
    Windows-reserved stem.
    """
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return (
        bool(name)
        and size <= MAX_NAME_BYTES
        and unicodedata.is_normalized("NFC", name)
        and not any(char in _UNPORTABLE or _is_control(char) for char in name)
        # A trailing dot also rules out `.` and `..`.
        and not name.endswith((".", " "))
        and not _is_reserved(name)
    )


def _assemble(
    folder: str,
    origin: str,
    segments: list[str],
    query: str | None,
    url: str,
    *,
    local: bool = False,
    twin: int = 0,
) -> str:
    """Return the payload path from the host folder and the URL path segments.

    A local path never names a folder itself, so a local `index.html` keeps its name.
    """
    if twin < 0:
        raise ValueError(f"a twin is numbered from 1: {twin}")
    names = [
        _folder_name(segment, origin + "/" + "/".join(segments[: index + 1]))
        for index, segment in enumerate(segments[:-1])
    ]
    name, ext = _file_name(segments[-1], query, url, local=local, twin=twin > 0)
    parts = [WEB_FOLDER, folder, *names, name]
    path = "/".join(parts)
    fits = len(path.encode("utf-8")) <= MAX_PATH_BYTES and all(
        len(part.encode("utf-8")) <= MAX_NAME_BYTES for part in parts
    )
    if fits and twin <= 1:
        return path
    tail = _digest("l:", url, 32) + (f"-{twin}" if twin else "") + (f".{ext}" if ext else "")
    return "/".join([WEB_FOLDER, folder, LONG_FOLDER, tail])


def _host_folder(scheme: str, netloc: str) -> str:
    """Return the host folder for a scheme and a canonical `host[:port]` (rule 1)."""
    match = None if "@" in netloc else _HOST_PORT.fullmatch(netloc)
    if match is not None:
        host, port = match.groups()
        default = "80" if scheme == "http" else "443"
        plain = (
            (host.startswith("[") or not (host.endswith(".") or _is_reserved(host)))
            and len(host) <= _PLAIN_BYTES
            and port != default
            and (port is None or int(port) <= 65535)
        )
        if plain:
            folder = host.replace(":", "-") + ("+https" if scheme == "https" else "")
            folder += f"+{port}" if port is not None else ""
            return "file+http" if folder == LOCAL_FOLDER else folder
    return f"{_sanitise(netloc.rpartition('@')[2])}~{_digest('h:', f'{scheme}://{netloc}')}"


def _folder_name(segment: str, prefix: str) -> str:
    """Return the folder name for a URL path segment that is not the last (rules 3 to 5)."""
    decoded = _plain(segment)
    if decoded is not None and "." not in decoded:
        return decoded
    return f"{_sanitise(unquote(segment, errors='replace'))}+{_digest('d:', prefix)}"


def _file_name(
    segment: str, query: str | None, url: str, *, local: bool = False, twin: bool = False
) -> tuple[str, str]:
    """Return the file name for the last URL path segment and its extension (rules 2 to 6).

    A twin's name is always hashed, with 32 hex digits (rule 8).
    """
    if not segment and query is None and not twin:
        return "index.html", "html"
    decoded = _plain(segment) if query is None and not twin else None
    text = unquote(segment, errors="replace") or "index.html"
    stem, dot, ext = text.rpartition(".")
    if not dot or not _EXT.fullmatch(ext):
        stem, ext = text, ""
    ext = ext.lower()
    if decoded is not None and "." in decoded and (local or decoded != "index.html"):
        return decoded, ext
    suffix = "" if query is None else "@" + _sanitise(unquote(query, errors="replace"))
    name = f"{_sanitise(stem)}{suffix}~{_digest('f:', url, 32 if twin else 8)}"
    return (f"{name}.{ext}" if ext else name), ext


def _plain(segment: str) -> str | None:
    """Return the decoded text of a plain URL path segment (rule 3), or None if it is not."""
    try:
        decoded = unquote(segment, errors="strict")
        if quote(decoded, safe=_PLAIN_PUNCT) != segment:
            return None
        size = len(decoded.encode("utf-8"))
    except UnicodeError:
        return None
    plain = (
        0 < size <= _PLAIN_BYTES
        and unicodedata.is_normalized("NFC", decoded)
        and decoded.casefold() == decoded.lower() == decoded
        and all(char.isalnum() or char in _PLAIN_PUNCT for char in decoded)
        and not decoded.startswith((".", "-"))
        and not decoded.endswith((".", " "))
        and not _is_reserved(decoded)
    )
    return decoded if plain else None


def _sanitise(text: str) -> str:
    """Return `text` as a short, safe, readable name part (rule 5), `_` if nothing is left."""
    text = unicodedata.normalize("NFC", text.lower())
    text = "".join(char if char.isalnum() or char in _KEPT_PUNCT else "_" for char in text)
    text = _UNDERSCORES.sub("_", text).lstrip("-_")
    text = text.encode("utf-8")[:_TEXT_BYTES].decode("utf-8", errors="ignore")
    # Cutting and replacing never join two letters, but a name must be NFC whatever happens.
    if not unicodedata.is_normalized("NFC", text):
        text = "".join(char if char.isascii() else "_" for char in text)
    return text or "_"


def _digest(kind: str, text: str, length: int = 8) -> str:
    """Return the first `length` hex digits of the SHA-256 of `kind + text`."""
    data = (kind + text).encode("utf-8", errors="surrogatepass")
    return hashlib.sha256(data).hexdigest()[:length]


def _is_reserved(name: str) -> bool:
    """Return True if the stem of `name` (up to the first dot) is a Windows device name."""
    return name.split(".", 1)[0].rstrip(" ").lower() in _RESERVED


def _is_control(char: str) -> bool:
    """Return True for a control, format, unassigned or line/paragraph separator character."""
    category = unicodedata.category(char)
    return category.startswith("C") or category in ("Zl", "Zp")
