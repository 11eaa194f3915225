"""The inputs of a capture, checked before any work: seeds, option values, the bag's name."""

from __future__ import annotations

import math
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote, urlsplit

from preserve.bag.info import check_user_label
from preserve.errors import BadInput
from preserve.models import ALLOWED_CHECKSUMS, CaptureOptions, FetchFailure, FetchResult
from preserve.scope import SCOPES, compile_patterns
from preserve.urls import canonicalize, is_web_url

# A host name, IPv4 or bracketed IPv6 address, an optional port, then a path, query or
# fragment: what a user types when leaving out `http://`.
_HOST_LIKE = re.compile(
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?)"
    r"(?P<port>:[0-9]{1,5})?(?:[/?#]\S*)?"
)


MAX_LIST_LINE = 8192
"""Bytes in one line of a URL list (`-i`), line break excluded; a longer line is refused."""

MAX_LIST_LINES = 1_000_000
"""Lines in a URL list, blank and comment lines included."""

MAX_LIST_URLS = 10_000
"""URLs in a URL list: each is a bag, and all are checked before the first is fetched."""


@dataclass(frozen=True, slots=True)
class ListedSeed:
    """A seed as the user gave it, and where: `FILE:LINE`, or `command-line URL N`."""

    text: str
    where: str


@dataclass(frozen=True, slots=True)
class Seed:
    """A validated input: a canonical http(s) URL, or a local HTML file and its folder."""

    url: str
    local_file: Path | None = None

    @property
    def root(self) -> Path | None:
        """Return the folder a local seed's requisites must stay inside."""
        return None if self.local_file is None else self.local_file.parent

    def display(self, url: str) -> str:
        """Return how a URL is written in records: local files relative to the seed folder."""
        root = self.root
        if root is None or not url.startswith("file:"):
            return url
        path = Path(unquote(urlsplit(url).path))
        try:
            return "file:" + quote(path.relative_to(root).as_posix())
        except ValueError:
            return "file:" + quote(path.name)

    def fetch_local(
        self, url: str, tmp_dir: Path, checksums: tuple[str, ...], max_size: int
    ) -> FetchResult:
        """Copy the local file `url` names into `tmp_dir`, hashed, if it is inside the root.

        A file outside the seed's folder (by path or through a link), missing, unreadable
        or over `max_size` gives a result whose `error` says so.
        """
        # Imported here: the command line reads seeds before it loads any capture code.
        from preserve.fetch import copy_local_file

        root = self.root
        path = Path(unquote(urlsplit(url).path))
        if root is None:
            return FetchResult(
                url, url, (), failure=FetchFailure("local", "local file outside a local capture")
            )
        if "\x00" in str(path):
            return FetchResult(url, url, (), failure=FetchFailure("local", "NUL in the file name"))
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return FetchResult(url, url, (), failure=FetchFailure("local", "no such file"))
        if not resolved.is_relative_to(root) or not path.absolute().is_relative_to(root):
            return FetchResult(
                url, url, (), failure=FetchFailure("local", "outside the seed's folder")
            )
        if not resolved.is_file():
            return FetchResult(url, url, (), failure=FetchFailure("local", "not a file"))
        try:
            body = copy_local_file(resolved, tmp_dir, checksums, max_size)
        except ValueError as exc:
            return FetchResult(url, url, (), failure=FetchFailure("local", str(exc)))
        except PermissionError:
            return FetchResult(url, url, (), failure=FetchFailure("local", "permission denied"))
        return FetchResult(url, url, (), body=body, received_bytes=body.size)


def parse_seed(text: str) -> Seed:
    """Return the Seed for a URL or local path given by the user; raise BadInput otherwise.

    Accepts absolute http(s) URLs with a host, `file://` URLs and paths of existing local
    files. Refuses other schemes, text that is not a URL, an empty string and a URL with
    no host.
    """
    raw = text.strip()
    if not raw:
        raise BadInput("empty URL")
    if any(ord(c) < 32 or c == "\x7f" for c in raw):
        raise BadInput(f"URL contains control characters: {raw!r}")
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", raw)
    scheme = match.group(1).lower() if match else ""
    if scheme in ("http", "https"):
        if not is_web_url(raw):
            raise BadInput(f"not a valid {scheme} URL (no host): {raw}")
        try:
            return Seed(canonicalize(raw))
        except ValueError as exc:
            raise BadInput(f"not a valid URL: {raw} ({exc})") from exc
    if scheme == "file":
        parts = urlsplit(raw)
        if parts.netloc not in ("", "localhost"):
            raise BadInput(f"file URL on another host is not supported: {raw}")
        return _local_seed(Path(unquote(parts.path)), raw)
    try:
        path = Path(raw).expanduser()
    except RuntimeError as exc:
        # `~name/...` for a user this system does not know.
        raise BadInput(f"not a URL or an existing file: {raw} ({exc})") from exc
    exists = _exists(path)
    hint = None if exists else _web_hint(raw)
    if hint is not None:
        raise BadInput(f"not a URL or an existing file: {raw}", hint=hint)
    if scheme and len(scheme) > 1:
        raise BadInput(f"unsupported URL scheme {scheme!r}: {raw} (use http, https or a file)")
    if exists or raw.startswith(("/", "./", "../", "~")) or os.sep in raw:
        return _local_seed(path, raw)
    raise BadInput(f"not a URL or an existing file: {raw}")


