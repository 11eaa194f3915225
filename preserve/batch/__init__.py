"""Batch ingestion: a manifest of seeds, each its own bag, with a journal, workers and a report.

`manifest` reads and checks the manifest as a stream; `journal` keeps each row's state in
SQLite; `task` is one attempt at one row, as a worker runs it; `gates` shares --host-workers,
--wait and robots.txt between worker processes; `pool` runs attempts in worker processes on
this machine; `report` writes a line per row; `runner` drives a batch (`batch`), and `celery`
hands the rows to Celery workers on any number of machines.

`batch`, `BatchResult`, `BadManifest`, `BatchProgress` and `RowReport` are loaded on first
use, so reading this package does not load the capture code.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preserve.batch.report import BatchProgress, RowReport
    from preserve.batch.runner import BadManifest, BatchResult, batch

_HOMES = {
    "batch": "preserve.batch.runner",
    "BatchResult": "preserve.batch.runner",
    "BadManifest": "preserve.batch.runner",
    "BatchProgress": "preserve.batch.report",
    "RowReport": "preserve.batch.report",
}

__all__ = ["BadManifest", "BatchProgress", "BatchResult", "RowReport", "batch"]


def __getattr__(name: str) -> object:
    """Return a name of the batch API, importing its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'preserve.batch' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


class _CallablePackage(types.ModuleType):
    """This package, callable as the `batch` function it is named after.

    Importing `preserve.batch.<module>` makes the attribute `preserve.batch` this package, in
    place of the function `preserve.batch(manifest, output, options)`; so calling the
    package runs a batch, whichever was imported first.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> object:
        """Run a batch, as `preserve.batch.runner.batch` does."""
        return self.batch(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
