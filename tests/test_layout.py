"""Tests for preserve.layout: URL to payload path, by example and by property."""

from __future__ import annotations

import contextlib
import posixpath
import re
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from preserve.layout import host_folder, is_portable_name, local_payload_path, payload_path
from preserve.urls import canonicalize

HASH = "[0-9a-f]{8}"


def path_of(url: str) -> str:
    return payload_path(canonicalize(url))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/", "web/example.com/index.html"),
        ("http://example.com", "web/example.com/index.html"),
        ("http://example.com/css/style.css", "web/example.com/css/style.css"),
        ("http://127.0.0.1:8080/x.gif", "web/127.0.0.1+8080/x.gif"),
        ("https://example.com/a/b.js", "web/example.com+https/a/b.js"),
        ("http://[::1]/x.png", "web/[--1]/x.png"),
        ("https://[::1]:8443/x.png", "web/[--1]+https+8443/x.png"),
        ("http://example.com/caf%C3%A9.html", "web/example.com/café.html"),
        ("http://example.com/café/menu.html", "web/example.com/café/menu.html"),
        ("http://EXAMPLE.com:80/dir/", "web/example.com/dir/index.html"),
        ("http://file/x.html", "web/file+http/x.html"),
        ("http://bücher.de/a.b.c", "web/xn--bcher-kva.de/a.b.c"),
    ],
)
def test_plain_paths(url: str, expected: str) -> None:
    assert path_of(url) == expected


@pytest.mark.parametrize(
    ("url", "pattern"),
    [
        ("https://example.com:8443/a", rf"web/example\.com\+https\+8443/a~{HASH}"),
        ("http://example.com/?p=1", rf"web/example\.com/index@p=1~{HASH}\.html"),
        ("http://example.com/dir/?q=A+B", rf"web/example\.com/dir/index@q=a_b~{HASH}\.html"),
        ("http://example.com/a.css?v=2", rf"web/example\.com/a@v=2~{HASH}\.css"),
        ("http://example.com/a/b", rf"web/example\.com/a/b~{HASH}"),
        ("http://example.com/Index.HTML", rf"web/example\.com/index~{HASH}\.html"),
        ("http://example.com/index.html", rf"web/example\.com/index~{HASH}\.html"),
        ("http://example.com/CON.txt", rf"web/example\.com/con~{HASH}\.txt"),
        ("http://example.com/con/x.txt", rf"web/example\.com/con\+{HASH}/x\.txt"),
        ("http://example.com/lpt¹.txt", rf"web/example\.com/lpt¹~{HASH}\.txt"),
        ("http://example.com/cafe%CC%81.html", rf"web/example\.com/café~{HASH}\.html"),
        ("http://example.com/a%2Fb.txt", rf"web/example\.com/a_b~{HASH}\.txt"),
        ("http://example.com/a%2Fb/c.txt", rf"web/example\.com/a_b\+{HASH}/c\.txt"),
        ("http://example.com/v1.2/c.txt", rf"web/example\.com/v1_2\+{HASH}/c\.txt"),
        ("http://example.com/.htaccess", rf"web/example\.com/_~{HASH}\.htaccess"),
        ("http://example.com/a%20b.gif", rf"web/example\.com/a_b~{HASH}\.gif"),
        ("http://example.com/%E2%82%AC/", rf"web/example\.com/_\+{HASH}/index\.html"),
        ("http://u:secret@example.com/x.html", rf"web/example_com~{HASH}/x\.html"),
        ("http://con.example.com/", rf"web/con_example_com~{HASH}/index\.html"),
    ],
)
def test_hashed_paths(url: str, pattern: str) -> None:
    assert re.fullmatch(pattern, path_of(url))


@pytest.mark.parametrize(
    ("url", "folder"),
    [
        ("http://example.com/", "example.com"),
        ("http://example.com:8080/", "example.com+8080"),
        ("http://example.com:443/", "example.com+443"),
        ("https://example.com/", "example.com+https"),
        ("https://example.com:80/", "example.com+https+80"),
        ("http://[2001:db8::1]:81/", "[2001-db8--1]+81"),
    ],
)
def test_host_folder(url: str, folder: str) -> None:
    assert host_folder(canonicalize(url)) == folder


def test_file_and_folder_of_the_same_url_path_differ() -> None:
    file_a = path_of("http://example.com/a")
    under_a = path_of("http://example.com/a/b.html")
    assert under_a == "web/example.com/a/b.html"
    assert re.fullmatch(rf"web/example\.com/a~{HASH}", file_a)
    assert path_of("http://example.com/a/") == "web/example.com/a/index.html"


def test_case_and_unicode_twins_are_distinct() -> None:
    urls = [
        "http://example.com/a.html",
        "http://example.com/A.html",
        "http://example.com/caf%C3%A9.html",
        "http://example.com/CAF%C3%89.html",
        "http://example.com/cafe%CC%81.html",
        "http://example.com/stra%C3%9Fe.html",
        "http://example.com/strasse.html",
    ]
    keys = {unicodedata.normalize("NFC", path_of(url)).casefold() for url in urls}
    assert len(keys) == len(urls)


