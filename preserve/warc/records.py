"""Writing WARC 1.1 records, each its own gzip member, into a file hashed as it is written."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from preserve.digests import Digests
from preserve.warc.members import GzipMember

WARC_VERSION = "WARC/1.1"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
HTTP_RESPONSE = "application/http; msgtype=response"
HTTP_REQUEST = "application/http; msgtype=request"
WARC_FIELDS = "application/warc-fields"
_READ = 1024 * 1024
# Past this many bytes the WARC is hashed for the manifests on threads, one per algorithm.
_PARALLEL_AFTER = 8 * 1024 * 1024


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


def record_head(headers: Sequence[tuple[str, str]], content_type: str, length: int) -> bytes:
    """Return a record's version line and named fields: those given, then type and length."""
    lines = [WARC_VERSION, *(f"{name}: {value}" for name, value in headers)]
    lines += [f"Content-Type: {content_type}", f"Content-Length: {length}", "", ""]
    return "\r\n".join(lines).encode("utf-8")


class RecordFile:
    """A .warc.gz being written: each record one gzip member, the file hashed as it grows.

    The hashes (the bag's manifest algorithms) let the bag list the WARC without reading
    it back; past a few megabytes they run on threads of their own, beside the writing.
    Not thread-safe: one thread writes every record.
    """

    def __init__(self, path: Path, algorithms: Sequence[str]) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("xb")
        self._digests = Digests(algorithms, parallel_after=_PARALLEL_AFTER)
        self.size = 0

    def write(self, data: bytes | bytearray) -> None:
        """Append bytes to the file, hashing them."""
        self._file.write(data)
        self._digests.update(data)
        self.size += len(data)

    def record(
        self,
        headers: Sequence[tuple[str, str]],
        content_type: str,
        *,
        block: bytes = b"",
        body: Path | None = None,
        body_size: int = 0,
    ) -> tuple[int, int]:
        """Write one record as its own gzip member; return its offset and length in the file.

        The record's block is `block` followed by the first `body_size` bytes of the file
        `body` (an HTTP head and the body as received, for a response). `headers` carry
        every named field but Content-Type and Content-Length, which follow them. The head
        and `block` are deflated; the body is stored or deflated piece by piece, as its bytes
        shrink or not.
        """
        offset = self.size
        prefix = record_head(headers, content_type, len(block) + body_size) + block
        member = GzipMember(self, len(prefix) + body_size + 4)
        member.write(prefix)
        if body is not None and body_size:
            with body.open("rb", buffering=0) as source:
                member.copy(source, body_size)
        member.finish(b"\r\n\r\n")
        return offset, self.size - offset

    def close(self) -> dict[str, str]:
        """Close the file; return its digests by algorithm."""
        self._file.flush()
        self._file.close()
        return self._digests.hexdigests()

    def discard(self) -> None:
        """Close and remove the file, after a failure."""
        self._digests.close()
        self._file.close()
        self.path.unlink(missing_ok=True)
