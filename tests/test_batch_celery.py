"""Batches past one machine: Celery workers, Redis as broker and for the per-host limits.

Everything here is real: a `redis-server` started on a free loopback port, `preserve worker`
processes (prefork pools), captures of a slow loopback site. No eager mode, no fake Redis.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import bagit
import pytest
import redis
from click.testing import CliRunner

from preserve.batch.celery import CeleryDispatcher, run_message
from preserve.batch.redis_gates import BatchKeys, RedisHostGate, RedisRobotsStore
from preserve.batch.task import RowOutcome, RowTask, plan_attempt
from preserve.batch.wire import (
    WireError,
    outcome_from_json,
    outcome_to_json,
    task_from_json,
    task_to_json,
)
from preserve.cli import main
from preserve.models import BagInfo, CaptureOptions
from preserve.robots import RobotsFile

from .conftest import PROXY_VARIABLES, ROOT, QuietHTTPServer, free_port

# `make check` names the one it checked (`make redis`); else the one on PATH, or Debian's.
REDIS_SERVER = (
    os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
)
REQUIRE = os.environ.get("PRESERVE_TESTS_REQUIRE_SHARED") == "1" or bool(os.environ.get("CI"))
STAGING = ".preserve-staging-"
PRESERVE = (sys.executable, "-m", "preserve")
NO_DISK = ("--appendonly", "no", "--dir")


def _environment() -> dict[str, str]:
    """Return this process's environment without proxies or PRESERVE_* settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in PROXY_VARIABLES and not k.startswith("PRESERVE_")
    }


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run redis-server on a free loopback port; yield its URL (database 0)."""
    server = REDIS_SERVER
    if not Path(server).is_file():
        reason = (
            f"redis-server is not at {server} (Debian: apt-get install redis-server; `make"
            " redis` does it as root); CI runs these tests"
        )
        if REQUIRE:
            pytest.fail(f"{reason}, and CI requires them", pytrace=False)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    with (folder / "log").open("wb") as sink:
        process = subprocess.Popen(
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                *NO_DISK,
                str(folder),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"redis-server did not start: {(folder / 'log').read_text()}")
            time.sleep(0.05)
    client.close()
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def client(broker: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(broker)
    yield connection
    connection.close()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def children(self) -> set[int]:
        """Return the pids of the worker's pool processes."""
        found: set[int] = set()
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            text = (task / "children").read_text()
            found.update(int(pid) for pid in text.split())
        return found


def start_worker(broker: str, folder: Path, jobs: int, *options: str) -> Worker:
    """Start `preserve worker` in a session of its own (so its whole group can be killed)."""
    log = folder / f"worker-{uuid.uuid4().hex[:6]}.log"
    command = [*PRESERVE, "worker", "--broker", broker, "--jobs", str(jobs), *options]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--loglevel", "info"],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            cwd=folder,
            env=_environment(),
            start_new_session=True,
        )
    return Worker(process, log)


def wait_ready(workers: list[Worker]) -> None:
    deadline = time.monotonic() + 60
    for worker in workers:
        while " ready." not in worker.log.read_text(errors="replace"):
            assert worker.process.poll() is None, worker.log.read_text()
            assert time.monotonic() < deadline, worker.log.read_text()
            time.sleep(0.1)


@pytest.fixture(scope="module")
def workers(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Worker]]:
    """Two `preserve worker` processes of two pool processes each, as on two machines."""
    folder = tmp_path_factory.mktemp("workers")
    started = [start_worker(broker, folder, 2) for _ in range(2)]
    try:
        wait_ready(started)
        yield started
    finally:
        for worker in started:
            worker.process.terminate()
        for worker in started:
            try:
                worker.process.wait(30)
            except subprocess.TimeoutExpired:
                worker.process.kill()


