"""pywb replays bodies the WARC writer stored, deflated, or both in turn within one record."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import preserve

from .conftest import Server
from .test_replay import PYWB, Wayback, replayed, run
from .test_warc_members import PIECE, holds_stored, random_of, text_of
from .warc_reading import check_bag_warc, warc_of

pytestmark = pytest.mark.skipif(PYWB is None, reason="pywb is not installed (see test_replay)")


@pytest.fixture
def wayback(tmp_path: Path) -> Iterator[Wayback]:
    root = tmp_path / "pywb"
    root.mkdir()
    server = Wayback(root)
    yield server
    server.stop()


def test_pywb_replays_stored_and_mixed_bodies(
    http: Server, tmp_path: Path, wayback: Wayback
) -> None:
    # A disk image's shape: pieces that shrink and pieces that do not, in one body.
    mixed = random_of(PIECE, 1) + text_of(PIECE, 2) + random_of(PIECE, 3) + text_of(10_000, 4)
    bodies = {"/random.bin": random_of(2_000_000, 5), "/image.img": mixed}
    page = "<html><title>m</title>" + "".join(f'<embed src="{p}">' for p in bodies)
    http.route("/", body=page.encode(), headers={"Content-Type": "text/html"})
    for path, body in bodies.items():
        http.route(path, body=body, headers={"Content-Type": "application/octet-stream"})
    options = preserve.CaptureOptions(retries=0, payload="warc")
    bag = preserve.capture(http.url("/"), tmp_path / "bags", options).bag_path
    records = check_bag_warc(bag, tmp_path)
    warc = warc_of(bag)
    raw = warc.read_bytes()
    assert holds_stored(raw, bodies["/random.bin"])
    assert holds_stored(raw, mixed[:PIECE])
    assert not holds_stored(raw, mixed[PIECE : 2 * PIECE])
    root = wayback.root
    run("wb-manager", "init", "indexed", cwd=root)
    run("wb-manager", "add", "indexed", str(warc), cwd=root)
    ours = root / "collections" / "ours"
    (ours / "archive").mkdir(parents=True)
    (ours / "indexes").mkdir()
    shutil.copy(warc, ours / "archive" / warc.name)
    shutil.copy(warc.with_name(warc.name.removesuffix(".warc.gz") + ".cdxj"), ours / "indexes")
    base = wayback.start()
    for path, body in bodies.items():
        assert any(r.uri == http.url(path) and r.raw == body for r in records)
        for collection in ("indexed", "ours"):
            assert replayed(base, collection, http.url(path)) == body, (collection, path)
