"""`--payload warc` on large media: the bytes stored once, in the WARC, with bounded memory."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import bagit
from warcio.archiveiterator import ArchiveIterator

import preserve

from .conftest import Server
from .warc_reading import warc_of, warcio_check

MIB = 1024 * 1024
MEDIA_MIB = 40
MEDIA = 3
PEAK_LIMIT_MIB = 150

# The peak is read from /proc/self/status (VmHWM, this process's own memory since exec):
# getrusage's ru_maxrss survives exec on Linux, so a child forked from a large test worker
# would report the worker's size, not the capture's.
CAPTURE = """
import json, sys
from pathlib import Path
import preserve
result = preserve.capture(sys.argv[1], Path(sys.argv[2]), preserve.CaptureOptions(payload="warc"))
status = Path("/proc/self/status").read_text().splitlines()
peak_kib = int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
print(json.dumps({"bag": str(result.bag_path), "peak_kib": peak_kib}))
"""


def block(number: int) -> bytes:
    """Return the 1 MiB the media file `number` repeats (each file different)."""
    return random.Random(number).randbytes(MIB)


def media_route(number: int) -> object:
    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "video/mp4")
        request.send_header("Content-Length", str(MEDIA_MIB * MIB))
        request.end_headers()
        data = block(number)
        for _ in range(MEDIA_MIB):
            request.wfile.write(data)

    return handler


def expected_sha256(number: int) -> str:
    digest = hashlib.sha256()
    data = block(number)
    for _ in range(MEDIA_MIB):
        digest.update(data)
    return digest.hexdigest()


def test_large_media_are_stored_once_in_the_warc_with_bounded_memory(
    http: Server, tmp_path: Path
) -> None:
    videos = "".join(f'<video src="/m{n}.mp4"></video>' for n in range(MEDIA))
    page = f"<html><title>Media</title><body>{videos}</body></html>".encode()
    http.route("/", body=page, headers={"Content-Type": "text/html"})
    for number in range(MEDIA):
        http.routes[f"/m{number}.mp4"] = media_route(number)  # type: ignore[assignment]
    # A process of its own, so its peak memory is the capture's alone.
    run = subprocess.run(
        [sys.executable, "-c", CAPTURE, http.url("/"), str(tmp_path / "bags")],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["peak_kib"] < PEAK_LIMIT_MIB * 1024, report
    bag = Path(report["bag"])

    media_bytes = MEDIA * MEDIA_MIB * MIB
    assert not (bag / "data/web").exists()
    warc = warc_of(bag)
    # Stored, not deflated: the WARC is the media plus headers, and nothing else holds them.
    assert media_bytes <= warc.stat().st_size < media_bytes * 1.01
    payload = sum(p.stat().st_size for p in (bag / "data").rglob("*") if p.is_file())
    assert payload < media_bytes * 1.01
    oxum = next(
        line.split(": ")[1]
        for line in (bag / "bag-info.txt").read_text(encoding="utf-8").splitlines()
        if line.startswith("Payload-Oxum")
    )
    assert int(oxum.split(".")[0]) == payload

    bagit.Bag(str(bag)).validate()
    assert preserve.validate(bag).valid
    value, printed = warcio_check(warc)
    assert value == 0, printed

    found = {}
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            digest = hashlib.sha256()
            content = record.content_stream()
            while chunk := content.read(MIB):
                digest.update(chunk)
            found[record.rec_headers.get_header("WARC-Target-URI")] = digest.hexdigest()
    for number in range(MEDIA):
        assert found[http.url(f"/m{number}.mp4")] == expected_sha256(number)
    rows = (bag / "data/logs/urls.tsv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + 1 + MEDIA
