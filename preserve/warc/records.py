"""Writing WARC 1.1 records with warcio, each its own gzip member, into a file hashed as written."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from preserve.warc.members import GzipMember

WARC_VERSION = "WARC/1.1"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
HTTP_RESPONSE = "application/http; msgtype=response"
HTTP_REQUEST = "application/http; msgtype=request"
WARC_FIELDS = "application/warc-fields"
_READ = 1024 * 1024


def record_id() -> str:
    """Return a new WARC-Record-ID."""
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(when: datetime) -> str:
    """Return a WARC-Date: UTC, to the microsecond, as WARC 1.1 allows."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_label(hexdigest: str) -> str:
    """Return a digest as WARC headers write it: `sha256:` and the hex digest."""
    return f"sha256:{hexdigest}"


def sha256_file(path: Path | None) -> str:
    """Return the sha256 hex digest of a file (of nothing when `path` is None)."""
    digest = hashlib.sha256()
    if path is not None:
        with path.open("rb") as handle:
            while chunk := handle.read(_READ):
                digest.update(chunk)
    return digest.hexdigest()


class Block:
    """A record block read as one stream: `head` bytes, then the bytes of the file at `path`."""

    def __init__(self, head: bytes, path: Path | None = None) -> None:
        self._head = memoryview(head)
        self._file: BinaryIO | None = path.open("rb") if path is not None else None

    def read(self, size: int = -1) -> bytes:
        """Return up to `size` bytes (all that is left for a negative size); b"" at the end."""
        if self._head:
            count = len(self._head) if size < 0 else min(size, len(self._head))
            data = bytes(self._head[:count])
            self._head = self._head[count:]
            return data
        if self._file is None:
            return b""
        return self._file.read(size)

    def close(self) -> None:
        """Close the file behind the block."""
        if self._file is not None:
            self._file.close()


class _RawHead(StatusAndHeaders):  # type: ignore[misc]
    """An HTTP head written byte for byte: warcio would re-serialise parsed headers."""

    def __init__(self, head: bytes) -> None:
        super().__init__("", [], protocol="")
        self.headers_buff = head

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        """Keep the bytes as given (the block digest was taken over them)."""

    def __bool__(self) -> bool:
        """Count as present: warcio writes a record's HTTP head only when it is truthy."""
        return True


class RecordFile:
    """A .warc.gz being written: each record one gzip member, the file hashed as it grows.

    The hashes (the bag's manifest algorithms) let the bag list the WARC without reading
    it back. Not thread-safe: one thread writes every record.
    """

    def __init__(self, path: Path, algorithms: Sequence[str]) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("xb")
        self._hashes = {alg: hashlib.new(alg, usedforsecurity=False) for alg in algorithms}
        self.size = 0
        self._writer = WARCWriter(None, gzip=False, warc_version=WARC_VERSION)

    def write(self, data: bytes) -> int:
        """Append bytes to the file, hashing them; return how many."""
        self._file.write(data)
        for hashed in self._hashes.values():
            hashed.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Do nothing; the file is flushed when closed."""

    def record(
        self,
        record_type: str,
        headers: Sequence[tuple[str, str]],
        block: Block,
        length: int,
        content_type: str,
        *,
        level: int,
        http_head: bytes | None = None,
    ) -> tuple[int, int]:
        """Write one record as its own gzip member; return its offset and length in the file.

        The block is `http_head` (for request, response and revisit records) followed by
        `length` bytes of `block` (none for a revisit, as warcio writes them). `headers` must
        carry the WARC-Record-ID, date and both digests: warcio then writes the record as
        given, setting Content-Type and Content-Length.
        """
        offset = self.size
        member = GzipMember(self, level)  # type: ignore[arg-type]
        warc_headers = StatusAndHeaders("", list(headers), protocol=WARC_VERSION)
        http = _RawHead(http_head) if http_head is not None else None
        record = ArcWarcRecord("warc", record_type, warc_headers, block, http, content_type, length)
        record.payload_length = length
        self._writer.out = member
        try:
            self._writer.write_record(record)
        finally:
            block.close()
        member.finish()
        return offset, self.size - offset

    def close(self) -> dict[str, str]:
        """Close the file; return its digests by algorithm."""
        self._file.flush()
        self._file.close()
        return {alg: hashed.hexdigest() for alg, hashed in self._hashes.items()}

    def discard(self) -> None:
        """Close and remove the file, after a failure."""
        self._file.close()
        self.path.unlink(missing_ok=True)
