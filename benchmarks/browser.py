"""Browser capture against static capture: the example site's front page, with and without Chromium.

Captures `examples/site-2001/index.html` from a loopback server with default options, then with
`--browser` (its defaults: 500 ms of quiet, up to 20 scrolls), then with `--browser` and
`--browser-quiet 200`, taking turns. Each run is a whole `preserve capture` process: for the
browser, starting Chromium, loading, going quiet, scrolling and the three derivatives.
Usage: python benchmarks/browser.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import VENV_BIN, Command, compile_package, interleaved, machine, serve, table

SITE = Path(__file__).resolve().parent.parent / "examples" / "site-2001"


def chromium() -> str | None:
    """Return the Chromium --browser will run, or None when there is none."""
    named = os.environ.get("CHROMIUM")
    return named if named and Path(named).is_file() else shutil.which("chromium")


def counts(command: list[str], folder: Path) -> str:
    """Run one capture with --json and return what it kept: URLs captured, files rendered."""
    folder.mkdir(parents=True)
    done = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, check=False, cwd=folder
    )
    if done.returncode != 0:
        return f"exit {done.returncode}"
    report = json.loads(done.stdout)["captures"][0]
    bag = Path(report["bag"])
    log = (bag / "data/logs/capture-log.jsonl").read_text(encoding="utf-8").splitlines()
    captured = sum(1 for line in log if json.loads(line)["outcome"] == "captured")
    rendered = bag / "data/access/rendered"
    made = sum(1 for p in rendered.rglob("*") if p.is_file()) if rendered.is_dir() else 0
    return f"{captured} URLs captured, {made} rendered files"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if chromium() is None:
        print("no Chromium: apt-get install chromium, or set CHROMIUM=/path/to/chromium")
        return 1
    compile_package()
    preserve_bin = str(VENV_BIN / "preserve")
    with tempfile.TemporaryDirectory(prefix="preserve-bench-") as temp:
        work = Path(temp)
        with serve(SITE) as base:
            url = f"{base}/index.html"
            base_command = [preserve_bin, "-q", "capture", url]
            variants = {
                "static capture (defaults)": [],
                "--browser (defaults)": ["--browser"],
                "--browser --browser-quiet 200": ["--browser", "--browser-quiet", "200"],
            }
            commands: list[tuple[str, Command]] = [
                (name, lambda out, extra=extra: [*base_command, *extra, "-o", str(out)])
                for name, extra in variants.items()
            ]
            rows = interleaved(commands, args.runs, work)
            kept = {
                name: counts([*base_command, *extra, "-o", "."], work / f"count-{n}")
                for n, (name, extra) in enumerate(variants.items())
            }
    print("# Browser capture: examples/site-2001/index.html on loopback")
    print(f"machine: {machine()}")
    print(table(rows, baseline="static capture (defaults)", cpu=True))
    print()
    for name, what in kept.items():
        print(f"- {name}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
