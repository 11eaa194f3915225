"""The WARC side of a capture: what the crawl hands the WARC writer, and what the bag keeps of it.

The crawl's main thread calls a `Recording` for each result it handles, before the payload
file moves into the bag (with no content coding, the payload file is the WARC's spool), and
for each capture-log record it decides.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from preserve._version import __version__
from preserve.bag import PayloadWriter
from preserve.errors import PackagingFailed
from preserve.fetch import default_user_agent
from preserve.metadata import PayloadFile
from preserve.models import Body, CaptureOptions, FetchResult, LogRecord
from preserve.report import record_dict
from preserve.warc import CDXJ_SUFFIX, CaptureWarc, warcinfo_fields

WARC_FOLDER = "data/warc"


@contextmanager
def _writing() -> Iterator[None]:
    """Turn a failure to write the WARC (disk full, permission) into PackagingFailed."""
    try:
        yield
    except OSError as exc:
        raise PackagingFailed(f"cannot write the WARC: {exc.strerror or exc}") from exc


@dataclass(frozen=True, slots=True)
class Recorded:
    """The WARC and its index once in the bag, described for PREMIS."""

    files: tuple[PayloadFile, ...]
    warc_path: str


def warc_relpath(bag_name: str) -> str:
    """Return where a bag's WARC goes: `data/warc/<bag-name>.warc.gz`."""
    return f"{WARC_FOLDER}/{bag_name}.warc.gz"


class Recording:
    """The WARC of one capture, fed by the crawl's main thread.

    Writes `data/warc/<bag-name>.warc.gz` into the staging bag as results arrive; `finish`
    places it and its CDXJ index in the bag's payload.
    """

    def __init__(
        self,
        bag_dir: Path,
        bag_name: str,
        *,
        seed: str,
        options: CaptureOptions,
        created: datetime,
    ) -> None:
        self.relpath = warc_relpath(bag_name)
        self.payload_only = options.payload == "warc"
        info = warcinfo_fields(
            options,
            software=f"preserve/{__version__}",
            seed=seed,
            bag_name=bag_name,
            user_agent=options.user_agent or default_user_agent(),
        )
        with _writing():
            self._warc = CaptureWarc(
                bag_dir / self.relpath, algorithms=options.checksums, created=created, info=info
            )

    @property
    def size(self) -> int:
        """Return the size of the WARC so far, in bytes."""
        return self._warc.size

    def fetched(self, result: FetchResult) -> int | None:
        """Write the records of a fetch; return the offset of its final response's record.

        Removes the spooled bodies it consumed, except the payload file itself.
        """
        with _writing():
            offset = self._warc.add_fetch(result)
        keep = result.body.path if result.body is not None else None
        for exchange in (*result.retried, *result.exchanges):
            spool = exchange.received.path if exchange.received is not None else None
            if spool is not None and spool != keep:
                spool.unlink(missing_ok=True)
        return offset

    def local(self, url: str, body: Body) -> int:
        """Write a `resource` record for a local file (`url` as the log shows it)."""
        content_type = mimetypes.guess_type(url)[0]
        with _writing():
            return self._warc.add_resource(url, body, content_type, datetime.now(UTC))

    def logged(self, record: LogRecord) -> None:
        """Write a `metadata` record holding one capture-log entry."""
        when = datetime.now(UTC)
        if record.started:
            when = datetime.fromisoformat(record.started.replace("Z", "+00:00"))
        with _writing():
            self._warc.add_log_entry(record.url, record_dict(record), when)

    def finish(self, writer: PayloadWriter) -> Recorded:
        """Close the WARC and record it and its CDXJ index as payload files of the bag."""
        with _writing():
            summary = self._warc.close()
        cdxj = self.relpath.removesuffix(".warc.gz") + CDXJ_SUFFIX
        writer.add(self.relpath, summary.size, summary.digests)
        cdxj_digests = writer.write_bytes(cdxj, summary.cdxj)
        files = (
            PayloadFile(self.relpath, summary.size, summary.digests, "application/warc", None),
            PayloadFile(cdxj, len(summary.cdxj), cdxj_digests, None, None),
        )
        return Recorded(files=files, warc_path=self.relpath)

    def discard(self) -> None:
        """Close and remove the WARC after a failure."""
        self._warc.discard()