@dataclass
class SlowSite:
    """A loopback host whose every answer takes `delay` seconds; counts requests at once."""

    delay: float
    images: int
    base: str = ""
    current: int = 0
    peak: int = 0
    requests: int = 0
    starts: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def page(self, n: int) -> str:
        return f"{self.base}/page-{n}.html"

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.starts.append(time.monotonic())
            self.current += 1
            self.requests += 1
            self.peak = max(self.peak, self.current)
        try:
            time.sleep(self.delay)
            match = re.fullmatch(r"/page-(\d+)\.html", request.path)
            if match:
                images = "".join(f'<img src="/img-{match[1]}-{k}.png">' for k in range(self.images))
                body = f"<html><head><title>Page {match[1]}</title></head><body>{images}"
                status, kind, data = 200, "text/html; charset=utf-8", body.encode()
            elif request.path.startswith("/img-"):
                status, kind, data = 200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64
            else:
                status, kind, data = 404, "text/plain", b"not here"
            request.send_response(status)
            request.send_header("Content-Type", kind)
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        finally:
            with self.lock:
                self.current -= 1


def serve_slow(delay: float, images: int) -> Iterator[SlowSite]:
    site = SlowSite(delay, images)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            site.answer(self)

    httpd = QuietHTTPServer(("127.0.0.1", 0), Handler)
    site.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def slow_site() -> Iterator[SlowSite]:
    yield from serve_slow(0.3, 3)


@pytest.fixture
def other_site() -> Iterator[SlowSite]:
    yield from serve_slow(0.3, 3)


def row_task(n: int, url: str, output: Path, **options: object) -> RowTask:
    capture_id = uuid.uuid4()
    name = plan_attempt(url, None, datetime.now(UTC), capture_id)
    chosen = CaptureOptions(name=name, **options)  # type: ignore[arg-type]
    return RowTask(f"row-{n}", n + 1, url, output, chosen, capture_id)


def run_rows(
    broker: str,
    tasks: list[RowTask],
    *,
    host_workers: int,
    wait: float = 0.0,
    meanwhile: Callable[[], None] = lambda: None,
    limit: float = 60,
) -> list[RowOutcome]:
    """Send `tasks` through a CeleryDispatcher; return their outcomes once all ended."""
    dispatcher = CeleryDispatcher(
        broker, batch_key=uuid.uuid4().hex, host_workers=host_workers, wait=wait, capacity=16
    )
    found: list[RowOutcome] = []
    try:
        for task in tasks:
            dispatcher.submit(task)
        deadline = time.monotonic() + limit
        while len(found) < len(tasks):
            assert time.monotonic() < deadline, f"{len(found)} of {len(tasks)} rows ended"
            found += dispatcher.outcomes(0.2)
            meanwhile()
    finally:
        dispatcher.close(cancel=len(found) < len(tasks))
    return found


def assert_one_valid_bag_per_row(output: Path, tasks: list[RowTask]) -> None:
    names = sorted(entry.name for entry in output.iterdir())
    assert names == sorted(task.bag_path.name for task in tasks)
    for task in tasks:
        bagit.Bag(str(task.bag_path)).validate()


def test_rows_run_on_two_workers_each_end_with_one_valid_bag(
    broker: str, workers: list[Worker], slow_site: SlowSite, tmp_path: Path
) -> None:
    output = tmp_path / "bags"
    tasks = [row_task(n, slow_site.page(n), output) for n in range(6)]
    before = [w.log.read_text(errors="replace").count(" succeeded in ") for w in workers]
    outcomes = run_rows(broker, tasks, host_workers=4)
    assert sorted(o.row_id for o in outcomes) == sorted(t.row_id for t in tasks)
    for outcome in outcomes:
        assert (outcome.outcome, outcome.exit_code, outcome.error) == ("captured", 0, None)
        assert outcome.counts["requisites"]["captured"] == 3
        assert outcome.bag is not None
    assert {Path(o.bag or "") for o in outcomes} == {t.bag_path for t in tasks}
    assert_one_valid_bag_per_row(output, tasks)
    # Both workers took rows: the queue is shared, not one worker's.
    after = [w.log.read_text(errors="replace").count(" succeeded in ") for w in workers]
    assert all(a > b for a, b in zip(after, before, strict=True))
    assert sum(after) - sum(before) == 6


