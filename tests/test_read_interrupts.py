"""Real signals to real `python -m preserve validate`, `info` and `export` runs (issue 20).

SIGINT and SIGTERM end each with 130 or 143 (never click's "Aborted!", exit 1, which means
"invalid" to validate and "WARC mismatch" to export), with the temporary data removed and no
partial WACZ; after SIGKILL, the next run removes the scratch folder left behind, never a
live run's. Each run is stopped at a known point: the test-only pause point
(preserve/pausepoint.py) at `reading` (validate has hashed the first MiB of a large archive
entry) or `extracting` (export has written the first MiB of a file it unpacks), a FIFO that
info blocks on, or a partial WACZ seen on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import preserve
from preserve.bag.scratch import SCRATCH_PREFIX
from preserve.bag.serialize import serialize_bag
from preserve.pausepoint import ENVIRONMENT

from .conftest import ROOT, Server
from .test_interrupts import wait_for
from .test_validate import build_bag

MiB = 1 << 20
SIGNALS = pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
    ids=["SIGINT", "SIGTERM"],
)


def start(
    *args: str | Path, tmp: Path, pause: tuple[str, Path] | None = None
) -> subprocess.Popen[bytes]:
    """Start `python -m preserve ARGS` with TMPDIR at `tmp`, optionally told to pause."""
    env = dict(os.environ, TMPDIR=str(tmp))
    if pause is not None:
        env[ENVIRONMENT] = f"{pause[0]}:{pause[1]}"
    return subprocess.Popen(
        [sys.executable, "-m", "preserve", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )


def stop(process: subprocess.Popen[bytes], signum: int) -> tuple[str, str]:
    """Send `signum` to the run and return what it printed once it has ended."""
    try:
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return out.decode(), err.decode()


def assert_interrupted(process: subprocess.Popen[bytes], err: str, signum: int, code: int) -> None:
    assert process.returncode == code, err
    name = signal.Signals(signum).name
    assert err.strip().splitlines()[-1] == f"preserve: error: interrupted by {name}"
    assert "Aborted!" not in err
    assert "Traceback" not in err


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[Path]:
    """The runs' temporary folder; it must hold nothing once they have ended."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    yield folder
    assert list(folder.iterdir()) == []


@pytest.fixture
def large_bag(tmp_path: Path) -> Path:
    """A valid bag with 48 MiB of payload (random, so compression cannot shrink it)."""
    return build_bag(tmp_path / "large", {"data/web/big.bin": os.urandom(48 * MiB)})


@SIGNALS
@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_a_signal_while_validate_hashes_a_large_archive(
    large_bag: Path, tmp_path: Path, tmp: Path, fmt: str, signum: int, code: int
) -> None:
    archive = serialize_bag(large_bag, fmt).path
    handshake = tmp_path / "handshake"
    handshake.mkdir()
    process = start("validate", archive, tmp=tmp, pause=("reading", handshake))
    wait_for(handshake / "reading.reached", process)
    (scratch,) = tmp.iterdir()
    assert scratch.name.startswith(SCRATCH_PREFIX)
    assert f"pid={process.pid}\n" in (scratch / "lock").read_text()
    # Only the bag's lists were unpacked; the payload is read inside the archive.
    assert sorted(p.name for p in (scratch / "work" / "large").iterdir()) == [
        "bag-info.txt",
        "bagit.txt",
        "data",
        "manifest-sha256.txt",
        "manifest-sha512.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha512.txt",
    ]
    out, err = stop(process, signum)
    assert_interrupted(process, err, signum, code)
    assert out == f"{archive}: not checked\n"


def test_an_interrupted_validate_checks_no_further_bag(
    large_bag: Path, tmp_path: Path, tmp: Path
) -> None:
    archive = serialize_bag(large_bag, "tar.gz").path
    handshake = tmp_path / "handshake"
    handshake.mkdir()
    process = start("validate", "--json", archive, large_bag, tmp=tmp, pause=("reading", handshake))
    wait_for(handshake / "reading.reached", process)
    out, err = stop(process, signal.SIGTERM)
    assert_interrupted(process, err, signal.SIGTERM, 143)
    document = json.loads(out)
    assert document["exit_code"] == 143
    assert [(b["bag"], b["exit_code"], b["error"]) for b in document["bags"]] == [
        (str(archive), 143, "interrupted by SIGTERM")
    ]


@SIGNALS
def test_a_signal_while_export_unpacks_a_large_archive(
    site: Server, tmp_path: Path, tmp: Path, signum: int, code: int
) -> None:
    bag = preserve.capture(site.url("/"), tmp_path / "bags").bag_path
    # Unlisted, so export never takes it, but unpacked first (data/big sorts before data/logs).
    (bag / "data" / "big.bin").write_bytes(os.urandom(48 * MiB))
    archive = serialize_bag(bag, "tar.gz").path
    handshake = tmp_path / "handshake"
    handshake.mkdir()
    wacz = tmp_path / "out" / "capture.wacz"
    process = start("export", archive, "--wacz", wacz, tmp=tmp, pause=("extracting", handshake))
    wait_for(handshake / "extracting.reached", process)
    assert list(tmp.iterdir()) != []
    _out, err = stop(process, signum)
    assert_interrupted(process, err, signum, code)
    assert not (tmp_path / "out").exists()


