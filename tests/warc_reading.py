"""Reading a bag's WARC back in the tests, and the checks every WARC preserve writes must pass."""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from cdxj_indexer.main import write_cdx_index
from warcio.archiveiterator import ArchiveIterator
from warcio.checker import Checker

# Skipped URLs never had an exchange; a "duplicate" may have been fetched under another role.
NEVER_FETCHED = frozenset({"scope", "robots", "limit", "private-address", "unsupported-scheme"})


@dataclass
class Rec:
    """One WARC record as the tests look at it."""

    type: str
    uri: str
    headers: dict[str, str]
    offset: int
    length: int
    status: int | None = None
    http_headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes = b""

    def http_header(self, name: str) -> str | None:
        for key, value in self.http_headers:
            if key.lower() == name.lower():
                return value
        return None

    def decoded(self) -> bytes:
        """Return the payload with its content coding removed."""
        coding = (self.http_header("Content-Encoding") or "").strip().lower()
        if coding in ("gzip", "x-gzip"):
            return gzip.decompress(self.raw)
        if coding == "deflate":
            try:
                return zlib.decompress(self.raw)
            except zlib.error:
                return zlib.decompress(self.raw, -zlib.MAX_WBITS)
        if coding == "br":
            return bytes(brotli.decompress(self.raw))
        return self.raw


def read_warc(path: Path) -> list[Rec]:
    """Return every record of a WARC, payloads read whole (for small test captures)."""
    records = []
    with path.open("rb") as stream:
        iterator = ArchiveIterator(stream)
        for record in iterator:
            headers = dict(record.rec_headers.headers)
            http = record.http_headers
            raw = record.raw_stream.read()
            offset = iterator.get_record_offset()
            iterator.read_to_end(record)
            records.append(
                Rec(
                    type=record.rec_type,
                    uri=headers.get("WARC-Target-URI", ""),
                    headers=headers,
                    offset=offset,
                    length=iterator.get_record_length(),
                    status=int(http.get_statuscode())
                    if http and record.rec_type != "request"
                    else None,
                    http_headers=list(http.headers) if http else [],
                    raw=raw,
                )
            )
    return records


def warcio_check(path: Path) -> tuple[int, str]:
    """Run `warcio check` on a WARC; return its exit value and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        value = Checker(argparse.Namespace(inputs=[str(path)], verbose=False)).process_all()
    return value, out.getvalue()


def reference_cdxj(path: Path, scratch: Path) -> list[str]:
    """Return the CDXJ lines cdxj-indexer writes for a WARC, sorted."""
    target = scratch / (path.name + ".reference.cdxj")
    write_cdx_index(str(target), [str(path)], {})
    return sorted(target.read_text(encoding="utf-8").splitlines())


def log_entries(bag: Path) -> list[dict[str, object]]:
    text = (bag / "data/logs/capture-log.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


def warc_of(bag: Path) -> Path:
    (warc,) = sorted((bag / "data/warc").glob("*.warc.gz"))
    return warc


def original_of(rec: Rec, records: list[Rec]) -> Rec:
    """Return the response record a revisit points to (or the record itself)."""
    if rec.type != "revisit":
        return rec
    target = rec.headers["WARC-Refers-To"]
    return next(r for r in records if r.headers.get("WARC-Record-ID") == target)


def check_bag_warc(bag: Path, scratch: Path) -> list[Rec]:
    """Check a bag's WARC against its capture log and payload; return its records.

    warcio check passes; warcinfo comes first; every URL with an exchange (each hop of a
    redirect chain too) has a request and a response or revisit record, URLs never fetched
    have none; every log entry has a metadata record; each payload file's sha256 is that of
    its response's payload after content decoding; the CDXJ beside the WARC is what
    cdxj-indexer writes for it.
    """
    warc = warc_of(bag)
    value, printed = warcio_check(warc)
    assert value == 0, printed
    records = read_warc(warc)
    assert records[0].type == "warcinfo"
    responses: dict[str, list[Rec]] = {}
    requests: dict[str, list[Rec]] = {}
    metadata: dict[str, int] = {}
    for rec in records:
        if rec.type in ("response", "revisit", "resource"):
            responses.setdefault(rec.uri, []).append(rec)
        elif rec.type == "request":
            requests.setdefault(rec.uri, []).append(rec)
        elif rec.type == "metadata":
            metadata[rec.uri] = metadata.get(rec.uri, 0) + 1
    entries = log_entries(bag)
    for entry in entries:
        url = str(entry["url"])
        assert metadata.get(url), f"no metadata record for {url}"
        if entry["outcome"] == "skipped":
            if entry.get("reason") in NEVER_FETCHED:
                assert url not in responses and url not in requests, url
            continue
        if entry.get("status") is None:
            continue
        hops = [str(hop["url"]) for hop in entry.get("redirects") or []]  # type: ignore[union-attr]
        final = str(entry.get("final_url") or url)
        for hop in [*hops, final]:
            assert hop in responses, f"no response record for {hop}"
            if not hop.startswith("file:"):
                assert hop in requests, f"no request record for {hop}"
        payload_path = entry.get("payload_path")
        if payload_path:
            stored = (bag / str(payload_path)).read_bytes()
            response = original_of(responses[final][-1], records)
            assert (
                hashlib.sha256(response.decoded()).hexdigest() == hashlib.sha256(stored).hexdigest()
            ), final
            digests = entry["digests"]
            assert isinstance(digests, dict)
            if "sha256" in digests:
                assert digests["sha256"] == hashlib.sha256(stored).hexdigest()
    index = warc.with_name(warc.name.removesuffix(".warc.gz") + ".cdxj")
    ours = index.read_text(encoding="utf-8").splitlines()
    assert ours == sorted(ours)
    assert ours == reference_cdxj(warc, scratch)
    indexed = {json.loads(line.split(" ", 2)[2])["offset"] for line in ours}
    for rec in records:
        if rec.type in ("response", "revisit", "resource"):
            assert str(rec.offset) in indexed, rec.uri
    return records
