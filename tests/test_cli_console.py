"""What a person sees on stderr: verbose lines, redirects, escaping."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from preserve.cli import main, terminal_safe

from .conftest import Server


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
