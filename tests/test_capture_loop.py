"""The run loop: robots.txt is fetched off the coordinator, and the public API stays callable."""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

import preserve

from .conftest import Server, serve

HTML = {"Content-Type": "text/html"}
SLOW_ROBOTS = 5.0


@pytest.fixture
def other() -> Iterator[Server]:
    """A second loopback server: another host, by its port."""
    yield from serve(None)


def test_a_slow_robots_txt_does_not_hold_up_other_hosts(
    http: Server, other: Server, tmp_path: Path
) -> None:
    answered: dict[str, float] = {}

    def slow_robots(request: BaseHTTPRequestHandler) -> None:
        time.sleep(SLOW_ROBOTS)
        answered["robots"] = time.monotonic()
        request.send_response(404)
        request.send_header("Content-Length", "0")
        request.end_headers()

    # The seed on host A redirects to host B: both are the seed's hosts, so both in scope.
    http.route("/", status=302, headers={"Location": other.url("/")})
    http.routes["/robots.txt"] = slow_robots
    http.route("/a1.html", body=b"<title>a1</title>", headers=HTML)
    links = f'<a href="{http.url("/a1.html")}">a</a>'
    links += "".join(f'<a href="/b{n}.html">b</a>' for n in range(3))
    other.route("/", body=links.encode(), headers=HTML)
    for n in range(3):
        other.route(f"/b{n}.html", body=b"<title>b</title>", headers=HTML)
    recorded: dict[str, float] = {}

    def observe(record: preserve.LogRecord) -> None:
        recorded[record.url] = time.monotonic()

    options = preserve.CaptureOptions(depth=1)
    result = preserve.capture(http.url("/"), tmp_path / "out", options, observer=observe)
    outcomes = {r.url: r.outcome for r in result.records}
    assert outcomes[http.url("/a1.html")] == "captured"
    for n in range(3):
        url = other.url(f"/b{n}.html")
        assert outcomes[url] == "captured"
        # Host B's pages were fetched and written while host A's robots.txt was still slow.
        assert recorded[url] < answered["robots"] - SLOW_ROBOTS / 2
    assert recorded[http.url("/a1.html")] >= answered["robots"]
    # The log keeps the order the links were found in, whatever order they were fetched in.
    order = [r.url for r in result.records]
    assert order.index(http.url("/a1.html")) < order.index(other.url("/b0.html"))


def test_the_api_stays_callable_after_the_capture_package_is_imported(
    site: Server, tmp_path: Path
) -> None:
    import preserve.capture.seeds

    result = preserve.capture(site.url("/"), tmp_path / "out", preserve.CaptureOptions())
    assert result.bag_path.is_dir()
    assert preserve.capture_many is not None


def test_the_api_name_is_the_package_whatever_is_used_first(tmp_path: Path) -> None:
    probe = (
        "import preserve\n"
        "first = preserve.capture\n"
        "import preserve.capture.ingest\n"
        "print(callable(preserve.capture), preserve.capture is first,"
        " preserve.capture.ingest.PARSE_LIMIT > 0)\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True", "True"]
