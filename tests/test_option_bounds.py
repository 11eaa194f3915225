"""Options and option files from outside: every value bounded, a refusal never a traceback."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from preserve.bag.profile import load_profile
from preserve.capture.seeds import validate_options
from preserve.fields import JsonProblem, read_json

from .conftest import Server


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": float("nan")}, "--timeout must be from 0.001 to 86400, not nan"),
        ({"timeout": float("inf")}, "--timeout must be from 0.001 to 86400, not inf"),
        ({"wait": float("-inf")}, "--wait must be from 0 to 86400, not -inf"),
        ({"workers": 100_000}, "--workers must be from 1 to 256, not 100000"),
        ({"host_workers": 0}, "--host-workers must be from 1 to 256, not 0"),
        ({"max_size": 10**400}, "--max-size must be from 1 to 1125899906842624, not a number"),
        ({"max_bytes": 10**5000}, "not a number of many digits"),
        ({"retries": 10**6}, "--retries must be from 0 to 100"),
        ({"depth": -1}, "--depth must be from 0 to 1000, not -1"),
        ({"max_pages": True}, "--max-pages must be a number, not True"),
    ],
)  # fmt: skip
def test_numbers_out_of_bounds_are_refused_before_any_request(
    http: Server, tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(preserve.BadInput) as refused:
        preserve.capture(http.url("/"), tmp_path / "out", preserve.CaptureOptions(**options))  # type: ignore[arg-type]
    assert message in str(refused.value)
    assert http.requests == []
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "label", ["Payload-Oxum", "payload-oxum", "BAGGING-DATE", "Bag-Size", "External-Identifier"]
)
def test_labels_preserve_writes_are_refused_in_info(label: str) -> None:
    options = preserve.CaptureOptions(bag_info=preserve.BagInfo(extra=((label, "1.1"),)))
    with pytest.raises(preserve.BadInput) as refused:
        validate_options(options)
    assert "is written by preserve" in str(refused.value)


def test_a_label_preserve_does_not_write_is_kept() -> None:
    validate_options(
        preserve.CaptureOptions(bag_info=preserve.BagInfo(extra=(("Bag-Group-Identifier", "x"),)))
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 64 deep"),
        (b'{"a": ' + b"9" * 5000 + b"}", "a number of more than 30 digits"),
        (b'{"a": 1e999}', "a number too large"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b'{"a": }', "not valid JSON"),
    ],
)
def test_hostile_json_is_a_problem_not_a_crash(data: bytes, problem: str) -> None:
    with pytest.raises(JsonProblem) as found:
        read_json(data)
    assert problem in str(found.value)


def test_strings_with_brackets_do_not_count_as_nesting() -> None:
    assert read_json(json.dumps({"a": "[" * 1000}).encode()) == {"a": "[" * 1000}


def test_a_hostile_profile_is_refused_in_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_bytes(b'{"BagIt-Profile-Info": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")
    with pytest.raises(preserve.BadInput) as refused:
        load_profile(deep)
    assert "nested more than 64 deep" in str(refused.value)


@settings(max_examples=2000)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_value_or_a_json_problem(data: bytes) -> None:
    with contextlib.suppress(JsonProblem):
        read_json(data)


@settings(max_examples=1000)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_json_within_bounds_reads_back(value: object) -> None:
    assert read_json(json.dumps(value).encode()) == value


def test_a_local_page_naming_a_nul_byte_fails_that_file_only(tmp_path: Path) -> None:
    page = tmp_path / "site" / "page.html"
    page.parent.mkdir()
    page.write_text('<img src="a%00b.gif"><img src="ok.gif">', encoding="utf-8")
    (page.parent / "ok.gif").write_bytes(b"GIF89a")
    result = preserve.capture(str(page), tmp_path / "out")
    outcomes = {r.url: (r.outcome, r.error) for r in result.records}
    assert outcomes["file:ok.gif"] == ("captured", None)
    assert outcomes["file:a%00b.gif"] == ("failed", "NUL in the file name")


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--max-size", "9" * 400, "is not a size such as 100M or 2G"),
        ("--max-bytes", "99999999999999999999T", "--max-bytes must be from 1 to 1125899906842624"),
        ("--timeout", "nan", "--timeout must be from 0.001 to 86400, not nan"),
        ("--timeout", "inf", "--timeout must be from 0.001 to 86400, not inf"),
        ("--workers", "100000", "--workers must be from 1 to 256, not 100000"),
    ],
)
def test_the_command_refuses_options_out_of_bounds_in_one_line(
    http: Server, tmp_path: Path, flag: str, value: str, message: str
) -> None:
    from click.testing import CliRunner

    from preserve.cli import main

    result = CliRunner().invoke(
        main, ["capture", http.url("/"), "-o", str(tmp_path / "o"), flag, value]
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert http.requests == []


def test_sizes_read_as_decimals_not_floats() -> None:
    from preserve.cli.values import SizeType

    size = SizeType()
    assert size.convert("1.5K", None, None) == 1536
    assert size.convert("2G", None, None) == 2 * 1024**3
    assert size.convert("12345678901234567890", None, None) == 12345678901234567890


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=30), inner, max_size=6)
    ),
    max_leaves=25,
)
PROFILE_KEYS = st.sampled_from(
    ["BagIt-Profile-Info", "Bag-Info", "Manifests-Required", "Manifests-Allowed", "Allow-Fetch.txt",
     "Serialization", "Accept-Serialization", "Accept-BagIt-Version", "Tag-Files-Required",
     "Payload-Files-Allowed", "Tag-Manifests-Required", "Data-Empty"]
)  # fmt: skip


@settings(max_examples=2000)
@given(st.dictionaries(PROFILE_KEYS, JSON_VALUES, max_size=8) | JSON_VALUES)
def test_any_profile_document_gives_a_profile_or_bad_input(document: object) -> None:
    from preserve.bag.profile import parse_profile

    with contextlib.suppress(preserve.BadInput):
        parse_profile(document, "hypothesis")


@settings(max_examples=2000)
@given(st.text(max_size=60))
def test_any_info_option_gives_a_pair_or_bad_input(text: str) -> None:
    from preserve.bag.info import check_user_label
    from preserve.cli.values import parse_info

    try:
        label, _value = parse_info(text)
        check_user_label(label)
    except preserve.BadInput:
        return
    assert label and ":" not in label