def test_per_host_limits_hold_across_every_worker(
    broker: str, workers: list[Worker], slow_site: SlowSite, other_site: SlowSite, tmp_path: Path
) -> None:
    output = tmp_path / "bags"
    sites = [slow_site, other_site]
    tasks = [row_task(n, sites[n % 2].page(n), output) for n in range(8)]
    outcomes = run_rows(broker, tasks, host_workers=2)
    assert [o.outcome for o in outcomes] == ["captured"] * 8
    for site in sites:
        # Four captures at once (two workers, two processes each), each wanting four
        # requests to its host at once: two at a time, as --host-workers 2 says.
        assert site.peak == 2
        assert site.requests >= 4 * 4
    assert_one_valid_bag_per_row(output, tasks)


def test_wait_spaces_the_requests_to_a_host_across_every_worker(
    broker: str, workers: list[Worker], tmp_path: Path
) -> None:
    site_gen = serve_slow(0.05, 2)
    site = next(site_gen)
    output = tmp_path / "bags"
    tasks = [row_task(n, site.page(n), output) for n in range(4)]
    try:
        outcomes = run_rows(broker, tasks, host_workers=4, wait=0.3)
    finally:
        site_gen.close()
    assert [o.outcome for o in outcomes] == ["captured"] * 4
    # Four captures at once on two workers, twelve requests: each starts 0.3 s after the last.
    starts = sorted(site.starts)
    assert len(starts) >= 12
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.25
    assert_one_valid_bag_per_row(output, tasks)


def _staging_owner(output: Path, pool: set[int]) -> int | None:
    """Return the pid of a pool process that has a staging folder in `output`, if any."""
    for lock in output.glob(f"{STAGING}*/lock"):
        fields = dict(line.split("=", 1) for line in lock.read_text().splitlines() if "=" in line)
        pid = int(fields.get("pid", "0") or 0)
        if pid in pool:
            return pid
    return None


def test_a_pool_process_killed_mid_row_has_its_row_redone_with_one_bag(
    broker: str, workers: list[Worker], client: redis.Redis, tmp_path: Path
) -> None:
    output = tmp_path / "bags"
    site_gen = serve_slow(0.4, 4)
    site = next(site_gen)
    tasks = [row_task(n, site.page(n), output) for n in range(4)]
    killed: list[int] = []

    def kill_one() -> None:
        if killed:
            return
        pool = set().union(*(w.children() for w in workers))
        owner = _staging_owner(output, pool) if output.is_dir() else None
        if owner is not None:
            os.kill(owner, signal.SIGKILL)
            killed.append(owner)

    try:
        outcomes = run_rows(broker, tasks, host_workers=4, meanwhile=kill_one)
    finally:
        site_gen.close()
    assert len(killed) == 1
    assert not Path(f"/proc/{killed[0]}").exists()
    assert sorted(o.row_id for o in outcomes) == sorted(t.row_id for t in tasks)
    assert [o.outcome for o in outcomes] == ["captured"] * 4
    # The killed row was delivered a second time; the others once.
    tries = sorted(
        int(client.get(f"preserve:batch:{key}") or 0)
        for key in _keys(client, "tries:", {str(t.capture_id) for t in tasks})
    )
    assert tries == [1, 1, 1, 2]
    # One bag per row, and the killed process's staging folder removed by a later capture.
    assert_one_valid_bag_per_row(output, tasks)
    # Both workers still run a full pool: the killed process was replaced.
    for worker in workers:
        assert worker.process.poll() is None
        assert len(worker.children()) == 2


def _keys(client: redis.Redis, kind: str, ids: set[str]) -> list[str]:
    """Return the batch keys (after `preserve:batch:`) of `kind` for the attempts `ids`."""
    found = []
    for raw in client.scan_iter(match=f"preserve:batch:*:{kind}*"):
        key = raw.decode()
        if key.rsplit(":", 1)[1] in ids:
            found.append(key.removeprefix("preserve:batch:"))
    return found


# The per-host gate and the robots.txt store, against the real Redis.

