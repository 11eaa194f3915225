"""Cleaning up never loses: a killed --serialize, a second signal, a name at the limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import bagit

import preserve
from preserve.pausepoint import ENVIRONMENT

from .conftest import EXAMPLE_SITE, ROOT


def start(args: list[str], pause: tuple[str, Path] | None = None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if pause is not None:
        env[ENVIRONMENT] = f"{pause[0]}:{pause[1]}"
    return subprocess.Popen(
        [sys.executable, "-m", "preserve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )


def wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"never reached {path.name}"
        time.sleep(0.02)


def test_a_run_killed_while_serialising_leaves_no_archive_and_is_cleaned(tmp_path: Path) -> None:
    page = str(EXAMPLE_SITE / "index.html")
    output = tmp_path / "out"
    pause = tmp_path / "pause"
    pause.mkdir()
    killed = start(
        ["capture", page, "-o", str(output), "--serialize", "tar.gz"], ("serializing", pause)
    )
    try:
        wait_for(pause / "serializing.reached", killed)
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
    # The half-made archive is inside the hidden staging folder, not beside the bags.
    (stale,) = output.iterdir()
    assert stale.name.startswith(".preserve-staging-")
    assert list(stale.glob("archive-*.tmp"))
    after = start(["capture", page, "-o", str(output), "--serialize", "tar.gz", "--name", "after"])
    _out, err = after.communicate(timeout=60)
    assert after.returncode == 0, err
    assert sorted(p.name for p in output.iterdir()) == ["after.tar.gz"]


def test_a_second_signal_during_cleanup_still_leaves_nothing(tmp_path: Path) -> None:
    page = str(EXAMPLE_SITE / "index.html")
    output = tmp_path / "out"
    pause = tmp_path / "pause"
    pause.mkdir()
    run = start(["capture", page, "-o", str(output)], ("writing", pause))
    try:
        wait_for(pause / "writing.reached", run)
        run.send_signal(signal.SIGINT)
        # The second arrives while the first one's cleanup may still be under way.
        time.sleep(0.01)
        run.send_signal(signal.SIGINT)
        _out, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 130, err
    assert b"Traceback" not in err
    assert list(output.iterdir()) == []


def test_a_name_at_the_limit_serialises_and_one_past_it_is_refused(tmp_path: Path) -> None:
    page = str(EXAMPLE_SITE / "index.html")
    longest = "a" * 247
    result = preserve.capture(
        page, tmp_path / "out", preserve.CaptureOptions(name=longest, serialize="tar.gz")
    )
    assert result.bag_path.name == longest + ".tar.gz"
    folder = preserve.capture(page, tmp_path / "folders", preserve.CaptureOptions(name=longest))
    bagit.Bag(str(folder.bag_path)).validate()
    refused = start(["capture", page, "-o", str(tmp_path / "x"), "--name", "b" * 248])
    _out, err = refused.communicate(timeout=60)
    assert refused.returncode == 2
    assert b"longer than 247 bytes" in err
    assert not (tmp_path / "x").exists()
