"""README's first-hour walkthrough runs as written: capture, info, validate, export, the API."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import bagit

from .conftest import ROOT, free_port

README = (ROOT / "README.md").read_text(encoding="utf-8")


def walkthrough() -> tuple[str, str]:
    """Return the shell block and the Python block of README's first-hour section."""
    section = README.split("## A first hour", 1)[1].split("\n## ", 1)[0]
    shell = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    python = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(shell) == 2, "a set-up block, then the commands"
    assert len(python) == 1
    return shell[1], python[0]


def run_example(commands: str, folder: Path, *, timeout: float) -> tuple[str, str]:
    """Run a README shell block in `folder` (beside a link to examples/); return its output.

    `preserve` is the one beside this Python; whatever the block left running (a server) is
    stopped at the end. The block must succeed.
    """
    (folder / "examples").symlink_to(ROOT / "examples")
    environment = dict(os.environ)
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    process = subprocess.Popen(
        ["bash", "-e", "-c", commands],
        cwd=folder,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    assert process.returncode == 0, stderr
    return stdout, stderr


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    commands, program = walkthrough()
    # The port is the only thing changed: 8001 may be taken where the tests run.
    port = str(free_port())
    assert "8001" in commands
    assert "8001" in program
    (tmp_path / "first_capture.py").write_text(program.replace("8001", port), encoding="utf-8")
    stdout = run_example(commands.replace("8001", port), tmp_path, timeout=90)[0]
    bag = tmp_path / "bags" / "news-2001"
    assert f"{bag}\n" in stdout
    assert "bags/news-2001: valid\n" in stdout
    bagit.Bag(str(bag)).validate()
    assert (tmp_path / "news-2001.wacz").stat().st_size > 0
    # The Python API made a second bag, with its own bag-info, and found it valid.
    others = [p for p in (tmp_path / "bags").iterdir() if p.name != "news-2001"]
    assert len(others) == 1
    assert "Source-Organization: City Archive" in (others[0] / "bag-info.txt").read_text()
    assert stdout.rstrip().endswith("valid")
    assert "MQM - News and Statements, October 2001" in stdout


def test_the_api_example_imports_from_the_folder_holding_the_clone(tmp_path: Path) -> None:
    # A folder named like the package beside the script (the clone itself, seen from the
    # folder that holds it) must not be taken for the package.
    (tmp_path / "preserve").mkdir()
    probe = "import preserve; print(preserve.CaptureOptions.__name__)"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.stdout == "CaptureOptions\n", done.stderr