def test_hash_depends_on_the_whole_url() -> None:
    assert path_of("http://example.com/a") != path_of("http://example.com:8080/a").replace(
        "+8080", ""
    )
    assert path_of("http://example.com/x?a=1") != path_of("http://example.com/x?a=2")


def test_long_paths_are_shortened() -> None:
    url = canonicalize("http://example.com/" + "abcdefghij/" * 120 + "page.html")
    path = payload_path(url)
    assert re.fullmatch(r"web/example\.com/~long/[0-9a-f]{32}\.html", path)
    assert payload_path(url + "x") != path


def test_long_segments_are_bounded() -> None:
    path = path_of("http://example.com/" + "é" * 300 + "/" + "x" * 300 + ".txt")
    assert all(len(part.encode()) <= 255 for part in path.split("/"))
    assert len(path.encode()) <= 1024


def test_rejects_non_web_urls() -> None:
    for url in ("file:///etc/passwd", "ftp://example.com/", "example.com/a", "http:///a"):
        with pytest.raises(ValueError, match="http"):
            payload_path(url)


@pytest.mark.parametrize(
    ("relative", "pattern"),
    [
        ("style.css", r"web/file/style\.css"),
        ("css/style.css", r"web/file/css/style\.css"),
        ("images/café.png", r"web/file/images/café\.png"),
        ("images/a b.gif", rf"web/file/images/a_b~{HASH}\.gif"),
        ("index.html", r"web/file/index\.html"),
        ("Page.HTML", rf"web/file/page~{HASH}\.html"),
        ("a%41.txt", rf"web/file/a_41~{HASH}\.txt"),
        ("my dir/x.js", rf"web/file/my_dir\+{HASH}/x\.js"),
    ],
)
def test_local_payload_path(relative: str, pattern: str) -> None:
    assert re.fullmatch(pattern, local_payload_path(relative))


def test_local_payload_path_keeps_percent_names_distinct() -> None:
    assert local_payload_path("aA.txt") != local_payload_path("a%41.txt")


@pytest.mark.parametrize("relative", ["", "/etc/passwd", "../x.css", "a/./b.css", "a//b.css"])
def test_local_payload_path_rejects_paths_outside_the_folder(relative: str) -> None:
    with pytest.raises(ValueError, match="relative"):
        local_payload_path(relative)


@pytest.mark.parametrize(
    "name", ["a", "index.html", "café.html", "[--1]", "x~0123abcd.gif", "a+0123abcd"]
)
def test_portable_names(name: str) -> None:
    assert is_portable_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a.",
        "a ",
        "CON",
        "nul.txt",
        "com¹.js",
        "a:b",
        "a%20b",
        "a\\b",
        "a\nb",
        "a\x7fb",
        "a\u200bb",
        "cafe\u0301",
        "x" * 256,
        "\ud800",
    ],
)
def test_unportable_names(name: str) -> None:
    assert not is_portable_name(name)


SEGMENT_ALPHABET = "aAbzZ09.-_~+%2Fé\u0301ßİΣς \t?#;=@:!$&'()*,/\\\x00\x7f\u200b가\u212b"
SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "a",
            "A",
            "a.html",
            "A.HTML",
            "index.html",
            "con",
            "CON.txt",
            "com¹.js",
            "caf%C3%A9",
            "caf%c3%a9",
            "cafe%CC%81",
            "café",
            "a%2Fb",
            "%",
            "%zz",
            "%FF",
            "a%20b",
            "~long",
            "a~x",
            "a+b",
            "é" * 150,
            "x" * 300,
            "Straße.txt",
        ]
    ),
    st.text(alphabet=SEGMENT_ALPHABET, max_size=10),
    st.builds(lambda n, c: c * n, st.integers(40, 260), st.sampled_from("aé.%")),
)
HOSTS = st.sampled_from(
    ["example.com", "EXAMPLE.com", "bücher.de", "127.0.0.1", "[::1]", "file", "con", "a_b.c"]
)
PORTS = st.sampled_from(["", ":80", ":443", ":8080", ":0"])
QUERIES = st.none() | st.text(alphabet=SEGMENT_ALPHABET, max_size=12)
# Few, tricky choices so that generated lists hold twins, prefixes and long plain paths.
TWIN_SEGMENTS = st.sampled_from(
    [
        "",
        "a",
        "A",
        "a.html",
        "A.html",
        "index.html",
        "INDEX.HTML",
        "caf%C3%A9.html",
        "CAF%C3%89.html",
        "cafe%CC%81.html",
        "a=b.txt",
        "a%3Db.txt",
        "a%2Fb",
        "a_b",
        "a b",
        "a.b",
        "con",
        "stra%C3%9Fe",
        "strasse",
        "~long",
        "..",
        "x" * 199,
        "é" * 100,
    ]
)
TWIN_HOSTS = st.sampled_from(["example.com", "file", "[::1]"])
TWIN_PORTS = st.sampled_from(["", ":8080"])
TWIN_QUERIES = st.sampled_from([None, "", "p=1", "P=1", "p=%31"])


