"""Shared parts of the benchmarks: a loopback server with added latency, and timed runs.

Benchmarks print figures; they assert nothing. Each run is a whole process, timed by wall
clock, with its peak resident memory read from GNU time's `-v` report when it is installed.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GNU_TIME = Path("/usr/bin/time")
VENV_BIN = Path(sys.executable).parent
PACKAGE = Path(__file__).resolve().parent.parent / "preserve"


@dataclass(frozen=True)
class Run:
    """One timed process: wall seconds, peak resident memory in MiB (if measured), exit code.

    `steal` is the CPU time the hypervisor gave to other machines while the run went on, in
    CPU-seconds over all CPUs (None where /proc/stat does not say): on a shared virtual
    machine it is what makes the same run slower one time than the next. `cpu` is the user
    and system time of the process and its threads (GNU time), which other processes on
    the machine disturb far less than the wall time.
    """

    seconds: float
    peak_mib: float | None
    returncode: int
    steal: float | None = None
    cpu: float | None = None


def steal_seconds() -> float | None:
    """Return the CPU time stolen from this machine since boot (Linux), or None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class DelayedHandler(SimpleHTTPRequestHandler):
    """Serve files from a folder, waiting `delay` seconds before each response."""

    delay = 0.0
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle's algorithm and the
    # client's delayed ACK add about 40 ms to every response, for every client alike.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_head(self):  # type: ignore[no-untyped-def]
        if self.delay:
            time.sleep(self.delay)
        return super().send_head()


@contextmanager
def serve(root: Path, delay: float = 0.0) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 with `delay` added to each response; yield the base URL."""
    handler = functools.partial(
        type("Handler", (DelayedHandler,), {"delay": delay}), directory=str(root)
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def compile_package() -> None:
    """Write the package's bytecode caches, as installing it from a wheel does.

    An editable install compiles each module when first imported and keeps the result only
    where bytecode may be written (PYTHONDONTWRITEBYTECODE unset); timing start-up without
    the caches would time the compiler.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(PACKAGE)], check=True)


def timed(command: Sequence[str], *, cwd: Path | None = None) -> Run:
    """Run `command` once; return its wall time, peak memory and exit code."""
    measure = GNU_TIME.is_file()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        full = [str(GNU_TIME), "-v", "-o", report.name, *command] if measure else list(command)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        stolen = steal_seconds()
        began = time.perf_counter()
        done = subprocess.run(
            full, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
        )
        seconds = time.perf_counter() - began
        after = steal_seconds()
        steal = after - stolen if after is not None and stolen is not None else None
        peak = cpu = None
        if measure:
            text = report.read()
            match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
            peak = int(match.group(1)) / 1024 if match else None
            times = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text)
            cpu = sum(map(float, times)) if len(times) == 2 else None
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace")[-2000:])
    return Run(seconds, peak, done.returncode, steal, cpu)


Command = Callable[[Path], Sequence[str]]


def interleaved(
    commands: Sequence[tuple[str, Command]], runs: int, work: Path
) -> list[tuple[str, list[Run]]]:
    """Run every command `runs` times, taking turns, each run in a fresh empty folder.

    Round by round (A, B, C, A, B, C, ...), so a slow spell on a shared machine falls on
    every command alike instead of on whichever was running then.
    """
    results: dict[str, list[Run]] = {name: [] for name, _ in commands}
    for index in range(runs):
        for name, make_command in commands:
            folder = work / f"{name}-{index}".replace(" ", "_").replace("/", "_")
            folder.mkdir(parents=True)
            results[name].append(timed(make_command(folder), cwd=folder))
            shutil.rmtree(folder, ignore_errors=True)
    return [(name, results[name]) for name, _ in commands]


def median(runs: Sequence[Run]) -> tuple[float, float | None]:
    """Return the median wall time and the median peak memory of some runs."""
    peaks = [r.peak_mib for r in runs if r.peak_mib is not None]
    return (
        statistics.median(r.seconds for r in runs),
        statistics.median(peaks) if peaks else None,
    )


def table(
    rows: Sequence[tuple[str, Sequence[Run]]], baseline: str | None = None, *, cpu: bool = False
) -> str:
    """Return a Markdown table of medians, with the ratio to the `baseline` row.

    Every run's wall time is listed too, and the median CPU time stolen by the hypervisor
    during a run, so that a noisy machine shows as one; with `cpu`, each run's user and
    system time too.
    """
    medians = {name: median(runs) for name, runs in rows}
    base = medians[baseline][0] if baseline else None
    cpu_head = " each run's CPU (s) |" if cpu else ""
    lines = [
        "| run | median wall (s) | each run (s) |"
        + cpu_head
        + " peak RSS (MiB) | steal (CPU-s) | vs "
        + (baseline or "-")
        + " |",
        "|---|---|---|---|---|---|" + ("---|" if cpu else ""),
    ]
    for name, runs in rows:
        seconds, peak = medians[name]
        ratio = f"{seconds / base:.2f}x" if base else "-"
        failed = sum(1 for r in runs if r.returncode != 0)
        each = " ".join(f"{r.seconds:.2f}" for r in runs) + (
            f" ({failed} failed)" if failed else ""
        )
        peak_text = f"{peak:.0f}" if peak is not None else "n/a"
        steals = [r.steal for r in runs if r.steal is not None]
        steal = f"{statistics.median(steals):.2f}" if steals else "n/a"
        cpu_cell = ""
        if cpu:
            cpu_cell = (
                " " + " ".join("n/a" if r.cpu is None else f"{r.cpu:.2f}" for r in runs) + " |"
            )
        lines.append(
            f"| {name} | {seconds:.2f} | {each} |{cpu_cell} {peak_text} | {steal} | {ratio} |"
        )
    return "\n".join(lines)


def machine() -> str:
    """Return one line describing this machine: CPUs, Python, and the kernel."""
    uname = os.uname()
    return (
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"{uname.sysname} {uname.release} {uname.machine}"
    )
