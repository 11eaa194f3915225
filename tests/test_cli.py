"""The command line: options, stdout and stderr, and every exit code of `capture`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import bagit
import jsonschema
import pytest
from click.testing import CliRunner

from preserve.cli import main

from .conftest import ROOT, Server

SCHEMAS = ROOT / "schemas"


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def bags_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()) if folder.exists() else []


def test_help_documents_every_capture_option() -> None:
    result = run("capture", "--help")
    assert result.exit_code == 0
    for flag in (
        "--output",
        "--input-file",
        "--name",
        "--timeout",
        "--retries",
        "--max-redirects",
        "--max-size",
        "--max-bytes",
        "--max-pages",
        "--max-requisites",
        "--workers",
        "--host-workers",
        "--wait",
        "--user-agent",
        "--header",
        "--cookies",
        "--proxy",
        "--ca-bundle",
        "--insecure",
        "--checksum",
        "--strict",
        "--json",
        "--source-organization",
        "--contact-name",
        "--contact-email",
        "--contact-phone",
        "--organization-address",
        "--info",
        "PRESERVE_TIMEOUT",
    ):
        assert flag in result.output, flag


def test_max_pages_help_counts_linked_pages() -> None:
    text = " ".join(run("capture", "--help").output.split())
    assert (
        "--max-pages INTEGER RANGE Pages (the seed, linked pages and frames) per capture." in text
    )


def test_main_help_and_version() -> None:
    assert "capture" in run("--help").output
    version = run("--version")
    assert version.exit_code == 0
    assert "preserve, version" in version.output


def test_capture_prints_the_bag_path_and_a_summary(site: Server, tmp_path: Path) -> None:
    result = run("capture", site.url("/"), "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    (bag,) = bags_in(tmp_path)
    assert result.stdout.strip() == str(bag)
    assert f"bag: {bag}" in result.stderr
    assert "requisites 19 captured, 0 failed" in result.stderr
    bagit.Bag(str(bag)).validate()


def test_quiet_prints_nothing_on_stderr(site: Server, tmp_path: Path) -> None:
    result = run("-q", "capture", site.url("/"), "-o", str(tmp_path))
    assert result.exit_code == 0
    assert result.stderr == ""


def test_verbose_and_log_file(site: Server, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    result = run("-v", "--log-file", str(log), "capture", site.url("/"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 0
    assert f"captured requisite {site.url('/css/base.css')}" in " ".join(result.stderr.split())
    text = log.read_text(encoding="utf-8")
    assert site.url("/images/arrow.gif") in text
    assert "bag:" in text


def test_missing_requisite_exits_0_and_is_in_the_json_report(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b'<img src="/gone.gif">', headers={"Content-Type": "text/html"})
    result = run("capture", http.url("/"), "-o", str(tmp_path), "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    schema = json.loads((SCHEMAS / "capture-report.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    (capture,) = document["captures"]
    assert capture["ok"] is True
    assert capture["requisites"]["failed"] == 1
    assert capture["failed"][0]["url"] == http.url("/gone.gif")
    assert capture["failed"][0]["status"] == 404
    assert "gone.gif" in result.stderr


def test_capture_log_matches_its_schema(site: Server, tmp_path: Path) -> None:
    result = run("-q", "capture", site.url("/"), "-o", str(tmp_path))
    bag = Path(result.stdout.strip())
    schema = json.loads((SCHEMAS / "capture-log.schema.json").read_text(encoding="utf-8"))
    lines = (bag / "data/logs/capture-log.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20
    for line in lines:
        jsonschema.validate(json.loads(line), schema)


@pytest.mark.parametrize("route", ["/missing", "/error", "/loop"])
def test_failed_seed_exits_3_with_one_line_and_no_bag(
    http: Server, tmp_path: Path, route: str
) -> None:
    http.route("/error", status=500, body=b"oops")
    http.route("/loop", status=302, headers={"Location": "/loop"})
    result = run("capture", http.url(route), "-o", str(tmp_path), "--retries", "0")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("preserve: error: ")
    assert bags_in(tmp_path) == []


def test_refused_connection_exits_3(refused_url: str, tmp_path: Path) -> None:
    result = run("capture", refused_url, "-o", str(tmp_path), "--retries", "0")
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "refused" in result.stderr
    assert bags_in(tmp_path) == []


def test_strict_exits_3(http: Server, tmp_path: Path) -> None:
    http.route("/", body=b'<img src="/gone.gif">', headers={"Content-Type": "text/html"})
    result = run("capture", http.url("/"), "-o", str(tmp_path), "--strict")
    assert result.exit_code == 3
    assert bags_in(tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["ftp://example.com/file"],
        ["javascript:alert(1)"],
        ["not a url"],
        [""],
        ["http://"],
        [],
        ["http://127.0.0.1:9/", "--timeout", "0"],
        ["http://127.0.0.1:9/", "--max-size", "lots"],
        ["http://127.0.0.1:9/", "--header", "no-colon"],
        ["http://127.0.0.1:9/", "--info", "Bad:Label=x"],
        ["http://127.0.0.1:9/", "--checksum", "crc32"],
        ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b", "--name", "one"],
        ["-i", "does-not-exist.txt"],
    ],
)
def test_bad_input_exits_2_with_no_bag(args: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("capture", *args, "-o", str(out))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    assert bags_in(out) == []


def test_bad_seed_in_a_list_refuses_the_whole_run(site: Server, tmp_path: Path) -> None:
    result = run("capture", site.url("/"), "ftp://x.example/", "-o", str(tmp_path))
    assert result.exit_code == 2
    assert bags_in(tmp_path) == []


def test_two_urls_one_failing_exit_5_with_one_bag(site: Server, tmp_path: Path) -> None:
    result = run("capture", site.url("/"), site.url("/nowhere.html"), "-o", str(tmp_path), "--json")
    assert result.exit_code == 5
    assert len(bags_in(tmp_path)) == 1
    document = json.loads(result.stdout)
    assert document["exit_code"] == 5
    assert [c["ok"] for c in document["captures"]] == [True, False]
    assert document["captures"][1]["exit_code"] == 3


def test_json_report_keeps_the_order_of_the_seeds(site: Server, tmp_path: Path) -> None:
    seeds = [site.url("/nowhere.html"), site.url("/"), site.url("/gone.html")]
    result = run("-q", "capture", *seeds, "-o", str(tmp_path), "--json")
    assert result.exit_code == 5
    captures = json.loads(result.stdout)["captures"]
    assert [(c["seed"], c["ok"]) for c in captures] == [
        (seeds[0], False),
        (seeds[1], True),
        (seeds[2], False),
    ]


def test_input_file_and_stdin(site: Server, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"# seeds\n{site.url('/')}\n\n{site.url('/gallery.html')}\n", encoding="utf-8"
    )
    result = run("-q", "capture", "-i", str(listing), "-o", str(tmp_path / "a"))
    assert result.exit_code == 0
    assert len(bags_in(tmp_path / "a")) == 2
    assert len(result.stdout.splitlines()) == 2
    piped = run("-q", "capture", "-i", "-", "-o", str(tmp_path / "b"), input=site.url("/") + "\n")
    assert piped.exit_code == 0
    assert len(bags_in(tmp_path / "b")) == 1


def test_environment_sets_options(site: Server, tmp_path: Path) -> None:
    env = {
        "PRESERVE_SOURCE_ORGANIZATION": "Env Archive",
        "PRESERVE_INFO": "Project=Web 2001\nBatch=7",
        "PRESERVE_OUTPUT": str(tmp_path),
    }
    result = run("-q", "capture", site.url("/"), env=env)
    assert result.exit_code == 0, result.stderr
    (bag,) = bags_in(tmp_path)
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    assert "Source-Organization: Env Archive\n" in info
    assert info.endswith("Project: Web 2001\nBatch: 7\n")


@pytest.mark.parametrize("below", ["", "sub"])
def test_output_that_is_a_file_exits_4_before_any_request(
    http: Server, tmp_path: Path, below: str
) -> None:
    http.route("/", body=b"<title>x</title>", headers={"Content-Type": "text/html"})
    target = tmp_path / "file"
    target.write_text("x", encoding="utf-8")
    output = target / below if below else target
    result = run("capture", http.url("/"), http.url("/b"), "-o", str(output))
    assert result.exit_code == 4
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"preserve: error: output is not a folder: {output}")
    assert http.requests == []
    assert target.read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize("below", ["", "data", "new/deeper"])
def test_output_inside_a_bag_exits_2_before_any_request(
    site: Server, tmp_path: Path, below: str
) -> None:
    made = run("-q", "capture", site.url("/"), "-o", str(tmp_path), "--name", "first")
    assert made.exit_code == 0
    bag = tmp_path / "first"
    requests = len(site.requests)
    output = bag / below if below else bag
    result = run("capture", site.url("/"), "-o", str(output))
    assert result.exit_code == 2
    assert result.stderr == (
        f"preserve: error: output {output} is inside the bag {bag} "
        "(choose an output folder outside any bag)\n"
    )
    assert len(site.requests) == requests
    assert not (bag / "new").exists()
    bagit.Bag(str(bag)).validate()


@pytest.mark.parametrize("serialize", [[], ["--serialize", "zip"]])
def test_a_taken_name_exits_4_before_any_request(
    http: Server, tmp_path: Path, serialize: list[str]
) -> None:
    http.route("/", body=b"<title>x</title>", headers={"Content-Type": "text/html"})
    taken = tmp_path / ("mine.zip" if serialize else "mine")
    taken.mkdir()
    result = run("capture", http.url("/"), "-o", str(tmp_path), "--name", "mine", *serialize)
    assert result.exit_code == 4
    assert result.stderr == (
        f"preserve: error: {http.url('/')}: {taken} already exists (choose another --name)\n"
    )
    assert http.requests == []
    assert [p.name for p in tmp_path.iterdir()] == [taken.name]


@pytest.mark.parametrize("serialize", [[], ["--serialize", "tar"]])
def test_a_bad_name_exits_2_before_any_request(
    http: Server, tmp_path: Path, serialize: list[str]
) -> None:
    out = tmp_path / "out"
    result = run("capture", http.url("/"), "-o", str(out), "--name", "../escape", *serialize)
    assert result.exit_code == 2
    assert "invalid bag name '../escape'" in result.stderr
    assert http.requests == []
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_unexpected_error_exits_70_with_traceback(
    site: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import preserve.capture.run

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(preserve.capture.run, "capture", broken)
    result = run("capture", site.url("/"), "-o", str(tmp_path))
    assert result.exit_code == 70
    assert "Traceback" in result.stderr
    assert "ZeroDivisionError" in result.stderr


@pytest.mark.parametrize(
    ("signum", "code", "name"),
    [(signal.SIGTERM, 143, b"SIGTERM"), (signal.SIGINT, 130, b"SIGINT")],
)
def test_signal_exits_with_its_code_and_leaves_nothing(
    http: Server, tmp_path: Path, signum: int, code: int, name: bytes
) -> None:
    def slow(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/gif")
        request.send_header("Content-Length", "100000")
        request.end_headers()
        request.wfile.write(b"GIF89a")
        request.wfile.flush()
        time.sleep(20)

    http.route("/", body=b'<img src="/slow.gif">', headers={"Content-Type": "text/html"})
    http.routes["/slow.gif"] = slow
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_proxy", "_PROXY"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "preserve", "capture", http.url("/"), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 15
    while not any(path == "/slow.gif" for path, _ in http.requests):
        assert time.monotonic() < deadline, "the capture never asked for the slow requisite"
        time.sleep(0.05)
    time.sleep(0.3)
    assert out.exists()
    assert any(p.name.startswith(".preserve-staging-") for p in out.iterdir())
    (tmp_path / "out" / "other-bag").mkdir()
    process.send_signal(signum)
    _stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == code, stderr
    assert b"interrupted by " + name in stderr
    assert b"Traceback" not in stderr
    assert [p.name for p in out.iterdir()] == ["other-bag"]


def test_progress_line_on_a_terminal() -> None:
    import io

    from preserve.cli.console import Console
    from preserve.models import LogRecord

    now = [100.0]
    console = Console(progress=True, clock=lambda: now[0])
    stream = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stderr", stream)
        now[0] = 102.0
        console.record(
            LogRecord(url="http://x.test/", role="seed", outcome="captured", size=1_500_000)
        )
        # Within a tenth of a second of the last redraw: counted, not drawn.
        now[0] = 102.05
        console.record(LogRecord(url="http://x.test/a", role="requisite", outcome="failed"))
        drawn_once = stream.getvalue()
        now[0] = 165.0
        console.record(LogRecord(url="http://x.test/b", role="requisite", outcome="skipped"))
        console.say("done")
    text = stream.getvalue()
    assert drawn_once == "\r1 URL (1 captured), 1.5 MB, 750.0 kB/s, 0:02"
    assert text == (
        drawn_once + "\r3 URLs (1 captured, 1 failed, 1 skipped), 1.5 MB, 23.1 kB/s, 1:05\rdone\n"
    )


def test_no_progress_in_a_pipe(site: Server, tmp_path: Path) -> None:
    result = run("capture", site.url("/"), "-o", str(tmp_path))
    assert result.exit_code == 0
    assert "\r" not in result.stderr
    assert "URLs (" not in result.stderr


@pytest.mark.parametrize("command", ["capture", "validate", "info", "export"])
def test_readme_documents_every_option(command: str) -> None:
    import click

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    group = main
    assert isinstance(group, click.Group)
    documented = [group.commands[command], group]
    for cmd in documented:
        for param in cmd.params:
            if isinstance(param, click.Option):
                for flag in param.opts + param.secondary_opts:
                    if flag.startswith("--") and flag != "--help":
                        assert (
                            f"`{flag}" in readme or f"{flag}`" in readme or f"/{flag}" in readme
                        ), (
                            command,
                            flag,
                        )


@pytest.mark.parametrize("command", [["--help"], ["capture", "--help"], ["validate", "--help"]])
def test_help_loads_no_capture_code(command: list[str]) -> None:
    # `preserve --help` starts fast because the command line imports the capture pipeline
    # (requests, lxml, the WARC and metadata stages) only when a capture runs.
    probe = (
        "import sys\n"
        "from preserve.cli import main\n"
        "try:\n"
        f"    main({command!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('requests', 'lxml', 'preserve.capture.run', 'preserve.fetch',"
        " 'preserve.warc', 'preserve.metadata') if m in sys.modules]\n"
        "print('loaded:', ','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "Usage: " in done.stdout
    assert done.stdout.splitlines()[-1] == "loaded: "
