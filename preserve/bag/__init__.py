"""The only writer of BagIt tag files: payload bookkeeping, bag-info and the staging folder."""

from __future__ import annotations

from preserve.bag.info import check_label, clean_value, format_bag_info
from preserve.bag.staging import Staging, clean_stale
from preserve.bag.writer import BAGIT_TXT, PayloadWriter

__all__ = [
    "BAGIT_TXT",
    "PayloadWriter",
    "Staging",
    "check_label",
    "clean_stale",
    "clean_value",
    "format_bag_info",
]