_HOLDER = textwrap.dedent(
    """
    import sys, threading, time
    import redis
    from preserve.batch.redis_gates import RedisHostGate

    url, namespace, limit, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    client = redis.Redis.from_url(url)
    gate = RedisHostGate(client, namespace, limit, 0.0, lease=1.0)
    probe = client.register_script(PROBE)

    def hold():
        for _ in range(15):
            assert gate.acquire("host:1", 10)
            probe(keys=[namespace + ":now", namespace + ":peak"], args=[1])
            time.sleep(0.01)
            probe(keys=[namespace + ":now", namespace + ":peak"], args=[-1])
            gate.release("host:1")

    if mode == "threads":
        threads = [threading.Thread(target=hold) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
    else:
        while gate.acquire("host:1", 0):
            pass
        print("held", flush=True)
        time.sleep(60)
    """
)
# How many hold a slot now, and the most that ever did, counted in Redis by every holder.
PROBE = """
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end
return n
"""


def _holder(broker: str, namespace: str, limit: int, mode: str) -> subprocess.Popen[str]:
    script = f"PROBE = {PROBE!r}\n{_HOLDER}"
    return subprocess.Popen(
        [sys.executable, "-c", script, broker, namespace, str(limit), mode],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_environment(),
    )


def test_gate_slots_never_exceed_the_limit_across_two_processes(
    broker: str, client: redis.Redis
) -> None:
    namespace = f"test:{uuid.uuid4().hex}"
    with _holder(broker, namespace, 3, "threads") as other:
        gate = RedisHostGate(client, namespace, 3, 0.0, lease=1.0)
        probe = client.register_script(PROBE)

        def hold() -> None:
            for _ in range(15):
                assert gate.acquire("host:1", 10)
                probe(keys=[f"{namespace}:now", f"{namespace}:peak"], args=[1])
                time.sleep(0.01)
                probe(keys=[f"{namespace}:now", f"{namespace}:peak"], args=[-1])
                gate.release("host:1")

        threads = [threading.Thread(target=hold) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert other.wait(60) == 0
    assert int(client.get(f"{namespace}:peak") or 0) == 3
    assert int(client.get(f"{namespace}:now") or 0) == 0
    assert client.zcard(f"{namespace}:slots:host:1") == 0


def test_gate_a_dead_holders_slots_come_back_after_their_lease(
    broker: str, client: redis.Redis
) -> None:
    namespace = f"test:{uuid.uuid4().hex}"
    with _holder(broker, namespace, 2, "hold") as other:
        try:
            assert other.stdout is not None
            assert other.stdout.readline() == "held\n"
            gate = RedisHostGate(client, namespace, 2, 0.0, lease=1.0)
            # Alive, it renews its leases: no slot for a while longer than a lease.
            assert not gate.acquire("host:1", 1.5)
            other.send_signal(signal.SIGKILL)
            other.wait(10)
            killed = time.monotonic()
            assert gate.acquire("host:1", 3)
            assert gate.acquire("host:1", 3)
            assert time.monotonic() - killed < 2.0
            assert not gate.acquire("host:1", 0.2)
        finally:
            other.kill()


def test_gate_spaces_starts_by_wait_across_clients_and_honours_holds(
    broker: str, client: redis.Redis
) -> None:
    namespace = f"test:{uuid.uuid4().hex}"
    second = redis.Redis.from_url(broker)
    try:
        gates = [
            RedisHostGate(client, namespace, 2, 0.2),
            RedisHostGate(second, namespace, 2, 0.2),
        ]
        waits = [gates[n % 2].reserve("host:1") for n in range(6)]
        for n, wait in enumerate(sorted(waits)):
            assert 0.2 * n - 0.05 <= wait <= 0.2 * n + 0.01
        assert gates[0].reserve("host:2") == 0
        time.sleep(1.3)
        # A Retry-After of 0.5 s holds every client; a shorter one later does not shorten it.
        gates[1].hold("host:3", 0.5)
        gates[0].hold("host:3", 0.1)
        assert 0.4 <= gates[0].reserve("host:3") <= 0.5
    finally:
        second.close()
    # Nothing stays behind forever: every key of the gate expires.
    keys = list(client.scan_iter(match=f"{namespace}:*"))
    assert keys
    assert all(client.pttl(key) > 0 for key in keys)


def test_robots_store_keeps_files_for_every_worker_and_expires(
    client: redis.Redis, broker: str
) -> None:
    namespace = f"test:{uuid.uuid4().hex}"
    store = RedisRobotsStore(client, namespace)
    files = [
        RobotsFile("http://a/robots.txt", 200, b"User-agent: *\nDisallow: /x\n\xff\x00"),
        RobotsFile("http://b/robots.txt", None, None, "connection refused"),
        RobotsFile("http://c/robots.txt", None, None, "private address", refused=True),
    ]
    for file in files:
        store.put(file)
    second = redis.Redis.from_url(broker)
    try:
        elsewhere = RedisRobotsStore(second, namespace)
        assert [elsewhere.get(f.source) for f in files] == files
        assert elsewhere.get("http://d/robots.txt") is None
        assert not elsewhere.get("http://a/robots.txt").rules().allows("http://a/x", "me")  # type: ignore[union-attr]
    finally:
        second.close()
    assert 0 < client.ttl(f"{namespace}:robots") <= 24 * 3600
    # An entry that is not one is no file: the capture fetches robots.txt itself.
    client.hset(f"{namespace}:robots", "http://e/robots.txt", b'{"source": 1}')
    assert store.get("http://e/robots.txt") is None


# The worker command.


def test_worker_refuses_a_url_that_is_not_redis_in_one_line() -> None:
    result = CliRunner().invoke(main, ["worker", "--broker", "http://127.0.0.1:1/0"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "preserve: error: --broker 'http://127.0.0.1:1/0' is not a Redis URL (redis://HOST:PORT/DB)"
    ]


def test_worker_says_in_one_line_that_the_broker_cannot_be_reached() -> None:
    port = free_port()
    result = CliRunner().invoke(
        main, ["worker", "--broker", f"redis://me:secret@127.0.0.1:{port}/0"]
    )
    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith(
        f"preserve: error: cannot use the broker at redis://me:<redacted>@127.0.0.1:{port}/0: "
    )
    assert "secret" not in result.output


def test_a_worker_stopped_by_sigterm_finishes_its_row_and_exits_143(
    broker: str, tmp_path: Path
) -> None:
    # A database of its own: only this worker takes the row.
    own = broker.removesuffix("/0") + "/1"
    worker = start_worker(own, tmp_path, 1)
    site_gen = serve_slow(0.4, 4)
    site = next(site_gen)
    output = tmp_path / "bags"
    tasks = [row_task(0, site.page(0), output)]
    stopped: list[bool] = []

    def stop_mid_row() -> None:
        if not stopped and output.is_dir() and _staging_owner(output, worker.children()):
            worker.process.send_signal(signal.SIGTERM)
            stopped.append(True)

    try:
        wait_ready([worker])
        outcomes = run_rows(own, tasks, host_workers=2, meanwhile=stop_mid_row)
        assert worker.process.wait(30) == 143
    finally:
        site_gen.close()
        worker.process.kill()
        worker.process.wait(10)
    assert stopped
    assert [(o.outcome, o.recovered) for o in outcomes] == [("captured", False)]
    assert_one_valid_bag_per_row(output, tasks)


def test_a_cancelled_run_stops_its_rows_and_leaves_no_staging(
    broker: str, workers: list[Worker], tmp_path: Path
) -> None:
    site_gen = serve_slow(0.4, 4)
    site = next(site_gen)
    output = tmp_path / "bags"
    tasks = [row_task(n, site.page(n), output) for n in range(10)]
    dispatcher = CeleryDispatcher(
        broker, batch_key=uuid.uuid4().hex, host_workers=8, wait=0, capacity=16
    )
    pool = set().union(*(w.children() for w in workers))
    try:
        for task in tasks:
            dispatcher.submit(task)
        deadline = time.monotonic() + 30
        while not (output.is_dir() and _staging_owner(output, pool)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        dispatcher.close(cancel=True)
        # The captures running unwind and remove their staging folders; the rows still
        # queued are dropped by the workers, never started.
        deadline = time.monotonic() + 20
        while any(output.glob(f"{STAGING}*")):
            assert time.monotonic() < deadline, list(output.iterdir())
            time.sleep(0.1)
        ended = set(output.iterdir())
        time.sleep(2)
        assert set(output.iterdir()) == ended
        assert len(ended) < len(tasks)
    finally:
        site_gen.close()
    for path in ended:
        bagit.Bag(str(path)).validate()
    for worker in workers:
        assert worker.process.poll() is None


def test_batch_over_a_broker_reports_every_row_as_without_one(
    broker: str, workers: list[Worker], slow_site: SlowSite, tmp_path: Path
) -> None:
    manifest = tmp_path / "rows.csv"
    lines = ["id,url,dc.title"] + [f"r{n},{slow_site.page(n)},Page {n}" for n in range(4)]
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "archive"
    report = tmp_path / "report.jsonl"
    command = [*PRESERVE, "batch", str(manifest), "--output", str(output), "--broker", broker]
    command += ["--host-workers", "2", "--report", str(report)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=90, env=_environment(), check=False
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(row["id"] for row in rows) == ["r0", "r1", "r2", "r3"]
    assert {(row["outcome"], row["exit"], row["attempts"]) for row in rows} == {("captured", 0, 1)}
    assert [json.loads(line)["id"] for line in report.read_text().splitlines()] == [
        "r0",
        "r1",
        "r2",
        "r3",
    ]
    assert done.stderr.splitlines()[-1] == "4 done, 0 failed, 0 already done"
    bags = sorted(p for p in output.iterdir() if not p.name.startswith("."))
    assert bags == sorted(Path(row["bag"]) for row in rows)
    for bag in bags:
        bagit.Bag(str(bag)).validate()
    assert slow_site.peak == 2
    # Run again: every row is done in the journal, nothing is sent to the workers.
    again = subprocess.run(
        command, capture_output=True, text=True, timeout=90, env=_environment(), check=False
    )
    assert (again.returncode, again.stdout) == (0, ""), again.stderr
    assert again.stderr.splitlines()[-1] == "0 done, 0 failed, 4 already done"


# Row attempts and outcomes as JSON.


def test_a_row_task_travels_as_json_with_every_option() -> None:
    options = CaptureOptions(
        timeout=5.5,
        retries=1,
        max_size=10,
        headers=(("X-A", "b"),),
        cookies=Path("/tmp/cookies.txt"),
        checksums=("md5",),
        strict=True,
        name="bag-1",
        bag_info=BagInfo(contact_name="Ann", extra=(("Collection-Code", "C1"),)),
        dc=("title=T",),
        metadata_location="tag",
        serialize="tar.gz",
        depth=2,
        scope="prefix",
        include=("a.*",),
        payload="warc",
        access=False,
    )
    task = RowTask("row", 7, "http://example.org/", Path("/srv/out"), options, uuid.uuid4())
    assert task_from_json(json.loads(json.dumps(task_to_json(task)))) == task
    outcome = RowOutcome("row", "http://example.org/", "failed", 3, error="HTTP 404", seconds=1.5)
    assert outcome_from_json(json.loads(json.dumps(outcome_to_json(outcome)))) == outcome


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"depth": "2"}, "task.options.depth: str is not int"),
        ({"scope": "world"}, "task.options.scope: 'world' is not one of"),
        ({"sorcery": True}, "task.options: unknown field 'sorcery'"),
        ({"headers": [["A"]]}, "task.options.headers: 1 values, not 2"),
        ({"retries": True}, "task.options.retries: bool is not int"),
    ],
)
def test_a_row_task_that_does_not_fit_its_fields_is_refused(
    change: dict[str, object], problem: str
) -> None:
    task = RowTask("row", 2, "http://example.org/", Path("/srv"), CaptureOptions(), uuid.uuid4())
    data = task_to_json(task)
    data["options"].update(change)
    with pytest.raises(WireError) as caught:
        task_from_json(data)
    assert str(caught.value).startswith(problem)