@st.composite
def web_urls(
    draw: st.DrawFn,
    segments: st.SearchStrategy[str] = SEGMENTS,
    hosts: st.SearchStrategy[str] = HOSTS,
    ports: st.SearchStrategy[str] = PORTS,
    queries: st.SearchStrategy[str | None] = QUERIES,
    depth: int = 8,
) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    path = "/".join(draw(st.lists(segments, max_size=depth)))
    query = draw(queries)
    url = f"{scheme}://{draw(hosts)}{draw(ports)}/{path}"
    if query is not None:
        url += "?" + query
    try:
        return canonicalize(url)
    except ValueError:
        assume(False)
        raise


LONG_SEGMENTS = st.sampled_from(["x" * 199, "é" * 100, "a", "b.c", "B"])
ANY_URLS = st.one_of(web_urls(), web_urls(TWIN_SEGMENTS, depth=9), web_urls(LONG_SEGMENTS, depth=9))


@st.composite
def url_families(draw: st.DrawFn) -> list[str]:
    """Draw a URL with its relatives: parents, `/`, `/index.html`, case twins, query twins."""
    origin = f"{draw(st.sampled_from(['http', 'https']))}://{draw(TWIN_HOSTS)}"
    segments = draw(st.lists(TWIN_SEGMENTS, max_size=4))
    paths = {"/".join(segments[:end]) for end in range(len(segments) + 1)}
    paths |= {path + suffix for path in paths for suffix in ("/", "/index.html", "/a.html")}
    paths |= {path.upper() for path in paths}
    query = draw(TWIN_QUERIES)
    urls = set()
    for path in paths:
        for tail in ("", "?" + query if query is not None else "?p=1"):
            with contextlib.suppress(ValueError):
                urls.add(canonicalize(f"{origin}/{path}{tail}"))
    return sorted(urls)


TWIN_LISTS = st.lists(url_families(), min_size=1, max_size=4).map(
    lambda families: sorted({url for family in families for url in family})
)


def fold(path: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", path).casefold())


@settings(deadline=None, max_examples=500)
@given(ANY_URLS)
def test_paths_stay_inside_data_and_are_portable(url: str) -> None:
    path = payload_path(url)
    parts = path.split("/")
    assert parts[0] == "web"
    assert not path.startswith("/")
    assert not any(char in path for char in "%\\\r\n")
    assert all(part not in ("", ".", "..") for part in parts)
    assert posixpath.normpath(posixpath.join("data", path)) == "data/" + path
    assert len(path.encode()) <= 1024
    assert all(is_portable_name(part) for part in parts), parts


@settings(deadline=None, max_examples=300)
@given(ANY_URLS)
def test_paths_are_deterministic(url: str) -> None:
    assert payload_path(url) == payload_path(url)
    assert payload_path(url).startswith(f"web/{host_folder(url)}/")


@settings(deadline=None, max_examples=300)
@given(TWIN_LISTS | st.lists(ANY_URLS, min_size=2, max_size=30, unique=True))
def test_distinct_urls_never_share_a_path(urls: list[str]) -> None:
    paths = [payload_path(url) for url in urls]
    assert len(set(paths)) == len(urls)
    assert len({fold(path) for path in paths}) == len(urls)


@settings(deadline=None, max_examples=300)
@given(TWIN_LISTS | st.lists(ANY_URLS, min_size=2, max_size=30, unique=True))
def test_no_path_is_both_a_file_and_a_folder(urls: list[str]) -> None:
    files = {payload_path(url) for url in urls}
    prefixes: set[str] = set()
    for path in files:
        parts = path.split("/")
        prefixes |= {"/".join(parts[:end]) for end in range(1, len(parts))}
    assert not files & prefixes
    assert not {fold(path) for path in files} & {fold(prefix) for prefix in prefixes}


LOCAL_NAMES = st.text(alphabet=SEGMENT_ALPHABET.replace("/", ""), min_size=1, max_size=12)


@settings(deadline=None, max_examples=300)
@given(st.lists(st.lists(LOCAL_NAMES, min_size=1, max_size=4), min_size=1, max_size=20))
def test_local_paths_are_safe_and_distinct(trees: list[list[str]]) -> None:
    relatives = {"/".join(parts) for parts in trees if not {".", ".."} & set(parts)}
    paths = {local_payload_path(relative) for relative in relatives}
    assert len(paths) == len(relatives)
    assert len({fold(path) for path in paths}) == len(relatives)
    for path in paths:
        assert path.startswith("web/file/")
        assert all(is_portable_name(part) for part in path.split("/"))
