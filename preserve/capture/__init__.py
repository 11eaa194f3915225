"""One capture: seeds, sources, sinks, the run loop, ingestion, the frontier, the finished bag.

`capture` and `capture_many` are loaded on first use, so reading seeds (as the command line
does before anything else) does not load the fetching and packaging code.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preserve.capture.run import capture, capture_many

__all__ = ["capture", "capture_many"]


def __getattr__(name: str) -> object:
    """Return `capture` or `capture_many`, importing the run module on first use."""
    if name not in __all__:
        raise AttributeError(f"module 'preserve.capture' has no attribute {name!r}")
    value = getattr(importlib.import_module("preserve.capture.run"), name)
    globals()[name] = value
    return value


class _CallablePackage(types.ModuleType):
    """This package, callable as the `capture` function it is named after.

    Importing `preserve.capture.<module>` makes the attribute `preserve.capture` this package,
    in place of the function `preserve.capture(url, output, options)`; so calling the
    package captures, and the public API reads the same whichever was imported first.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> object:
        """Capture, as `preserve.capture.run.capture` does."""
        return self.capture(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