def test_batch_says_in_one_line_that_its_broker_cannot_be_used(tmp_path: Path) -> None:
    manifest = tmp_path / "rows.txt"
    manifest.write_text("http://127.0.0.1:9/\n", encoding="utf-8")
    port = free_port()
    for url, problem in [
        (f"redis://127.0.0.1:{port}/0", f"cannot use the broker at redis://127.0.0.1:{port}/0: "),
        ("redis://127.0.0.1:x/0", "--broker 'redis://127.0.0.1:x/0' is not a Redis URL"),
    ]:
        command = [*PRESERVE, "batch", str(manifest), "-o", str(tmp_path / "out"), "--broker", url]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=60, env=_environment(), check=False
        )
        assert (done.returncode, done.stdout) == (2, "")
        [line] = done.stderr.splitlines()
        assert line.startswith(f"preserve: error: {problem}")
    assert not [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]


# One delivery of a task, run here against the real Redis (what a pool process does).


def _message(keys: BatchKeys, task: RowTask) -> dict[str, object]:
    return {
        "batch": keys.batch,
        "run": keys.run,
        "host_workers": 2,
        "wait": 0,
        "task": task_to_json(task),
    }


def _pushed(client: redis.Redis, keys: BatchKeys) -> list[dict[str, Any]]:
    return [json.loads(item) for item in client.lrange(keys.outcomes, 0, -1)]


