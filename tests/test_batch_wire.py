"""A row's attempt and its outcome as JSON, read back by one bounded reader: a value or WireError.

Messages arrive from a broker anyone with access to it can write to, so whatever JSON value
comes in, `task_from_json` and `outcome_from_json` give a RowTask / RowOutcome or a WireError
naming the field, never another exception.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preserve.batch.redis_gates import robots_from_json
from preserve.batch.task import RowOutcome, RowTask
from preserve.batch.wire import (
    WireError,
    outcome_from_json,
    outcome_to_json,
    task_from_json,
    task_to_json,
)
from preserve.models import BagInfo, CaptureOptions
from preserve.robots import RobotsFile

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)

TASK = RowTask(
    "row-1",
    2,
    "https://example.org/",
    Path("/srv/archive"),
    CaptureOptions(
        name="example-bag",
        depth=1,
        include=("/news/",),
        headers=(("X-A", "b"),),
        bag_info=BagInfo(source_organization="Archive", extra=(("Collection-Code", "C1"),)),
        serialize="zip",
        browser=True,
    ),
    uuid.UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427"),
)
OUTCOME = RowOutcome(
    "row-1",
    "https://example.org/",
    "captured",
    0,
    bag="/srv/archive/example-bag",
    counts={"pages": 1, "requisites": {"captured": 3, "failed": 0, "skipped": 0}, "media": 0},
    payload_bytes=1234,
    seconds=0.5,
)


def test_a_task_and_an_outcome_come_back_as_they_left() -> None:
    assert task_from_json(task_to_json(TASK)) == TASK
    assert outcome_from_json(outcome_to_json(OUTCOME)) == OUTCOME


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_any_json_value_is_a_task_or_a_wire_error(value: Any) -> None:
    with contextlib.suppress(WireError):
        assert isinstance(task_from_json(value), RowTask)
    with contextlib.suppress(WireError):
        assert isinstance(outcome_from_json(value), RowOutcome)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the path of every value inside a JSON document."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: _replaced(document[head], rest, value)}
    copy = list(document)
    copy[head] = _replaced(copy[head], rest, value)
    return copy


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), JSON)
def test_a_task_with_any_value_changed_is_a_task_or_a_wire_error(
    data: st.DataObject, value: Any
) -> None:
    for document, read, kind in (
        (task_to_json(TASK), task_from_json, RowTask),
        (outcome_to_json(OUTCOME), outcome_from_json, RowOutcome),
    ):
        path = data.draw(st.sampled_from(_paths(document)))
        try:
            assert isinstance(read(_replaced(document, path, value)), kind)
        except WireError as exc:
            assert str(exc)


@settings(max_examples=300)
@given(st.binary(max_size=200) | JSON.map(lambda value: json.dumps(value).encode()))
def test_a_robots_entry_read_from_redis_is_a_file_or_nothing(raw: bytes) -> None:
    found = robots_from_json(raw, "http://h/robots.txt")
    assert found is None or isinstance(found, RobotsFile)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"source": "http://h/robots.txt", "status": ' + b"9" * 5000 + b"}",
        b"\xff\xfe\x00",
        b'{"source": "http://h/robots.txt\\u0000", "status": 200, "body": null, '
        b'"error": null, "refused": false}',
    ],
    ids=["nested", "digits", "not-utf8", "nul"],
)
def test_hostile_robots_entries_are_nothing(raw: bytes) -> None:
    assert robots_from_json(raw, "http://h/robots.txt") is None
    good = RobotsFile("http://h/robots.txt", 200, b"User-agent: *\n")
    entry = {"source": good.source, "status": 200, "body": "VXNlci1hZ2VudDogKgo=", "error": None}
    assert robots_from_json(json.dumps({**entry, "refused": False}), good.source) == good
