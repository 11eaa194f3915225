"""Where a capture's bytes come from: a Source answers a URL with a FetchResult.

`HttpSource` fetches http(s) URLs through the Fetcher (politeness, limits, the private-network
guard, hashing on arrival); `LocalSource` reads the files of a local-file capture from the seed's
folder. Sources are called from the run loop's worker threads, never from its coordinator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from preserve.capture.seeds import Seed
from preserve.fetch import Fetcher
from preserve.fetch.hosts import HostGate
from preserve.models import CaptureOptions, FetchResult
from preserve.robots import MAX_ROBOTS_BYTES, RobotsFile, RobotsRules


class Source(Protocol):
    """Answers URLs with fetch results; thread-safe."""

    def fetch(self, url: str, referrer: str | None) -> FetchResult:
        """Return the result of fetching `url`, never raising for trouble at the far end."""
        ...

    def close(self) -> None:
        """Release what the source holds (connections)."""
        ...


@dataclass(frozen=True, slots=True)
class RobotsAnswer:
    """A host's robots.txt rules, and the fetch that gave them (recorded in the WARC)."""

    rules: RobotsRules
    result: FetchResult
    file: RobotsFile


class HttpSource:
    """http(s) URLs through one Fetcher, shared by the capture's workers."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher

    def fetch(self, url: str, referrer: str | None) -> FetchResult:
        """Return the result of fetching `url` through the Fetcher."""
        return self.fetcher.fetch(url, referrer=referrer)

    def robots(self, source: str) -> RobotsAnswer:
        """Fetch the robots.txt at `source` and return its rules, as RFC 9309 reads them.

        Reads at most its first 500 KiB. The result's spooled files are left for the caller,
        which records them in the WARC and removes them (see `remove_body`).
        """
        result = self.fetcher.fetch(source)
        data: bytes | None = None
        if result.body is not None:
            with result.body.path.open("rb") as handle:
                data = handle.read(MAX_ROBOTS_BYTES)
        # The guard refuses the host's pages too; they are logged as private-address.
        refused = result.failure is not None and result.failure.kind == "refused"
        file = RobotsFile(source, result.status, data, result.error, refused=refused)
        return RobotsAnswer(file.rules(), result, file)

    def close(self) -> None:
        """Close the Fetcher's pooled connections."""
        self.fetcher.close()


def remove_body(result: FetchResult) -> None:
    """Remove the files a result's body was spooled to."""
    body = result.body
    if body is not None:
        body.path.unlink(missing_ok=True)
        if body.received_path is not None:
            body.received_path.unlink(missing_ok=True)


class LocalSource:
    """The files of a local-file capture, read from inside the seed's folder only."""

    def __init__(self, seed: Seed, tmp_dir: Path, options: CaptureOptions) -> None:
        self.seed = seed
        self.tmp_dir = tmp_dir
        self.checksums = options.checksums
        self.max_size = options.max_size

    def fetch(self, url: str, referrer: str | None) -> FetchResult:
        """Return the file `url` names, copied into the staging area and hashed."""
        return self.seed.fetch_local(url, self.tmp_dir, self.checksums, self.max_size)

    def close(self) -> None:
        """Nothing to release."""


class Sources:
    """The source for each URL of one capture: `file:` URLs local, the rest over HTTP."""

    def __init__(
        self,
        seed: Seed,
        options: CaptureOptions,
        tmp_dir: Path,
        *,
        cancel: threading.Event,
        keep_received: bool,
        payload_algorithms: tuple[str, ...],
        gate: HostGate | None = None,
    ) -> None:
        fetcher = Fetcher(
            options,
            tmp_dir,
            cancel=cancel,
            keep_received=keep_received,
            payload_algorithms=payload_algorithms,
            seed=seed.url,
            gate=gate,
        )
        self.http = HttpSource(fetcher)
        self.local = LocalSource(seed, tmp_dir, options)

    def for_url(self, url: str) -> Source:
        """Return the source that answers `url`."""
        return self.local if url.startswith("file:") else self.http

    def close(self) -> None:
        """Close every source."""
        self.http.close()
        self.local.close()