def test_a_row_delivered_again_after_three_lost_workers_fails(
    broker: str, client: redis.Redis, tmp_path: Path
) -> None:
    keys = BatchKeys(uuid.uuid4().hex, uuid.uuid4().hex)
    task = row_task(0, "http://127.0.0.1:9/", tmp_path)
    client.set(keys.tries(str(task.capture_id)), 3)
    run_message(broker, _message(keys, task))
    [entry] = _pushed(client, keys)
    assert entry["capture_id"] == str(task.capture_id)
    outcome = outcome_from_json(entry["outcome"])
    assert (outcome.row_id, outcome.outcome, outcome.exit_code) == ("row-0", "failed", 70)
    assert outcome.error == "internal error: the worker running this row was lost 3 times"
    assert list(tmp_path.iterdir()) == []


def test_a_row_a_worker_cannot_read_fails_and_one_of_a_cancelled_run_never_starts(
    broker: str, client: redis.Redis, tmp_path: Path
) -> None:
    keys = BatchKeys(uuid.uuid4().hex, uuid.uuid4().hex)
    task = row_task(0, "http://127.0.0.1:9/", tmp_path)
    message = _message(keys, task)
    message["task"]["options"]["sorcery"] = 1  # type: ignore[index]
    run_message(broker, message)
    [entry] = _pushed(client, keys)
    assert outcome_from_json(entry["outcome"]).error == (
        "internal error: this worker cannot read the row: task.options: unknown field 'sorcery'"
    )
    # Taken over by a later run of the batch, or cancelled: dropped, not even counted.
    for later, cancelled in ((uuid.uuid4().hex, False), (keys.run, True)):
        client.set(keys.current, later)
        if cancelled:
            client.set(keys.cancelled, 1)
        other = row_task(1, "http://127.0.0.1:9/", tmp_path)
        run_message(broker, _message(keys, other))
        assert client.get(keys.tries(str(other.capture_id))) is None
        assert client.llen(keys.outcomes) == 1
    assert list(tmp_path.iterdir()) == []


