"""preserve: capture a web page and everything it needs into a described, verifiable BagIt bag.

The command line is a thin layer over this API:

    from pathlib import Path
    import preserve

    result = preserve.capture("https://example.org/", Path("bags"), preserve.CaptureOptions())
    print(preserve.validate(result.bag_path).valid, preserve.describe(result.bag_path).title)
    preserve.export_wacz(result.bag_path, Path("page.wacz"))

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
    from pathlib import Path

    from preserve.bag.inspect import BagDescription
    from preserve.bag.reader import Problem
    from preserve.bag.validate import ValidationReport, validate
    from preserve.batch import BadManifest, BatchProgress, BatchResult, RowReport, batch
    from preserve.capture import capture, capture_many
    from preserve.report import SeedFailure
    from preserve.wacz import WaczSummary, export_wacz

_LAZY = {
    "batch": "preserve.batch",
    "BatchResult": "preserve.batch",
    "BadManifest": "preserve.batch",
    "BatchProgress": "preserve.batch",
    "RowReport": "preserve.batch",
    "capture": "preserve.capture",
    "capture_many": "preserve.capture",
    "SeedFailure": "preserve.report",
    "validate": "preserve.bag.validate",
    "ValidationReport": "preserve.bag.validate",
    "Problem": "preserve.bag.reader",
    "BagDescription": "preserve.bag.inspect",
    "export_wacz": "preserve.wacz",
    "WaczSummary": "preserve.wacz",
}

__all__ = [
    "BadInput",
    "BadManifest",
    "BagDescription",
    "BagInfo",
    "BatchProgress",
    "BatchResult",
    "CaptureOptions",
    "CaptureResult",
    "FetchFailed",
    "Interrupted",
    "InvalidBag",
    "LogRecord",
    "PackagingFailed",
    "PreserveError",
    "Problem",
    "RowReport",
    "SeedFailure",
    "SomeSeedsFailed",
    "ValidationReport",
    "WaczSummary",
    "__version__",
    "batch",
    "capture",
    "capture_many",
    "describe",
    "export_wacz",
    "validate",
]


def describe(path: Path) -> BagDescription:
    """Return what `preserve info` shows of the bag at `path`, read from its tag files.

    `path` is a folder or a .zip, .tar, .tar.gz or .tgz file, read in place. Nothing is
    verified (that is `validate`). Raises BadInput (exit 2) when `path` is missing or
    unreadable, not a bag (no bagit.txt), or an archive that is damaged or unsafe.
    """
    # Imported on call, so that `import preserve` does not load the bag reader.
    from preserve.bag.inspect import inspect_bag

    return inspect_bag(path)


def __getattr__(name: str) -> object:
    """Return a public name of the API, importing its module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'preserve' has no attribute {name!r}")
    value = importlib.import_module(module)
    if name not in ("capture", "batch"):
        value = getattr(value, name)
    # `capture` and `batch` are the packages preserve.capture and preserve.batch themselves,
    # callable as the functions: importing any of their modules binds the package to the
    # name, so it is bound the same way here.
    globals()[name] = value
    return value
