"""preserve: capture a web page and everything it needs into a described, verifiable BagIt bag.

The command line is a thin layer over this API:

    from pathlib import Path
    import preserve

    result = preserve.capture("https://example.org/", Path("bags"), preserve.CaptureOptions())
    print(result.bag_path)
"""

from __future__ import annotations

from preserve._version import __version__
from preserve.bag.reader import Problem
from preserve.bag.validate import ValidationReport, validate
from preserve.crawl import capture
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
    "validate",
]
