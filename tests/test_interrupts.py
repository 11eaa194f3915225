"""Real signals to a real `python -m preserve` in each phase, a killed run, and a full disk.

Each phase is reached deterministically through the test-only pause point
(`PRESERVE_TEST_PAUSE_AT`, see preserve/pausepoint.py): the run announces it has arrived and
waits there, so the signal lands exactly in that phase, never by sleeping and hoping.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import bagit
import jsonschema
import pytest

from preserve.pausepoint import ENVIRONMENT

from .conftest import ROOT, Server
from .hostile_server import HostileServer

PAGE = '<html><title>interrupt me</title><img src="/ok.gif"></html>'


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        running.page("/", PAGE)
        yield running


def start(
    url: str, output: Path, *, pause: tuple[str, Path] | None = None, name: str | None = None
) -> subprocess.Popen[bytes]:
    """Start `python -m preserve capture URL -o OUTPUT`, optionally told to pause at a phase."""
    env = dict(os.environ)
    if pause is not None:
        env[ENVIRONMENT] = f"{pause[0]}:{pause[1]}"
    args = [sys.executable, "-m", "preserve", "capture", url, "-o", str(output), "--retries", "0"]
    if name is not None:
        args += ["--name", name]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)


def wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Wait until the run creates `path`; fail with its stderr if it ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            _out, err = process.communicate()
            pytest.fail(f"the run ended (exit {process.returncode}) before {path.name}: {err!r}")
        assert time.monotonic() < deadline, f"the run never reached {path.name}"
        time.sleep(0.02)


def tree_digest(folder: Path) -> str:
    """Return a digest of every path and file content under `folder`."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(path.relative_to(folder).as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def bag_looking(output: Path) -> list[Path]:
    """Return everything in `output` that holds a bagit.txt, at any depth."""
    return sorted(path.parent for path in output.rglob("bagit.txt"))


def make_other_bag(server: HostileServer, output: Path) -> Path:
    """Capture a first bag into `output`, the bystander an interrupted run must not touch."""
    process = start(server.url("/ok"), output, name="other-bag")
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return output / "other-bag"


PHASES = {
    # The seed's response head has arrived; its body is not read yet.
    "fetching": "/",
    # The first 256 KiB of a 24 MiB seed are written and hashed; the rest is waiting.
    "hashing": "/large",
    # Payload, logs and metadata are in the staging bag; no tag file yet.
    "writing": "/",
}


@pytest.mark.parametrize("phase", sorted(PHASES))
@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
    ids=["SIGINT", "SIGTERM"],
)
def test_signal_in_each_phase_leaves_nothing(
    server: HostileServer, tmp_path: Path, phase: str, signum: int, code: int
) -> None:
    output = tmp_path / "out"
    other = make_other_bag(server, output)
    before = tree_digest(other)
    handshake = tmp_path / "handshake"
    handshake.mkdir()
    process = start(server.url(PHASES[phase]), output, pause=(phase, handshake), name="target")
    try:
        wait_for(handshake / f"{phase}.reached", process)
        assert any(p.name.startswith(".preserve-staging-") for p in output.iterdir())
        process.send_signal(signum)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == code, err
    name = signal.Signals(signum).name
    assert err.decode().strip().splitlines()[-1] == f"preserve: error: interrupted by {name}"
    assert b"Traceback" not in err
    # Staging removed, destination untouched, the other bag as it was.
    assert sorted(p.name for p in output.iterdir()) == ["other-bag"]
    assert tree_digest(other) == before
    assert bag_looking(output) == [other]


