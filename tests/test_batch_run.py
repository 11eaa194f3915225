"""`preserve batch` end to end: real loopback servers, real worker processes, real SQLite.

Runs are killed for real (SIGKILL of the whole process group, SIGINT, SIGTERM), and the
rerun must leave exactly one valid bag per row, with the row's metadata, and a report line
per row. Servers count what they were asked: nothing before the manifest is checked,
nothing again for a row already done, never more requests at once to one host than
--host-workers across all the batch's captures.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pty
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import bagit
import jsonschema
import pytest

from preserve.batch.gates import RobotsFiles
from preserve.batch.journal import FOLDER
from preserve.batch.rows import manifest_id
from preserve.pausepoint import ENVIRONMENT
from preserve.robots import RobotsFile

from .conftest import ROOT, QuietHTTPServer, Server

SCHEMA = json.loads((ROOT / "schemas" / "batch-report.schema.json").read_text(encoding="utf-8"))
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def page(title: str, images: int = 1, links: tuple[str, ...] = ()) -> bytes:
    imgs = "".join(f'<img src="/img/{title}-{i}.png">' for i in range(images))
    anchors = "".join(f'<a href="{link}">more</a>' for link in links)
    return f"<html><head><title>{title}</title></head><body>{imgs}{anchors}</body></html>".encode()


def html_route(server: Server, path: str, body: bytes, delay: float = 0.0) -> None:
    def handler(request: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        request.send_response(200)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    server.routes[path] = handler


def pixels(server: Server, title: str, count: int) -> None:
    for i in range(count):
        server.route(f"/img/{title}-{i}.png", body=PIXEL, headers={"Content-Type": "image/png"})


def batch(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m preserve batch ARGS` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "preserve", "batch", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `python -m preserve batch ARGS` in a process group of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "preserve", "batch", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def wait_for(condition: object, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def kill_group(process: subprocess.Popen[str], signum: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
    process.communicate(timeout=30)


def bags_by_seed(output: Path) -> dict[str, list[Path]]:
    """Return the bags in `output` by the seed their bag-info names, each validated."""
    found: dict[str, list[Path]] = {}
    for folder in sorted(output.iterdir()):
        if folder.name.startswith("."):
            continue
        bag = bagit.Bag(str(folder))
        bag.validate()
        found.setdefault(bag.info["Internal-Sender-Identifier"], []).append(folder)
    return found


def report_lines(text: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        jsonschema.validate(line, SCHEMA)
    return lines


def journal_states(output: Path, manifest: Path) -> dict[str, str]:
    db = sqlite3.connect(output / FOLDER / f"{manifest_id(str(manifest))}.sqlite")
    try:
        return dict(db.execute("SELECT id, state FROM rows").fetchall())
    finally:
        db.close()


def no_staging_left(output: Path) -> bool:
    return not any(p.name.startswith(".preserve-staging") for p in output.iterdir())


def no_live_staging_left(output: Path) -> bool:
    """Return True when no staging folder is left but one killed before its lock named it.

    A folder whose lock file was not yet written is left for a day (README, "Nothing
    half-done"); it never holds bagit.txt.
    """
    for staging in output.glob(".preserve-staging*"):
        lock = staging / "lock"
        if (lock.exists() and lock.read_text()) or list(staging.rglob("bagit.txt")):
            return False
    return True


@pytest.fixture
def slow_site(http: Server) -> Server:
    """Eight pages with a titled image each; each page takes 0.3 s to answer."""
    for i in range(8):
        html_route(http, f"/p{i}.html", page(f"p{i}"), delay=0.3)
        pixels(http, f"p{i}", 1)
    return http


def write_csv(path: Path, server: Server, n: int) -> list[str]:
    urls = [server.url(f"/p{i}.html") for i in range(n)]
    lines = ["id,url,dc.title,bag-info.Collection-Code"]
    lines += [f"row-{i},{url},Page number {i},C-{i}" for i, url in enumerate(urls)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return urls


def test_a_bad_manifest_is_refused_before_any_request(http: Server, tmp_path: Path) -> None:
    html_route(http, "/ok.html", page("ok"))
    manifest = tmp_path / "seeds.csv"
    manifest.write_text(
        "url,id,depth\n"
        f"{http.url('/ok.html')},a,1\n"
        "ftp://example.org/,b,0\n"
        f"{http.url('/ok.html?2')},c,deep\n"
        f"{http.url('/ok.html?3')},a,0\n",
        encoding="utf-8",
    )
    done = batch("seeds.csv", "-o", "out", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("seeds.csv:3: ")
    assert lines[1].startswith("seeds.csv:4: depth")
    assert lines[2] == "seeds.csv:5: duplicate id 'a' (first on line 2)"
    assert "3 problems; nothing was started" in lines[3]
    assert done.stdout == ""
    assert http.requests == []
    assert not (tmp_path / "out").exists()


def test_rows_become_valid_bags_with_their_metadata_and_a_rerun_skips_them(
    slow_site: Server, tmp_path: Path
) -> None:
    manifest = tmp_path / "seeds.csv"
    urls = write_csv(manifest, slow_site, 4)
    done = batch("seeds.csv", "-o", "out", "--jobs", "2", "--report", "r.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = report_lines(done.stdout)
    assert sorted(line["id"] for line in lines) == [f"row-{i}" for i in range(4)]
    assert all(line["outcome"] == "captured" and line["attempts"] == 1 for line in lines)
    assert done.stderr.splitlines()[-1] == "4 done, 0 failed, 0 already done"
    bags = bags_by_seed(tmp_path / "out")
    assert sorted(bags) == sorted(urls)
    for i, url in enumerate(urls):
        (bag,) = bags[url]
        assert f"<dcterms:title>Page number {i}</dcterms:title>" in (
            bag / "data" / "metadata" / "dc.xml"
        ).read_text(encoding="utf-8")
        info = (bag / "bag-info.txt").read_text(encoding="utf-8")
        assert f"Collection-Code: C-{i}\n" in info
        line = next(x for x in lines if x["url"] == url)
        assert line["bag"] == str(bag)
        assert f"External-Identifier: {line['capture_id']}\n" in info
    # The report file holds one line per row, in manifest order.
    in_file = report_lines((tmp_path / "r.jsonl").read_text(encoding="utf-8"))
    assert [line["id"] for line in in_file] == [f"row-{i}" for i in range(4)]
    asked = len(slow_site.requests)

    again = batch("seeds.csv", "-o", "out", "--jobs", "2", "--report", "r.jsonl", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert again.stderr.splitlines()[-1] == "0 done, 0 failed, 4 already done"
    assert len(slow_site.requests) == asked
    assert (tmp_path / "r.jsonl").read_text(encoding="utf-8").count("\n") == 4


def test_failed_rows_are_retried_only_with_retry_failed(http: Server, tmp_path: Path) -> None:
    html_route(http, "/good.html", page("good", images=0))
    asked = Counter[str]()

    def flaky(request: BaseHTTPRequestHandler) -> None:
        asked["flaky"] += 1
        body = page("flaky", images=0)
        request.send_response(200 if asked["flaky"] > 1 else 404)
        request.send_header("Content-Type", "text/html")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    http.routes["/flaky.html"] = flaky
    (tmp_path / "seeds.txt").write_text(
        f"{http.url('/good.html')}\n{http.url('/flaky.html')}\n", encoding="utf-8"
    )
    first = batch("seeds.txt", "-o", "out", "--jobs", "2", "--report", "r.jsonl", cwd=tmp_path)
    assert first.returncode == 5, first.stderr
    (failed,) = [line for line in report_lines(first.stdout) if line["outcome"] == "failed"]
    assert failed["id"] == http.url("/flaky.html")
    assert failed["exit"] == 3
    assert "404" in str(failed["error"])
    assert "1 done, 1 failed, 0 already done" in first.stderr

    second = batch("seeds.txt", "-o", "out", "--jobs", "2", cwd=tmp_path)
    assert second.returncode == 5
    assert asked["flaky"] == 1
    assert second.stdout == ""

    third = batch(
        "seeds.txt",
        "-o",
        "out",
        "--jobs",
        "2",
        "--retry-failed",
        "--report",
        "r.jsonl",
        cwd=tmp_path,
    )
    assert third.returncode == 0, third.stderr
    (line,) = report_lines(third.stdout)
    assert (line["outcome"], line["attempts"]) == ("captured", 2)
    assert "1 done, 0 failed, 1 already done" in third.stderr
    assert [x["outcome"] for x in report_lines((tmp_path / "r.jsonl").read_text())] == [
        "captured",
        "captured",
    ]
    assert sorted(bags_by_seed(tmp_path / "out")) == [
        http.url("/flaky.html"),
        http.url("/good.html"),
    ]


def test_a_run_killed_mid_way_resumes_with_one_valid_bag_per_row(
    slow_site: Server, tmp_path: Path
) -> None:
    manifest = tmp_path / "seeds.csv"
    urls = write_csv(manifest, slow_site, 8)
    args = ("seeds.csv", "-o", "out", "--jobs", "2", "--report", "r.jsonl")
    killed = start(*args, cwd=tmp_path)
    report = tmp_path / "r.jsonl"
    wait_for(lambda: report.exists() and report.read_text().count("\n") >= 2, killed)
    kill_group(killed)
    states = Counter(journal_states(tmp_path / "out", manifest).values())
    assert states["done"] >= 2
    assert states["pending"] >= 1

    rerun = batch(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    bags = bags_by_seed(tmp_path / "out")
    assert sorted(bags) == sorted(urls)
    assert all(len(found) == 1 for found in bags.values()), bags
    for i, url in enumerate(urls):
        dc = (bags[url][0] / "data" / "metadata" / "dc.xml").read_text(encoding="utf-8")
        assert f"<dcterms:title>Page number {i}</dcterms:title>" in dc
    lines = report_lines(report.read_text(encoding="utf-8"))
    assert [line["id"] for line in lines] == [f"row-{i}" for i in range(8)]
    assert no_live_staging_left(tmp_path / "out")


def test_a_kill_between_the_bag_s_rename_and_the_journal_leaves_one_bag(
    slow_site: Server, tmp_path: Path
) -> None:
    manifest = tmp_path / "seeds.csv"
    urls = write_csv(manifest, slow_site, 2)
    handshake = tmp_path / "pause"
    handshake.mkdir()
    args = ("seeds.csv", "-o", "out", "--jobs", "1", "--report", "r.jsonl")
    killed = start(*args, cwd=tmp_path, env={ENVIRONMENT: f"journaling:{handshake}"})
    wait_for((handshake / "journaling.reached").exists, killed)
    kill_group(killed)
    # The bag is in place; the journal still has its row running, with the plan that named it.
    assert sorted(bags_by_seed(tmp_path / "out")) == [urls[0]]
    assert journal_states(tmp_path / "out", manifest)["row-0"] == "running"

    rerun = batch(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    lines = {line["id"]: line for line in report_lines(rerun.stdout)}
    assert lines["row-0"]["recovered"] is True
    assert "recovered" not in lines["row-1"]
    bags = bags_by_seed(tmp_path / "out")
    assert {url: len(found) for url, found in bags.items()} == {urls[0]: 1, urls[1]: 1}
    assert str(bags[urls[0]][0]) == lines["row-0"]["bag"]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_cancels_its_captures_and_a_rerun_resumes(
    slow_site: Server, tmp_path: Path, signum: int, code: int
) -> None:
    manifest = tmp_path / "seeds.csv"
    urls = write_csv(manifest, slow_site, 3)
    handshake = tmp_path / "pause"
    handshake.mkdir()
    args = ("seeds.csv", "-o", "out", "--jobs", "1")
    # The worker pauses in its first capture, its staging folder made, the seed's head read.
    run = start(*args, cwd=tmp_path, env={ENVIRONMENT: f"fetching:{handshake}"})
    wait_for((handshake / "fetching.reached").exists, run)
    # Ctrl-C reaches the whole process group; SIGTERM is sent to the run alone.
    if signum == signal.SIGINT:
        os.killpg(run.pid, signum)
    else:
        run.send_signal(signum)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == code, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert journal_states(tmp_path / "out", manifest) == dict.fromkeys(
        ("row-0", "row-1", "row-2"), "pending"
    )
    assert no_staging_left(tmp_path / "out")
    assert bags_by_seed(tmp_path / "out") == {}

    rerun = batch(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    lines = {line["id"]: line for line in report_lines(rerun.stdout)}
    assert lines["row-0"]["attempts"] == 2
    assert sorted(bags_by_seed(tmp_path / "out")) == sorted(urls)


def test_a_worker_that_dies_has_its_row_run_again_by_a_new_one(
    slow_site: Server, tmp_path: Path
) -> None:
    manifest = tmp_path / "seeds.csv"
    urls = write_csv(manifest, slow_site, 3)
    handshake = tmp_path / "pause"
    handshake.mkdir()
    run = start(
        "seeds.csv",
        "-o",
        "out",
        "--jobs",
        "1",
        cwd=tmp_path,
        env={ENVIRONMENT: f"fetching:{handshake}"},
    )
    wait_for((handshake / "fetching.reached").exists, run)
    (lock,) = (tmp_path / "out").glob(".preserve-staging*/lock")
    worker = int(dict(line.split("=", 1) for line in lock.read_text().splitlines())["pid"])
    assert worker != run.pid
    os.kill(worker, signal.SIGKILL)
    (handshake / "fetching.go").touch()
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stderr
    lines = {line["id"]: line for line in report_lines(stdout)}
    assert lines["row-0"]["outcome"] == "captured"
    bags = bags_by_seed(tmp_path / "out")
    assert {url: len(found) for url, found in bags.items()} == dict.fromkeys(urls, 1)
    assert no_staging_left(tmp_path / "out")


def test_a_terminal_shows_a_progress_line_and_a_pipe_does_not(
    slow_site: Server, tmp_path: Path
) -> None:
    write_csv(tmp_path / "seeds.csv", slow_site, 2)
    reader, writer = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "preserve", "batch", "seeds.csv", "-o", "out", "--jobs", "2"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=writer,
            timeout=60,
            check=False,
        )
        os.close(writer)
        shown = b""
        with contextlib.suppress(OSError):
            while chunk := os.read(reader, 65536):
                shown += chunk
    finally:
        os.close(reader)
    assert done.returncode == 0, shown
    text = shown.decode()
    # Drawn while the rows run, not only as each ends.
    assert "\r\x1b[K0/2 rows, " in text
    assert "\r\x1b[K1/2 rows, " in text
    assert "\r\x1b[K2/2 rows, " in text
    assert "rows/s" in text
    assert "left" in text
    assert "2 done, 0 failed, 0 already done" in text
    piped = batch("seeds.csv", "-o", "out2", "--jobs", "2", cwd=tmp_path)
    assert "\x1b" not in piped.stderr
    assert piped.stderr == "2 done, 0 failed, 0 already done\n"


class HostCounter:
    """Requests in flight per host, and the most seen at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.total_now = 0
        self.total_most = 0
        self.asked: Counter[tuple[str, str]] = Counter()
        self.starts: dict[str, list[float]] = {}

    @contextlib.contextmanager
    def request(self, host: str, path: str) -> Iterator[None]:
        with self.lock:
            self.asked[(host, path)] += 1
            self.starts.setdefault(host, []).append(time.monotonic())
            self.now[host] += 1
            self.most[host] = max(self.most[host], self.now[host])
            self.total_now += 1
            self.total_most = max(self.total_most, self.total_now)
        try:
            yield
        finally:
            with self.lock:
                self.now[host] -= 1
                self.total_now -= 1


@pytest.fixture
def hosts() -> Iterator[tuple[list[str], HostCounter]]:
    """Three sites on 127.0.0.2, .3 and .4; every answer takes 100 ms."""
    counter = HostCounter()

    def handler_for(host: str) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with counter.request(host, self.path):
                    time.sleep(0.1)
                    if self.path == "/robots.txt":
                        body, kind = b"User-agent: *\nDisallow: /private/\n", "text/plain"
                    elif self.path.endswith(".png"):
                        body, kind = PIXEL, "image/png"
                    elif self.path.startswith("/seed"):
                        name = self.path.strip("/").split(".")[0]
                        body, kind = page(name, 3, (f"/more-{name}.html",)), "text/html"
                    else:
                        body, kind = page("more", 0), "text/html"
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        return Handler

    servers = []
    bases = []
    for last in (2, 3, 4):
        address = f"127.0.0.{last}"
        httpd = QuietHTTPServer((address, 0), handler_for(address))
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(httpd)
        bases.append(f"http://{address}:{httpd.server_address[1]}")
    try:
        yield bases, counter
    finally:
        for httpd in servers:
            httpd.shutdown()
            httpd.server_close()


def test_host_workers_and_robots_hold_across_the_whole_batch(
    hosts: tuple[list[str], HostCounter], tmp_path: Path
) -> None:
    bases, counter = hosts
    # Three rows per host, interleaved, three at once: each capture alone would send
    # --host-workers requests to its host, and rows of the same host run side by side.
    urls = [f"{base}/seed{n}.html" for n in range(3) for base in bases]
    (tmp_path / "seeds.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
    done = batch(
        "seeds.txt",
        "-o",
        "out",
        "--jobs",
        "3",
        "--host-workers",
        "2",
        "--depth",
        "1",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert len(report_lines(done.stdout)) == 9
    hosts_seen = [base.split("//")[1].split(":")[0] for base in bases]
    assert all(counter.most[host] <= 2 for host in hosts_seen), counter.most
    assert max(counter.most.values()) == 2
    # The captures did run at once: more requests in flight than one host allows.
    assert counter.total_most > 2
    # robots.txt is fetched once per host for the batch (a second time only when two
    # captures of a host asked before the first answer was kept), not once per capture.
    robots = {host: counter.asked[(host, "/robots.txt")] for host in hosts_seen}
    assert all(1 <= n <= 2 for n in robots.values()), robots
    assert sum(robots.values()) < 9


def test_wait_holds_across_the_whole_batch(
    hosts: tuple[list[str], HostCounter], tmp_path: Path
) -> None:
    bases, counter = hosts
    urls = [f"{bases[0]}/more-{n}.html" for n in range(4)]
    (tmp_path / "seeds.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
    done = batch("seeds.txt", "-o", "out", "--jobs", "2", "--wait", "0.3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    starts = counter.starts[bases[0].split("//")[1].split(":")[0]]
    assert len(starts) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # Two captures at once, yet one request to the host every 0.3 s. The bound is loose (a
    # request may reach the server late on a busy machine); each capture's own gate would
    # let the two captures' requests start together.
    assert min(gaps) >= 0.2, gaps


def test_a_journal_that_cannot_be_written_is_exit_4(tmp_path: Path) -> None:
    (tmp_path / "seeds.txt").write_text("http://127.0.0.1:9/\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / FOLDER).write_text("in the way", encoding="utf-8")
    done = batch("seeds.txt", "-o", "out", cwd=tmp_path)
    assert done.returncode == 4
    assert "cannot create the batch journal" in done.stderr
    assert "Traceback" not in done.stderr


def test_batch_help_loads_no_capture_code() -> None:
    probe = (
        "import sys\n"
        "from preserve.cli import main\n"
        "try:\n"
        "    main(['batch', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('requests', 'lxml', 'sqlite3', 'preserve.capture.run',"
        " 'preserve.fetch', 'preserve.batch.runner') if m in sys.modules]\n"
        "print('loaded:', ','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "--retry-failed" in done.stdout
    assert done.stdout.splitlines()[-1] == "loaded: "


def test_the_python_api_runs_a_batch_and_reports_each_row(site: Server, tmp_path: Path) -> None:
    import preserve

    # This module imported preserve.batch.journal: `preserve.batch` is the package, callable.
    assert isinstance(preserve.batch, type(preserve))

    manifest = tmp_path / "rows.jsonl"
    manifest.write_text(
        json.dumps({"url": site.url("/"), "id": "front", "dc.title": "Front"})
        + "\n"
        + json.dumps({"url": site.url("/gallery.html"), "name": "gallery", "depth": 1})
        + "\n",
        encoding="utf-8",
    )
    told: list[tuple[preserve.RowReport, int]] = []
    waited: list[int] = []
    result = preserve.batch(
        manifest,
        tmp_path / "out",
        preserve.CaptureOptions(bag_info=preserve.BagInfo(source_organization="Archive")),
        jobs=2,
        on_outcome=lambda line, progress: told.append((line, progress.ended)),
        on_wait=lambda progress: waited.append(progress.ended),
    )
    assert waited
    assert waited[0] == 0
    assert isinstance(result, preserve.BatchResult)
    assert (result.total, result.done, result.failed, result.already_done) == (2, 2, 0, 0)
    assert result.exit_code == 0
    assert result.journal.parent.name == FOLDER
    assert sorted(line.id for line, _ in told) == ["front", site.url("/gallery.html")]
    assert [ended for _, ended in told] == [1, 2]
    assert (tmp_path / "out" / "gallery" / "bagit.txt").exists()
    gallery = next(line for line, _ in told if line.bag and line.bag.endswith("gallery"))
    assert gallery.media == 7
    again = preserve.batch(manifest, tmp_path / "out", jobs=2)
    assert (again.done, again.already_done) == (0, 2)
    manifest.write_text('{"url": "ftp://x/"}\n{"id": 3}\n', encoding="utf-8")
    with pytest.raises(preserve.BadManifest) as refused:
        preserve.batch(manifest, tmp_path / "out")
    assert [p.line for p in refused.value.problems] == [1, 2]
    assert refused.value.exit_code == 2
    assert again.journal.exists()


def test_readme_documents_every_batch_option() -> None:
    from . import test_cli

    test_cli.test_readme_documents_every_option("batch")


def test_browser_rows_without_chromium_are_refused_before_any_request(
    http: Server, tmp_path: Path
) -> None:
    html_route(http, "/ok.html", page("ok"))
    manifest = tmp_path / "seeds.csv"
    manifest.write_text(
        f"url,browser\n{http.url('/ok.html')},no\n{http.url('/ok.html?2')},yes\n",
        encoding="utf-8",
    )
    missing = {"CHROMIUM": str(tmp_path / "no-chromium")}
    by_row = batch("seeds.csv", "-o", "out", cwd=tmp_path, env=missing)
    assert by_row.returncode == 2, by_row.stderr
    assert by_row.stderr.splitlines()[0].startswith("seeds.csv:3: --browser: CHROMIUM=")
    by_option = batch("seeds.csv", "-o", "out", "--browser", cwd=tmp_path, env=missing)
    assert by_option.returncode == 2, by_option.stderr
    assert "is not an executable file" in by_option.stderr
    assert http.requests == []
    assert not (tmp_path / "out").exists()


def test_a_url_list_on_stdin_is_a_manifest_and_a_second_run_resumes(
    http: Server, tmp_path: Path
) -> None:
    for name in ("a", "b"):
        html_route(http, f"/{name}.html", page(name))
        pixels(http, name, 1)
    urls = "".join(f"{http.url(f'/{name}.html')}\n" for name in ("a", "b"))
    listed = f"# seeds\n{urls}\n"

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "preserve", "batch", "-", "-o", "out", "--jobs", "2"],
            cwd=tmp_path,
            input=listed,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    first = run()
    assert first.returncode == 0, first.stderr
    assert sorted(line["url"] for line in report_lines(first.stdout)) == sorted(urls.split())
    assert (tmp_path / "out" / FOLDER / "stdin.sqlite").is_file()
    asked = len(http.requests)
    again = run()
    assert again.returncode == 0, again.stderr
    assert again.stderr.splitlines()[-1] == "0 done, 0 failed, 2 already done"
    assert len(http.requests) == asked
    assert sorted(bags_by_seed(tmp_path / "out")) == sorted(urls.split())


def test_the_shared_robots_store_drops_the_least_recently_used_past_its_bound() -> None:
    store = RobotsFiles(max_bytes=130)
    files = [RobotsFile(f"http://h{n}/robots.txt", 200, b"x" * 20) for n in range(4)]
    for file in files[:3]:
        store.put(file)
    assert store.get(files[0].source) == files[0]  # now the most recently used
    store.put(files[3])  # 4 x 40 bytes past 130: one goes, the least recently used
    assert store.get(files[1].source) is None
    assert [store.get(f.source) for f in (files[0], files[2], files[3])] == [
        files[0],
        files[2],
        files[3],
    ]
    store.put(RobotsFile(files[0].source, 404, None))  # replaced, its bytes given back
    assert len(store) == 3
