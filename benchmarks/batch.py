"""Batch ingestion: 200 seeds on 10 loopback hosts, 5 requisites each, 100 ms per response.

Compares `preserve batch --jobs 8` with `preserve capture -i` on the same URLs, and with
`xargs -P 8 wget -p` followed by bagit.py on each folder; reports the CPU time per URL of
the whole process tree. With `--celery`, also two Celery workers (`preserve worker --jobs 4`
each, on a redis-server of its own) against `batch --jobs 8`. With `--manifest`, checks a
100,000-row manifest whose rows are all done (a resume) and reports its time and memory.
Usage: python benchmarks/batch.py [--runs N] [--celery] [--manifest]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    VENV_BIN,
    Command,
    DelayedHandler,
    Run,
    compile_package,
    interleaved,
    machine,
    table,
    timed,
)

HOSTS = 10
PAGES_PER_HOST = 20
REQUISITES = 5
DELAY = 0.100
JOBS = 8
# Counts the CPU time of every process a run starts, its worker processes included.
REAP = [sys.executable, str(Path(__file__).resolve().parent / "reap.py")]
MANIFEST_ROWS = 100_000


def build_site(root: Path, host: int) -> None:
    """Write one host's pages, each with its own stylesheet, script and three images."""
    for page in range(PAGES_PER_HOST):
        folder = root / f"p{page:02d}"
        folder.mkdir(parents=True)
        (folder / "style.css").write_text(f"body {{ margin: {page}px }}\n", encoding="utf-8")
        (folder / "app.js").write_text(f"var page = {page};\n", encoding="utf-8")
        for image in range(3):
            (folder / f"i{image}.gif").write_bytes(
                b"GIF89a\x01\x00\x01\x00\x00\x00\x00;" + bytes([host, page, image])
            )
        body = "".join(f'<img src="i{n}.gif" alt="">' for n in range(3))
        (folder / "index.html").write_text(
            f"<!DOCTYPE html><html><head><title>Host {host} page {page}</title>"
            '<link rel="stylesheet" href="style.css"><script src="app.js"></script>'
            f"</head><body><h1>Page {page}</h1>{body}</body></html>\n",
            encoding="utf-8",
        )