def test_a_killed_run_leaves_nothing_bag_looking_and_the_next_run_cleans_up(
    server: HostileServer, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    killed_pause = tmp_path / "killed"
    killed_pause.mkdir()
    killed = start(server.url("/"), output, pause=("writing", killed_pause))
    try:
        wait_for(killed_pause / "writing.reached", killed)
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
    (stale,) = output.iterdir()
    assert stale.name.startswith(".preserve-staging-")
    assert (stale / "bag" / "data").is_dir()
    # A hidden staging folder with no bagit.txt: nothing that looks like a bag.
    assert bag_looking(output) == []

    # A live run, paused mid-body, holds its own staging while the next run starts.
    live_pause = tmp_path / "live"
    live_pause.mkdir()
    live = start(server.url("/large"), output, pause=("hashing", live_pause), name="live")
    try:
        wait_for(live_pause / "hashing.reached", live)
        (live_staging,) = (p for p in output.iterdir() if p != stale)

        after = start(server.url("/"), output, name="after")
        _out, err = after.communicate(timeout=60)
        assert after.returncode == 0, err
        bagit.Bag(str(output / "after")).validate()
        # The stale staging is gone, the live one untouched.
        assert not stale.exists()
        assert live_staging.is_dir()
        assert sorted(p.name for p in output.iterdir()) == sorted(["after", live_staging.name])

        (live_pause / "hashing.go").touch()
        _out, err = live.communicate(timeout=60)
        assert live.returncode == 0, err
    finally:
        if live.poll() is None:
            live.kill()
            live.wait()
    assert sorted(p.name for p in output.iterdir()) == ["after", "live"]
    assert bag_looking(output) == [output / "after", output / "live"]


# Runs preserve with files limited to 2 MiB and SIGXFSZ ignored (kept across exec), so
# growing a file past the limit fails with EFBIG as a full disk fails with ENOSPC.
LIMITED = """
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (2 * 1024 * 1024, 2 * 1024 * 1024))
os.execv(sys.executable, [sys.executable, "-m", "preserve", *sys.argv[1:]])
"""


@pytest.mark.parametrize("seed", ["/large", "/page-with-large"])
def test_a_full_disk_exits_4_with_no_bag(server: HostileServer, tmp_path: Path, seed: str) -> None:
    server.page("/page-with-large", '<html><img src="/ok.gif"><video src="/large.mp4"></html>')
    output = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-c", LIMITED, "capture", server.url(seed), "-o", str(output)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 4, err
    (line,) = err.decode().strip().splitlines()
    assert line.startswith("preserve: error: ")
    assert line.endswith("cannot write to staging: File too large")
    assert out == b""
    assert list(output.iterdir()) == []


@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_an_interrupted_run_reports_every_seed(
    http: Server, tmp_path: Path, signum: int, code: int, name: str
) -> None:
    def slow(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/gif")
        request.send_header("Content-Length", "100000")
        request.end_headers()
        request.wfile.write(b"GIF89a")
        request.wfile.flush()
        time.sleep(20)

    http.route("/one", body=b"<title>one</title>", headers={"Content-Type": "text/html"})
    http.route("/two", body=b'<img src="/slow.gif">', headers={"Content-Type": "text/html"})
    http.routes["/slow.gif"] = slow
    seeds = [http.url("/one"), http.url("/two"), http.url("/three"), http.url("/four")]
    output = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "preserve", "capture", *seeds, "-o", str(output), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(path == "/slow.gif" for path, _ in http.requests):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never asked for the slow requisite"
            time.sleep(0.02)
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == code, err
    document = json.loads(out)
    schema = json.loads((ROOT / "schemas" / "capture-report.schema.json").read_text("utf-8"))
    jsonschema.validate(document, schema)
    assert document["exit_code"] == code
    one, two, three, four = document["captures"]
    assert [c["seed"] for c in document["captures"]] == seeds
    assert one["ok"] is True
    assert Path(one["bag"]).parent == output
    assert two == {
        "seed": seeds[1],
        "ok": False,
        "error": f"interrupted by {name}",
        "exit_code": code,
    }
    for never in (three, four):
        assert never == {
            "seed": never["seed"],
            "ok": False,
            "error": f"not attempted: interrupted by {name}",
            "exit_code": code,
            "attempted": False,
        }
    assert not any(path in ("/three", "/four") for path, _ in http.requests)
    assert [p.name for p in output.iterdir()] == [Path(one["bag"]).name]
