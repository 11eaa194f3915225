"""A row's attempt and its outcome as plain JSON, the form they travel in through a broker.

Celery moves them between machines as JSON (never pickle: a message must not be able to run
code in a worker). `task_to_json` writes a RowTask with its CaptureOptions, BagInfo, paths and
identifier as JSON values; `task_from_json` reads them back, checking each value against the
type of its field, so a message from another version of preserve is refused with a WireError
that names the field rather than run with a wrong value. A field the message lacks takes its
default; a field this version does not know is refused.
"""

from __future__ import annotations

import dataclasses
import types
import uuid
from dataclasses import fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from preserve.batch.task import RowOutcome, RowTask
from preserve.models import CaptureOptions

T = TypeVar("T")


class WireError(ValueError):
    """A message's value does not fit the field it is meant for."""


def to_json(value: Any) -> Any:
    """Return `value` (options, tuples, paths, dataclasses) as JSON values."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _scalar(hint: Any, value: Any, where: str) -> Any:
    """Return a JSON scalar read as `hint` (bool, int, float, str, Path or UUID)."""
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    if hint is Path and isinstance(value, str):
        return Path(value)
    if hint is uuid.UUID and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError as exc:
            raise WireError(f"{where}: not a UUID") from exc
    raise WireError(f"{where}: {type(value).__name__} is not {getattr(hint, '__name__', hint)}")


def from_json(hint: Any, value: Any, where: str) -> Any:
    """Return the JSON `value` read as a value of type `hint`; raise WireError if it is not."""
    origin = get_origin(hint)
    args = get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        choices = [a for a in args if a is not type(None)]
        if len(choices) != 1:
            raise WireError(f"{where}: cannot read a value of {hint}")
        return from_json(choices[0], value, where)
    if origin is Literal:
        if value not in args:
            raise WireError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise WireError(f"{where}: not a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(args[0], v, where) for v in value)
        if len(args) != len(value):
            raise WireError(f"{where}: {len(value)} values, not {len(args)}")
        return tuple(from_json(a, v, where) for a, v in zip(args, value, strict=True))
    if origin is dict:
        if not isinstance(value, dict):
            raise WireError(f"{where}: not an object")
        return {str(k): from_json(args[1], v, where) for k, v in value.items()}
    if isinstance(hint, type) and is_dataclass(hint):
        return dataclass_from_json(hint, value, where)
    return _scalar(hint, value, where)


def dataclass_from_json(cls: type[T], value: Any, where: str) -> T:
    """Return an instance of the dataclass `cls` from its JSON object (missing fields default)."""
    if not isinstance(value, dict):
        raise WireError(f"{where}: not an object")
    assert dataclasses.is_dataclass(cls)
    hints = _hints(cls)
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(value) - known)
    if unknown:
        raise WireError(f"{where}: unknown field {unknown[0]!r}")
    kwargs = {name: from_json(hints[name], v, f"{where}.{name}") for name, v in value.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise WireError(f"{where}: {exc}") from exc


def task_to_json(task: RowTask) -> dict[str, Any]:
    """Return `task` as a JSON object."""
    data: dict[str, Any] = to_json(task)
    data["output"] = str(task.output.absolute())
    return data


def task_from_json(data: Any) -> RowTask:
    """Return the RowTask `task_to_json` gave; raise WireError for anything else."""
    task = dataclass_from_json(RowTask, data, "task")
    if not isinstance(task.options, CaptureOptions):
        raise WireError("task.options: not capture options")
    return task


def outcome_to_json(outcome: RowOutcome) -> dict[str, Any]:
    """Return `outcome` as a JSON object."""
    data: dict[str, Any] = to_json(outcome)
    return data


def outcome_from_json(data: Any) -> RowOutcome:
    """Return the RowOutcome `outcome_to_json` gave; raise WireError for anything else."""
    return dataclass_from_json(RowOutcome, data, "outcome")