def _exists(path: Path) -> bool:
    """Return whether `path` exists; a name too long to look up does not."""
    try:
        return path.exists()
    except OSError:
        return False


def _is_file(path: Path) -> bool:
    """Return whether `path` is a file; a name too long to look up is not."""
    try:
        return path.is_file()
    except OSError:
        return False


def _web_hint(raw: str) -> str | None:
    """Return "did you mean http://RAW?" when `raw` is a host (with a dot or port) sans scheme.

    `localhost:8765/x` reads as a URL of scheme `localhost`, so the port is what tells.
    """
    match = _HOST_LIKE.fullmatch(raw)
    if match is None:
        return None
    host, port = match["host"], match["port"]
    if not (port or "." in host.strip(".") or host.startswith("[") or host.lower() == "localhost"):
        return None
    candidate = f"http://{raw}"
    return f"did you mean {candidate}?" if is_web_url(candidate) else None


def _local_seed(path: Path, raw: str) -> Seed:
    if not _is_file(path):
        raise BadInput(f"no such file: {raw}")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise BadInput(f"cannot read {raw}: {exc.strerror}") from exc
    absolute = path.resolve()
    return Seed(absolute.as_uri(), local_file=absolute)


def read_url_list(
    stream: BinaryIO,
    name: str,
    *,
    max_line: int = MAX_LIST_LINE,
    max_lines: int = MAX_LIST_LINES,
    max_urls: int = MAX_LIST_URLS,
) -> list[ListedSeed]:
    """Return the URLs of a list read from `stream`, one per line, each with `NAME:LINE`.

    Lines are UTF-8 (a byte-order mark is ignored), end in LF or CRLF and are stripped; blank
    lines and lines starting with # are skipped. Read line by line within the bounds: a line
    over `max_line` bytes, more than `max_lines` lines or `max_urls` URLs, or a line that is
    not UTF-8 raises BadInput naming where. The URLs themselves are not checked here.
    """
    listed: list[ListedSeed] = []
    number = 0
    while raw := stream.readline(max_line + 2):
        number += 1
        if number > max_lines:
            raise BadInput(f"{name}: more than {max_lines:,} lines")
        line = raw.removesuffix(b"\n").removesuffix(b"\r")
        if len(line) > max_line:
            raise BadInput(f"{name}:{number}: line longer than {max_line:,} bytes")
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        try:
            text = line.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            raise BadInput(f"{name}:{number}: not UTF-8 text") from exc
        if not text or text.startswith("#"):
            continue
        if len(listed) == max_urls:
            raise BadInput(f"{name}: more than {max_urls:,} URLs")
        listed.append(ListedSeed(text, f"{name}:{number}"))
    return listed


def refuse_duplicates(seeds: Sequence[tuple[Seed, str]]) -> None:
    """Raise BadInput if a URL (or local file) is given twice, naming where both times."""
    first: dict[str, str] = {}
    twice: list[tuple[str, str, str]] = []
    for seed, where in seeds:
        if seed.url in first:
            twice.append((seed.url, first[seed.url], where))
        else:
            first[seed.url] = where
    if twice:
        url, earlier, later = twice[0]
        more = f"; {len(twice) - 1} more given twice" if len(twice) > 1 else ""
        raise BadInput(
            f"{url} is given twice, at {earlier} and {later}{more}",
            hint="each URL makes its own bag: give it once",
        )


WEAK_CHECKSUMS = ("md5", "sha1")
"""Algorithms for which collisions can be made on purpose: fixity against accident only."""