def test_the_dispatcher_counts_one_outcome_per_attempt(broker: str, client: redis.Redis) -> None:
    # A database no worker reads: the task stays queued, its outcomes are pushed by hand.
    idle = broker.removesuffix("/0") + "/2"
    dispatcher = CeleryDispatcher(
        idle, batch_key=uuid.uuid4().hex, host_workers=1, wait=0, capacity=4
    )
    try:
        task = row_task(0, "http://127.0.0.1:9/", Path("/srv/out"))
        dispatcher.submit(task)
        assert dispatcher.outcomes(0.1) == []
        outcome = RowOutcome(task.row_id, task.url, "captured", 0, bag="/srv/out/b")
        entry = {"capture_id": str(task.capture_id), "outcome": outcome_to_json(outcome)}
        stranger = {"capture_id": str(uuid.uuid4()), "outcome": outcome_to_json(outcome)}
        second = redis.Redis.from_url(idle)
        try:
            # Twice (a row handed out twice), a stranger's, and something that is no outcome.
            for item in (entry, entry, stranger, {"capture_id": 1}):
                second.rpush(dispatcher.keys.outcomes, json.dumps(item))
        finally:
            second.close()
        assert dispatcher.outcomes(1.0) == [outcome]
        assert dispatcher.outcomes(0.1) == []
    finally:
        dispatcher.close(cancel=True)


