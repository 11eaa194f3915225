"""bag-info.txt as text: one line per field, labels checked, values made single-line."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from preserve.errors import BadInput

# Any of these would end a line for some reader (str.splitlines, codecs, RFC 8493's CR/LF), so
# a value holding one could smuggle a second field into bag-info.txt.
_LINE_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})

_SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def clean_value(value: str) -> str:
    """Return `value` as one line: control characters and line breaks become spaces.

    Runs of whitespace collapse to one space and the ends are stripped, so the result never
    holds CR, LF, NEL, U+2028, U+2029 or any other control character.
    """
    spaced = "".join(
        " " if unicodedata.category(char) in _LINE_BREAKING_CATEGORIES else char for char in value
    )
    return " ".join(spaced.split())


def check_label(label: str) -> str:
    """Return `label` unchanged if it is a valid bag-info label, else raise BadInput.

    A label is non-empty, printable, has no colon, no control character and no whitespace at
    either end (a leading space would read as the continuation of the previous field).
    """
    problem = None
    if not label:
        problem = "it is empty"
    elif ":" in label:
        problem = "it contains a colon"
    elif label != label.strip():
        problem = "it starts or ends with whitespace"
    elif not label.isprintable():
        problem = "it contains a control or non-printable character"
    if problem is not None:
        raise BadInput(f"invalid bag-info label {label!r}: {problem}")
    return label


OWN_LABELS = (
    "Bagging-Date",
    "Payload-Oxum",
    "Bag-Size",
    "Bag-Software-Agent",
    "External-Identifier",
    "Internal-Sender-Identifier",
)
"""The bag-info labels preserve writes first in every bag, in this order."""

COMPUTED_LABELS = (*OWN_LABELS, "Internal-Sender-Description", "BagIt-Profile-Identifier")
"""bag-info labels whose values preserve computes or takes from an option of its own."""

_SET_BY = {
    "internal-sender-description": "--dc title=…",
    "bagit-profile-identifier": "--profile FILE",
}


def check_user_label(label: str) -> str:
    """Return a label given with `--info` if the user may set it, else raise BadInput.

    Refuses what `check_label` refuses, and, in any case, the labels preserve writes itself
    (a second Payload-Oxum would contradict the first, and the bag would still look valid).
    """
    check_label(label)
    folded = label.casefold()
    reserved = next((name for name in COMPUTED_LABELS if name.casefold() == folded), None)
    if reserved is not None:
        how = _SET_BY.get(folded)
        hint = f"set it with {how}" if how else "preserve writes it itself"
        raise BadInput(f"--info {label}: {reserved} is written by preserve", hint=hint)
    return label


def format_bag_info(fields: Sequence[tuple[str, str]]) -> str:
    """Return the text of bag-info.txt: one `Label: value` line per field, in the order given.

    Repeated labels are kept; values are passed through `clean_value` and never folded, so
    every field is exactly one line. Raises BadInput for an invalid label.
    """
    return "".join(f"{check_label(label)}: {clean_value(value)}\n" for label, value in fields)


def human_size(n: int) -> str:
    """Return a byte count as Bag-Size text in decimal (SI) units: `512 B`, `12.3 MB`."""
    if n < 0:
        raise ValueError(f"a size cannot be negative: {n}")
    value = float(n)
    unit = 0
    # Compare the rounded value, so 999,960 bytes reads "1.0 MB" rather than "1000.0 kB".
    while round(value, 1) >= 1000 and unit < len(_SIZE_UNITS) - 1:
        value /= 1000
        unit += 1
    return f"{n} B" if unit == 0 else f"{value:.1f} {_SIZE_UNITS[unit]}"


def payload_oxum(total_bytes: int, file_count: int) -> str:
    """Return the Payload-Oxum value `<bytes>.<count>` for the payload's size and file count."""
    if total_bytes < 0 or file_count < 0:
        raise ValueError(f"invalid payload totals: {total_bytes} bytes, {file_count} files")
    return f"{total_bytes}.{file_count}"
