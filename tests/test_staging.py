"""The staging folder: building out of sight, committing without replacing, cleaning up."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bagit
import pytest

from preserve.bag import PayloadWriter, Staging, clean_stale
from preserve.bag import staging as staging_module
from preserve.errors import BadInput, PackagingFailed

PROJECT = Path(__file__).resolve().parents[1]
HOLDER = """
import sys
from pathlib import Path
from preserve.bag import Staging

with Staging.create(Path(sys.argv[1])) as staging:
    print(staging.root, flush=True)
    sys.stdin.readline()
"""


def finish_bag(staging: Staging, data: bytes = b"<html></html>") -> None:
    """Write a one-file bag into the staging bag folder, placed from the staging tmp folder."""
    source = staging.tmp_dir / "download.part"
    source.write_bytes(data)
    writer = PayloadWriter(staging.bag_dir)
    digests = {alg: hashlib.new(alg, data).hexdigest() for alg in writer.algorithms}
    writer.place(source, "data/web/example.org/index.html", len(data), digests)
    writer.finish([("Contact-Name", "Someone")])


def lock_is_held(lock: Path) -> bool:
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def fake_staging(output: Path, name: str, lock_text: str | None) -> Path:
    """Make a staging folder as a run that died would leave it: a lock file nobody holds."""
    root = output / f".preserve-staging-{name}"
    (root / "bag" / "data").mkdir(parents=True)
    (root / "tmp").mkdir()
    (root / "bag" / "data" / "partial.html").write_bytes(b"<html>")
    if lock_text is not None:
        (root / "lock").write_text(lock_text, encoding="utf-8")
    return root


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_create_makes_a_locked_staging_folder(tmp_path: Path) -> None:
    output = tmp_path / "new" / "bags"
    with Staging.create(output) as staging:
        assert output.is_dir()
        assert staging.root.parent == output
        assert re.fullmatch(r"\.preserve-staging-[0-9a-f]{12}", staging.root.name)
        assert staging.bag_dir == staging.root / "bag"
        assert staging.tmp_dir == staging.root / "tmp"
        assert staging.bag_dir.is_dir()
        assert staging.tmp_dir.is_dir()
        assert list(staging.bag_dir.iterdir()) == []
        assert os.stat(staging.tmp_dir).st_dev == os.stat(staging.bag_dir).st_dev

        lock = staging.root / "lock"
        text = lock.read_text(encoding="utf-8")
        match = re.fullmatch(r"pid=(\d+)\nhost=(.+)\nstarted=(\S+)\n", text)
        assert match is not None
        assert int(match[1]) == os.getpid()
        assert match[2] == socket.gethostname()
        assert match[3].startswith("20")
        assert lock_is_held(lock)
    assert list(output.iterdir()) == []


def test_two_stagings_in_one_output_are_distinct(tmp_path: Path) -> None:
    with Staging.create(tmp_path) as first, Staging.create(tmp_path) as second:
        assert first.root != second.root
    assert list(tmp_path.iterdir()) == []


def test_create_on_a_file_fails_as_packaging(tmp_path: Path) -> None:
    output = tmp_path / "a-file"
    output.write_text("not a folder", encoding="utf-8")
    with pytest.raises(PackagingFailed, match="cannot create a staging folder") as info:
        Staging.create(output)
    assert info.value.exit_code == 4
    with pytest.raises(PackagingFailed):
        Staging.create(output / "below")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_create_in_a_read_only_folder_fails_as_packaging(tmp_path: Path) -> None:
    output = tmp_path / "ro"
    output.mkdir()
    output.chmod(0o555)
    try:
        with pytest.raises(PackagingFailed):
            Staging.create(output)
    finally:
        output.chmod(0o755)
    assert list(output.iterdir()) == []


def test_a_failure_while_creating_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_flock = fcntl.flock

    def refused(fd: int, operation: int) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fcntl, "flock", refused)
    with pytest.raises(PackagingFailed, match="Permission denied"):
        Staging.create(tmp_path / "bags")
    monkeypatch.setattr(fcntl, "flock", real_flock)
    assert list((tmp_path / "bags").iterdir()) == []


def test_commit_moves_the_bag_into_place(tmp_path: Path) -> None:
    output = tmp_path / "bags"
    with Staging.create(output) as staging:
        finish_bag(staging)
        (staging.tmp_dir / "leftover.part").write_bytes(b"partial download")
        assert [p.name for p in output.iterdir()] == [staging.root.name]
        final = staging.commit("example.org-20240501T000000Z-0123abcd")

    assert final == output / "example.org-20240501T000000Z-0123abcd"
    assert [p.name for p in output.iterdir()] == [final.name]
    assert not staging.root.exists()
    assert not (final / "tmp").exists()
    assert not (final / "lock").exists()
    assert bagit.Bag(str(final)).validate()


def test_nothing_at_the_destination_until_commit(tmp_path: Path) -> None:
    output = tmp_path / "bags"
    staging = Staging.create(output)
    finish_bag(staging)
    assert not (output / "mine").exists()
    assert {p.name for p in output.iterdir()} == {staging.root.name}
    staging.commit("mine")
    assert (output / "mine" / "bagit.txt").is_file()


def test_commit_with_a_relative_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Staging.create(Path("out")) as staging:
        finish_bag(staging)
        final = staging.commit("bag")
    assert final.is_absolute()
    assert (tmp_path / "out" / "bag" / "bagit.txt").is_file()


def test_commit_of_an_unfinished_bag_is_a_programming_error(tmp_path: Path) -> None:
    with Staging.create(tmp_path) as staging:
        (staging.bag_dir / "data").mkdir()
        with pytest.raises(RuntimeError, match=r"no bagit\.txt"):
            staging.commit("bag")
    assert list(tmp_path.iterdir()) == []


def test_commit_twice_is_a_programming_error(tmp_path: Path) -> None:
    staging = Staging.create(tmp_path)
    finish_bag(staging)
    staging.commit("first")
    with pytest.raises(RuntimeError, match="already committed"):
        staging.commit("second")
    assert not (tmp_path / "second").exists()


def test_commit_after_discard_is_a_programming_error(tmp_path: Path) -> None:
    staging = Staging.create(tmp_path)
    finish_bag(staging)
    staging.discard()
    with pytest.raises(RuntimeError):
        staging.commit("bag")
    assert list(tmp_path.iterdir()) == []


def test_discard_removes_everything_and_is_idempotent(tmp_path: Path) -> None:
    staging = Staging.create(tmp_path)
    finish_bag(staging)
    staging.discard()
    assert list(tmp_path.iterdir()) == []
    staging.discard()
    with staging:
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("occupant", ["folder", "file", "empty-folder", "symlink"])
def test_commit_never_replaces_an_existing_entry(tmp_path: Path, occupant: str) -> None:
    output = tmp_path / "bags"
    output.mkdir()
    taken = output / "taken"
    if occupant == "folder":
        taken.mkdir()
        (taken / "precious.txt").write_text("keep me", encoding="utf-8")
    elif occupant == "file":
        taken.write_text("keep me", encoding="utf-8")
    elif occupant == "empty-folder":
        taken.mkdir()
    else:
        taken.symlink_to(tmp_path / "elsewhere")

    with Staging.create(output) as staging:
        finish_bag(staging)
        with pytest.raises(
            PackagingFailed, match=f"{re.escape(str(taken))} already exists"
        ) as info:
            staging.commit("taken")
        assert info.value.exit_code == 4
        # Left intact, so the caller can still commit elsewhere or discard.
        assert (staging.bag_dir / "bagit.txt").is_file()
        assert lock_is_held(staging.root / "lock")

    if occupant == "folder":
        assert (taken / "precious.txt").read_text(encoding="utf-8") == "keep me"
        assert [p.name for p in taken.iterdir()] == ["precious.txt"]
    elif occupant == "file":
        assert taken.read_text(encoding="utf-8") == "keep me"
    elif occupant == "empty-folder":
        assert list(taken.iterdir()) == []
    else:
        assert taken.is_symlink()
    assert [p.name for p in output.iterdir()] == ["taken"]


def test_commit_after_a_refusal_can_take_another_name(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with Staging.create(tmp_path) as staging:
        finish_bag(staging)
        with pytest.raises(PackagingFailed):
            staging.commit("taken")
        final = staging.commit("free")
    assert bagit.Bag(str(final)).validate()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["free", "taken"]


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt, SystemExit])
def test_an_exception_leaves_nothing_behind(tmp_path: Path, error: type[BaseException]) -> None:
    output = tmp_path / "bags"
    with pytest.raises(error), Staging.create(output) as staging:
        finish_bag(staging)
        raise error("stop")
    assert list(output.iterdir()) == []


def test_an_exception_after_a_refused_commit_is_not_swallowed(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(PackagingFailed), Staging.create(tmp_path) as staging:
        finish_bag(staging)
        staging.commit("taken")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_real_renameat2_is_used_on_linux(tmp_path: Path) -> None:
    if staging_module._libc_renameat2() is None:
        pytest.skip("no renameat2 in this C library")
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    with pytest.raises(FileExistsError):
        staging_module._renameat2_noreplace(tmp_path / "src", tmp_path / "dst")
    assert staging_module._renameat2_noreplace(tmp_path / "src", tmp_path / "new")
    assert (tmp_path / "new").is_dir()
    assert not (tmp_path / "src").exists()


def unavailable(source: Path, target: Path) -> bool:
    return False


def test_fallback_commits_and_refuses_existing_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging_module, "_renameat2_noreplace", unavailable)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "precious.txt").write_text("keep me", encoding="utf-8")
    (tmp_path / "empty").mkdir()

    with Staging.create(tmp_path) as staging:
        finish_bag(staging)
        for name in ("taken", "empty"):
            with pytest.raises(PackagingFailed, match="already exists"):
                staging.commit(name)
        assert (staging.bag_dir / "bagit.txt").is_file()
        final = staging.commit("fresh")

    assert (tmp_path / "taken" / "precious.txt").read_text(encoding="utf-8") == "keep me"
    assert list((tmp_path / "empty").iterdir()) == []
    assert bagit.Bag(str(final)).validate()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "fresh", "taken"]


@pytest.mark.parametrize("code", [errno.ENOSYS, errno.EINVAL])
def test_renameat2_failing_as_unsupported_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    calls = []

    def refusing(olddir: int, old: bytes, newdir: int, new: bytes, flags: int) -> int:
        calls.append(flags)
        ctypes.set_errno(code)
        return -1

    monkeypatch.setattr(staging_module, "_libc_renameat2", lambda: refusing)
    (tmp_path / "taken").mkdir()
    with Staging.create(tmp_path) as staging:
        finish_bag(staging)
        with pytest.raises(PackagingFailed, match="already exists"):
            staging.commit("taken")
        final = staging.commit("fresh")
    assert calls == [1, 1]
    assert bagit.Bag(str(final)).validate()


def test_renameat2_missing_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging_module, "_libc_renameat2", lambda: None)
    (tmp_path / "taken").mkdir()
    with Staging.create(tmp_path) as staging:
        finish_bag(staging)
        with pytest.raises(PackagingFailed, match="already exists"):
            staging.commit("taken")
        final = staging.commit("fresh")
    assert (final / "bagit.txt").is_file()


def test_other_rename_errors_are_packaging_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cross_device(source: Path, target: Path) -> bool:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(source))

    monkeypatch.setattr(staging_module, "_renameat2_noreplace", cross_device)
    with Staging.create(tmp_path) as staging:
        finish_bag(staging)
        with pytest.raises(PackagingFailed, match="could not move the bag"):
            staging.commit("bag")
        assert (staging.bag_dir / "bagit.txt").is_file()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a/b",
        "/abs",
        "a\\b",
        "line\nbreak",
        "cr\rhere",
        "nul\0byte",
        "tab\there",
        "esc\x1b",
        "sep\u2028arator",
        ".preserve-staging-0123456789ab",
        "x" * 256,
        "é" * 128,
        "bad\udcffsurrogate",
    ],
)
def test_bad_names_are_bad_input(tmp_path: Path, name: str) -> None:
    with Staging.create(tmp_path) as staging:
        finish_bag(staging)
        with pytest.raises(BadInput) as info:
            staging.commit(name)
        assert info.value.exit_code == 2
        assert (staging.bag_dir / "bagit.txt").is_file()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["x" * 255, "é" * 127, ".hidden", "with space", "ünïcode"])
def test_good_names_commit(tmp_path: Path, name: str) -> None:
    with Staging.create(tmp_path) as staging:
        finish_bag(staging)
        final = staging.commit(name)
    assert final.name == name
    assert (final / "bagit.txt").is_file()


def test_clean_stale_removes_only_abandoned_staging(tmp_path: Path) -> None:
    host = socket.gethostname()
    output = tmp_path / "bags"
    output.mkdir()
    dead = fake_staging(output, "dead", f"pid={dead_pid()}\nhost={host}\nstarted=2024-01-01\n")
    # A live pid whose lock nobody holds: the pid was reused, the run that wrote it is gone.
    reused = fake_staging(output, "reused", f"pid={os.getpid()}\nhost={host}\nstarted=x\n")
    remote = fake_staging(output, "remote", f"pid={dead_pid()}\nhost=other.invalid\n")
    age(remote, 30 * 24 * 3600)
    fresh_garbled = fake_staging(output, "garbled-new", "pid=")
    old_garbled = fake_staging(output, "garbled-old", "\xff nonsense")
    age(old_garbled, 25 * 3600)
    old_lockless = fake_staging(output, "lockless", None)
    age(old_lockless, 25 * 3600)
    not_staging = fake_staging(output, "x", None)
    not_staging = not_staging.rename(output / "preserve-staging-not-ours")
    age(not_staging, 30 * 24 * 3600)
    (output / "a-bag").mkdir()
    stray_file = output / ".preserve-staging-file"
    stray_file.write_text(f"pid={dead_pid()}\nhost={host}\n", encoding="utf-8")
    link = output / ".preserve-staging-link"
    link.symlink_to(dead, target_is_directory=True)

    with Staging.create(output) as live:
        removed = clean_stale(output)

        assert sorted(removed) == sorted([dead, reused, old_garbled, old_lockless])
        for path in removed:
            assert not path.exists()
        assert (live.bag_dir).is_dir()
        assert lock_is_held(live.root / "lock")
        assert (remote / "lock").is_file()
        assert (fresh_garbled / "lock").is_file()
        assert (not_staging / "bag" / "data" / "partial.html").is_file()
        assert (output / "a-bag").is_dir()
        assert stray_file.is_file()
        assert link.is_symlink()
        assert clean_stale(output) == []


def test_clean_stale_keeps_a_held_lock_whatever_pid_it_names(tmp_path: Path) -> None:
    host = socket.gethostname()
    root = fake_staging(tmp_path, "inherited", f"pid={dead_pid()}\nhost={host}\n")
    fd = os.open(root / "lock", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert clean_stale(tmp_path) == []
        assert root.is_dir()
    finally:
        os.close(fd)
    assert clean_stale(tmp_path) == [root]


def test_clean_stale_on_a_missing_output(tmp_path: Path) -> None:
    assert clean_stale(tmp_path / "missing") == []
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert clean_stale(tmp_path / "file") == []


@contextmanager
def holding_run(output: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Run HOLDER in a child process; yield it and the staging root it holds locked."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(output)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        yield child, Path(child.stdout.readline().strip())
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdin.close()
        child.stdout.close()


def test_clean_stale_never_touches_another_live_run(tmp_path: Path) -> None:
    output = tmp_path / "bags"
    with holding_run(output) as (child, root):
        assert root.parent == output
        assert f"pid={child.pid}\n" in (root / "lock").read_text(encoding="utf-8")

        assert clean_stale(output) == []
        assert (root / "bag").is_dir()
        assert lock_is_held(root / "lock")

        assert child.stdin is not None
        child.stdin.write("done\n")
        child.stdin.flush()
        assert child.wait(timeout=30) == 0
    assert list(output.iterdir()) == []


def test_clean_stale_removes_the_staging_of_a_killed_run(tmp_path: Path) -> None:
    output = tmp_path / "bags"
    with holding_run(output) as (child, root):
        assert clean_stale(output) == []
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert root.is_dir()
    assert clean_stale(output) == [root]
    assert list(output.iterdir()) == []


def test_check_output_accepts_a_new_or_plain_folder(tmp_path: Path) -> None:
    staging_module.check_output(tmp_path)
    staging_module.check_output(tmp_path / "new" / "deeper")
    (tmp_path / "bags" / "a-bag").mkdir(parents=True)
    (tmp_path / "bags" / "a-bag" / "bagit.txt").write_text("BagIt-Version: 1.0\n")
    # Beside other bags is where bags go.
    staging_module.check_output(tmp_path / "bags")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("below", ["", "data", "data/web/new"])
def test_check_output_refuses_a_folder_inside_a_bag(tmp_path: Path, below: str) -> None:
    bag = tmp_path / "bag"
    (bag / "data").mkdir(parents=True)
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\n")
    with pytest.raises(BadInput, match=f"is inside the bag {re.escape(str(bag))}") as info:
        staging_module.check_output(bag / below if below else bag)
    assert info.value.exit_code == 2
    assert info.value.hint == "choose an output folder outside any bag"


def test_check_output_follows_a_link_into_a_bag(tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    (bag / "data").mkdir(parents=True)
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\n")
    (tmp_path / "link").symlink_to(bag / "data")
    with pytest.raises(BadInput, match="is inside the bag"):
        staging_module.check_output(tmp_path / "link" / "new")


def test_check_output_refuses_a_file_as_packaging(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    for output in (target, target / "below"):
        with pytest.raises(PackagingFailed, match="output is not a folder") as info:
            staging_module.check_output(output)
        assert info.value.exit_code == 4


def test_check_name_free(tmp_path: Path) -> None:
    staging_module.check_name_free(tmp_path, "new")
    (tmp_path / "taken").mkdir()
    (tmp_path / "file.zip").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for name, suffix in (("taken", ""), ("file", ".zip"), ("dangling", "")):
        with pytest.raises(PackagingFailed, match="already exists") as info:
            staging_module.check_name_free(tmp_path, name, suffix)
        assert info.value.exit_code == 4
    staging_module.check_name_free(tmp_path, "file")
    with pytest.raises(BadInput):
        staging_module.check_name_free(tmp_path, "../escape", ".zip")
