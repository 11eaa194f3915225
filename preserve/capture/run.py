"""One capture, end to end (`capture`), and many, one after another (`capture_many`).

A capture checks its inputs before any request, builds its bag in a staging folder, runs the
loop that fetches and ingests, finishes the bag and moves it into place.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from preserve.bag import Staging, clean_stale
from preserve.bag.serialize import EXTENSIONS, serialize_bag
from preserve.bag.staging import check_name_free, check_output
from preserve.browser import find_chromium
from preserve.capture.browsing import Browsing
from preserve.capture.finish import SeedOutcome, finish_bag, profile_identifiers
from preserve.capture.frontier import Frontier
from preserve.capture.ingest import Ingestion
from preserve.capture.loop import RunLoop
from preserve.capture.seeds import Seed, default_bag_name, parse_seed, validate_options
from preserve.capture.sinks import Sink
from preserve.capture.sources import Sources
from preserve.errors import BadInput, FetchFailed, Interrupted, PreserveError
from preserve.fetch import default_user_agent
from preserve.fetch.hosts import HostGate
from preserve.metadata import parse_user_metadata
from preserve.metadata.facts import RenderingFact
from preserve.models import CaptureOptions, CaptureResult, LogRecord
from preserve.report import SeedFailure
from preserve.robots import RobotsStore


def capture(
    url: str,
    output: Path,
    options: CaptureOptions | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    new_id: Callable[[], uuid.UUID] | None = None,
    observer: Callable[[LogRecord], None] | None = None,
    gate: HostGate | None = None,
    robots: RobotsStore | None = None,
) -> CaptureResult:
    """Capture `url` (or a local HTML file) with its requisites into a new bag in `output`.

    Returns the CaptureResult of the bag written. Raises, before any request, BadInput (exit
    2) for a bad URL, option or bag name or an output inside a bag, and PackagingFailed (4)
    for an output that is not a folder or a name taken; later, FetchFailed (3) when the seed
    cannot be fetched or, with `strict`, a requisite is missing, PackagingFailed (4) when the
    bag cannot be written.
    On any error or interrupt the staging folder is removed and nothing appears in `output`.
    `clock` and `new_id` make the capture time and identifier reproducible. A batch passes
    the `gate` and `robots` its captures share, so that --host-workers, --wait and robots.txt
    hold across all of them.
    """
    options = options or CaptureOptions()
    validate_options(options)
    seed = parse_seed(url)
    chromium = _browser(options, seed)
    user = parse_user_metadata(options.dc, options.metadata_file)
    profiles = profile_identifiers(options)
    now = (clock or (lambda: datetime.now(UTC)))()
    capture_id = (new_id or uuid.uuid4)()
    name = options.name or default_bag_name(seed, now, capture_id)
    check_output(output)
    check_name_free(output, name, EXTENSIONS[options.serialize] if options.serialize else "")
    started = time.monotonic()
    clean_stale(output)
    with Staging.create(output) as staging:
        cancel = threading.Event()
        sink = Sink(staging.bag_dir, name, seed=seed, options=options, created=now)
        ingestion = Ingestion(seed, sink, insecure=options.insecure, observer=observer)
        sources = Sources(
            seed,
            options,
            staging.tmp_dir,
            cancel=cancel,
            keep_received=sink.keep_received,
            payload_algorithms=sink.payload_algorithms,
            gate=gate,
        )
        user_agent = options.user_agent or default_user_agent()
        frontier = Frontier(seed.url, options, user_agent)
        browsing = None
        if chromium is not None:
            browsing = Browsing(options, chromium, ingestion, staging.tmp_dir)
        try:
            RunLoop(options, sources, frontier, ingestion, cancel, robots, browsing).run(seed.url)
            records = ingestion.ordered_records()
            _check_strict(options, records)
            recorded = sink.finish()
        except BaseException:
            sink.discard()
            raise
        metadata = finish_bag(
            sink.writer,
            options=options,
            seed=_seed_outcome(seed, ingestion, records),
            records=records,
            url_map=ingestion.url_map,
            created=now,
            capture_id=capture_id,
            bag_name=name,
            user=user,
            profiles=profiles,
            warc_files=recorded.files if recorded is not None else (),
            warc_map=ingestion.warc_map,
            renderings=() if browsing is None else browsing.renderings,
        )
        payload_bytes = sink.writer.total_bytes
        sha256 = None
        if options.serialize is None:
            bag_path = staging.commit(name)
        else:
            # Absolute, as a committed folder's path is: the report names what was written.
            written = serialize_bag(
                staging.bag_dir,
                options.serialize,
                name=name,
                output=output.absolute(),
                scratch=staging.root,
            )
            bag_path, sha256 = written.path, written.sha256
    return CaptureResult(
        seed=seed.display(seed.url),
        bag_path=bag_path,
        capture_id=f"urn:uuid:{capture_id}",
        title=metadata.title,
        records=records,
        payload_bytes=payload_bytes,
        seconds=time.monotonic() - started,
        sha256=sha256,
        notes=() if browsing is None else _browser_notes(browsing.renderings),
    )


def _browser_notes(renderings: Sequence[RenderingFact]) -> tuple[str, ...]:
    """Return what the browser noted of each page, as `URL: note`."""
    return tuple(f"{r.url}: {note}" for r in renderings for note in r.notes)


def _browser(options: CaptureOptions, seed: Seed) -> Path | None:
    """Return the Chromium that --browser runs, or None without it; raise BadInput if none.

    Checked before any request: a capture asked to run a browser never starts without one.
    """
    if not options.browser:
        return None
    if seed.local_file is not None:
        raise BadInput(
            "--browser loads web pages: a local file's scripts would read the disk directly",
            hint="serve the folder over http, or leave out --browser",
        )
    return find_chromium()


def _check_strict(options: CaptureOptions, records: Sequence[LogRecord]) -> None:
    """Raise FetchFailed under --strict when a requisite or frame is missing."""
    missing = [r for r in records if r.outcome == "failed" and r.role in ("requisite", "frame")]
    if options.strict and missing:
        raise FetchFailed(
            f"{len(missing)} requisite(s) missing under --strict, first: "
            f"{missing[0].url} ({missing[0].error})"
        )


def _seed_outcome(seed: Seed, ingestion: Ingestion, records: Sequence[LogRecord]) -> SeedOutcome:
    """Return what was learned about the seed, with URLs as the records show them."""
    result = ingestion.seed_result
    final = result.final_url if result is not None else seed.url
    return SeedOutcome(
        requested_url=seed.display(seed.url),
        final_url=seed.display(final),
        result=result,
        record=next((r for r in records if r.role == "seed"), None),
        local=seed.local_file is not None,
        page_file=ingestion.seed_page,
    )


def capture_many(
    urls: Sequence[str],
    output: Path,
    options: CaptureOptions | None = None,
    *,
    observer: Callable[[LogRecord], None] | None = None,
    on_outcome: Callable[[CaptureResult | SeedFailure], None] | None = None,
) -> list[CaptureResult | SeedFailure]:
    """Capture each URL into a bag of its own in `output`, in order; return one outcome each.

    Every seed is checked before the first is fetched (BadInput). A seed that cannot be
    captured becomes a SeedFailure with its reason and exit code, and the run goes on;
    `on_outcome` hears each outcome as it is decided. BadInput and Interrupted stop the run.
    """
    options = options or CaptureOptions()
    for url in urls:
        parse_seed(url)
    outcomes: list[CaptureResult | SeedFailure] = []
    for url in urls:
        outcome: CaptureResult | SeedFailure
        try:
            outcome = capture(url, output, options, observer=observer)
        except (BadInput, Interrupted):
            raise
        except PreserveError as exc:
            outcome = SeedFailure(url, str(exc), exc.exit_code)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes
