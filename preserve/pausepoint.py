"""A test-only pause point, so tests can signal a real run in a chosen phase.

When the environment variable `PRESERVE_TEST_PAUSE_AT` is `<phase>:<folder>`, the first time
a run reaches `pause_point(<phase>)` it creates `<folder>/<phase>.reached` and waits until
`<folder>/<phase>.go` exists, so a test knows exactly where the run is when it sends SIGINT,
SIGTERM or SIGKILL. The wait sleeps in short steps, so a signal handler in the main thread
runs at once. Unset (always, outside the tests), it costs one dictionary lookup.

Phases: `starting` (the command line is read, no command has started), `fetching` (a response's
headers have arrived, its body not yet read), `hashing` (the first piece of a body was written
and hashed, the rest not yet read), `writing` (the payload and logs are in the staging bag, the
tag files are not yet written), `serializing` (the archive of `--serialize` is written under
its temporary name, not yet given its own), `reading` (validate is hashing the entries of an
archive in place), `extracting` (export is unpacking an archive into its scratch folder) and
`journaling` (a batch row's outcome has arrived, its bag in place, and the journal does not
know it yet).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

ENVIRONMENT = "PRESERVE_TEST_PAUSE_AT"
PHASES = (
    "starting",
    "fetching",
    "hashing",
    "writing",
    "serializing",
    "reading",
    "extracting",
    "journaling",
)

_lock = threading.Lock()
_reached: set[str] = set()


def pause_point(phase: str) -> None:
    """Wait at `phase` if PRESERVE_TEST_PAUSE_AT names it and it was not reached before.

    Returns at once when the variable is unset, empty or names another phase.
    """
    setting = os.environ.get(ENVIRONMENT)
    if not setting:
        return
    wanted, _, folder = setting.partition(":")
    if wanted != phase or not folder:
        return
    with _lock:
        if phase in _reached:
            return
        _reached.add(phase)
    Path(folder, f"{phase}.reached").touch()
    go = Path(folder, f"{phase}.go")
    while not go.exists():
        time.sleep(0.02)
