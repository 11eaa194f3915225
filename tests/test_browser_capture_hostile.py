"""`capture --browser` against pages that fight back, and without a browser at all.

A page that never goes quiet, a script that never yields, a page that navigates away, one that
opens a popup, a browser killed mid-page: each capture ends within its caps, says what
happened in PREMIS, and writes a valid bag from what was captured. Without Chromium,
`--browser` exits 2 before any request.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import bagit
import jsonschema
import pytest
from click.testing import CliRunner
from lxml import etree

import preserve
from preserve.cli import main

from .conftest import ROOT, Server, serve

REPORT_SCHEMA = json.loads(
    (ROOT / "schemas" / "capture-report.schema.json").read_text(encoding="utf-8")
)

pytestmark = pytest.mark.browser

PREMIS = "{http://www.loc.gov/premis/v3}"
QUICK = {"browser_timeout": 2.0, "browser_quiet_ms": 200, "browser_scrolls": 3}
HTML = {"Content-Type": "text/html; charset=utf-8"}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def site() -> Iterator[Server]:
    yield from serve(None)


def page(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>".encode()


def capture(server: Server, path: str, tmp_path: Path, **options: object) -> preserve.CaptureResult:
    chosen = {**QUICK, **options}
    result = preserve.capture(
        server.url(path),
        tmp_path / "out",
        preserve.CaptureOptions(browser=True, **chosen),  # type: ignore[arg-type]
    )
    bagit.Bag(str(result.bag_path)).validate()
    assert preserve.validate(result.bag_path).valid
    return result


def renderings(bag: Path) -> list[tuple[str, list[str], list[str]]]:
    """Return each rendering event: its outcome, its notes and the objects it links."""
    root = etree.parse(str(bag / "data/metadata/premis.xml")).getroot()
    found = []
    for event in root.iter(f"{PREMIS}event"):
        if event.findtext(f"{PREMIS}eventType") != "creation":
            continue
        outcome = event.findtext(f".//{PREMIS}eventOutcome") or ""
        notes = [n.text or "" for n in event.iter(f"{PREMIS}eventOutcomeDetailNote")]
        linked = [v.text or "" for v in event.iter(f"{PREMIS}linkingObjectIdentifierValue")]
        found.append((outcome, notes, linked))
    return found


def asked(server: Server) -> list[str]:
    return [path for path, _headers in server.requests]


def serve_polling_page(site: Server) -> None:
    """Serve at / a page that never goes quiet: it fetches a new URL every 80 ms."""
    site.route(
        "/",
        body=page(
            "<p>polling</p><script>let n = 0;"
            "setInterval(() => fetch('/poll?n=' + n++), 80);</script>"
        ),
        headers=HTML,
    )
    site.route("/poll", body=b"{}", headers={"Content-Type": "application/json"})


def test_a_page_that_never_goes_quiet_is_stopped_at_the_timeout(site: Server, tmp_path: Path):
    serve_polling_page(site)
    result = capture(site, "/", tmp_path)
    [(outcome, notes, linked)] = renderings(result.bag_path)
    assert outcome == "warning"
    assert any("did not go quiet within --browser-timeout 2 s" in note for note in notes)
    # The access copy's index says so beside the page's derivatives.
    index = (result.bag_path / "data/access/index.html").read_text(encoding="utf-8")
    assert '<ul class="notes"><li>the page did not go quiet' in index
    assert len(linked) == 4  # the page, its screenshot, DOM and PDF
    polls = [r for r in result.records if "/poll?" in r.url]
    assert len(polls) >= 3
    assert all(r.via == "browser:fetch" and r.outcome == "captured" for r in polls)
    # Each poll is a URL of its own, fetched once; the stopped page asks no more.
    assert len(set(asked(site))) == len(asked(site))
    # The result says so too, as `URL: note`, for the command line to show.
    assert any(n.startswith(f"{site.url('/')}: ") and "did not go quiet" in n for n in result.notes)


def test_the_command_line_warns_of_a_page_the_browser_stopped(site: Server, tmp_path: Path) -> None:
    serve_polling_page(site)
    args = ["capture", site.url("/"), "-o", str(tmp_path), "--browser"]
    result = CliRunner().invoke(main, [*args, "--browser-timeout", "1", "--browser-quiet", "100"])
    assert result.exit_code == 0, result.stderr
    warnings = [w for w in result.stderr.splitlines() if w.startswith("preserve: warning: ")]
    assert len(warnings) == 1, result.stderr
    # The run's JSON document carries the same notes, as its schema says.
    documented = CliRunner().invoke(
        main, [*args, "--json", "--browser-timeout", "1", "--browser-quiet", "100"]
    )
    entry = json.loads(documented.stdout)["captures"][0]
    assert any("did not go quiet" in note for note in entry["notes"])
    jsonschema.validate(json.loads(documented.stdout), REPORT_SCHEMA)
    assert warnings[0].startswith(
        f"preserve: warning: --browser: {site.url('/')}: the page did not go quiet within"
        " --browser-timeout 1 s"
    )


def test_a_script_that_never_yields_is_stopped_and_the_page_rendered(
    site: Server, tmp_path: Path
) -> None:
    site.route(
        "/",
        body=page(
            "<p id='t'>before</p><script>setTimeout(() => {"
            "document.getElementById('t').textContent = 'looping now';"
            "while (true) {} }, 50);</script>"
        ),
        headers=HTML,
    )
    result = capture(site, "/", tmp_path)
    [(outcome, notes, linked)] = renderings(result.bag_path)
    assert outcome == "warning"
    assert any("kept the browser busy" in note for note in notes)
    dom = next(path for path in linked if path.endswith("~.html"))
    assert "looping now" in (result.bag_path / dom).read_text(encoding="utf-8")
    assert any(path.endswith("~.png") for path in linked)


def test_a_page_that_navigates_away_is_kept_and_the_target_is_a_link(
    site: Server, tmp_path: Path
) -> None:
    site.route(
        "/",
        body=page(
            "<p>leaving</p><script>setTimeout(() => { location = '/elsewhere' }, 50)</script>"
        ),
        headers=HTML,
    )
    site.route("/elsewhere", body=page("<p>elsewhere</p>"), headers=HTML)
    result = capture(site, "/", tmp_path)
    assert "/elsewhere" not in asked(site)
    [(_outcome, notes, linked)] = renderings(result.bag_path)
    assert any(f"navigated to {site.url('/elsewhere')}: refused" in note for note in notes)
    dom = next(path for path in linked if path.endswith("~.html"))
    assert "leaving" in (result.bag_path / dom).read_text(encoding="utf-8")

    # With --depth 1 the target is a linked page found by the browser, captured once.
    deeper = capture(site, "/", tmp_path / "deeper", depth=1)
    [record] = [r for r in deeper.records if r.url == site.url("/elsewhere")]
    assert (record.role, record.via, record.outcome) == ("page", "browser:navigation", "captured")
    assert asked(site).count("/elsewhere") == 1
    assert len(renderings(deeper.bag_path)) == 2


def test_a_popup_is_closed_before_it_loads(site: Server, tmp_path: Path) -> None:
    site.route("/", body=page("<p>opener</p><script>window.open('/popup')</script>"), headers=HTML)
    site.route("/popup", body=page("<p>popup</p>"), headers=HTML)
    result = capture(site, "/", tmp_path)
    assert "/popup" not in asked(site)
    [(_outcome, notes, _linked)] = renderings(result.bag_path)
    assert "the page opened a popup window: closed" in notes


def _chromium_processes() -> list[int]:
    """Return the Chromium browser processes (not renderers) this test process started."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [os.getpid()]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            todo.append(child)
            try:
                argv = (Path("/proc") / str(child) / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"chromium" in argv[0] and not any(a.startswith(b"--type=") for a in argv):
                found.append(child)
    return found


def test_a_browser_killed_mid_page_is_recorded_and_the_bag_written(
    site: Server, tmp_path: Path
) -> None:
    def kill_then_answer(request: BaseHTTPRequestHandler) -> None:
        for pid in _chromium_processes():
            os.kill(pid, signal.SIGKILL)
        request.send_response(200)
        request.send_header("Content-Type", "image/png")
        request.send_header("Content-Length", str(len(PNG)))
        request.end_headers()
        request.wfile.write(PNG)

    site.route(
        "/",
        body=page(
            "<p>doomed</p><script>setTimeout(() => {"
            "const i = new Image(); i.src = '/kill.png'; document.body.append(i) }, 50)"
            "</script>"
        ),
        headers=HTML,
    )
    site.routes["/kill.png"] = kill_then_answer
    result = capture(site, "/", tmp_path)
    [record] = [r for r in result.records if r.url == site.url("/kill.png")]
    assert (record.outcome, record.via) == ("captured", "browser:image")
    [(outcome, notes, _linked)] = renderings(result.bag_path)
    assert outcome in ("fail", "warning")
    assert any("browser closed unexpectedly" in note for note in notes), notes


def test_without_chromium_browser_exits_2_before_any_request(site: Server, tmp_path: Path) -> None:
    for env in ({"CHROMIUM": str(tmp_path / "no-chromium")}, {"CHROMIUM": "", "PATH": "/nowhere"}):
        result = CliRunner().invoke(
            main, ["capture", "--browser", site.url("/"), "-o", str(tmp_path / "o")], env=env
        )
        assert result.exit_code == 2, result.output
        assert "apt-get install chromium" in result.stderr
        assert "CHROMIUM=/path/to/chromium" in result.stderr
        assert "Traceback" not in result.stderr
    assert site.requests == []
    assert not (tmp_path / "o").exists()


def test_a_local_file_is_refused_with_the_browser(tmp_path: Path) -> None:
    local = tmp_path / "page.html"
    local.write_bytes(page("<p>local</p>"))
    result = CliRunner().invoke(main, ["capture", "--browser", str(local), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "--browser loads web pages" in result.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--browser-timeout", "0"), ("--browser-quiet", "-1"), ("--browser-scrolls", "x")],
)
def test_browser_options_out_of_range_exit_2(flag: str, value: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["capture", "--browser", "http://127.0.0.1:9/", "-o", str(tmp_path), flag, value]
    )
    assert result.exit_code == 2
    assert flag in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"browser_timeout": float("nan")}, "--browser-timeout must be from 0.1 to 3600, not nan"),
        ({"browser_quiet_ms": 10**9}, "--browser-quiet must be from 0 to 60000"),
        ({"browser_scrolls": -1}, "--browser-scrolls must be from 0 to 1000, not -1"),
    ],
)
def test_browser_option_bounds_are_checked_by_the_api(
    options: dict[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(preserve.BadInput) as refused:
        preserve.capture(
            "http://127.0.0.1:9/",
            tmp_path,
            preserve.CaptureOptions(browser=True, **options),  # type: ignore[arg-type]
        )
    assert message in str(refused.value)


def test_a_browser_that_cannot_start_is_recorded_and_the_bag_written(
    site: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An executable that is not Chromium: found, started, gone at once.
    monkeypatch.setenv("CHROMIUM", "/bin/true")
    site.route("/", body=page("<p>static only</p>"), headers=HTML)
    result = capture(site, "/", tmp_path)
    assert [r.outcome for r in result.records] == ["captured"]
    [(outcome, notes, linked)] = renderings(result.bag_path)
    assert outcome == "fail"
    assert len(notes) == 1 and "not rendered: Chromium (/bin/true) did not start" in notes[0]
    assert linked == [result.records[0].payload_path]
    assert not (result.bag_path / "data/access/rendered").exists()


def test_premis_of_browser_captures_meets_the_schema(
    site: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_metadata import load_schema

    schema = load_schema("premis-v3-0.xsd")
    site.route(
        "/",
        body=page(
            "<p id='t'></p><script>fetch('/x.txt').then(r => r.text()).then(t => {"
            "document.getElementById('t').textContent = t })</script>"
        ),
        headers=HTML,
    )
    site.route("/x.txt", body=b"fetched", headers={"Content-Type": "text/plain"})
    result = capture(site, "/", tmp_path)
    schema.assertValid(etree.parse(str(result.bag_path / "data/metadata/premis.xml")))
    [(outcome, _notes, linked)] = renderings(result.bag_path)
    assert outcome == "success" and len(linked) == 4
    # A rendering that made nothing is a failed event, valid too.
    monkeypatch.setenv("CHROMIUM", "/bin/true")
    failed = capture(site, "/", tmp_path / "failed")
    schema.assertValid(etree.parse(str(failed.bag_path / "data/metadata/premis.xml")))
    assert [outcome for outcome, _notes, _linked in renderings(failed.bag_path)] == ["fail"]


def test_the_command_line_passes_the_browser_options(site: Server, tmp_path: Path) -> None:
    site.route(
        "/",
        body=page(
            "<div style='height:5000px'></div><img id='late'><script>"
            "new IntersectionObserver(e => { if (e[0].isIntersecting)"
            " document.getElementById('late').src = '/late.png' })"
            ".observe(document.getElementById('late'));"
            "fetch('/early.txt')</script>"
        ),
        headers=HTML,
    )
    site.route("/early.txt", body=b"early", headers={"Content-Type": "text/plain"})
    site.route("/late.png", body=PNG, headers={"Content-Type": "image/png"})
    args = ["capture", site.url("/"), "-o", str(tmp_path), "--json", "--browser"]
    args += ["--browser-timeout", "5", "--browser-quiet", "100", "--browser-scrolls", "0"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    bag = Path(json.loads(result.stdout)["captures"][0]["bag"])
    assert "/early.txt" in asked(site)
    assert "/late.png" not in asked(site)  # --browser-scrolls 0: never scrolled into view
    [(outcome, _notes, linked)] = renderings(bag)
    assert outcome == "success" and len(linked) == 4


def test_the_rendered_dom_of_an_xhtml_page_is_well_formed(site: Server, tmp_path: Path) -> None:
    site.route(
        "/",
        body=b'<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        b"<head><title>x</title></head><body><p id='p'>static</p><script>"
        b"document.getElementById('p').textContent = 'from script &amp; more'</script>"
        b"</body></html>",
        headers={"Content-Type": "application/xhtml+xml"},
    )
    result = capture(site, "/", tmp_path)
    [(_outcome, _notes, linked)] = renderings(result.bag_path)
    dom = next(path for path in linked if path.endswith("~.html"))
    root = etree.fromstring((result.bag_path / dom).read_bytes())
    assert "from script & more" in "".join(root.itertext())
    assert root.find(".//{http://www.w3.org/1999/xhtml}meta") is not None
