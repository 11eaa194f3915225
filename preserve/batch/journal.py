"""The batch journal: each manifest row's state in SQLite, so a run can stop anywhere and resume.

`DIR/.preserve-batch/<manifest id>.sqlite`, in WAL mode, written by the run alone (a lock file
beside it keeps a second run of the same manifest out). A row is `pending`, `running`, `done`
or `failed`. Before an attempt starts, the journal commits its bag name and capture
identifier (the attempt's plan); a row whose attempt was cut short keeps that plan, so the
next attempt finds the bag the cut one may have left, and a row never leaves two bags.

Rows are loaded from the manifest in one transaction, in manifest order; every run marks the
rows it loads with its own number (`load`), so a row given twice is found by the UNIQUE id
and the journal's other rows (of an older manifest) are left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

from preserve.batch.rows import Row, manifest_id
from preserve.batch.task import RowOutcome, plan_attempt
from preserve.errors import PackagingFailed
from preserve.fields import read_json

FOLDER = ".preserve-batch"
"""The journal's folder inside the output folder."""

PAGE = 256
"""Rows read from the journal at a time."""

MAX_PROBLEMS = 1000
"""Manifest problems kept (the first ones, in line order); the others are only counted."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    id TEXT PRIMARY KEY,
    line INTEGER NOT NULL,
    url TEXT NOT NULL,
    row TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    bag_name TEXT,
    capture_id TEXT,
    bag TEXT,
    error TEXT,
    exit_code INTEGER,
    started TEXT,
    ended TEXT,
    report TEXT,
    load INTEGER NOT NULL,
    name TEXT
);
CREATE INDEX IF NOT EXISTS rows_by_load ON rows (load, state, line);
CREATE INDEX IF NOT EXISTS rows_by_name ON rows (load, name);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_UPSERT = """
INSERT INTO rows (id, line, url, row, load, name)
VALUES (:id, :line, :url, :row, :load, :name)
ON CONFLICT (id) DO UPDATE SET
    line = excluded.line,
    load = excluded.load,
    name = excluded.name,
    url = CASE WHEN state = 'pending' OR (state = 'failed' AND :retry)
        THEN excluded.url ELSE url END,
    row = CASE WHEN state = 'pending' OR (state = 'failed' AND :retry)
        THEN excluded.row ELSE row END
WHERE rows.load != excluded.load
"""

_COLUMNS = "id, line, url, row, state, attempts, bag_name, capture_id, report"


class Problem(Protocol):
    """A manifest problem: the line it is on, and what is wrong."""

    @property
    def line(self) -> int:
        """The manifest line."""
        ...

    @property
    def message(self) -> str:
        """What is wrong, in one line."""
        ...


@dataclass(frozen=True, slots=True)
class LineProblem:
    """A problem the journal finds while loading the rows: an id given twice."""

    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Loaded:
    """What loading a manifest gave: the first problems (at most MAX_PROBLEMS) and their count."""

    problems: tuple[Problem, ...]
    problem_count: int
    rows: int


@dataclass(frozen=True, slots=True)
class JournalRow:
    """A row as the journal holds it: the manifest's row, its state and its current plan."""

    row: Row
    state: str
    attempts: int
    bag_name: str | None
    capture_id: uuid.UUID | None
    report: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _journal_row(values: sqlite3.Row, path: Path) -> JournalRow:
    """Return a row as the journal at `path` holds it; PackagingFailed when it cannot be read."""
    capture_id = values["capture_id"]
    try:
        return JournalRow(
            row=Row.from_json(read_json(str(values["row"]).encode())),
            state=values["state"],
            attempts=values["attempts"],
            bag_name=values["bag_name"],
            capture_id=uuid.UUID(capture_id) if capture_id else None,
            report=values["report"],
        )
    except (ValueError, TypeError, RecursionError) as exc:
        raise PackagingFailed(
            f"the batch journal {path} is damaged: row {str(values['id'])[:200]!r}: {exc}",
            hint="move it away to start the batch again from its manifest",
        ) from exc


