"""preserve: capture a web page and everything it needs into a described, verifiable BagIt bag.

The command line is a thin layer over this API:

    from pathlib import Path
    import preserve

    result = preserve.capture("https://example.org/", Path("bags"), preserve.CaptureOptions())
    print(result.bag_path)

Names are loaded on first use, so importing the package (or starting the command line) does
not pay for the parts a run does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from preserve._version import __version__
from preserve.errors import (
    BadInput,
    FetchFailed,
    Interrupted,
    InvalidBag,
    PackagingFailed,
    PreserveError,
    SomeSeedsFailed,
)
from preserve.models import BagInfo, CaptureOptions, CaptureResult, LogRecord

if TYPE_CHECKING:
    from preserve.bag.reader import Problem
    from preserve.bag.validate import ValidationReport, validate
    from preserve.capture import capture, capture_many

_LAZY = {
    "capture": "preserve.capture",
    "capture_many": "preserve.capture",
    "validate": "preserve.bag.validate",
    "ValidationReport": "preserve.bag.validate",
    "Problem": "preserve.bag.reader",
}

__all__ = [
    "BadInput",
    "BagInfo",
    "CaptureOptions",
    "CaptureResult",
    "FetchFailed",
    "Interrupted",
    "InvalidBag",
    "LogRecord",
    "PackagingFailed",
    "PreserveError",
    "Problem",
    "SomeSeedsFailed",
    "ValidationReport",
    "__version__",
    "capture",
    "capture_many",
    "validate",
]


def __getattr__(name: str) -> object:
    """Return a public name of the API, importing its module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'preserve' has no attribute {name!r}")
    value = importlib.import_module(module)
    if name != "capture":
        value = getattr(value, name)
    # `capture` is the package preserve.capture itself, callable as the function: importing
    # any of its modules binds the package to this name, so it is bound the same way here.
    globals()[name] = value
    return value
