"""Validation of bags of many small files: `preserve validate` against `bagit.py --validate`.

Builds one bag per size (40,000 and 200,000 files by default, 100 to 400 bytes each, 1,000
to a folder, sha512 and sha256 manifests as a capture writes them), then times, taking
turns run by run, the full validation and `--completeness-only` of both tools on the same
bag, each with one process. Prints figures; asserts nothing. About 15 minutes with the
defaults and 1 GB of scratch space (mostly file-system overhead: the payload is 50 MB).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
from pathlib import Path

from common import GNU_TIME, VENV_BIN, compile_package, interleaved, machine, table

from preserve.bag import PayloadWriter

ALGORITHMS = ("sha512", "sha256")
PER_FOLDER = 1000


def build_bag(bag: Path, files: int, seed: int = 20) -> None:
    """Write a bag of `files` small payload files, recorded as a capture records them."""
    rng = random.Random(seed)
    writer = PayloadWriter(bag, ALGORITHMS)
    for index in range(files):
        relpath = f"data/d{index // PER_FOLDER:04d}/f{index:06d}.txt"
        data = rng.randbytes(rng.randint(100, 400))
        target = bag / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        digests = {a: hashlib.new(a, data).hexdigest() for a in ALGORITHMS}
        writer.add(relpath, len(data), digests)
    writer.finish([("Bag-Software-Agent", "benchmarks/validate_many.py")])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (default 3)")
    parser.add_argument(
        "--files",
        type=int,
        nargs="+",
        default=[40_000, 200_000],
        help="payload files in each bag (default 40000 200000)",
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=["full", "completeness"],
        default=["full", "completeness"],
        help="which validations to time (default both)",
    )
    args = parser.parse_args()
    compile_package()
    preserve_bin = str(VENV_BIN / "preserve")
    bagit_py = str(VENV_BIN / "bagit.py")
    print(f"machine: {machine()}; GNU time: {'yes' if GNU_TIME.is_file() else 'no'}")
    with tempfile.TemporaryDirectory(prefix="preserve-bench-validate-") as scratch:
        work = Path(scratch)
        for files in args.files:
            bag = work / f"bag-{files}"
            build_bag(bag, files)
            for mode in args.modes:
                flag = ["--completeness-only"] if mode == "completeness" else []
                ours = f"preserve validate {' '.join(flag)}".strip()
                theirs = f"bagit.py --validate {' '.join(flag)}".strip()
                rows = interleaved(
                    [
                        (
                            ours,
                            lambda _o, f=flag, b=bag: [preserve_bin, "-q", "validate", *f, str(b)],
                        ),
                        (
                            theirs,
                            lambda _o, f=flag, b=bag: [
                                bagit_py,
                                "--quiet",
                                "--validate",
                                *f,
                                str(b),
                            ],
                        ),
                    ],
                    args.runs,
                    work / f"runs-{files}-{mode}",
                )
                print(f"\n{files:,} files, {mode}:")
                print(table(rows, baseline=theirs))
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
