"""preserve: capture a web page and everything it needs into a described, verifiable BagIt bag."""

from __future__ import annotations

__version__ = "0.1.0"
