"""Reading seeds: URLs given on the command line, hints for a missing scheme."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from preserve.capture.seeds import MAX_LIST_LINE, Seed, parse_seed, read_url_list
from preserve.cli import main
from preserve.errors import BadInput

from .conftest import Server


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.mark.parametrize("typed", ["{host}:{port}/", "localhost:{port}/x", "{host}:{port}"])
def test_a_url_without_scheme_gets_a_hint_and_nothing_is_fetched(
    http: Server, tmp_path: Path, typed: str
) -> None:
    host_port = http.base.removeprefix("http://")
    host, port = host_port.split(":")
    seed = typed.format(host=host, port=port)
    out = tmp_path / "out"
    result = run("capture", seed, "-o", str(out))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line == (
        f"preserve: error: not a URL or an existing file: {seed} (did you mean http://{seed}?)"
    )
    assert http.requests == []
    assert not out.exists()


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("example.org", "http://example.org"),
        ("www.example.org/news/?page=2", "http://www.example.org/news/?page=2"),
        ("localhost", "http://localhost"),
        ("[::1]:8080/a", "http://[::1]:8080/a"),
        ("example.org:8080", "http://example.org:8080"),
    ],
)
def test_hint_for_a_host_typed_alone(typed: str, hint: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_seed(typed)
    assert info.value.hint == f"did you mean {hint}?"


@pytest.mark.parametrize(
    "typed", ["not a url", "mailto:a@example.org", "javascript:alert(1)", "saved/page", "word"]
)
def test_no_hint_for_what_is_not_a_host(typed: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_seed(typed)
    assert info.value.hint is None


def test_an_existing_file_named_like_a_host_is_a_local_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "example.org").write_text("<p>local</p>", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert parse_seed("example.org").local_file == tmp_path / "example.org"


def test_a_path_too_long_to_look_up_is_bad_input() -> None:
    for typed in ("/" + "a" * 5000, "a" * 5000, "file:///" + "a" * 5000):
        with pytest.raises(BadInput):
            parse_seed(typed)


@given(st.text(max_size=300))
def test_any_text_is_a_seed_or_bad_input(text: str) -> None:
    try:
        seed = parse_seed(text)
    except BadInput as exc:
        assert str(exc)
        return
    assert isinstance(seed, Seed)


def test_a_url_given_twice_in_a_list_is_refused_naming_both_lines(
    http: Server, tmp_path: Path
) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"{http.url('/a')}\n# comment\n{http.url('/b')}\n\n{http.url('/a')}\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    result = run("capture", "-i", str(listing), "-o", str(out))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert f"{http.url('/a')} is given twice, at {listing}:1 and {listing}:5" in line
    assert http.requests == []
    assert not out.exists()


def test_a_url_on_the_command_line_and_in_the_list_is_refused(http: Server, tmp_path: Path) -> None:
    # Spelled differently, the same URL once canonical.
    result = run(
        "capture", http.base, "-i", "-", "-o", str(tmp_path / "out"), input=http.url("/") + "\n"
    )
    assert result.exit_code == 2
    assert "is given twice, at command-line URL 1 and stdin:1" in result.stderr
    assert http.requests == []


def test_a_bad_line_is_named_file_colon_line(http: Server, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{http.url('/')}\n\nftp://example.org/x\n", encoding="utf-8")
    result = run("capture", "-i", str(listing), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"preserve: error: {listing}:3: unsupported URL scheme 'ftp'")
    assert http.requests == []


def test_a_list_without_line_breaks_is_refused_at_its_first_line(tmp_path: Path) -> None:
    result = run("capture", "-i", "/dev/zero", "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"preserve: error: /dev/zero:1: line longer than {MAX_LIST_LINE:,} bytes\n"
    )


def test_a_list_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_bytes(b"\xef\xbb\xbfhttp://example.org/\r\nhttp://example.org/\xe9\r\n")
    result = run("capture", "-i", str(listing), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr == f"preserve: error: {listing}:2: not UTF-8 text\n"


def test_reader_bounds() -> None:
    def read(data: bytes, **bounds: int) -> list[tuple[str, str]]:
        return [(s.text, s.where) for s in read_url_list(io.BytesIO(data), "f", **bounds)]

    assert read(b"\xef\xbb\xbf a \r\n#x\n\n b") == [("a", "f:1"), ("b", "f:4")]
    assert read(b"abcd\r\n", max_line=4) == [("abcd", "f:1")]
    with pytest.raises(BadInput, match=r"^f:2: line longer than 4 bytes$"):
        read(b"a\nabcde\n", max_line=4)
    with pytest.raises(BadInput, match=r"^f:1: line longer than 4 bytes$"):
        read(b"abcde", max_line=4)
    with pytest.raises(BadInput, match=r"^f: more than 3 lines$"):
        read(b"\n\n\n\n", max_lines=3)
    with pytest.raises(BadInput, match=r"^f: more than 2 URLs$"):
        read(b"a\nb\nc\n", max_urls=2)


@given(st.binary(max_size=400), st.integers(min_value=1, max_value=20))
def test_any_bytes_are_urls_or_bad_input(data: bytes, max_line: int) -> None:
    try:
        listed = read_url_list(io.BytesIO(data), "list.txt", max_line=max_line, max_lines=30)
    except BadInput as exc:
        assert re.match(r"^list\.txt(:\d+)?: ", str(exc))
        return
    numbers = [int(item.where.removeprefix("list.txt:")) for item in listed]
    assert numbers == sorted(set(numbers))
    for item in listed:
        assert item.text and item.text == item.text.strip()
        assert not item.text.startswith("#")
        assert "\n" not in item.text
        assert len(item.text.encode("utf-8")) <= max_line


def test_a_home_folder_of_an_unknown_user_is_bad_input_not_a_crash() -> None:
    with pytest.raises(Exception, match="not a URL or an existing file") as caught:
        parse_seed("~nosuchuser-preserve!/page.html")
    assert caught.type.__name__ == "BadInput"
