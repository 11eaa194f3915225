"""Reading seeds: URLs given on the command line, hints for a missing scheme."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from preserve.cli import main
from preserve.errors import BadInput
from preserve.seeds import Seed, parse_seed

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
