"""Two URLs of one bag whose payload names collide: the second takes a twin name, never exit 4.

Payload names carry 8 hex digits of a URL's hash, so among about 77,000 URLs that share a
sanitised name two are likely to share a path. The tests find real pairs by a birthday
search on the port their server was given, then capture them end to end.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
import preserve.layout
from preserve.layout import is_portable_name, local_payload_path, payload_path

from .conftest import Server
from .test_layout import ANY_URLS, TWIN_LISTS

IMAGE = {"Content-Type": "image/gif"}
HTML = {"Content-Type": "text/html"}


def colliding_pair(make_url: Callable[[int], str], hashed: Callable[[str], str]) -> list[str]:
    """Return two URLs `make_url` gives whose payload paths are the same.

    `hashed` is the text layout hashes for the name that collides (`"f:" + URL` for a file);
    eight hex digits of it are compared first, as payload_path does, which is much faster.
    """
    seen: dict[str, str] = {}
    for number in itertools.count():
        url = make_url(number)
        key = hashlib.sha256(hashed(url).encode()).hexdigest()[:8]
        if key in seen:
            pair = [seen[key], url]
            assert payload_path(pair[0]) == payload_path(pair[1])
            return pair
        seen[key] = url
    raise AssertionError("unreachable")


def file_twins(http: Server) -> list[str]:
    """Return two image URLs whose file names collide: `aaa…a<n>.gif`, cut to 60 bytes."""
    return colliding_pair(lambda n: http.url(f"/{'A' * 60}{n}.gif"), lambda url: "f:" + url)


def folder_twins(http: Server) -> list[str]:
    """Return two image URLs in folders whose names collide: `ddd…d<n>/x.gif`."""
    return colliding_pair(
        lambda n: http.url(f"/{'D' * 60}{n}/x.gif"),
        lambda url: "d:" + url.rsplit("/", 1)[0],
    )


def log_of(bag: Path) -> dict[str, dict[str, object]]:
    lines = (bag / "data/logs/capture-log.jsonl").read_text(encoding="utf-8").splitlines()
    return {str(entry["url"]): entry for entry in map(json.loads, lines)}


def url_index(bag: Path) -> dict[str, str]:
    rows = (bag / "data/logs/urls.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {row.split("\t")[0]: row.split("\t")[1] for row in rows}


def capture_images(
    http: Server, tmp_path: Path, urls: list[str], payload: str, workers: int = 8
) -> tuple[Path, dict[str, dict[str, object]]]:
    """Capture a page naming `urls` as images, each answering its own bytes; check the bag."""
    page = "".join(f'<img src="{url}">' for url in urls).encode()
    http.route("/", body=page, headers=HTML)
    for number, url in enumerate(urls):
        http.route(url.removeprefix(http.url("")), body=b"GIF89a-%d" % number, headers=IMAGE)
    result = preserve.capture(
        http.url("/"), tmp_path / payload, preserve.CaptureOptions(payload=payload, workers=workers)
    )
    bagit.Bag(str(result.bag_path)).validate()
    assert preserve.validate(result.bag_path).valid
    return result.bag_path, log_of(result.bag_path)


@pytest.mark.parametrize("payload", ["both", "files"])
@pytest.mark.parametrize("twins", [file_twins, folder_twins], ids=["file", "folder"])
def test_urls_whose_payload_paths_collide_are_both_captured(
    http: Server, tmp_path: Path, payload: str, twins: Callable[[Server], list[str]]
) -> None:
    urls = twins(http)
    bag, log = capture_images(http, tmp_path, urls, payload)
    assert [log[url]["outcome"] for url in urls] == ["captured", "captured"]
    # Which of the two is stored second is the order their answers arrived in.
    wanted = "data/" + payload_path(urls[0])
    (first,) = [url for url in urls if log[url]["payload_path"] == wanted]
    (second,) = [url for url in urls if url != first]
    assert log[second]["payload_path"] == "data/" + payload_path(second, 1)
    for number, url in enumerate(urls):
        stored = (bag / str(log[url]["payload_path"])).read_bytes()
        assert stored == b"GIF89a-%d" % number
        digests = log[url]["digests"]
        assert isinstance(digests, dict)
        assert digests["sha256"] == hashlib.sha256(stored).hexdigest()
    assert log[first].get("note") is None
    assert log[second]["note"] == f"payload path {wanted} is {first}'s: stored under twin name 1"
    index = url_index(bag)
    assert index[first] == log[first]["payload_path"]
    assert index[second] == log[second]["payload_path"]


def test_paths_taken_twice_over_go_on_to_numbered_twins(
    http: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every hash the same: the primary path and twin 1 are both taken, so a third URL goes on
    # to twin 2 and a fourth to twin 3. One worker, so they are stored in the page's order.
    monkeypatch.setattr(preserve.layout, "_digest", lambda kind, text, length=8: "0" * length)
    urls = [http.url(path) for path in ("/A*.gif", "/A%5E.gif", "/A%2B.gif", "/A%7C.gif")]
    assert len({payload_path(url) for url in urls}) == 1
    bag, log = capture_images(http, tmp_path, urls, "both", workers=1)
    paths = [str(log[url]["payload_path"]) for url in urls]
    host = preserve.layout.host_folder(urls[0])
    assert paths == [
        f"data/web/{host}/a_~00000000.gif",
        f"data/web/{host}/a_~{'0' * 32}.gif",
        f"data/web/{host}/~long/{'0' * 32}-2.gif",
        f"data/web/{host}/~long/{'0' * 32}-3.gif",
    ]
    for number, path in enumerate(paths):
        assert (bag / path).read_bytes() == b"GIF89a-%d" % number
    assert [log[url].get("note") for url in urls[1:]] == [
        f"payload path {paths[0]} is {urls[0]}'s: stored under twin name {twin}"
        for twin in (1, 2, 3)
    ]


def test_a_local_capture_gives_colliding_files_twin_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preserve.layout, "_digest", lambda kind, text, length=8: "1" * length)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text('<img src="A*.gif"><img src="A%5E.gif">', encoding="utf-8")
    (site / "A*.gif").write_bytes(b"GIF89a-star")
    (site / "A^.gif").write_bytes(b"GIF89a-caret")
    options = preserve.CaptureOptions(workers=1)
    result = preserve.capture(str(site / "index.html"), tmp_path / "out", options)
    bagit.Bag(str(result.bag_path)).validate()
    log = log_of(result.bag_path)
    star, caret = log["file:A%2A.gif"], log["file:A%5E.gif"]
    assert star["payload_path"] == "data/web/file/a_~11111111.gif"
    assert caret["payload_path"] == f"data/web/file/a_~{'1' * 32}.gif"
    assert (result.bag_path / str(caret["payload_path"])).read_bytes() == b"GIF89a-caret"


TWIN_NAME = re.compile(
    r"[^~+/]+~[0-9a-f]{32}(\.[a-z0-9]{1,10})?|[0-9a-f]{32}-[1-9][0-9]*(\.[a-z0-9]{1,10})?"
)


@settings(deadline=None, max_examples=300)
@given(ANY_URLS, st.integers(1, 5))
def test_twin_paths_are_portable_and_named_as_no_first_path_is(url: str, twin: int) -> None:
    path = payload_path(url, twin)
    parts = path.split("/")
    assert path != payload_path(url)
    assert path != payload_path(url, twin + 1)
    assert parts[:2] == payload_path(url).split("/")[:2]
    assert len(path.encode()) <= 1024
    assert all(is_portable_name(part) for part in parts), parts
    assert TWIN_NAME.fullmatch(parts[-1]), parts[-1]
    if parts[2] == "~long":
        assert len(parts) == 4
        assert parts[3].endswith(f"-{twin}") or f"-{twin}." in parts[3]


@settings(deadline=None, max_examples=200)
@given(TWIN_LISTS | st.lists(ANY_URLS, min_size=2, max_size=20, unique=True))
def test_no_twin_path_is_another_url_s_path_or_folder(urls: list[str]) -> None:
    firsts = {payload_path(url) for url in urls}
    folders = {
        "/".join(path.split("/")[:end]) for path in firsts for end in range(1, path.count("/") + 1)
    }
    twins = {payload_path(url, twin) for url in urls for twin in (1, 2)}
    assert len(twins) == 2 * len(urls)
    assert not twins & firsts
    assert not twins & folders


def test_local_twin_paths_stay_in_their_folder() -> None:
    assert local_payload_path("css/index.html", 1).startswith("web/file/css/index~")
    assert local_payload_path("css/index.html", 2).startswith("web/file/~long/")
    with pytest.raises(ValueError, match="twin"):
        payload_path("http://example.com/a.gif", -1)