def test_without_redis_the_gate_raises_and_counts_and_the_robots_store_has_nothing() -> None:
    gone = redis.Redis(port=free_port(), socket_connect_timeout=1, retry=None)
    try:
        gate = RedisHostGate(gone, "test", 2, 0.0)
        with pytest.raises(redis.ConnectionError):
            gate.acquire("host:1", 0.1)
        with pytest.raises(redis.ConnectionError):
            gate.reserve("host:1")
        # A worker tells a row that failed for want of the gate by this count: it hands the
        # row back to the queue instead of reporting it failed.
        assert gate.errors == 2
        store = RedisRobotsStore(gone, "test")
        store.put(RobotsFile("http://a/robots.txt", 404, b""))
        assert store.get("http://a/robots.txt") is None
    finally:
        gone.close()


def test_preserve_and_its_command_line_load_neither_celery_nor_redis() -> None:
    script = (
        "import sys, preserve, preserve.cli, preserve.batch.runner, preserve.capture.run\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'celery', 'kombu', 'redis', 'billiard'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout == "[]\n"


def test_a_worker_killed_whole_mid_row_has_its_row_redone_by_another_with_one_bag(
    broker: str, client: redis.Redis, tmp_path: Path
) -> None:
    # Workers of their own on another database, so that no other worker takes these rows; a
    # short visibility timeout stands for the hours a real one gives.
    other = broker.rsplit("/", 1)[0] + "/1"
    started = [start_worker(other, tmp_path, 1, "--visibility-timeout", "4") for _ in range(2)]
    victim, survivor = started
    output = tmp_path / "bags"
    site_gen = serve_slow(0.4, 4)
    site = next(site_gen)
    tasks = [row_task(n, site.page(n), output) for n in range(3)]
    killed: list[int] = []

    def kill_victim() -> None:
        if killed or not output.is_dir():
            return
        if _staging_owner(output, victim.children()) is not None:
            # The whole worker, its pool with it: nothing is left to hand the row back.
            os.killpg(victim.process.pid, signal.SIGKILL)
            killed.append(victim.process.pid)

    try:
        wait_ready(started)
        outcomes = run_rows(other, tasks, host_workers=4, meanwhile=kill_victim, limit=90)
    finally:
        site_gen.close()
        for worker in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.process.pid, signal.SIGTERM)
        for worker in started:
            try:
                worker.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.process.pid, signal.SIGKILL)
    assert len(killed) == 1
    assert sorted(o.row_id for o in outcomes) == sorted(t.row_id for t in tasks)
    assert [o.outcome for o in outcomes] == ["captured"] * 3
    assert_one_valid_bag_per_row(output, tasks)
    assert not list(output.glob(f"{STAGING}*"))
    # The killed worker's row went back to the queue after the visibility timeout and was
    # delivered a second time, to the worker still running.
    with redis.Redis.from_url(other) as database:
        tries = sorted(
            int(database.get(f"preserve:batch:{key}") or 0)
            for key in _keys(database, "tries:", {str(t.capture_id) for t in tasks})
        )
    assert tries == [1, 1, 2]
    assert survivor.log.read_text(errors="replace").count(" succeeded in ") >= 2
