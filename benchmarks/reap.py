"""Run a command as a child subreaper and wait for every process it leaves behind.

Processes a command starts and does not wait for (a forkserver's workers, a manager) are
handed to this process when their parent ends, and waited for here, so GNU time's CPU figures
for this process count the whole process tree. Linux only. Usage: reap.py COMMAND [ARG...]
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write("reap.py: cannot become a child subreaper\n")
    returncode = subprocess.call(sys.argv[1:])
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return returncode


if __name__ == "__main__":
    sys.exit(main())
