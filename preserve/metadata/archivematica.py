"""Archivematica's descriptive-metadata import file (`metadata.csv`) for the seed page."""

from __future__ import annotations

import csv
import io

from preserve.metadata.record import CAPTURE_LOG, Record
from preserve.metadata.terms import SIMPLE

# The capture's lists of parts and linked resources: hundreds of columns describing the page
# file would say nothing about that file; dc.xml and premis.xml carry the lists. A user's own
# hasPart or references values are kept.
_LISTED = frozenset({"hasPart", "references"})


def metadata_csv(record: Record, filename: str) -> bytes:
    """Return `metadata.csv` describing one payload file: a header row and one row, UTF-8.

    `filename` is the file's path inside the bag, `data/` included: the seed's payload file,
    or the WARC that holds the seed when no payload file does. Archivematica's manual
    ("Import metadata", section "Adding metadata to bags") says that in a bag transfer the
    filename column anticipates the bag's structure: "Material that you add to a bag will
    always be inside the payload directory, so the filename path must always begin with
    `data`" (not `objects/`, as in a standard transfer). Archivematica reads the file from
    `data/metadata/metadata.csv`; the path is the same wherever this file is written.

    The `filename` column comes first; simple elements are `dc.*` columns, refinements
    `dcterms.*` columns; a term with several values repeats its column, as Archivematica's
    examples do. No byte order mark: it would become part of the first column's name.
    """
    header = ["filename"]
    row = [filename]
    for name, values in record.elements:
        column = f"dc.{name}" if name in SIMPLE else f"dcterms.{name}"
        for value in values:
            if name in _LISTED and value.source == CAPTURE_LOG:
                continue
            header.append(column)
            row.append(value.text)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerow(row)
    return out.getvalue().encode("utf-8")
