"""Capture the bundled 2001 news site from a loopback server, validate the bag, print its path.

The capture follows links one level deep, so the bag holds the front page, its "Complete
Story" pages, the photo gallery, the audio report and the video clip.

Usage: python examples/demo.py [OUTPUT_DIR]   (default: ./bags)
"""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import bagit

SITE = Path(__file__).resolve().parent / "site-2001"


class QuietHandler(SimpleHTTPRequestHandler):
    """Serve the example site without logging every request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> int:
    output = Path(sys.argv[1] if len(sys.argv) > 1 else "bags").resolve()
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    try:
        options = ["--depth", "1", "--output", str(output)]
        command = [sys.executable, "-m", "preserve", "capture", url, *options]
        print("$ preserve capture", url, *options, file=sys.stderr)
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    finally:
        server.shutdown()
        server.server_close()
    if done.returncode != 0:
        print(f"capture failed with exit code {done.returncode}", file=sys.stderr)
        return done.returncode
    bag_path = done.stdout.strip().splitlines()[-1]
    bag = bagit.Bag(bag_path)
    bag.validate()
    print(
        f"valid BagIt {'.'.join(map(str, bag.version_info))} bag,",
        f"{len(bag.payload_entries())} payload files:",
        file=sys.stderr,
    )
    print(bag_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