class Journal:
    """The journal of one manifest in one output folder, open for one run."""

    def __init__(self, path: Path, db: sqlite3.Connection, lock: IO[bytes], made: list[Path]):
        self.path = path
        self._db = db
        self._lock = lock
        self._made = made
        self.load_number = 0

    @classmethod
    def open(cls, output: Path, manifest: str) -> Journal:
        """Open (or create) the journal of `manifest` in `output`, for this run alone.

        Raises PackagingFailed (exit 4) when it cannot be created or written, or when another
        run of the same manifest holds it.
        """
        folder = output / FOLDER
        path = folder / f"{manifest_id(manifest)}.sqlite"
        made = [p for p in (folder, output) if not p.exists()]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                made.insert(0, path)
            lock = (folder / f"{path.stem}.lock").open("ab")
        except OSError as exc:
            raise PackagingFailed(
                f"cannot create the batch journal {path}: {exc.strerror or exc}"
            ) from exc
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            lock.close()
            raise PackagingFailed(
                f"the batch journal {path} is in use by another run",
                hint="wait for it to end, or give another --output",
            ) from exc
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            lock.close()
            raise PackagingFailed(f"cannot open the batch journal {path}: {exc}") from exc
        return cls(path, db, lock, made)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one transaction, committed at its end; PackagingFailed on error."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise PackagingFailed(f"cannot write the batch journal {self.path}: {exc}") from exc

    def load(self, items: Iterable[Row | Problem], *, retry_failed: bool) -> Loaded:
        """Load the manifest's rows, or find its problems; with problems nothing is kept.

        A row already in the journal keeps its state; its stored row is replaced only while
        it is pending (or failed, with `retry_failed`). An id, or a bag name, loaded twice is
        a problem on the second line. With problems the transaction is rolled back.
        """
        problems: list[Problem] = []
        count = rows = 0
        try:
            with self._transaction() as db:
                found = db.execute("SELECT value FROM meta WHERE key = 'load'").fetchone()
                number = int(found["value"]) + 1 if found else 1
                db.execute("INSERT OR REPLACE INTO meta VALUES ('load', ?)", (str(number),))
                for item in items:
                    problem: Problem | None = (
                        self._put(db, item, number, retry_failed) if isinstance(item, Row) else item
                    )
                    if problem is None:
                        rows += 1
                        continue
                    count += 1
                    if len(problems) < MAX_PROBLEMS:
                        problems.append(problem)
                if count:
                    raise _Refused
        except _Refused:
            return Loaded(tuple(problems), count, rows)
        self.load_number = number
        return Loaded((), 0, rows)

    def _put(self, db: sqlite3.Connection, row: Row, load: int, retry: bool) -> Problem | None:
        values = {
            "id": row.id,
            "line": row.line,
            "url": row.url,
            "row": json.dumps(row.to_json(), ensure_ascii=False),
            "load": load,
            "retry": retry,
            "name": row.name,
        }
        if not db.execute(_UPSERT, values).rowcount:
            first = db.execute("SELECT line FROM rows WHERE id = ?", (row.id,)).fetchone()
            return LineProblem(row.line, f"duplicate id {row.id!r} (first on line {first['line']})")
        if row.name is None:
            return None
        other = db.execute(
            "SELECT line FROM rows WHERE load = ? AND name = ? AND id != ? LIMIT 1",
            (load, row.name, row.id),
        ).fetchone()
        if other is None:
            return None
        return LineProblem(row.line, f"duplicate name {row.name!r} (first on line {other['line']})")

    def discard(self) -> None:
        """Close the journal and remove what this run created of it (a refused manifest)."""
        self.close()
        for made in self._made:
            for path in (made, Path(f"{made}-wal"), Path(f"{made}-shm")):
                with contextlib.suppress(OSError):
                    path.unlink()
            with contextlib.suppress(OSError):
                Path(made.parent, f"{made.stem}.lock").unlink()
            with contextlib.suppress(OSError):
                made.rmdir()

    def close(self) -> None:
        """Close the database and release the run's lock."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._lock.close()

    def counts(self) -> dict[str, int]:
        """Return how many of this run's rows are in each state."""
        found = self._db.execute(
            "SELECT state, count(*) AS n FROM rows WHERE load = ? GROUP BY state",
            (self.load_number,),
        )
        counts = dict.fromkeys(("pending", "running", "done", "failed"), 0)
        counts.update({r["state"]: r["n"] for r in found})
        return counts

    def in_state(self, state: str, after: int = 0, limit: int = PAGE) -> list[JournalRow]:
        """Return up to `limit` rows in `state`, in manifest order, after manifest line `after`."""
        found = self._db.execute(
            f"SELECT {_COLUMNS} FROM rows WHERE load = ? AND state = ? AND line > ? "  # noqa: S608
            "ORDER BY line LIMIT ?",
            (self.load_number, state, after, limit),
        )
        return [_journal_row(values, self.path) for values in found]

    def retry_failed(self) -> int:
        """Make this run's failed rows pending again, each to be tried with a new plan."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE rows SET state = 'pending', bag_name = NULL, capture_id = NULL "
                "WHERE load = ? AND state = 'failed'",
                (self.load_number,),
            ).rowcount

    def claim(self, entry: JournalRow, now: datetime) -> JournalRow:
        """Mark a pending row running and commit its attempt's plan: bag name, capture id.

        A row whose earlier attempt was cut short keeps that attempt's plan, so that this
        attempt finds the bag the other may have left instead of making a second one.
        """
        row = entry.row
        kept = entry.bag_name is not None and entry.capture_id is not None
        if kept and (row.name is None or row.name == entry.bag_name):
            name, capture_id = entry.bag_name, entry.capture_id
        else:
            capture_id = uuid.uuid4()
            name = plan_attempt(row.url, row.name, now, capture_id)
        assert name is not None and capture_id is not None
        with self._transaction() as db:
            db.execute(
                "UPDATE rows SET state = 'running', attempts = attempts + 1, bag_name = ?, "
                "capture_id = ?, started = ?, ended = NULL WHERE id = ?",
                (name, str(capture_id), _now(), row.id),
            )
        return JournalRow(row, "running", entry.attempts + 1, name, capture_id, entry.report)

    def finish(self, outcome: RowOutcome, report: str) -> None:
        """Record how a running row ended: done with its bag, or failed with why."""
        state = "done" if outcome.outcome == "captured" else "failed"
        with self._transaction() as db:
            db.execute(
                "UPDATE rows SET state = ?, bag = ?, error = ?, exit_code = ?, ended = ?, "
                "report = ? WHERE id = ?",
                (
                    state,
                    outcome.bag,
                    outcome.error,
                    outcome.exit_code,
                    _now(),
                    report,
                    outcome.row_id,
                ),
            )

    def release(self, row_ids: Iterable[str]) -> None:
        """Make running rows pending again, their plans kept (attempts cut short)."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE rows SET state = 'pending' WHERE id = ? AND state = 'running'",
                [(row_id,) for row_id in row_ids],
            )

    def reports(self) -> Iterator[str]:
        """Yield the report line of each of this run's rows, in manifest order."""
        after = 0
        while True:
            found = self._db.execute(
                "SELECT line, report FROM rows WHERE load = ? AND line > ? ORDER BY line LIMIT ?",
                (self.load_number, after, PAGE),
            ).fetchall()
            if not found:
                return
            for values in found:
                if values["report"]:
                    yield values["report"]
            after = found[-1]["line"]


class _Refused(Exception):
    """Raised inside the load's transaction to roll it back: the manifest has problems."""
