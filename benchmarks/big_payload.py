"""Big payload: a page embedding 8 files totalling 512 MB, served on loopback without delay.

Compares `preserve capture` in its three `--payload` modes with `wget -p` followed by
`bagit.make_bag` (sha256 and sha512, as preserve writes), and with the floor: one Python read
of the same files feeding sha256 and sha512. Then compares `preserve validate --processes 2`
with `bagit.py --validate --processes 2` on the same bag.

A second page embeds 256 MB of random bytes served as `application/octet-stream` (a dataset,
a disk image: a type that says nothing of whether the bytes shrink), captured in the same
three modes against the floor over its own files; a third embeds the very same files under
.mp4 names (served as video/mp4), captured with `--payload warc` and `both`, to show what
the type alone changes; a fourth embeds nothing, to show what any capture costs (start-up,
robots.txt, the bag). All their runs take turns with the first page's.

Usage: python benchmarks/big_payload.py [--runs N] [--total-mb MB] [--octet-mb MB]
    [--octet-files N]
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
# Names the rows of the application/octet-stream page.
OCTET = "octet-stream: "

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


def build_site(
    root: Path,
    total_mb: int,
    *,
    count: int = FILES,
    name: str = "media/clip{}.mp4",
    media_type: str = "video/mp4",
) -> list[Path]:
    """Write a page embedding `count` files of random bytes, `total_mb` in all.

    Random bytes are incompressible, as real media are; the server gives each file the type
    its name's extension says (video/mp4, application/octet-stream for .bin).
    """
    per_file = total_mb // count
    files = []
    for index in range(count):
        path = root / name.format(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            for _ in range(per_file):
                handle.write(os.urandom(BLOCK))
        files.append(path)
    embeds = "\n".join(f'<embed src="{name.format(n)}" type="{media_type}">' for n in range(count))
    (root / "index.html").write_text(
        f"<!DOCTYPE html><html><head><title>Big payload</title></head><body>\n{embeds}\n"
        "</body></html>\n",
        encoding="utf-8",
    )
    return files


def twin_page(root: Path, files: list[Path]) -> None:
    """Write `twin.html`, embedding the same bytes as `files` under .mp4 names (video/mp4).

    And `alone.html`, embedding nothing: its capture is what any capture costs.
    """
    embeds = []
    for path in files:
        twin = path.with_suffix(".mp4")
        os.link(path, twin)
        embeds.append(f'<embed src="{twin.relative_to(root)}" type="video/mp4">')
    (root / "twin.html").write_text(
        "<!DOCTYPE html><html><head><title>Same bytes, as video</title></head><body>\n"
        + "\n".join(embeds)
        + "\n</body></html>\n",
        encoding="utf-8",
    )
    (root / "alone.html").write_text(
        "<!DOCTYPE html><html><head><title>Nothing embedded</title></head><body></body></html>\n",
        encoding="utf-8",
    )


def capture_commands(
    label: str, url: str, files: list[Path], modes: tuple[str, ...] = ("files", "warc", "both")
) -> list[tuple[str, Command]]:
    """Return the floor over `files` (unless empty) and `preserve capture` of `url` in `modes`."""
    python, preserve_bin = sys.executable, str(VENV_BIN / "preserve")
    commands: list[tuple[str, Command]] = []
    if files:
        commands.append(
            (
                f"{label}floor: one read, sha256 + sha512",
                lambda _o: [python, "-c", FLOOR, *map(str, files)],
            )
        )
    for mode in modes:
        commands.append(
            (
                f"{label}preserve capture --payload {mode}",
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
    return commands


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--total-mb", type=int, default=512)
    parser.add_argument("--octet-mb", type=int, default=256, help="0 leaves the case out")
    parser.add_argument("--octet-files", type=int, default=4)
    args = parser.parse_args()
    compile_package()
    preserve_bin = str(VENV_BIN / "preserve")
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="preserve-bench-", dir=os.getcwd()) as temp:
        work = Path(temp)
        site = work / "site"
        files = build_site(site, args.total_mb)
        octet_files = []
        if args.octet_mb:
            octet_files = build_site(
                site / "octet",
                args.octet_mb,
                count=args.octet_files,
                name="data/part{}.bin",
                media_type="application/octet-stream",
            )
            twin_page(site / "octet", octet_files)
        with serve(site) as base:
            url = f"{base}/index.html"
            floor = "floor: one read, sha256 + sha512"
            commands = capture_commands("", url, files)
            if shutil.which("wget"):
                commands.append(
                    (
                        "wget -p + bagit.make_bag",
                        lambda out: [python, "-c", WGET_BAGIT, url, str(out / "bag")],
                    )
                )
            if octet_files:
                commands += capture_commands(OCTET, f"{base}/octet/index.html", octet_files)
                # The same bytes under a media type: the WARC's cost should not depend on it.
                commands += capture_commands(
                    OCTET + "same bytes as video/mp4, ",
                    f"{base}/octet/twin.html",
                    [],
                    modes=("warc", "both"),
                )
                commands += capture_commands(
                    OCTET + "the page alone, nothing embedded, ",
                    f"{base}/octet/alone.html",
                    [],
                    modes=("warc",),
                )
            every = interleaved(commands, args.runs, work)
            rows = [row for row in every if not row[0].startswith(OCTET)]
            octet_rows = [row for row in every if row[0].startswith(OCTET)]
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
    print(table(rows, baseline=floor, cpu=True))
    if octet_rows:
        print()
        print(
            f"# {args.octet_mb} MB of random application/octet-stream in "
            f"{args.octet_files} files, in turn with the runs above"
        )
        print(table(octet_rows, baseline=OCTET + floor, cpu=True))
    if validate_rows:
        print()
        print(table(validate_rows, baseline="bagit.py --validate --processes 2"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
