"""Latency page: 200 images and a stylesheet pulling 20 more, 20 ms added to every response.

Compares `preserve capture` (default options) with `wget -p`, which asks for one resource at a
time. Usage: python benchmarks/latency.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
import tempfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import VENV_BIN, Command, compile_package, interleaved, machine, serve, table

IMAGES = 200
CSS_IMAGES = 20
DELAY = 0.020


def png(seed: int) -> bytes:
    """Return a small, valid, distinct 8x8 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([(seed + x + y) % 256 for x in range(8)]) for y in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def build_site(root: Path) -> None:
    """Write the page, its stylesheet and every image into `root`."""
    (root / "img").mkdir(parents=True)
    for index in range(IMAGES + CSS_IMAGES):
        (root / "img" / f"i{index:03d}.png").write_bytes(png(index))
    rules = "\n".join(
        f".c{n} {{ background: url(img/i{IMAGES + n:03d}.png); }}" for n in range(CSS_IMAGES)
    )
    (root / "style.css").write_text(rules + "\n", encoding="utf-8")
    images = "\n".join(f'<img src="img/i{n:03d}.png" alt="">' for n in range(IMAGES))
    page = (
        "<!DOCTYPE html><html><head><title>Latency page</title>"
        '<link rel="stylesheet" href="style.css"></head><body>\n'
        f"{images}\n</body></html>\n"
    )
    (root / "index.html").write_text(page, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    compile_package()
    preserve_bin = str(VENV_BIN / "preserve")
    wget = shutil.which("wget")
    with tempfile.TemporaryDirectory(prefix="preserve-bench-") as temp:
        work = Path(temp)
        site = work / "site"
        build_site(site)
        with serve(site, DELAY) as base:
            url = f"{base}/index.html"
            commands: list[tuple[str, Command]] = [
                (
                    "preserve capture (defaults)",
                    lambda out: [preserve_bin, "-q", "capture", url, "-o", str(out)],
                )
            ]
            if wget:
                commands.append(("wget -p", lambda out: [wget, "-q", "-p", "-P", str(out), url]))
            rows = interleaved(commands, args.runs, work)
        python = sys.executable
        load = "import preserve.cli, preserve.capture.run"
        startup = interleaved(
            [
                ("preserve --help", lambda _o: [preserve_bin, "--help"]),
                ("python: loading the capture code", lambda _o: [python, "-c", load]),
                ("python: start-up alone", lambda _o: [python, "-c", "pass"]),
            ],
            args.runs,
            work,
        )
    print(
        f"# Latency page: {IMAGES} images + stylesheet with {CSS_IMAGES} more, "
        f"{DELAY * 1000:.0f} ms per response"
    )
    print(f"machine: {machine()}")
    print(table(rows, baseline="wget -p" if wget else None))
    print()
    print("Start-up: the command line alone (it loads no capture code), and what loading costs.")
    print(table(startup))
    if not wget:
        print("wget not found: install it (Debian: apt-get install wget) for the comparison")
    return 0


if __name__ == "__main__":
    sys.exit(main())