@SIGNALS
def test_a_signal_while_export_writes_the_wacz(
    tmp_path: Path, tmp: Path, signum: int, code: int
) -> None:
    # A WARC large enough that copying it into the WACZ takes a while: the run is signalled
    # once the partial WACZ is on disk.
    bag = build_bag(
        tmp_path / "bag",
        {
            "data/warc/bag.warc.gz": bytes(256 * MiB),
            "data/warc/bag.cdxj": b"",
            "data/logs/capture-log.jsonl": b"",
        },
    )
    out = tmp_path / "out"
    out.mkdir()
    process = start("export", bag, "--wacz", out / "bag.wacz", tmp=tmp)
    deadline = time.monotonic() + 60
    while not list(out.iterdir()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the export never began writing"
        time.sleep(0.005)
    _out, err = stop(process, signum)
    assert_interrupted(process, err, signum, code)
    assert list(out.iterdir()) == []


@SIGNALS
def test_a_signal_while_info_waits_to_read(
    tmp_path: Path, tmp: Path, signum: int, code: int
) -> None:
    fifo = tmp_path / "bag.zip"
    os.mkfifo(fifo)
    process = start("info", fifo, tmp=tmp)
    deadline = time.monotonic() + 60
    writer = None
    while writer is None:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "info never opened the file"
        try:
            # Succeeds only once a reader has the FIFO open: info is then reading it.
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.01)
    try:
        _out, err = stop(process, signum)
    finally:
        os.close(writer)
    assert_interrupted(process, err, signum, code)


def test_the_next_run_removes_a_killed_run_s_scratch_never_a_live_one(
    large_bag: Path, tmp_path: Path, tmp: Path
) -> None:
    archive = serialize_bag(large_bag, "zip").path
    killed_pause, live_pause = tmp_path / "killed", tmp_path / "live"
    killed_pause.mkdir()
    live_pause.mkdir()
    killed = start("validate", archive, tmp=tmp, pause=("reading", killed_pause))
    wait_for(killed_pause / "reading.reached", killed)
    stop(killed, signal.SIGKILL)
    (stale,) = tmp.iterdir()
    assert (stale / "work" / "large" / "bagit.txt").is_file()

    live = start("validate", archive, tmp=tmp, pause=("reading", live_pause))
    try:
        wait_for(live_pause / "reading.reached", live)
        (held,) = (p for p in tmp.iterdir() if p != stale)
        # Someone else's folder, even named like ours, is no scratch folder of this run's.
        (tmp / "preserve-notes").mkdir()

        after = start("validate", large_bag, tmp=tmp)
        out, err = after.communicate(timeout=60)
        assert after.returncode == 0, err
        assert out.decode() == f"{large_bag}: valid\n"
        assert sorted(tmp.iterdir()) == sorted([held, tmp / "preserve-notes"])

        (live_pause / "reading.go").touch()
        out, err = live.communicate(timeout=60)
        assert live.returncode == 0, err
        assert out.decode() == f"{archive}: valid\n"
    finally:
        if live.poll() is None:
            live.kill()
            live.wait()
    (tmp / "preserve-notes").rmdir()


# Runs preserve with files limited to 8 MiB and SIGXFSZ ignored (kept across exec), so a file
# growing past the limit fails with EFBIG as a full disk fails with ENOSPC.
LIMITED = """
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (8 * 1024 * 1024, 8 * 1024 * 1024))
os.execv(sys.executable, [sys.executable, "-m", "preserve", *sys.argv[1:]])
"""


def test_unpacking_that_fails_mid_file_exits_4_and_leaves_nothing(
    site: Server, tmp_path: Path, tmp: Path
) -> None:
    bag = preserve.capture(site.url("/"), tmp_path / "bags").bag_path
    (bag / "data" / "big.bin").write_bytes(os.urandom(16 * MiB))
    archive = serialize_bag(bag, "zip").path
    wacz = tmp_path / "out.wacz"
    done = subprocess.run(
        [sys.executable, "-c", LIMITED, "export", str(archive), "--wacz", str(wacz)],
        capture_output=True,
        env=dict(os.environ, TMPDIR=str(tmp)),
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    assert b"cannot extract" in done.stderr
    assert not wacz.exists()


def test_an_export_killed_while_unpacking_is_cleaned_by_the_next_run(
    site: Server, tmp_path: Path, tmp: Path
) -> None:
    bag = preserve.capture(site.url("/"), tmp_path / "bags").bag_path
    (bag / "data" / "big.bin").write_bytes(os.urandom(8 * MiB))
    archive = serialize_bag(bag, "tar.gz").path
    handshake = tmp_path / "handshake"
    handshake.mkdir()
    killed = start(
        "export", archive, "--wacz", tmp_path / "k.wacz", tmp=tmp, pause=("extracting", handshake)
    )
    wait_for(handshake / "extracting.reached", killed)
    stop(killed, signal.SIGKILL)
    (left,) = tmp.iterdir()
    assert left.name.startswith(SCRATCH_PREFIX)
    after = start("info", bag, tmp=tmp)
    _out, err = after.communicate(timeout=60)
    assert after.returncode == 0, err
    assert list(tmp.iterdir()) == []


@SIGNALS
@pytest.mark.parametrize("command", ["validate", "capture", "batch"])
def test_a_signal_before_the_command_starts_is_130_or_143_never_aborted(
    command: str, signum: int, code: int, tmp: Path, tmp_path: Path
) -> None:
    # Paused once the command line is read, before the command sets its own handlers.
    handshake = tmp_path / "handshake"
    handshake.mkdir()
    args = {
        "validate": ["validate", tmp_path],
        "capture": ["capture", "http://127.0.0.1:9/", "-o", tmp_path / "out"],
        "batch": ["batch", tmp_path / "seeds.csv", "-o", tmp_path / "out"],
    }[command]
    process = start(*args, tmp=tmp, pause=("starting", handshake))
    wait_for(handshake / "starting.reached", process)
    _out, err = stop(process, signum)
    assert_interrupted(process, err, signum, code)
    assert not (tmp_path / "out").exists()
