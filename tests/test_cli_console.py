"""What a person sees on stderr and in the log, and the exit code a run comes to."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

import preserve
from preserve.cli import main
from preserve.cli.console import Console, ExitPolicy, redact_args, terminal_safe
from preserve.errors import BadInput

from .conftest import ROOT, Server


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_verbose_shows_each_redirect_hop(http: Server, tmp_path: Path) -> None:
    http.route("/old", status=301, headers={"Location": "/middle"})
    http.route("/middle", status=302, headers={"Location": http.url("/new")})
    http.route("/new", body=b'<img src="/pic">', headers={"Content-Type": "text/html"})
    http.route("/pic", status=307, headers={"Location": "/pic.gif"})
    http.route("/pic.gif", body=b"GIF89a", headers={"Content-Type": "image/gif"})
    result = run("-v", "capture", http.url("/old"), "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    lines = [" ".join(line.split()) for line in result.stderr.splitlines()]
    assert f"redirect 301 {http.url('/old')} -> /middle" in lines
    assert f"redirect 302 {http.url('/middle')} -> {http.url('/new')}" in lines
    assert f"redirect 307 {http.url('/pic')} -> /pic.gif" in lines
    # Each hop follows the line of the URL it belongs to.
    seed = next(i for i, line in enumerate(lines) if line.startswith("captured seed"))
    assert lines[seed + 1].startswith("redirect 301")


def test_without_verbose_no_redirect_lines(http: Server, tmp_path: Path) -> None:
    http.route("/old", status=301, headers={"Location": "/new"})
    http.route("/new", body=b"<p>x</p>", headers={"Content-Type": "text/html"})
    result = run("capture", http.url("/old"), "-o", str(tmp_path))
    assert result.exit_code == 0
    assert "redirect" not in result.stderr


def test_server_values_are_escaped_on_stderr_and_in_the_log(http: Server, tmp_path: Path) -> None:
    def hostile_reason(request: BaseHTTPRequestHandler) -> None:
        request.send_response(404, "Gone\x1b]0;owned\x07\x1b[2J\x9b1m")
        request.send_header("Content-Length", "0")
        request.end_headers()

    http.route(
        "/",
        body=b'<img src="/a.gif"><img src="/b.gif">',
        headers={"Content-Type": "text/html"},
    )
    http.routes["/a.gif"] = hostile_reason
    http.route("/b.gif", status=302, headers={"Location": "/c.gif?\x1b[31mred"})
    log = tmp_path / "run.log"
    result = run("-v", "--log-file", str(log), "capture", http.url("/"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 0, result.stderr
    for text in (result.stderr, log.read_text(encoding="utf-8")):
        assert "\x1b" not in text
        assert "\x07" not in text
        assert "\x9b" not in text
        assert "Gone\\x1b]0;owned\\x07\\x1b[2J\\x9b1m" in text
        assert "-> /c.gif?\\x1b[31mred" in text


def test_terminal_safe_keeps_text_and_escapes_controls() -> None:
    assert terminal_safe("Café 東京 ✓") == "Café 東京 ✓"
    assert terminal_safe("a\nb\r\tc\x00\x7f") == "a\\x0ab\\x0d\\x09c\\x00\\x7f"
    assert terminal_safe("\u202eevil") == "\\u202eevil"


@given(st.text())
def test_terminal_safe_leaves_no_control_character(text: str) -> None:
    safe = terminal_safe(text)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in safe)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in safe)
    assert not any(c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" for c in safe)


STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


def test_log_file_has_a_header_per_run_and_a_time_on_every_line(
    http: Server, tmp_path: Path
) -> None:
    http.route("/", body=b'<img src="/gone.gif">', headers={"Content-Type": "text/html"})
    log = tmp_path / "run.log"
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(
        "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tc00kie-secret\n",
        encoding="utf-8",
    )
    first = run(
        "capture", http.url("/"), "-o", str(tmp_path / "o"), "--log-file", str(log),
        "--header", "Authorization: Bearer t0ken-secret", "--cookies", str(cookies),
    )  # fmt: skip
    assert first.exit_code == 0, first.stderr
    # The header and cookie were sent: what the log must not hold, the server did get.
    assert http.requests[0][1]["Authorization"] == "Bearer t0ken-secret"
    second = run("--log-file", str(log), "validate", str(tmp_path / "missing"))
    assert second.exit_code == 2
    lines = log.read_text(encoding="utf-8").splitlines()
    assert all(STAMP.match(line) for line in lines), lines
    headers = [line for line in lines if " ===== preserve " in line]
    assert len(headers) == 2
    assert lines[0] == headers[0]
    assert headers[0].endswith(
        f"preserve capture {http.url('/')} -o {tmp_path / 'o'} --log-file {log} "
        f"--header 'Authorization: <redacted>' --cookies {cookies}"
    )
    assert headers[1].endswith(f"preserve --log-file {log} validate {tmp_path / 'missing'}")
    text = "\n".join(lines)
    assert "t0ken-secret" not in text
    assert "c00kie-secret" not in text
    assert http.url("/gone.gif") in text
    assert "error: " in text


def test_log_header_hides_proxy_credentials(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    # An option refused by click: the header is written, nothing is fetched.
    result = run(
        "--log-file", str(log), "capture", "http://127.0.0.1:9/", "-o", str(tmp_path / "o"),
        "--proxy", "http://archivist:pr0xy-secret@127.0.0.1:3128", "--timeout", "0",
        "--header=Cookie: a=b",
    )  # fmt: skip
    assert result.exit_code == 2
    (header,) = log.read_text(encoding="utf-8").splitlines()
    assert "pr0xy-secret" not in header
    assert "archivist" not in header
    assert "--proxy 'http://<redacted>@127.0.0.1:3128'" in header
    assert "'--header=Cookie: <redacted>'" in header


SECRET = st.text(st.characters(codec="utf-8"), min_size=1).filter(lambda t: t.strip())


@given(
    st.lists(st.text(max_size=20), max_size=6),
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True),
    SECRET,
    SECRET.filter(lambda t: not any(c in t for c in "/?#@ \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0")),
)
def test_redacted_arguments_never_hold_a_header_value_or_a_password(
    others: list[str], name: str, secret: str, password: str
) -> None:
    args = [*others, "--header", f"{name}: {secret}", f"--header={name}:{secret}"]
    args += ["--proxy", f"http://user:{password}@proxy.example:3128/"]
    redacted = redact_args(args)
    assert len(redacted) == len(args)
    assert redacted[len(others) + 1] == f"{name}: <redacted>"
    assert redacted[len(others) + 2] == f"--header={name}: <redacted>"
    assert redacted[-1] == "http://<redacted>@proxy.example:3128/"


def test_progress_is_drawn_in_place_on_a_real_terminal(site: Server, tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "preserve", "capture", site.url("/"), "-o", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=secondary,
        cwd=ROOT,
    )
    os.close(secondary)
    received = b""
    try:
        while select.select([primary], [], [], 60)[0]:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the run closed the terminal
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(primary)
        stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 0, received
    text = received.decode()
    assert re.search(
        r"\r\x1b\[K\d+ URLs? \(\d+ captured\), [\d.]+ [kM]?B, [\d.]+ [kM]?B/s, 0:\d\d", text
    ), text
    # Cleared before the summary, which reads as in a pipe.
    assert "\r\x1b[Kbag: " in text
    assert stdout.decode().strip() == str(next(tmp_path.iterdir()))


def test_exit_policy_of_a_capture_run() -> None:
    assert ExitPolicy.for_captures().exit_code == 0
    some = ExitPolicy.for_captures()
    some.done()
    some.failed(3)
    assert some.exit_code == 5
    # Every seed failed: the first failure says why, whatever came after.
    none = ExitPolicy.for_captures()
    none.failed(4)
    none.failed(3)
    assert none.exit_code == 4


def test_exit_policy_of_a_check_run() -> None:
    checks = ExitPolicy.for_checks()
    checks.done()
    checks.failed(1)
    assert checks.exit_code == 1
    # A bag that could not be read at all outranks an invalid one, in any order.
    checks.failed(2)
    checks.failed(1)
    assert checks.exit_code == 2


@pytest.mark.parametrize(
    "policy", [ExitPolicy(), ExitPolicy.for_captures(), ExitPolicy.for_checks()]
)
def test_the_error_that_stops_a_run_decides_its_exit_code(policy: ExitPolicy) -> None:
    policy.done()
    policy.failed(1)
    policy.stop(130)
    assert policy.exit_code == 130


def test_console_run_tells_the_policy_what_stopped_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refused() -> None:
        raise BadInput("no URL given", hint="pass URLs")

    def broken() -> None:
        raise RuntimeError("a bug")

    def fine() -> None:
        policy.done()

    policy = ExitPolicy()
    assert Console().run(refused, policy) == 2
    assert capsys.readouterr().err == "preserve: error: no URL given (pass URLs)\n"
    policy = ExitPolicy()
    assert Console(quiet=True).run(broken, policy) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.endswith(
        "RuntimeError: a bug\npreserve: error: internal error: this is a bug in "
        f"preserve {preserve.__version__}\n"
    )
    policy = ExitPolicy()
    assert Console().run(fine, policy) == 0
    assert capsys.readouterr().err == ""
