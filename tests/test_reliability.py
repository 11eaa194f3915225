"""The fault matrix: every fault of the hostile server, as the seed and as a requisite.

A seed fault exits 3 with one line on stderr, no traceback, and leaves `--output` empty (no
bag, no staging). A requisite fault is logged with its URL, reason and the bytes received,
and the bag is still written and valid; a body cut short is never stored. Retries happen on
connection errors, timeouts before a response, 429 and 5xx, and nowhere else. The table in
docs/reliability.md names each test here.
"""

from __future__ import annotations

import importlib
import re
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner

import preserve
from preserve.cli import main
from preserve.codings import decoder_for
from preserve.fetch import CHUNK, Fetcher
from preserve.models import CaptureOptions

from .conftest import ROOT
from .hostile_server import BOMB, GIF, HostileServer, route_name

MAX_SIZE = 1024 * 1024
# --retries 1 everywhere: a retried fault is asked for twice, any other once.
SEED_ARGS = ["--timeout", "0.5", "--retries", "1", "--max-size", "1M", "--max-redirects", "3"]
OPTIONS = CaptureOptions(
    timeout=0.5, retries=1, retry_backoff=0.05, max_size=MAX_SIZE, max_redirects=3
)


@dataclass(frozen=True)
class Fault:
    """A hostile route and what preserve must make of it."""

    path: str
    error: str | None
    """The logged reason (a part of it); None when the resource is captured."""
    requests: int
    """Requests the server sees with --retries 1 (redirect hops count)."""
    received: int | None = None
    """Bytes received before the failure, when some arrive; -1: some, however many."""

    @property
    def requisite(self) -> str:
        """Return the path a page names the fault by: with an image's extension."""
        return self.path if "/" in self.path[1:] else self.path + ".gif"


FAILURES = {
    "reset": Fault("/reset", "body cut short: connection reset by the server", 1, 4000),
    "reset-early": Fault("/reset-early", "connection reset by the server", 2),
    "short": Fault("/short", "connection closed 96000 bytes short of its Content-Length", 1, 4000),
    "terabyte": Fault("/terabyte", "Content-Length 1099511627776 exceeds --max-size 1048576", 1),
    "bad-chunked": Fault("/bad-chunked", "body cut short: connection broken", 1, 6),
    "slow": Fault("/slow", "body cut short: timed out waiting for the server", 1, 10),
    "silent": Fault("/silent", "timed out waiting for the server", 2),
    "error": Fault("/error", "HTTP 500 Internal Server Error", 2),
    "loop": Fault("/loop/a", "redirect loop", 2),
    "chain": Fault("/chain/0", "more than 3 redirects", 4),
    "ftp": Fault("/ftp", "redirect to an unsupported URL: ftp://files.example.org/pub/x.gif", 1),
    "bomb": Fault("/bomb", "body exceeds --max-size 1048576", 1, -1),
    "bad-coding": Fault("/bad-coding", "content coding br could not be decoded", 1, -1),
    "many-headers": Fault("/many-headers", "response headers too large (got more than 100", 1),
    "fat-headers": Fault("/fat-headers", "response headers too large (", 1),
}
SUCCESSES = {
    "busy": Fault("/busy", None, 2),
    "wrong-type": Fault("/wrong-type", None, 1),
    "no-type": Fault("/no-type.html", None, 1),
    "garbage": Fault("/garbage", None, 1),
    "empty": Fault("/empty", None, 1),
}
FAULTS = FAILURES | SUCCESSES


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def requests_for(server: HostileServer, fault: Fault) -> int:
    """Return how many requests the server saw for the fault's route."""
    name = route_name(fault.path)
    return sum(1 for request in server.requests if route_name(request.path) == name)


def check_bag(bag: Path) -> None:
    """The bag is valid by the bagit library and by preserve's own validator."""
    bagit.Bag(str(bag)).validate()
    report = preserve.validate(bag)
    assert report.valid, report.problems


def check_seed_failed(result, output: Path, reason: str) -> None:
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("preserve: error: ")
    assert reason in lines[0]
    assert "Traceback" not in result.stderr
    # Neither a bag nor a staging folder: the output folder is empty.
    assert not output.exists() or list(output.iterdir()) == []


# Faults as the seed


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_seed_fault(server: HostileServer, tmp_path: Path, name: str) -> None:
    fault = FAILURES[name]
    output = tmp_path / "out"
    began = time.monotonic()
    result = run("capture", server.url(fault.path), "-o", str(output), *SEED_ARGS)
    check_seed_failed(result, output, fault.error or "")
    assert requests_for(server, fault) == fault.requests
    # Loose: the timeouts bound every wait (two attempts of 0.5 s and a back-off at most).
    assert time.monotonic() - began < 15


@pytest.mark.parametrize("name", sorted(SUCCESSES))
def test_seed_fault_captured(server: HostileServer, tmp_path: Path, name: str) -> None:
    fault = SUCCESSES[name]
    output = tmp_path / "out"
    began = time.monotonic()
    result = run("capture", server.url(fault.path), "-o", str(output), *SEED_ARGS)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.stderr
    (bag,) = output.iterdir()
    assert result.stdout.strip() == str(bag)
    check_bag(bag)
    assert requests_for(server, fault) == fault.requests
    paths = [
        line.split("  ", 1)[1]
        for line in (bag / "manifest-sha256.txt").read_text().split("\n")
        if line
    ]
    web = [path for path in paths if path.startswith("data/web/")]
    if name == "busy":
        # Retry-After: 1 was honoured before the second request.
        assert time.monotonic() - began >= 0.9
    if name == "no-type":
        # No Content-Type: the .html extension says it is a page, so its image is taken.
        assert any(path.endswith("/ok.gif") for path in web)
    else:
        # A page labelled image/png is not parsed; garbage and an empty page name nothing.
        assert len(web) == 1
    if name == "empty":
        assert (bag / web[0]).stat().st_size == 0


