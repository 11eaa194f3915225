"""Global options (-q, -v, --log-file, --version) before or after any command."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from preserve.cli import lift_global_options, main

from .conftest import Server


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_verbose_after_capture(site: Server, tmp_path: Path) -> None:
    result = run("capture", site.url("/"), "-o", str(tmp_path), "-v")
    assert result.exit_code == 0, result.stderr
    assert f"captured requisite {site.url('/css/base.css')}" in " ".join(result.stderr.split())


def test_quiet_after_capture(site: Server, tmp_path: Path) -> None:
    result = run("capture", site.url("/"), "--quiet", "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip()


def test_version_after_a_command() -> None:
    for command in ("capture", "validate", "info", "export"):
        result = run(command, "--version")
        assert result.exit_code == 0, (command, result.output)
        assert result.output.startswith("preserve, version "), command


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "missing-bag"],
        ["info", "missing-bag"],
        ["export", "missing-bag", "--wacz", "out.wacz"],
    ],
)
def test_log_file_and_quiet_after_validate_info_export(tmp_path: Path, args: list[str]) -> None:
    log = tmp_path / "run.log"
    result = run(*args, "-q", "--log-file", str(log))
    # The bag is missing: the command ran (exit 2, one error line), the options were its own.
    assert result.exit_code == 2, result.output
    assert "No such option" not in result.stderr
    assert "missing-bag" in log.read_text(encoding="utf-8")


def test_log_file_with_equals_after_the_command(site: Server, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    result = run("capture", site.url("/"), "-o", str(tmp_path / "out"), f"--log-file={log}")
    assert result.exit_code == 0, result.stderr
    assert site.url("/images/arrow.gif") in log.read_text(encoding="utf-8")


def test_an_option_value_that_looks_global_stays_a_value(site: Server, tmp_path: Path) -> None:
    result = run("capture", site.url("/"), "-o", str(tmp_path), "--name", "-v")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "-v" / "bagit.txt").is_file()
    assert "captured requisite" not in result.stderr


def test_nothing_after_double_dash_is_lifted(tmp_path: Path) -> None:
    result = run("capture", "-o", str(tmp_path), "--", "-v")
    assert result.exit_code == 2
    assert "not a URL or an existing file: -v" in result.stderr


def test_global_options_before_and_after_together(site: Server, tmp_path: Path) -> None:
    result = run("-q", "capture", site.url("/"), "-o", str(tmp_path), "-v")
    assert result.exit_code == 0
    # -q wins over -v wherever each is given: nothing on stderr.
    assert result.stderr == ""


def test_lifting_moves_only_global_options() -> None:
    commands = main.commands
    assert lift_global_options(["capture", "URL", "-o", "out", "-v"], commands) == [
        "-v",
        "capture",
        "URL",
        "-o",
        "out",
    ]
    assert lift_global_options(
        ["-q", "capture", "-o", "-v", "--log-file", "f", "--", "-q"], commands
    ) == ["-q", "--log-file", "f", "capture", "-o", "-v", "--", "-q"]
    assert lift_global_options(["capture", "-ovv", "-vv", "URL"], commands) == [
        "-vv",
        "capture",
        "-ovv",
        "URL",
    ]
    # An unknown command is left for click to refuse.
    assert lift_global_options(["nope", "-v"], commands) == ["nope", "-v"]


WORDS = st.sampled_from(
    ["capture", "validate", "info", "export", "-v", "-q", "-qv", "--verbose", "--quiet",
     "--version", "--log-file", "--log-file=x", "-o", "-i", "--name", "--", "-", "URL", "x",
     "--json", "--wacz", "-h", "--checksum", "--no-access", "-oDIR"]
)  # fmt: skip


@given(st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=12))
def test_lifting_only_reorders(args: list[str]) -> None:
    lifted = lift_global_options(args, main.commands)
    assert Counter(lifted) == Counter(args)
    # Whatever follows `--` (unless `--` is an option's value) is never moved.
    valued = {"-o", "-i", "--name", "--checksum", "--wacz", "--log-file"}
    if "--" in args and (args.index("--") == 0 or args[args.index("--") - 1] not in valued):
        tail = args[args.index("--") :]
        assert lifted[-len(tail) :] == tail
