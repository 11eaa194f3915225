"""Where a batch's row attempts run: worker processes on this machine, or Celery workers.

The runner keeps the journal and the report; a Dispatcher only runs attempts (`RowTask`) and
hands back their outcomes (`RowOutcome`). Both kinds share --host-workers, --wait and robots.txt
across every attempt they run: through a gate served to the local worker processes, or kept
in Redis for Celery workers.
"""

from __future__ import annotations

from typing import Protocol

from preserve.batch.task import RowOutcome, RowTask


class Dispatcher(Protocol):
    """Runs row attempts and hands back their outcomes, in the order they end."""

    capacity: int
    """How many attempts run at once; the runner keeps about this many submitted."""

    def submit(self, task: RowTask) -> None:
        """Start `task` as soon as a worker is free."""
        ...

    def outcomes(self, timeout: float) -> list[RowOutcome]:
        """Return the outcomes that ended since the last call, waiting up to `timeout` for one."""
        ...

    def close(self, *, cancel: bool) -> None:
        """Stop: with `cancel`, interrupt the attempts still running (their staging removed)."""
        ...