def test_seed_with_an_untrusted_certificate(tmp_path: Path) -> None:
    with HostileServer(tls=True) as server:
        output = tmp_path / "out"
        result = run("capture", server.url("/ok"), "-o", str(output), *SEED_ARGS)
        check_seed_failed(result, output, "TLS error: certificate not trusted")
        # A certificate will not become trusted by asking again.
        assert server.connections == 1
        assert server.requests == []


# Faults as a requisite


def capture_page(server: HostileServer, tmp_path: Path, *paths: str) -> preserve.CaptureResult:
    images = "".join(f'<img src="{path}">' for path in paths)
    server.page("/", f"<html><title>page</title><body>{images}</body></html>")
    return preserve.capture(server.url("/"), tmp_path / "out", OPTIONS)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_requisite_fault(server: HostileServer, tmp_path: Path, name: str) -> None:
    fault = FAULTS[name]
    result = capture_page(server, tmp_path, fault.requisite)
    check_bag(result.bag_path)
    record = next(r for r in result.records if r.url == server.url(fault.requisite))
    assert record.role == "requisite"
    assert requests_for(server, fault) == fault.requests
    stored = {r.payload_path for r in result.records if r.payload_path}
    on_disk = {
        p.relative_to(result.bag_path).as_posix()
        for p in (result.bag_path / "data" / "web").rglob("*")
        if p.is_file()
    }
    assert on_disk == stored
    if fault.error is None:
        assert record.outcome == "captured"
        assert record.payload_path is not None
        return
    assert record.outcome == "failed"
    assert record.error is not None
    assert fault.error in record.error
    assert record.payload_path is None
    # A body cut short or over --max-size is never stored as if complete.
    assert len(on_disk) == 1
    if fault.received == -1:
        assert record.received_bytes is not None
        assert record.received_bytes > 0
    else:
        assert record.received_bytes == fault.received
    log = (result.bag_path / "data/logs/capture-log.jsonl").read_text(encoding="utf-8")
    assert server.url(fault.requisite) in log


def test_requisite_with_an_untrusted_certificate(server: HostileServer, tmp_path: Path) -> None:
    with HostileServer(tls=True) as tls:
        result = capture_page(server, tmp_path, tls.url("/ok.gif"))
        assert tls.connections == 1
    check_bag(result.bag_path)
    record = next(r for r in result.records if r.url == tls.url("/ok.gif"))
    assert (record.outcome, record.error) == (
        "failed",
        "TLS error: certificate not trusted or handshake failed",
    )


def test_every_fault_at_once_still_makes_one_valid_bag(
    server: HostileServer, tmp_path: Path
) -> None:
    result = capture_page(server, tmp_path, *(fault.requisite for fault in FAULTS.values()))
    check_bag(result.bag_path)
    outcomes = {r.url: r.outcome for r in result.records if r.role == "requisite"}
    assert outcomes == {
        server.url(fault.requisite): "failed" if fault.error else "captured"
        for fault in FAULTS.values()
    }
    summary = result.count(role="requisite", outcome="failed")
    assert summary == len(FAILURES)


def test_strict_turns_a_requisite_fault_into_exit_3(server: HostileServer, tmp_path: Path) -> None:
    server.page("/", '<img src="/reset.gif"><img src="/ok.gif">')
    output = tmp_path / "out"
    result = run("capture", server.url("/"), "-o", str(output), "--strict", *SEED_ARGS)
    check_seed_failed(result, output, "reset.gif")


# Memory: a decompression bomb never expands in memory


def test_decoders_hand_back_bounded_pieces() -> None:
    decoder = decoder_for("gzip", CHUNK)
    assert decoder is not None
    packed = b"".join(BOMB)
    pieces = list(decoder.decode(packed))
    assert sum(map(len, pieces)) == 64 * 1024 * 1024
    assert max(map(len, pieces)) <= CHUNK


def test_gzip_bomb_stops_at_max_size_without_expanding_in_memory(
    server: HostileServer, tmp_path: Path
) -> None:
    fetcher = Fetcher(CaptureOptions(max_size=MAX_SIZE, retries=0), tmp_path)
    tracemalloc.start()
    try:
        result = fetcher.fetch(server.url("/bomb.gif"))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        fetcher.close()
    assert result.error == f"body exceeds --max-size {MAX_SIZE}"
    assert result.truncated
    # Whole read chunks of compressed zeros would have expanded to hundreds of MiB.
    assert peak < 8 * CHUNK
    assert list(tmp_path.iterdir()) == []


def test_the_hostile_ok_route_serves_a_gif(server: HostileServer, tmp_path: Path) -> None:
    result = capture_page(server, tmp_path, "/ok.gif")
    record = next(r for r in result.records if r.role == "requisite")
    assert record.payload_path is not None
    assert (result.bag_path / record.payload_path).read_bytes() == GIF


def test_every_test_the_matrix_names_exists() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    named = re.findall(r"`(?:tests/(test_\w+)\.py::)?(test_\w+)(?:\[([^\]]+)\])?`", text)
    assert len(named) > 60
    # A bare name is in one of the files the sections name.
    sections = ["test_reliability", "test_interrupts", "test_netsafety", "test_hostile_input"]
    for module_name, function, param in named:
        modules = [importlib.import_module(f"tests.{m}") for m in [module_name] if m] or [
            importlib.import_module(f"tests.{m}") for m in sections
        ]
        assert any(hasattr(module, function) for module in modules), (module_name, function)
        if function in ("test_seed_fault", "test_requisite_fault", "test_seed_fault_captured"):
            assert param in FAULTS, (function, param)
