"""Big payload: a page embedding 8 files totalling 512 MB, served on loopback without delay.

Compares `preserve capture` in its three `--payload` modes with `wget -p` followed by
`bagit.make_bag` (sha256 and sha512, as preserve writes), and with the floor: one Python read
of the same files feeding sha256 and sha512. Then compares `preserve validate --processes 2`
with `bagit.py --validate --processes 2` on the same bag.

Usage: python benchmarks/big_payload.py [--runs N] [--total-mb MB]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    VENV_BIN,
    Command,
    compile_package,
    interleaved,
    machine,
    serve,
    table,
    timed,
)

FILES = 8
BLOCK = 1 << 20

FLOOR = """
import hashlib, sys
for name in sys.argv[1:]:
    a, b = hashlib.sha256(), hashlib.sha512()
    with open(name, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            a.update(chunk)
            b.update(chunk)
"""

WGET_BAGIT = """
import subprocess, sys, bagit
url, out = sys.argv[1], sys.argv[2]
subprocess.run(["wget", "-q", "-p", "-P", out, url], check=True)
bagit.make_bag(out, checksums=["sha256", "sha512"])
"""


def build_site(root: Path, total_mb: int) -> list[Path]:
    """Write the page and its media (random bytes: incompressible, as real media are)."""
    media = root / "media"
    media.mkdir(parents=True)
    per_file = total_mb // FILES
    files = []
    for index in range(FILES):
        path = media / f"clip{index}.mp4"
        with path.open("wb") as handle:
            for _ in range(per_file):
                handle.write(os.urandom(BLOCK))
        files.append(path)
    embeds = "\n".join(f'<embed src="media/clip{n}.mp4" type="video/mp4">' for n in range(FILES))
    (root / "index.html").write_text(
        f"<!DOCTYPE html><html><head><title>Big payload</title></head><body>\n{embeds}\n"
        "</body></html>\n",
        encoding="utf-8",
    )
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--total-mb", type=int, default=512)
    args = parser.parse_args()
    compile_package()
    preserve_bin = str(VENV_BIN / "preserve")
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="preserve-bench-", dir=os.getcwd()) as temp:
        work = Path(temp)
        site = work / "site"
        files = build_site(site, args.total_mb)
        with serve(site) as base:
            url = f"{base}/index.html"
            floor = "floor: one read, sha256 + sha512"
            commands: list[tuple[str, Command]] = [
                (floor, lambda _o: [python, "-c", FLOOR, *map(str, files)])
            ]
            for mode in ("files", "warc", "both"):
                commands.append(
                    (
                        f"preserve capture --payload {mode}",
                        lambda out, mode=mode: [
                            preserve_bin,
                            "-q",
                            "capture",
                            url,
                            "-o",
                            str(out),
                            "--payload",
                            mode,
                            "--no-access",
                        ],
                    )
                )
            if shutil.which("wget"):
                commands.append(
                    (
                        "wget -p + bagit.make_bag",
                        lambda out: [python, "-c", WGET_BAGIT, url, str(out / "bag")],
                    )
                )
            rows = interleaved(commands, args.runs, work)
            bag_root = work / "validate"
            bag_root.mkdir()
            made = timed(
                [
                    preserve_bin,
                    "-q",
                    "capture",
                    url,
                    "-o",
                    str(bag_root),
                    "--name",
                    "bag",
                    "--payload",
                    "files",
                    "--no-access",
                ]
            )
            bag = bag_root / "bag"
        validate_rows = []
        if made.returncode == 0:
            bagit_py = str(VENV_BIN / "bagit.py")
            validate_rows = interleaved(
                [
                    (
                        "preserve validate --processes 2",
                        lambda _o: [preserve_bin, "-q", "validate", "--processes", "2", str(bag)],
                    ),
                    (
                        "bagit.py --validate --processes 2",
                        lambda _o: [bagit_py, "--validate", "--processes", "2", str(bag)],
                    ),
                ],
                args.runs,
                work,
            )
    print(f"# Big payload: {FILES} files, {args.total_mb} MB in all, loopback, no delay")
    print(f"machine: {machine()}")
    print(table(rows, baseline=floor))
    if validate_rows:
        print()
        print(table(validate_rows, baseline="bagit.py --validate --processes 2"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
