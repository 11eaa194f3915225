"""Response bodies on their way to disk: decoded piece by piece, hashed as they arrive."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import requests
import urllib3

from preserve.codings import DecodeError, Identity, decoder_for
from preserve.digests import Digests
from preserve.fetch.session import describe
from preserve.models import Body, CaptureOptions, Exchange, Received
from preserve.pausepoint import pause_point

CHUNK = 256 * 1024
# Past this size a body may be hashed on threads of its own (see stream_body and digests).
PARALLEL_AFTER = 8 * 1024 * 1024
# Redirect and error bodies are kept for the WARC up to this size, the rest marked truncated.
ERROR_BODY_LIMIT = 1024 * 1024


class Cancelled(Exception):
    """Raised inside a fetch when the capture is being stopped."""


@dataclass(slots=True)
class Failure(Exception):
    """Why a fetch failed, with what was received of the body (kept for the WARC)."""

    reason: str
    received: int = 0
    truncated: bool = False
    kept: Received | None = None


def response_head(exchange: Exchange) -> bytes:
    """Return the status line and header lines of a response, as its WARC record holds them.

    The body is kept with transfer coding removed, so `Transfer-Encoding` is renamed
    (replay tools would otherwise try to de-chunk it again); every other header is as received.
    """
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
    options: CaptureOptions,
    keep: bool,
    cancel: threading.Event,
    gate: threading.Semaphore,
) -> tuple[Body, Received | None]:
    """Stream the body to `path`, removing content coding, hashing both forms.

    With `keep`, also returns the body as received (a second file only when a content
    coding was removed) with its WARC digests, `head` being the response head. Raises
    Failure for a body over --max-size, cut short or undecodable; with `keep` the failure
    carries what was received, marked truncated. Bodies sharing `gate` take turns at being
    hashed on threads of their own.
    """
    max_size = options.max_size
    length = response.headers.get("Content-Length", "").strip()
    if length.isdigit() and int(length) > max_size:
        failure = Failure(f"Content-Length {length} exceeds --max-size {max_size}")
        if keep:
            empty = hashlib.sha256().hexdigest()
            block_sha256 = hashlib.sha256(head).hexdigest()
            failure.kept = Received(head, None, 0, empty, block_sha256, "length")
        raise failure
    encoding = response.headers.get("Content-Encoding")
    decoder = decoder_for(encoding, CHUNK)
    if decoder is None:
        # An unknown coding cannot be undone: the payload is the body as received.
        decoder = Identity()
    identity = isinstance(decoder, Identity)
    # With --payload warc there is no payload file to list in a manifest: the payload's
    # digest is the WARC's (sha256), and the bag's algorithms hash the WARC itself.
    algorithms = ("sha256",) if options.payload == "warc" else options.checksums
    payload = Digests(algorithms, parallel_after=PARALLEL_AFTER, gate=gate)
    received = Digests(("sha256",), parallel_after=PARALLEL_AFTER, gate=gate)
    block = Digests(("sha256",), parallel_after=PARALLEL_AFTER, gate=gate) if keep else None
    if block is not None:
        block.update(head)
    # Without a content coding the payload file is the body as received: one file, and
    # its sha256 (when a --checksum) is the WARC payload digest too.
    reuse = keep and identity and "sha256" in algorithms
    feed_received = not identity or (keep and not reuse)
    kept = path.with_name(path.name + ".received") if keep and not identity else None
    size = 0
    received_size = 0

    def spooled(truncated: str | None) -> Received | None:
        """Return the body as received, or None (removing the files) when not kept."""
        if block is None:
            path.unlink(missing_ok=True)
            if kept is not None:
                kept.unlink(missing_ok=True)
            return None
        if kept is not None and truncated is not None:
            path.unlink(missing_ok=True)
        sha256 = (payload if reuse else received).hexdigests()["sha256"]
        spool = kept or path
        block_sha256 = block.hexdigests()["sha256"]
        return Received(head, spool, received_size, sha256, block_sha256, truncated)

    def store(data: bytes, stored: int) -> int:
        """Hash and write one decoded piece; return the size so far, or fail past --max-size."""
        stored += len(data)
        if stored > max_size:
            if keep and identity:
                # The payload file is the spool: it keeps every byte received.
                payload.update(data)
                out.write(data)
            raise Failure(
                f"body exceeds --max-size {max_size}", received=received_size, truncated=True
            )
        payload.update(data)
        out.write(data)
        return stored

    try:
        raw_file = kept.open("wb") if kept is not None else nullcontext(None)
        with path.open("wb") as out, raw_file as raw_out:
            raw = response.raw
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
                received_size += len(chunk)
                if raw_out is not None:
                    raw_out.write(chunk)
                if feed_received:
                    received.update(chunk)
                if block is not None:
                    block.update(chunk)
                # Decoded piece by piece, so a decompression bomb stops at --max-size
                # without ever being held in memory.
                for data in decoder.decode(chunk):
                    size = store(data, size)
                pause_point("hashing")
            for data in decoder.finish():
                size = store(data, size)
    except Failure as failure:
        failure.kept = spooled("length")
        raise
    except (
        requests.exceptions.RequestException,
        urllib3.exceptions.HTTPError,
        OSError,
        DecodeError,
    ) as exc:
        local_trouble = isinstance(exc, OSError) and not isinstance(
            exc, ConnectionError | TimeoutError
        )
        # Disk full, file too large, permission, quota: the staging area failed, not the
        # server, so the capture stops rather than recording a failed requisite.
        if local_trouble and getattr(exc, "errno", None) in (28, 27, 13, 122):
            path.unlink(missing_ok=True)
            if kept is not None:
                kept.unlink(missing_ok=True)
            raise
        reason = "body cut short: " + describe(exc)
        truncated = "disconnect"
        if isinstance(exc, DecodeError):
            reason = f"content coding {encoding} could not be decoded"
            truncated = "unspecified"
        cut = Failure(reason, received=received_size, truncated=True, kept=spooled(truncated))
        raise cut from exc
    except BaseException:
        path.unlink(missing_ok=True)
        if kept is not None:
            kept.unlink(missing_ok=True)
        raise
    else:
        digests = payload.hexdigests()
        body = Body(
            path=path,
            size=size,
            digests=digests,
            received_size=received_size,
            received_digests={} if identity else received.hexdigests(),
            content_encoding=encoding,
            received_path=(kept or path) if keep else None,
        )
        return body, spooled(None) if keep else None
    finally:
        # Stops the hashing threads of a big body on every way out.
        for hashing in (payload, received, block):
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