def weak_checksum_warning(checksums: Sequence[str]) -> str | None:
    """Return a warning when every manifest algorithm is weak (md5, sha1), else None."""
    if not checksums or any(alg not in WEAK_CHECKSUMS for alg in checksums):
        return None
    chosen = " and ".join(dict.fromkeys(checksums))
    return (
        f"--checksum {chosen} alone is weak for preservation: a file can be altered to keep "
        f"the same digest (add --checksum sha256 or sha512)"
    )


NAME_MAX = 255 - len(".warc.gz")
"""Bytes in a bag's name: `<name>.warc.gz` is written inside the bag, in 255 bytes."""
BOUNDS: dict[str, tuple[str, float, float]] = {
    # option: (flag, lowest, highest); a number outside, NaN or infinite is refused.
    "timeout": ("--timeout", 0.001, 86_400),
    "wait": ("--wait", 0, 86_400),
    "retry_backoff": ("retry back-off", 0, 3_600),
    "retries": ("--retries", 0, 100),
    "max_redirects": ("--max-redirects", 0, 100),
    "max_size": ("--max-size", 1, 1024**5),
    "max_bytes": ("--max-bytes", 1, 1024**5),
    "max_pages": ("--max-pages", 1, 10_000_000),
    "max_requisites": ("--max-requisites", 0, 10_000_000),
    "workers": ("--workers", 1, 256),
    "host_workers": ("--host-workers", 1, 256),
    "depth": ("--depth", 0, 1_000),
    "browser_timeout": ("--browser-timeout", 0.1, 3_600),
    "browser_quiet_ms": ("--browser-quiet", 0, 60_000),
    "browser_scrolls": ("--browser-scrolls", 0, 1_000),
}
"""The range of each numeric option: wide for any real use, narrow enough that no value
asks for more threads, time or memory than a machine has."""


def _check_bounds(options: CaptureOptions) -> None:
    """Raise BadInput for a numeric option that is not a finite number within its range."""
    for name, (flag, lowest, highest) in BOUNDS.items():
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadInput(f"{flag} must be a number, not {value!r}")
        finite = isinstance(value, int) or math.isfinite(value)
        if not finite or not lowest <= value <= highest:
            span = f"from {_shown(lowest)} to {_shown(highest)}"
            raise BadInput(f"{flag} must be {span}, not {_shown(value)}")


def _shown(value: float) -> str:
    """Return a number for a message: a very long integer by its size, not its digits."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a number of {len(str(value)) if value.bit_length() < 10_000 else 'many'} digits"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def validate_options(options: CaptureOptions) -> None:
    """Raise BadInput for option values no capture can use."""
    for alg in options.checksums:
        if alg not in ALLOWED_CHECKSUMS:
            allowed = ", ".join(ALLOWED_CHECKSUMS)
            raise BadInput(f"unsupported checksum algorithm {alg!r} (allowed: {allowed})")
    if not options.checksums:
        raise BadInput("at least one --checksum algorithm is needed")
    _check_bounds(options)
    if options.cookies is not None and not options.cookies.is_file():
        raise BadInput(f"cookies file not found: {options.cookies}")
    if options.ca_bundle is not None and not options.ca_bundle.is_file():
        raise BadInput(f"CA bundle not found: {options.ca_bundle}")
    for label, _value in options.bag_info.extra:
        check_user_label(label)
    if options.name is not None and len(options.name.encode("utf-8", "surrogatepass")) > NAME_MAX:
        raise BadInput(
            f"invalid bag name {options.name[:40]!r}…: it is longer than {NAME_MAX} bytes",
            hint="the bag's WARC is named after it, and a file name holds 255 bytes",
        )
    if options.proxy is not None and not is_web_url(options.proxy):
        raise BadInput(f"--proxy must be an http(s) URL with a host: {options.proxy}")
    if options.scope not in SCOPES:
        raise BadInput(f"unknown --scope {options.scope!r} (one of: {', '.join(SCOPES)})")
    try:
        compile_patterns(options.include, "--include")
        compile_patterns(options.exclude, "--exclude")
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    if options.browser:
        # Chromium missing is found before any request, for a capture and for a batch row;
        # imported here, so that reading seeds does not load the browser package.
        from preserve.browser import find_chromium

        find_chromium()


def default_bag_name(seed: Seed, when: datetime, capture_id: uuid.UUID) -> str:
    """Return `<host>-<YYYYMMDDTHHMMSSZ>-<8 hex>`, the default bag folder name."""
    host = "file" if seed.local_file is not None else (urlsplit(seed.url).hostname or "bag")
    host = re.sub(r"[^a-z0-9.-]", "_", host.lower()).strip(".") or "bag"
    return f"{host}-{when.strftime('%Y%m%dT%H%M%SZ')}-{capture_id.hex[:8]}"