@contextlib.contextmanager
def serve_hosts(root: Path) -> Iterator[list[str]]:
    """Serve each host's folder on 127.0.0.2, .3, ... (one port); yield every seed URL."""
    port = _free_port()
    servers = []
    for host in range(HOSTS):
        folder = root / f"h{host}"
        build_site(folder, host)
        handler = functools.partial(
            type("Handler", (DelayedHandler,), {"delay": DELAY}), directory=str(folder)
        )
        server = ThreadingHTTPServer((f"127.0.0.{host + 2}", port), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
    try:
        yield [
            f"http://127.0.0.{host + 2}:{port}/p{page:02d}/index.html"
            for page in range(PAGES_PER_HOST)
            for host in range(HOSTS)
        ]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wget_then_bagit(urls_file: Path, out: Path) -> list[str]:
    """Return a shell command: wget -p for each URL, 8 at a time, then bagit.py on each folder."""
    wget = shutil.which("wget") or "wget"
    bagit = str(VENV_BIN / "bagit.py")
    script = (
        f'i=0; while read -r url; do i=$((i+1)); printf "%s %s\\n" "$i" "$url"; done < {urls_file}'
        f' | xargs -P {JOBS} -L 1 sh -c \'{wget} -q -p -P "{out}/$0" "$1"\''
        f" && ls -d {out}/* | xargs -P {JOBS} -n 1 {bagit} --quiet --processes 1"
    )
    return ["sh", "-c", script]


@contextlib.contextmanager
def redis_server(work: Path) -> Iterator[str]:
    """Start redis-server on a free loopback port; yield its URL."""
    port = _free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait()


@contextlib.contextmanager
def workers(broker: str, count: int, jobs: int) -> Iterator[None]:
    """Run `count` Celery workers (`preserve worker --jobs jobs`) on `broker`."""
    preserve_bin = str(VENV_BIN / "preserve")
    started = [
        subprocess.Popen(
            [preserve_bin, "worker", "--broker", broker, "--jobs", str(jobs)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    time.sleep(3.0)
    try:
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=60)


def batch_command(manifest: Path, *extra: str) -> Command:
    """Return `preserve -q batch MANIFEST -o OUT EXTRA...`, counted with every process it starts."""
    preserve_bin = str(VENV_BIN / "preserve")
    return lambda out: [*REAP, preserve_bin, "-q", "batch", str(manifest), "-o", str(out), *extra]


def batch_rows(
    urls: list[str], manifest: Path, runs: int, work: Path
) -> list[tuple[str, list[Run]]]:
    preserve_bin = str(VENV_BIN / "preserve")
    work.mkdir(parents=True, exist_ok=True)
    urls_file = work / "urls.txt"
    urls_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    commands: list[tuple[str, Command]] = [
        (
            f"preserve batch --jobs {JOBS}",
            batch_command(manifest, "--jobs", str(JOBS)),
        ),
        (
            "preserve capture -i",
            lambda out: [preserve_bin, "-q", "capture", "-i", str(urls_file), "-o", str(out)],
        ),
    ]
    if shutil.which("wget"):
        commands.append(
            (f"xargs -P {JOBS} wget -p, then bagit.py", lambda out: wget_then_bagit(urls_file, out))
        )
    return interleaved(commands, runs, work)


def celery_rows(manifest: Path, runs: int, work: Path) -> list[tuple[str, list[Run]]]:
    local: list[tuple[str, Command]] = [
        (
            f"batch --jobs {JOBS}",
            batch_command(manifest, "--jobs", str(JOBS)),
        )
    ]
    rows = interleaved(local, runs, work / "local")
    with redis_server(work) as broker, workers(broker, 2, JOBS // 2):
        remote: list[tuple[str, Command]] = [
            (
                f"batch --broker, 2 workers --jobs {JOBS // 2}",
                batch_command(manifest, "--broker", broker),
            )
        ]
        rows += interleaved(remote, runs, work / "celery")
    return rows


def manifest_figures(work: Path) -> str:
    """Return the time and memory of a resume over a 100,000-row manifest, all rows done."""
    preserve_bin = str(VENV_BIN / "preserve")
    manifest = work / "big.csv"
    with manifest.open("w", encoding="utf-8") as out:
        out.write("url,id,dc.title\n")
        for row in range(MANIFEST_ROWS):
            out.write(f"http://127.0.0.1:9/r{row},row-{row},Row {row}\n")
    output = work / "big-bags"
    output.mkdir()
    # A first run loads the rows into the journal; it is stopped at once, and every row is
    # then marked done, as after a finished batch.
    first = subprocess.Popen(
        [
            preserve_bin,
            "-q",
            "batch",
            str(manifest),
            "-o",
            str(output),
            "--jobs",
            "1",
            "--retries",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert first.stdout is not None
    first.stdout.readline()
    first.terminate()
    first.wait()
    journal = next((output / ".preserve-batch").glob("*.sqlite"))
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE rows SET state = 'done'")
    run = timed([preserve_bin, "-q", "batch", str(manifest), "-o", str(output)])
    peak = "n/a" if run.peak_mib is None else f"{run.peak_mib:.0f} MiB"
    return (
        f"| {MANIFEST_ROWS:,}-row manifest, every row done (check, resume) | {run.seconds:.2f} s "
        f"| {peak} | exit {run.returncode} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--celery", action="store_true")
    parser.add_argument("--manifest", action="store_true")
    args = parser.parse_args()
    compile_package()
    print(
        f"# Batch: {HOSTS * PAGES_PER_HOST} seeds on {HOSTS} loopback hosts, {REQUISITES} "
        f"requisites each, {DELAY * 1000:.0f} ms per response"
    )
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="preserve-bench-") as temp:
        work = Path(temp)
        with serve_hosts(work / "sites") as urls:
            manifest = work / "seeds.csv"
            manifest.write_text(
                "url,dc.title\n" + "".join(f"{u},Seed {n}\n" for n, u in enumerate(urls)),
                encoding="utf-8",
            )
            rows = batch_rows(urls, manifest, args.runs, work / "runs")
            print(table(rows, baseline="preserve capture -i", cpu=True))
            urls_total = len(urls) * (1 + REQUISITES)
            for name, runs in rows:
                cpus = [r.cpu for r in runs if r.cpu is not None]
                if cpus:
                    each = " ".join(f"{cpu / urls_total * 1000:.2f}" for cpu in cpus)
                    print(f"- {name}: CPU per URL (whole process tree), each run: {each} ms")
            if args.celery:
                print()
                print(table(celery_rows(manifest, args.runs, work / "celery"), cpu=True))
        if args.manifest:
            print()
            print("| run | wall | peak RSS | exit |\n|---|---|---|---|")
            print(manifest_figures(work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
