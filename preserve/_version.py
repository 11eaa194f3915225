"""The version of preserve, in one place."""

__version__ = "0.1.0"
