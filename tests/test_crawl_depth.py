"""Linked pages and media, scope, limits, robots.txt and politeness, on loopback servers."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import bagit
import jsonschema
import pytest
from click.testing import CliRunner

import preserve
from preserve.cli import main
from preserve.models import CaptureResult, LogRecord

from .conftest import EXAMPLE_SITE, ROOT, Server, serve
from .warc_reading import read_warc, warc_of, warcio_check

HTML = {"Content-Type": "text/html; charset=utf-8"}
GIF = {"Content-Type": "image/gif"}


@pytest.fixture
def other() -> Iterator[Server]:
    """A second loopback server, reached by the name `localhost`: another host."""
    for server in serve(None):
        server.base = server.base.replace("127.0.0.1", "localhost")
        yield server


def by_url(result: CaptureResult) -> dict[str, LogRecord]:
    return {record.url: record for record in result.records}


def paths_requested(server: Server) -> list[str]:
    return [path for path, _headers in server.requests]


def manifest_digests(bag: Path) -> set[str]:
    lines = (bag / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines()
    return {line.split("  ", 1)[0] for line in lines}


def test_depth_1_captures_the_stories_gallery_audio_and_video(site: Server, tmp_path: Path) -> None:
    seed = site.url("/index.html")
    result = preserve.capture(seed, tmp_path, preserve.CaptureOptions(depth=1))
    bagit.Bag(str(result.bag_path)).validate()
    records = by_url(result)

    stories = ["rally-against-terrorism", "international-community", "karachi-belongs"]
    for url in [site.url(f"/stories/{name}.html") for name in stories] + [
        site.url("/gallery.html")
    ]:
        record = records[url]
        assert (record.role, record.outcome, record.depth) == ("page", "captured", 1)
        assert (record.via, record.referrer) == ("a@href", seed)
    video = records[site.url("/media/video-clip.mpg")]
    assert (video.role, video.outcome, video.depth, video.via) == ("media", "captured", 1, "a@href")
    # The audio report is also embedded, so it is a requisite of the front page.
    audio = records[site.url("/media/audio-report.wav")]
    assert (audio.role, audio.outcome, audio.depth) == ("requisite", "captured", 0)
    story_picture = records[site.url("/images/stories/rally.png")]
    assert (story_picture.role, story_picture.depth) == ("requisite", 1)
    assert story_picture.referrer == site.url("/stories/rally-against-terrorism.html")
    # The gallery's full-size photographs are linked media of a depth-1 page: leaves, taken.
    photo = records[site.url("/images/gallery/rally-6.jpg")]
    assert (photo.role, photo.outcome, photo.depth) == ("media", "captured", 2)
    assert photo.referrer == site.url("/gallery.html")

    # Every file of the site is in the bag, byte for byte.
    stored = manifest_digests(result.bag_path)
    for path in EXAMPLE_SITE.rglob("*"):
        if path.is_file() and path.name != "EXPECTED.txt":
            assert hashlib.sha256(path.read_bytes()).hexdigest() in stored, path

    assert all(r.url.startswith(site.url("/")) for r in result.records)
    assert result.count(role="page", outcome="captured") == 4
    assert result.count(outcome="failed") == 0
    assert result.count(outcome="skipped") == 0
    assert paths_requested(site).count("/robots.txt") == 1
    assert len(paths_requested(site)) == len(set(paths_requested(site)))


def test_depth_0_follows_no_link_and_asks_no_robots_txt(site: Server, tmp_path: Path) -> None:
    result = preserve.capture(site.url("/index.html"), tmp_path)
    assert {r.role for r in result.records} == {"seed", "requisite"}
    assert "/robots.txt" not in paths_requested(site)
    assert "/gallery.html" not in paths_requested(site)


def test_exclude_is_honoured_and_logged(site: Server, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(depth=1, exclude=(r"/gallery\.html$", r"\.mpg$"))
    result = preserve.capture(site.url("/index.html"), tmp_path, options)
    records = by_url(result)
    for path, role, pattern in [
        ("/gallery.html", "page", r"/gallery\.html$"),
        ("/media/video-clip.mpg", "media", r"\.mpg$"),
    ]:
        record = records[site.url(path)]
        assert (record.role, record.outcome, record.reason) == (role, "skipped", "scope")
        assert record.error == f"matches --exclude {pattern}"
        assert path not in paths_requested(site)
    assert "/images/gallery/thumb-rally-1.jpg" not in paths_requested(site)
    assert result.count(role="page", outcome="captured") == 3


def test_max_pages_is_honoured_and_says_what_was_left_out(site: Server, tmp_path: Path) -> None:
    options = preserve.CaptureOptions(depth=1, max_pages=3)
    result = preserve.capture(site.url("/index.html"), tmp_path, options)
    records = by_url(result)
    captured = [site.url("/stories/rally-against-terrorism.html")]
    captured.append(site.url("/stories/international-community.html"))
    left_out = [site.url("/stories/karachi-belongs.html"), site.url("/gallery.html")]
    for url in captured:
        assert records[url].outcome == "captured"
    for url in left_out:
        record = records[url]
        assert (record.outcome, record.reason, record.error) == (
            "skipped",
            "limit",
            "--max-pages 3 reached",
        )
    requested = paths_requested(site)
    assert "/stories/karachi-belongs.html" not in requested
    assert "/gallery.html" not in requested
    # Media are not pages: the video is still taken.
    assert records[site.url("/media/video-clip.mpg")].outcome == "captured"
    log = (result.bag_path / "data/logs/capture-log.jsonl").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in log.splitlines()]
    schema = json.loads((ROOT / "schemas/capture-log.schema.json").read_text(encoding="utf-8"))
    for entry in entries:
        jsonschema.validate(entry, schema)
    skipped = [entry for entry in entries if entry["outcome"] == "skipped"]
    assert {entry["url"] for entry in skipped} == set(left_out)
    assert all(entry["reason"] == "limit" for entry in skipped)


def test_max_bytes_and_max_requisites_say_which_limit(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b'<img src="/1.gif"><img src="/2.gif"><img src="/3.gif">', headers=HTML)
    for name in ("1", "2", "3"):
        http.route(f"/{name}.gif", body=b"GIF89a" + b"x" * 100, headers=GIF)
    options = preserve.CaptureOptions(max_requisites=2)
    records = by_url(preserve.capture(http.url("/"), tmp_path / "a", options))
    assert (records[http.url("/3.gif")].reason, records[http.url("/3.gif")].error) == (
        "limit",
        "--max-requisites 2 reached for its page",
    )
    options = preserve.CaptureOptions(max_bytes=10)
    records = by_url(preserve.capture(http.url("/"), tmp_path / "b", options))
    for name in ("1", "2", "3"):
        record = records[http.url(f"/{name}.gif")]
        assert (record.outcome, record.error) == ("skipped", "--max-bytes 10 reached")


def test_a_local_capture_follows_links_inside_its_folder(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_text(
        '<a href="sub/next.html">n</a><a href="../outside.html">o</a><a href="song.mp3">s</a>',
        encoding="utf-8",
    )
    (site / "sub" / "next.html").write_text('<img src="pic.gif">', encoding="utf-8")
    (site / "sub" / "pic.gif").write_bytes(b"GIF89a")
    (site / "song.mp3").write_bytes(b"ID3")
    (tmp_path / "outside.html").write_text("secret", encoding="utf-8")
    options = preserve.CaptureOptions(depth=1)
    result = preserve.capture(str(site / "index.html"), tmp_path / "out", options)
    records = by_url(result)
    assert (records["file:sub/next.html"].role, records["file:sub/next.html"].outcome) == (
        "page",
        "captured",
    )
    assert records["file:sub/pic.gif"].outcome == "captured"
    assert (records["file:song.mp3"].role, records["file:song.mp3"].outcome) == (
        "media",
        "captured",
    )
    outside = next(r for r in result.records if "outside" in r.url)
    assert outside.outcome == "failed"
    assert not any(
        "secret" in p.read_text("latin-1")
        for p in (result.bag_path / "data/web").rglob("*")
        if p.is_file()
    )


def test_cli_reports_what_depth_limits_and_exclusions_left_out(
    site: Server, tmp_path: Path
) -> None:
    args = ["-q", "capture", site.url("/index.html"), "-o", str(tmp_path), "--json"]
    args += ["--depth", "1", "--max-pages", "2", "--exclude", "video", "--no-linked-media"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [capture] = json.loads(result.stdout)["captures"]
    assert capture["pages"] == 2
    skipped = {(entry["url"], entry["reason"]) for entry in capture["skipped"]}
    assert skipped == {
        (site.url("/stories/international-community.html"), "limit"),
        (site.url("/stories/karachi-belongs.html"), "limit"),
        (site.url("/gallery.html"), "limit"),
    }
    # --no-linked-media: the video link is passed by, neither fetched nor logged.
    assert "/media/video-clip.mpg" not in paths_requested(site)


def test_crawl_options_come_from_the_environment(site: Server, tmp_path: Path) -> None:
    env = {"PRESERVE_DEPTH": "1", "PRESERVE_SCOPE": "prefix", "PRESERVE_EXCLUDE": "stories\nmpg"}
    args = ["-q", "capture", site.url("/index.html"), "-o", str(tmp_path), "--json"]
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [capture] = json.loads(result.stdout)["captures"]
    assert capture["pages"] == 2  # the seed and the gallery
    assert {entry["reason"] for entry in capture["skipped"]} == {"scope"}


def test_bad_crawl_options_exit_2(tmp_path: Path) -> None:
    for bad in (["--depth", "-1"], ["--scope", "world"], ["--include", "(x"]):
        args = ["capture", "http://127.0.0.1:9/", "-o", str(tmp_path / "o"), *bad]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 2, (bad, result.output)
    assert not (tmp_path / "o").exists()


def test_other_hosts_give_requisites_but_not_pages(
    http: Server, other: Server, tmp_path: Path
) -> None:
    page = (
        f'<a href="{other.url("/away.html")}">away</a><img src="{other.url("/pic.gif")}">'
        f'<a href="{other.url("/song.mp3")}">song</a><a href="/here.html">here</a>'
    )
    http.route("/", body=page.encode(), headers=HTML)
    http.route("/here.html", body=b"<title>here</title>", headers=HTML)
    other.route("/pic.gif", body=b"GIF89a", headers=GIF)
    result = preserve.capture(http.url("/"), tmp_path, preserve.CaptureOptions(depth=1))
    records = by_url(result)
    assert records[other.url("/pic.gif")].outcome == "captured"
    assert records[http.url("/here.html")].outcome == "captured"
    for path, role in [("/away.html", "page"), ("/song.mp3", "media")]:
        record = records[other.url(path)]
        assert (record.role, record.outcome, record.reason) == (role, "skipped", "scope")
        assert record.error == "outside --scope host"
    assert paths_requested(other) == ["/pic.gif"]


def test_robots_txt_disallow_applies_to_pages_and_media_not_requisites(
    http: Server, tmp_path: Path
) -> None:
    http.route(
        "/robots.txt",
        body=b"User-agent: *\nDisallow: /private/\n",
        headers={"Content-Type": "text/plain"},
    )
    http.route(
        "/",
        body=b'<img src="/private/pic.gif"><a href="/private/a.html">a</a>'
        b'<a href="/private/b.html">b</a><a href="/private/talk.wav">t</a>'
        b'<a href="/public.html">p</a>',
        headers=HTML,
    )
    http.route("/private/pic.gif", body=b"GIF89a", headers=GIF)
    http.route("/public.html", body=b"<title>public</title>", headers=HTML)
    result = preserve.capture(http.url("/"), tmp_path, preserve.CaptureOptions(depth=1))
    records = by_url(result)
    assert records[http.url("/private/pic.gif")].outcome == "captured"
    assert records[http.url("/public.html")].outcome == "captured"
    for path in ("/private/a.html", "/private/b.html", "/private/talk.wav"):
        record = records[http.url(path)]
        assert (record.outcome, record.reason) == ("skipped", "robots")
        assert record.error == f"disallowed by {http.url('/robots.txt')}"
    requested = paths_requested(http)
    assert requested.count("/robots.txt") == 1
    assert not any(p.startswith("/private/") and p != "/private/pic.gif" for p in requested)
    # robots.txt is consulted, not captured as a URL of the page; the WARC keeps the
    # exchange, so the rules the capture obeyed stay with it.
    assert http.url("/robots.txt") not in records
    assert not (result.bag_path / "data/web" / "127.0.0.1" / "robots.txt").exists()
    warc = read_warc(warc_of(result.bag_path))
    (robots,) = [r for r in warc if r.type == "response" and r.uri == http.url("/robots.txt")]
    assert robots.raw == b"User-agent: *\nDisallow: /private/\n"
    assert any(r.type == "request" and r.uri == http.url("/robots.txt") for r in warc)
    assert warcio_check(warc_of(result.bag_path))[0] == 0
    bagit.Bag(str(result.bag_path)).validate()

    http.requests.clear()
    options = preserve.CaptureOptions(depth=1, ignore_robots=True)
    result = preserve.capture(http.url("/"), tmp_path, options)
    assert by_url(result)[http.url("/private/a.html")].outcome == "failed"  # 404, but tried
    assert "/robots.txt" not in paths_requested(http)


def test_unreachable_robots_txt_disallows_linked_pages(http: Server, tmp_path: Path) -> None:
    http.route("/robots.txt", status=503, body=b"down")
    http.route("/", body=b'<a href="/next.html">n</a>', headers=HTML)
    options = preserve.CaptureOptions(depth=1, retries=0)
    result = preserve.capture(http.url("/"), tmp_path, options)
    record = by_url(result)[http.url("/next.html")]
    assert (record.outcome, record.reason) == ("skipped", "robots")
    assert record.error is not None
    assert "unreachable (HTTP 503" in record.error


def test_media_that_turns_out_to_be_html_is_stored_not_crawled(
    http: Server, tmp_path: Path
) -> None:
    http.route("/", body=b'<a href="/clip.mpg">clip</a>', headers=HTML)
    http.route("/clip.mpg", body=b'<html><img src="/never.gif"></html>', headers=HTML)
    result = preserve.capture(http.url("/"), tmp_path, preserve.CaptureOptions(depth=3))
    record = by_url(result)[http.url("/clip.mpg")]
    assert (record.role, record.outcome) == ("media", "captured")
    assert "/never.gif" not in paths_requested(http)


def test_frames_are_captured_recursively_and_cycles_end(
    http: Server, other: Server, tmp_path: Path
) -> None:
    http.route("/", body=b'<frameset><frame src="/a.html"></frameset>', headers=HTML)
    http.route(
        "/a.html",
        body=f'<iframe src="{other.url("/b.html")}"></iframe><img src="/a.gif">'.encode(),
        headers=HTML,
    )
    http.route("/a.gif", body=b"GIF89a-a", headers=GIF)
    other.route(
        "/b.html",
        body=f'<iframe src="{http.url("/a.html")}"></iframe><iframe src="{http.url("/")}">'
        f'</iframe><img src="/b.gif"><a href="/elsewhere.html">x</a>'.encode(),
        headers=HTML,
    )
    other.route("/b.gif", body=b"GIF89a-b", headers=GIF)
    result = preserve.capture(http.url("/"), tmp_path)
    records = by_url(result)
    assert records[http.url("/a.html")].role == "frame"
    assert records[other.url("/b.html")].role == "frame"
    assert records[other.url("/b.html")].referrer == http.url("/a.html")
    assert records[other.url("/b.gif")].outcome == "captured"
    assert records[http.url("/a.gif")].outcome == "captured"
    assert len(result.records) == 5
    assert paths_requested(http).count("/a.html") == 1
    assert "/elsewhere.html" not in paths_requested(other)


def test_meta_refresh_is_a_linked_page(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b'<meta http-equiv="refresh" content="0; url=/moved.html">', headers=HTML)
    http.route("/moved.html", body=b'<img src="/m.gif">', headers=HTML)
    http.route("/m.gif", body=b"GIF89a", headers=GIF)
    result = preserve.capture(http.url("/"), tmp_path, preserve.CaptureOptions(depth=1))
    moved = by_url(result)[http.url("/moved.html")]
    assert (moved.role, moved.via, moved.outcome) == ("page", "meta[refresh]@content", "captured")
    assert by_url(result)[http.url("/m.gif")].outcome == "captured"


class _Recorder:
    """Records when each request to a route starts and how many run at once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.starts: list[float] = []
        self.active = 0
        self.peak = 0

    def __call__(self, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.starts.append(time.monotonic())
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(self.delay)
            request.send_response(200)
            request.send_header("Content-Type", "image/gif")
            request.send_header("Content-Length", "6")
            request.end_headers()
            request.wfile.write(b"GIF89a")
        finally:
            with self.lock:
                self.active -= 1


def politeness_site(http: Server, images: int, delay: float) -> _Recorder:
    recorder = _Recorder(delay)
    tags = "".join(f'<img src="/img{i}.gif">' for i in range(images))
    http.route("/", body=tags.encode(), headers=HTML)
    for i in range(images):
        http.routes[f"/img{i}.gif"] = recorder
    return recorder


def test_wait_spaces_requests_to_one_host(http: Server, tmp_path: Path) -> None:
    recorder = politeness_site(http, images=4, delay=0.0)
    options = preserve.CaptureOptions(wait=0.25, workers=4)
    preserve.capture(http.url("/"), tmp_path, options)
    starts = sorted(recorder.starts)
    assert len(starts) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= 0.2, gaps


@pytest.mark.parametrize("host_workers", [1, 2])
def test_host_workers_caps_concurrency_per_host(
    http: Server, tmp_path: Path, host_workers: int
) -> None:
    recorder = politeness_site(http, images=6, delay=0.1)
    options = preserve.CaptureOptions(workers=8, host_workers=host_workers)
    result = preserve.capture(http.url("/"), tmp_path, options)
    assert result.count(role="requisite", outcome="captured") == 6
    assert 1 <= recorder.peak <= host_workers
