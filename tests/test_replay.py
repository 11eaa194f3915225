"""A real replay client: pywb serves the bag's WARC on loopback and gives back the same bytes.

pywb runs as subprocesses (`wb-manager`, `wayback`) from its own virtual environment,
`.venv-pywb` (made by `make install`): importing it here would trip warnings-as-errors, and it
cannot share `.venv`, because its `brotlipy` dependency installs a `brotli` module that
shadows the one preserve decodes with.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest

import preserve

from .conftest import ROOT, Server, free_port
from .test_warc import CSS, PNG
from .warc_reading import warc_of


def pywb_bin() -> Path | None:
    """Return the folder holding wayback and wb-manager, or None when pywb is not installed."""
    local = ROOT / ".venv-pywb" / "bin"
    if (local / "wayback").is_file() and (local / "wb-manager").is_file():
        return local
    found = shutil.which("wayback")
    return Path(found).parent if found and shutil.which("wb-manager") else None


PYWB = pywb_bin()
pytestmark = pytest.mark.skipif(
    PYWB is None,
    reason="pywb is not installed: `make install` puts it in .venv-pywb "
    "(it cannot share .venv: its brotlipy dependency shadows the brotli module)",
)


def run(tool: str, *args: str, cwd: Path) -> None:
    assert PYWB is not None
    done = subprocess.run(
        [str(PYWB / tool), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


class Wayback:
    """pywb's folder on disk and, once started, its `wayback` server on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / "wayback.log"

    def start(self) -> str:
        """Start `wayback` over the collections made so far; return its base URL."""
        assert PYWB is not None
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(PYWB / "wayback"), "-b", "127.0.0.1", "-p", str(self.port)],
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(base + "/", timeout=2):
                    return base
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise AssertionError("wayback did not start: " + self.log.read_text())

    def stop(self) -> None:
        """Stop the server this fixture started."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def wayback(tmp_path: Path) -> Iterator[Wayback]:
    root = tmp_path / "pywb"
    root.mkdir()
    server = Wayback(root)
    yield server
    server.stop()


def replayed(base: str, collection: str, url: str) -> bytes:
    """Return the archived payload of `url` in `id_` mode, with its content coding removed."""
    with urllib.request.urlopen(f"{base}/{collection}/2100id_/{url}", timeout=10) as response:
        body = response.read()
        coding = (response.headers.get("Content-Encoding") or "").lower()
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "br":
        return bytes(brotli.decompress(body))
    return body


def test_pywb_replays_the_bag_byte_for_byte(http: Server, tmp_path: Path, wayback: Wayback) -> None:
    page = b'<html><title>r</title><link rel=stylesheet href="/s.css"><img src="/i.png"></html>'
    http.route("/", body=page, headers={"Content-Type": "text/html"})
    http.route(
        "/s.css",
        body=gzip.compress(CSS, mtime=0),
        headers={"Content-Type": "text/css", "Content-Encoding": "gzip"},
    )
    http.route("/i.png", body=PNG, headers={"Content-Type": "image/png"})
    result = preserve.capture(http.url("/"), tmp_path / "bags")
    bag = result.bag_path
    warc = warc_of(bag)
    root = wayback.root
    # One collection indexed by pywb itself, one given the bag's own CDXJ (no reindexing).
    run("wb-manager", "init", "indexed", cwd=root)
    run("wb-manager", "add", "indexed", str(warc), cwd=root)
    ours = root / "collections" / "ours"
    (ours / "archive").mkdir(parents=True)
    (ours / "indexes").mkdir()
    shutil.copy(warc, ours / "archive" / warc.name)
    shutil.copy(warc.with_name(warc.name.removesuffix(".warc.gz") + ".cdxj"), ours / "indexes")
    base = wayback.start()
    files = {r.url: r.payload_path for r in result.records if r.payload_path}
    for url in (http.url("/"), http.url("/s.css"), http.url("/i.png")):
        stored = (bag / str(files[url])).read_bytes()
        for collection in ("indexed", "ours"):
            assert replayed(base, collection, url) == stored, (collection, url)
