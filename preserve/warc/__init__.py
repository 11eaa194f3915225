"""WARC 1.1 output of a capture: records fed from the fetch stream, each its own gzip member; CDXJ.

`CaptureWarc` writes `data/warc/<bag-name>.warc.gz` while the capture runs; `WarcSummary`
is what the bag records of it when it is closed.
"""

from __future__ import annotations

from preserve.warc.writer import CaptureWarc, WarcSummary, request_head, warcinfo_fields

CDXJ_SUFFIX = ".cdxj"
"""The index beside each WARC: `<bag-name>.warc.gz` has `<bag-name>.cdxj`."""

__all__ = [
    "CDXJ_SUFFIX",
    "CaptureWarc",
    "WarcSummary",
    "request_head",
    "warcinfo_fields",
]
