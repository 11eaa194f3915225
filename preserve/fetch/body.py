"""Response bodies on their way to disk: decoded piece by piece, hashed as they arrive."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import requests
import urllib3

from preserve.codings import DecodeError, Identity, Truncated, decoder_for
from preserve.digests import Digests
from preserve.fetch.session import describe
from preserve.fields import decimal
from preserve.models import Body, Exchange, FetchFailure, Received
from preserve.pausepoint import pause_point

CHUNK = 256 * 1024
# A Transfer-Encoding field line of a raw head (the name at a line start, any case).
_TRANSFER_ENCODING = re.compile(rb"(\n)transfer-encoding(?=[ \t]*:)", re.IGNORECASE)
# Past this size a body may be hashed on threads of its own (see stream_body and digests).
PARALLEL_AFTER = 8 * 1024 * 1024
# Redirect and error bodies are kept for the WARC up to this size, the rest marked truncated.
ERROR_BODY_LIMIT = 1024 * 1024


class Cancelled(Exception):
    """Raised inside a fetch when the capture is being stopped."""


@dataclass(slots=True)
class Failure(Exception):
    """Why a fetch failed, with what was received of the body (kept for the WARC)."""

    failure: FetchFailure
    received: int = 0
    truncated: bool = False
    kept: Received | None = None


def response_head(exchange: Exchange) -> bytes:
    """Return the status line and header lines of a response, as its WARC record holds them.

    The head as received, byte for byte, when the connection kept it. The body is kept with
    transfer coding removed, so `Transfer-Encoding` is renamed (replay tools would otherwise
    try to de-chunk it again); every other line is as received.
    """
    if exchange.raw_head is not None:
        return _TRANSFER_ENCODING.sub(rb"\1X-Archive-Orig-Transfer-Encoding", exchange.raw_head)
    lines = [f"{exchange.http_version} {exchange.status} {exchange.reason}".rstrip()]
    for name, value in exchange.response_headers:
        renamed = (
            "X-Archive-Orig-Transfer-Encoding" if name.lower() == "transfer-encoding" else name
        )
        lines.append(f"{renamed}: {value}")
    # http.client decodes header bytes as latin-1, so encoding them back gives the bytes sent.
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def keep_small_body(
    response: requests.Response, exchange: Exchange, path: Path, cancel: threading.Event
) -> Exchange:
    """Return `exchange` with its redirect or error body kept as received, in `path`.

    Keeps at most ERROR_BODY_LIMIT bytes (a longer body is marked truncated); a body cut
    short keeps what arrived.
    """
    head = response_head(exchange)
    block = hashlib.sha256(head)
    digest = hashlib.sha256()
    size = 0
    truncated: str | None = None
    errors = (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError)
    with path.open("wb") as out:
        while size < ERROR_BODY_LIMIT:
            if cancel.is_set():
                raise Cancelled
            try:
                chunk = response.raw.read(min(CHUNK, ERROR_BODY_LIMIT - size), False)
            except errors:
                truncated = "disconnect"
                break
            if not chunk:
                break
            size += len(chunk)
            out.write(chunk)
            block.update(chunk)
            digest.update(chunk)
        else:
            try:
                more = response.raw.read(1, False)
            except errors:
                more = b""
            truncated = "length" if more else None
    kept = Received(head, path, size, digest.hexdigest(), block.hexdigest(), truncated)
    return replace(exchange, received=kept)


def stream_body(
    response: requests.Response,
    head: bytes,
    *,
    path: Path,
    algorithms: tuple[str, ...],
    max_size: int,
    keep: bool,
    cancel: threading.Event,
    gate: threading.Semaphore,
) -> tuple[Body, Received | None]:
    """Stream the body to `path`, removing content coding, hashing both forms.

    The payload is hashed with each of `algorithms`. With `keep`, also returns the body as
    received (a second file only when a content coding was removed) with its WARC digests,
    `head` being the response head. Raises Failure for a body over `max_size`, cut short or
    undecodable; with `keep` the failure carries what was received, marked truncated. Bodies
    sharing `gate` take turns at being hashed on threads of their own.
    """
    length = decimal(response.headers.get("Content-Length"))
    if length is not None and length > max_size:
        message = f"Content-Length {length} exceeds --max-size {max_size}"
        failure = Failure(FetchFailure("too-large", message))
        if keep:
            empty = hashlib.sha256().hexdigest()
            block_sha256 = hashlib.sha256(head).hexdigest()
            failure.kept = Received(head, None, 0, empty, block_sha256, "length")
        raise failure
    stream = _BodyStream(response, head, path, algorithms, max_size, keep, gate)
    try:
        return stream.run(cancel)
    finally:
        # Stops the hashing threads of a big body on every way out.
        stream.close()


class _BodyStream:
    """One response body on its way to disk: decoded, hashed in both forms, size-checked."""

    def __init__(
        self,
        response: requests.Response,
        head: bytes,
        path: Path,
        algorithms: tuple[str, ...],
        max_size: int,
        keep: bool,
        gate: threading.Semaphore,
    ) -> None:
        self.response = response
        self.head = head
        self.path = path
        self.max_size = max_size
        self.encoding = response.headers.get("Content-Encoding")
        # An unknown coding cannot be undone: the payload is the body as received.
        self.decoder = decoder_for(self.encoding, CHUNK) or Identity()
        self.identity = isinstance(self.decoder, Identity)
        self.payload = Digests(algorithms, parallel_after=PARALLEL_AFTER, gate=gate)
        self.received = Digests(("sha256",), parallel_after=PARALLEL_AFTER, gate=gate)
        self.block = (
            Digests(("sha256",), parallel_after=PARALLEL_AFTER, gate=gate) if keep else None
        )
        if self.block is not None:
            self.block.update(head)
        # Without a content coding the payload file is the body as received: one file, and
        # its sha256 (when a --checksum) is the WARC payload digest too.
        self.reuse = keep and self.identity and "sha256" in algorithms
        self.feed_received = not self.identity or (keep and not self.reuse)
        self.kept = path.with_name(path.name + ".received") if keep and not self.identity else None
        self.size = 0
        self.received_size = 0

    def run(self, cancel: threading.Event) -> tuple[Body, Received | None]:
        """Copy the whole body; return it, and the body as received when it is kept."""
        try:
            self._copy(cancel)
        except Failure as failure:
            failure.kept = self._spooled("length")
            raise
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            OSError,
            DecodeError,
        ) as exc:
            raise self._cut_short(exc) from exc
        except BaseException:
            self._remove_files()
            raise
        body = Body(
            path=self.path,
            size=self.size,
            digests=self.payload.hexdigests(),
            received_size=self.received_size,
            received_digests={} if self.identity else self.received.hexdigests(),
            content_encoding=self.encoding,
            received_path=(self.kept or self.path) if self.block is not None else None,
        )
        return body, self._spooled(None) if self.block is not None else None

    def _copy(self, cancel: threading.Event) -> None:
        raw_file = self.kept.open("wb") if self.kept is not None else nullcontext(None)
        with self.path.open("wb") as out, raw_file as raw_out:
            raw = self.response.raw
            # read1 returns what has arrived, so a slow body still sees a cancel promptly;
            # stream() waits for a whole CHUNK (older urllib3 has no read1).
            chunks = (
                iter(lambda: raw.read1(CHUNK, decode_content=False), b"")
                if hasattr(raw, "read1")
                else raw.stream(CHUNK, decode_content=False)
            )
            for chunk in chunks:
                if cancel.is_set():
                    raise Cancelled
                self.received_size += len(chunk)
                if raw_out is not None:
                    raw_out.write(chunk)
                if self.feed_received:
                    self.received.update(chunk)
                if self.block is not None:
                    self.block.update(chunk)
                if not self.identity and self.received_size > self.max_size:
                    # A coding can turn many bytes into none (empty gzip members, empty
                    # stored blocks): the limit binds the bytes received too.
                    raise Failure(
                        FetchFailure(
                            "too-large", f"body exceeds --max-size {self.max_size} as received"
                        ),
                        received=self.received_size,
                        truncated=True,
                    )
                # Decoded piece by piece, so a decompression bomb stops at --max-size
                # without ever being held in memory.
                for data in self.decoder.decode(chunk):
                    self._store(data, out)
                pause_point("hashing")
            for data in self.decoder.finish():
                self._store(data, out)

    def _store(self, data: bytes, out: BinaryIO) -> None:
        """Hash and write one decoded piece, or fail past the size limit."""
        self.size += len(data)
        if self.size > self.max_size:
            if self.block is not None and self.identity:
                # The payload file is the spool: it keeps every byte received.
                self.payload.update(data)
                out.write(data)
            raise Failure(
                FetchFailure("too-large", f"body exceeds --max-size {self.max_size}"),
                received=self.received_size,
                truncated=True,
            )
        self.payload.update(data)
        out.write(data)

    def _cut_short(self, exc: BaseException) -> Failure:
        """Return the Failure for a body the network, the coding or the disk broke off."""
        local_trouble = isinstance(exc, OSError) and not isinstance(
            exc, ConnectionError | TimeoutError
        )
        # Disk full, file too large, permission, quota: the staging area failed, not the
        # server, so the capture stops rather than recording a failed requisite.
        if local_trouble and getattr(exc, "errno", None) in (28, 27, 13, 122):
            self._remove_files()
            raise exc
        failure = FetchFailure("cut-short", "body cut short: " + describe(exc).message)
        truncated = "disconnect"
        if isinstance(exc, Truncated):
            message = f"content coding {self.encoding} cut short: {exc}"
            failure = FetchFailure("coding", message)
            truncated = "unspecified"
        elif isinstance(exc, DecodeError):
            message = f"content coding {self.encoding} could not be decoded"
            failure = FetchFailure("coding", message)
            truncated = "unspecified"
        return Failure(
            failure, received=self.received_size, truncated=True, kept=self._spooled(truncated)
        )

    def _spooled(self, truncated: str | None) -> Received | None:
        """Return the body as received, or None (removing the files) when not kept."""
        if self.block is None:
            self._remove_files()
            return None
        if self.kept is not None and truncated is not None:
            self.path.unlink(missing_ok=True)
        sha256 = (self.payload if self.reuse else self.received).hexdigests()["sha256"]
        spool = self.kept or self.path
        block_sha256 = self.block.hexdigests()["sha256"]
        return Received(self.head, spool, self.received_size, sha256, block_sha256, truncated)

    def _remove_files(self) -> None:
        self.path.unlink(missing_ok=True)
        if self.kept is not None:
            self.kept.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the hashing threads of every digest."""
        for hashing in (self.payload, self.received, self.block):
            if hashing is not None:
                hashing.close()


def copy_local_file(source: Path, tmp_dir: Path, checksums: tuple[str, ...], max_size: int) -> Body:
    """Copy a local file into `tmp_dir`, hashing it on the way; return its Body."""
    digests = Digests(checksums)
    target = tmp_dir / f"local-{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}"
    size = 0
    with source.open("rb") as src, target.open("wb") as out:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > max_size:
                out.close()
                target.unlink(missing_ok=True)
                raise ValueError(f"file exceeds --max-size {max_size}")
            digests.update(chunk)
            out.write(chunk)
    return Body(path=target, size=size, digests=digests.hexdigests(), received_size=size)
