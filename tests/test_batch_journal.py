"""The batch journal, on a real SQLite file: loading, duplicates, plans, states, reports."""

from __future__ import annotations

import sqlite3
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from preserve.batch.journal import FOLDER, PAGE, Journal, LineProblem
from preserve.batch.manifest import ManifestProblem
from preserve.batch.rows import Row, manifest_id
from preserve.batch.task import RowOutcome
from preserve.errors import PackagingFailed

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def rows(n: int, start: int = 2) -> list[Row]:
    return [Row(line=start + i, id=f"r{i}", url=f"http://127.0.0.1/{i}") for i in range(n)]


def state(journal: Journal, row_id: str) -> sqlite3.Row:
    db = sqlite3.connect(journal.path)
    db.row_factory = sqlite3.Row
    try:
        found: sqlite3.Row = db.execute("SELECT * FROM rows WHERE id = ?", (row_id,)).fetchone()
    finally:
        db.close()
    return found


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    opened = Journal.open(tmp_path / "out", str(tmp_path / "m.csv"))
    yield opened
    opened.close()


def test_the_journal_is_a_wal_sqlite_file_named_after_the_manifest(tmp_path: Path) -> None:
    manifest = str(tmp_path / "seeds.csv")
    journal = Journal.open(tmp_path / "out", manifest)
    try:
        assert journal.path == tmp_path / "out" / FOLDER / f"{manifest_id(manifest)}.sqlite"
        assert journal.path.name.startswith("seeds-")
        assert journal.load(rows(3), retry_failed=False).rows == 3
    finally:
        journal.close()
    db = sqlite3.connect(journal.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT count(*) FROM rows WHERE state = 'pending'").fetchone()[0] == 3
    db.close()


def test_a_duplicate_id_or_name_names_both_lines_and_nothing_is_left(tmp_path: Path) -> None:
    output = tmp_path / "out"
    journal = Journal.open(output, str(tmp_path / "m.csv"))
    items: list[Row | ManifestProblem] = [
        Row(2, "a", "http://h/1"),
        Row(3, "http://h/2", "http://h/2"),
        ManifestProblem(4, "bad URL"),
        Row(5, "a", "http://h/3"),
        Row(6, "http://h/2", "http://h/2"),
        Row(7, "b", "http://h/4", name="bag"),
        Row(8, "c", "http://h/5", name="bag"),
    ]
    loaded = journal.load(items, retry_failed=False)
    assert [(p.line, p.message) for p in loaded.problems] == [
        (4, "bad URL"),
        (5, "duplicate id 'a' (first on line 2)"),
        (6, "duplicate id 'http://h/2' (first on line 3)"),
        (8, "duplicate name 'bag' (first on line 7)"),
    ]
    assert loaded.problem_count == 4
    assert isinstance(loaded.problems[1], LineProblem)
    journal.discard()
    # The output folder did not exist: the run that made it for its journal removes it.
    assert not output.exists()


def test_a_refused_manifest_leaves_an_existing_journal_as_it_was(journal: Journal) -> None:
    journal.load(rows(2), retry_failed=False)
    journal.claim(journal.in_state("pending")[0], NOW)
    loaded = journal.load([*rows(2), Row(9, "r0", "http://x/")], retry_failed=False)
    assert loaded.problem_count == 1
    assert state(journal, "r0")["state"] == "running"
    assert state(journal, "r0")["line"] == 2
    assert journal.path.exists()


def test_a_row_already_in_the_journal_keeps_its_state_and_its_row_unless_pending(
    journal: Journal,
) -> None:
    journal.load(rows(3), retry_failed=False)
    first, second, _third = journal.in_state("pending")
    claimed = journal.claim(first, NOW)
    journal.finish(RowOutcome("r0", first.row.url, "captured", 0, bag="/b"), "{}")
    journal.claim(second, NOW)
    journal.finish(RowOutcome("r1", second.row.url, "failed", 3, error="404"), "{}")
    changed = [Row(2, f"r{i}", f"http://changed/{i}") for i in range(3)]
    journal.load(changed, retry_failed=False)
    assert state(journal, "r0")["state"] == "done"
    assert state(journal, "r0")["url"] == "http://127.0.0.1/0"
    assert state(journal, "r1")["url"] == "http://127.0.0.1/1"
    assert state(journal, "r2")["url"] == "http://changed/2"
    assert claimed.attempts == 1
    # With --retry-failed a failed row takes the manifest's row as it is now.
    journal.load(changed, retry_failed=True)
    assert state(journal, "r1")["url"] == "http://changed/1"


def test_an_attempt_s_plan_is_committed_before_it_starts_and_kept_when_it_is_cut_short(
    journal: Journal,
) -> None:
    journal.load(
        [Row(2, "a", "http://h/"), Row(3, "b", "http://h/b", name="own")], retry_failed=False
    )
    a, b = journal.in_state("pending")
    planned = journal.claim(a, NOW)
    # Another connection (a run killed now) sees the plan.
    stored = state(journal, "a")
    assert stored["state"] == "running"
    assert stored["bag_name"] == planned.bag_name
    assert planned.bag_name is not None and planned.bag_name.startswith("h-20261207T120000Z-")
    assert uuid.UUID(stored["capture_id"]) == planned.capture_id
    assert journal.claim(b, NOW).bag_name == "own"
    journal.release(["a"])
    again = journal.claim(journal.in_state("pending")[0], datetime.now(UTC))
    assert (again.bag_name, again.capture_id) == (planned.bag_name, planned.capture_id)
    assert again.attempts == 2
    journal.finish(RowOutcome("a", "http://h/", "failed", 3, error="gone"), "{}")
    assert journal.retry_failed() == 1
    fresh = journal.claim(journal.in_state("pending")[0], NOW)
    assert fresh.capture_id != planned.capture_id
    assert fresh.attempts == 3


def test_a_second_run_of_the_same_manifest_is_refused(journal: Journal, tmp_path: Path) -> None:
    with pytest.raises(PackagingFailed, match="in use by another run"):
        Journal.open(tmp_path / "out", str(tmp_path / "m.csv"))


def test_a_journal_that_cannot_be_created_is_exit_4(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / FOLDER).write_text("a file in the way")
    with pytest.raises(PackagingFailed, match="cannot create the batch journal") as caught:
        Journal.open(tmp_path / "out", "m.csv")
    assert caught.value.exit_code == 4


def test_rows_come_in_manifest_order_a_page_at_a_time(journal: Journal) -> None:
    many = rows(PAGE * 2 + 5)
    journal.load(reversed(many), retry_failed=False)
    first = journal.in_state("pending")
    assert len(first) == PAGE
    assert [e.row.line for e in first] == list(range(2, 2 + PAGE))
    rest = journal.in_state("pending", after=first[-1].row.line)
    assert rest[0].row.line == 2 + PAGE
    for entry in first[:3]:
        journal.claim(entry, NOW)
        journal.finish(RowOutcome(entry.row.id, "u", "captured", 0), f'"{entry.row.id}"')
    assert list(journal.reports()) == ['"r0"', '"r1"', '"r2"']
    assert journal.counts() == {"pending": PAGE * 2 + 2, "running": 0, "done": 3, "failed": 0}


def test_loading_a_long_manifest_takes_flat_memory(journal: Journal) -> None:
    def stream(n: int) -> Iterator[Row]:
        for i in range(n):
            yield Row(
                line=i + 2, id=f"row-{i}", url=f"http://example.org/{i}", dc=(("title", "x" * 200),)
            )

    tracemalloc.start()
    try:
        loaded = journal.load(stream(40_000), retry_failed=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert loaded.rows == 40_000
    # 40,000 rows of about 300 bytes each would be 12 MB held; the load holds a few rows.
    assert peak < 2 * 1024**2, peak


def test_a_damaged_journal_is_exit_4_and_left_as_it_is(tmp_path: Path) -> None:
    manifest = str(tmp_path / "m.csv")
    path = tmp_path / "out" / FOLDER / f"{manifest_id(manifest)}.sqlite"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(PackagingFailed, match="file is not a database") as caught:
        Journal.open(tmp_path / "out", manifest)
    assert caught.value.exit_code == 4
    assert path.read_bytes() == b"not a database" * 100


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("row", "{not json"),
        ("row", '{"line": 2}'),
        ("row", '{"line": "two", "id": "r0", "url": "u"}'),
        ("row", '{"line": 2, "id": "r0", "url": "u", "dc": 5}'),
        ("row", '{"line": 2, "id": "r0", "url": "u", "options": [1]}'),
        ("row", "[]"),
        ("row", "[" * 100_000 + "]" * 100_000),
        ("row", '{"line": ' + "9" * 5000 + ', "id": "r0", "url": "u"}'),
        ("row", '{"line": 2, "id": "r0\u0000", "url": "u", "dc": [["a"]]}'),
        ("capture_id", "not-a-uuid"),
    ],
)
def test_a_row_the_journal_cannot_read_back_is_exit_4(
    journal: Journal, column: str, value: str
) -> None:
    journal.load(rows(1), retry_failed=False)
    db = sqlite3.connect(journal.path)
    with db:
        db.execute(f"UPDATE rows SET {column} = ? WHERE id = 'r0'", (value,))
    db.close()
    with pytest.raises(PackagingFailed, match="damaged") as caught:
        journal.in_state("pending")
    assert caught.value.exit_code == 4
    assert "r0" in str(caught.value)
