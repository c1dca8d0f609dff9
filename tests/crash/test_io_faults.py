"""I/O errors at every step of a commit, through the seam.

For every step N of a commit and every errno a disk or share really returns (EIO, ENOSPC,
EACCES, EROFS; EINVAL from a directory fsync), once and persistently: the commit raises
``stateview.CommitFailed`` (an ``OSError`` carrying the errno), memory and the file's bytes are
as before, no temp file is left, and the next commit succeeds once the fault clears.
A fault after the commit became durable (after the directory fsync) may not fail it: then the
file and memory both hold the new version. Neither may a fault in a step the engine can do
without (writing into the spare, retiring the oldest version to be the next spare): the commit
then takes the plain path, and is durable.
"""

from __future__ import annotations

import errno
import os
import threading
from typing import Any

import pytest

import stateview
from stateview._statefile import StateFile

from . import simfs
from .harness import (
    DEEP,
    count,
    describe,
    files,
    forget_lock,
    load,
    run_recover,
    temps,
)
from .seams import LOCK_STEPS, CountingFS, FaultFS, describe_calls

NAME = "state.json"
CODES = (errno.EIO, errno.ENOSPC, errno.EACCES, errno.EROFS)


def doc(n: int) -> dict[str, Any]:
    return {"version": n, "clients": {"alice": {"score": n}}, "log": [n] * 3}


NEW = doc(100)
#: A failed file-system step: CommitFailed during the write, StorageError (its base) before it.
CLEAN = getattr(stateview, "StorageError", stateview.CommitFailed)

# name: (backups, versions before the commit, how the commit is made)
SCENARIOS = {
    "backups0": (0, 2, "transaction"),
    "backups1": (1, 2, "transaction"),
    "backups3": (3, 4, "transaction"),
    "autocommit": (1, 2, "autocommit"),
    "spare-backups0": (0, 2, "transaction"),
    "spare-backups1": (1, 2, "transaction"),
}
#: Scenarios whose directory holds a spare from an earlier writer, for the commit to reuse.
WITH_SPARE = {"spare-backups0", "spare-backups1"}


def optional_steps(calls: list[str]) -> set[int]:
    """Steps (1-based) a fault in which makes the commit fall back rather than fail.

    Writing into the spare (opening it up to closing it); and the renames between the one
    that put the new version in place and the directory fsync (retiring the oldest version
    to be the spare, shifting the backups), which otherwise happen after the commit.
    """
    optional: set[int] = set()
    if "open_spare" in calls:
        first = calls.index("open_spare")
        last = calls.index("close", first)
        optional.update(range(first + 1, last + 2))
    end = calls.index("fsync_dir")
    start = calls.index("replace", calls.index("link") if "link" in calls else 0)
    optional.update(n + 1 for n in range(start + 1, end) if calls[n] == "replace")
    return optional


def _commit(state: StateFile, how: str, value: dict[str, Any]) -> None:
    if how == "autocommit":
        state["version"] = value["version"]
        return
    with state.transaction() as root:
        root.clear()
        root.update(value)


def _expected_after(before: dict[str, Any], how: str, value: dict[str, Any]) -> dict[str, Any]:
    return dict(before, version=value["version"]) if how == "autocommit" else value


@pytest.fixture(scope="module")
def templates(tmp_path_factory: Any) -> dict[str, simfs.Snapshot]:
    """One directory per scenario with its history committed, to clone for every case."""
    out = {}
    for name, (backups, history, _) in SCENARIOS.items():
        d = tmp_path_factory.mktemp(name)
        with stateview.open(d / NAME, default=doc(1), backups=backups) as state:
            for v in range(2, history + 1):
                _commit(state, "transaction", doc(v))
        forget_lock(d / NAME)
        if name in WITH_SPARE:  # close() freed this StateFile's spare; a crash leaves one
            (d / f".{NAME}.spare").write_bytes(b"an old version, garbage by now\n")
        out[name] = simfs.Snapshot.take(str(d))
    return out


def clone(snapshot: simfs.Snapshot, directory: Any) -> str:
    os.makedirs(directory)
    for name, ino in snapshot.names.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(snapshot.inodes[ino][0])
    return os.path.join(directory, NAME)


def steps_of(tmp_path: Any, snapshot: simfs.Snapshot, scenario: str) -> list[str]:
    """The seam calls of one fault-free commit in ``scenario``."""
    backups, _, how = SCENARIOS[scenario]
    path = clone(snapshot, tmp_path / "count")
    fs = CountingFS()
    with StateFile(path, backups=backups, fs=fs) as state:
        fs.arm()
        _commit(state, how, NEW)
        fs.disarm()
    forget_lock(path)
    return fs.calls


def run_case(
    directory: Any, snapshot: simfs.Snapshot, scenario: str, fs: FaultFS, durable_after: int,
    optional: frozenset[int] = frozenset(),
) -> str:
    """One commit with ``fs``'s fault; returns "failed" or "durable"; asserts the contract."""
    backups, _, how = SCENARIOS[scenario]
    path = clone(snapshot, directory)
    state = StateFile(path, backups=backups, fs=fs)
    label = f"{scenario}: {errno.errorcode[fs.code]} at step {fs.at} " \
            f"({'persistent' if fs.persistent else 'once'})"
    try:
        held = state["clients"]  # a view the program keeps across the failure
        memory, on_disk = state.snapshot(), files(directory)[NAME]
        before = files(directory)
        # What a commit keeps (backups=N): the current version and the N-1 newest backups.
        kept = [before[NAME]] * (backups > 0) + [
            before[f"{NAME}.bak" + ("" if g == 1 else f".{g}")] for g in range(1, backups)
            if f"{NAME}.bak" + ("" if g == 1 else f".{g}") in before]
        fs.arm()
        try:
            _commit(state, how, NEW)
        except CLEAN as e:
            outcome = "failed"
            assert isinstance(e, OSError) and e.errno == fs.code, f"{label}: {e!r}"
            assert isinstance(e.__cause__, OSError) and e.__cause__.errno == fs.code, label
            assert fs.injected, f"{label}: CommitFailed without an injected fault: {e}"
            assert state.snapshot() == memory, f"{label}: memory not rolled back"
            assert held == memory["clients"], f"{label}: a held view was not rolled back"
            assert files(directory)[NAME] == on_disk, f"{label}: the file changed\n" \
                f"{describe(directory)}\ncalls: {describe_calls(fs)}"
            if fs.failing != "unlink":  # a disk that refuses every unlink keeps the temp
                assert not temps(path), f"{label}: temp left\n{describe(directory)}\n" \
                    f"calls: {describe_calls(fs)}"
        else:
            outcome = "durable"
            assert fs.at > durable_after or not fs.injected or fs.at in optional, (
                f"{label}: the commit succeeded although a step before the directory fsync "
                f"failed; calls: {describe_calls(fs)}")
            want = _expected_after(memory, how, NEW)
            assert state.snapshot() == want, label
            after = files(directory)
            lost = [i for i, data in enumerate(kept) if data not in after.values()]
            assert not lost, f"{label}: kept versions {lost} lost\n{describe(directory)}\n" \
                f"calls: {describe_calls(fs)}"
            assert stateview._jsontext.loads(files(directory)[NAME], path) == want, label
        count("faults_injected", fs.injected)
        # A disk that refuses every unlink keeps the temp file; so does a cleanup unlink that
        # failed after the commit was already durable (the engine leaves that orphan to
        # `stateview recover`).
        # (The looks at the backups' modes that end every commit come after the cleanup.)
        last = list(fs.calls)
        while last[-1:] == ["lstat"]:
            last.pop()
        refused_unlink = fs.failing == "unlink" or (
            outcome == "durable" and last[-1:] in (["unlink"], ["replace"]))
        fs.clear()
        state["after"] = fs.at  # the next commit succeeds once the fault clears
        assert stateview._jsontext.loads(files(directory)[NAME], path) == state.snapshot()
        assert state.snapshot()["after"] == fs.at
        if not refused_unlink:
            assert not temps(path), f"{label}: temp left after the next commit"
        # Otherwise an orphan remains for `stateview recover`:
        # test_a_rotation_fault_after_a_durable_commit_leaves_nothing_after_recover.
    finally:
        state.close()
        forget_lock(path)
    return outcome


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "persistent"])
@pytest.mark.parametrize("code", CODES, ids=[errno.errorcode[c] for c in CODES])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_fault_at_every_step_fails_cleanly_and_the_next_commit_succeeds(
    tmp_path: Any, templates: dict[str, simfs.Snapshot], scenario: str, code: int,
    persistent: bool,
) -> None:
    snapshot = templates[scenario]
    calls = steps_of(tmp_path, snapshot, scenario)
    durable_after = calls.index("fsync_dir") + 1
    optional = frozenset(optional_steps(calls))
    assert optional or scenario not in WITH_SPARE, calls
    outcomes = []
    failures = []
    for n in range(1, len(calls) + 1):
        fs = FaultFS(n, code, persistent)
        try:
            outcomes.append(run_case(tmp_path / f"s{n}", snapshot, scenario, fs, durable_after,
                                     optional))
        except AssertionError as e:
            failures.append(f"step {n} ({calls[n - 1]}): {e}")
        except Exception as e:
            failures.append(f"step {n} ({calls[n - 1]}): not a clean CommitFailed: {e!r}")
    assert not failures, "\n\n".join(failures)
    # Every step before the rename is durable must have failed the commit, unless the engine
    # could do without it.
    assert all(o == "failed" for n, o in enumerate(outcomes[: durable_after - 1], 1)
               if n not in optional), outcomes


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "persistent"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_directory_fsync_einval_fails_cleanly(
    tmp_path: Any, templates: dict[str, simfs.Snapshot], scenario: str, persistent: bool
) -> None:
    # Some network shares answer fsync on a directory with EINVAL. The commit cannot be
    # known durable, so it fails, and the rename is undone.
    snapshot = templates[scenario]
    calls = steps_of(tmp_path, snapshot, scenario)
    fs = FaultFS(1, errno.EINVAL, persistent, only="fsync_dir")
    assert run_case(tmp_path / "case", snapshot, scenario, fs, len(calls)) == "failed"


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "persistent"])
@pytest.mark.parametrize("scenario", ["backups1", "autocommit"])
def test_fault_at_every_step_including_the_lock_fails_cleanly(
    tmp_path: Any, templates: dict[str, simfs.Snapshot], scenario: str, persistent: bool
) -> None:
    # The same contract with the lock file's steps counted too (taking the lock, noting the
    # commit's token, releasing it). A failed flock fails the commit before it starts; a
    # failed record write or fstat only costs the record (a warning), never the commit.
    snapshot = templates[scenario]
    backups, _, how = SCENARIOS[scenario]
    path = clone(snapshot, tmp_path / "count")
    probe = CountingFS(lock_steps=True)
    with StateFile(path, backups=backups, fs=probe) as state:
        probe.arm()
        _commit(state, how, NEW)
        probe.disarm()
    forget_lock(path)
    calls = probe.calls
    assert {"flock", "pwrite"} <= set(calls), calls
    durable_after = calls.index("fsync_dir") + 1
    optional = frozenset(optional_steps(calls) | {
        n for n, name in enumerate(calls, 1) if name in LOCK_STEPS and name != "flock"})
    failures = []
    for n, name in enumerate(calls, 1):
        if name not in LOCK_STEPS:
            continue  # the commit's own steps: test_fault_at_every_step_...
        fs = FaultFS(n, errno.EIO, persistent, lock_steps=True)
        try:
            run_case(tmp_path / f"s{n}", snapshot, scenario, fs, durable_after, optional)
        except AssertionError as e:
            failures.append(f"step {n} ({name}): {e}")
        except Exception as e:
            failures.append(f"step {n} ({name}): not a clean StorageError: {e!r}")
    assert not failures, "\n\n".join(failures)


def test_first_commit_fault_at_every_step_leaves_no_file_and_no_temp(tmp_path: Any) -> None:
    # open(default=...) creating the file is a commit too: a fault fails open cleanly, and a
    # later open creates the file.
    probe = CountingFS()
    probe.arm()
    (tmp_path / "probe").mkdir()
    StateFile(tmp_path / "probe" / NAME, default=NEW, fs=probe).close()
    forget_lock(tmp_path / "probe" / NAME)
    steps = len(probe.calls)
    for code in CODES if DEEP else (errno.EIO, errno.ENOSPC):
        for n in range(1, steps + 1):
            d = tmp_path / f"{errno.errorcode[code]}-{n}"
            d.mkdir()
            fs = FaultFS(n, code)
            fs.arm()
            try:
                StateFile(d / NAME, default=NEW, fs=fs).close()
            except OSError as e:
                assert isinstance(e, stateview.StateError), f"step {n}: raw {e!r}"
                assert e.errno == code
                # A fault after the file was durably created (checking it) leaves the default.
                if os.path.exists(d / NAME):
                    assert load(d / NAME) == NEW, f"step {n}: {describe(d)}"
                assert not temps(d / NAME), f"step {n}: {describe(d)}"
            count("faults_injected", fs.injected)
            forget_lock(d / NAME)
            with stateview.open(d / NAME, default=NEW) as state:
                assert state.snapshot() == NEW
            forget_lock(d / NAME)


def test_failed_commit_leaves_the_backups_as_they_were(
    tmp_path: Any, templates: dict[str, simfs.Snapshot]
) -> None:
    # A failed commit must not cost the user the older versions kept as backups
    # (docs/design.md, "The commit, step by step": backups rotate only when undoable).
    snapshot = templates["backups3"]
    calls = steps_of(tmp_path, snapshot, "backups3")
    damaged = []
    optional = optional_steps(calls)
    for n in range(1, calls.index("fsync_dir") + 2):
        if n in optional:  # the commit goes on without it: nothing fails
            continue
        d = tmp_path / f"b{n}"
        path = clone(snapshot, d)
        before = files(d)
        fs = FaultFS(n, errno.EIO)
        with StateFile(path, backups=3, fs=fs) as state:
            fs.arm()
            with pytest.raises(OSError):  # CommitFailed (a raw OSError at step 1: bug C2)
                _commit(state, "transaction", NEW)
        forget_lock(path)
        count("faults_injected", fs.injected)
        if files(d) != before:
            damaged.append(f"step {n} ({calls[n - 1]}): {sorted(files(d))}")
    assert not damaged, "backups changed by a failed commit:\n" + "\n".join(damaged)


def test_group_commit_failure_fails_every_waiter_and_rolls_memory_back(tmp_path: Any) -> None:
    threads_n = 4
    path = tmp_path / NAME
    fs = FaultFS(1, errno.EIO, only="write_all")
    state = StateFile(path, default={"base": True}, fs=fs)
    before_disk, before_mem = files(tmp_path)[NAME], state.snapshot()
    gate = threading.Event()

    def hold_the_write(name: str) -> None:
        # Fail the leader's write only once the other threads have queued their changes
        # behind it, so that they all belong to the failed batch.
        gate.set()
        for _ in range(400):
            if len(state._st.pending) >= threads_n - 1:
                return
            threading.Event().wait(0.005)

    fs.hook = hold_the_write
    results: dict[int, BaseException | None] = {}

    def worker(i: int) -> None:
        if i:
            gate.wait(5)
        try:
            state[f"k{i}"] = i
            results[i] = None
        except BaseException as e:
            results[i] = e

    fs.arm()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(30)
    count("faults_injected", fs.injected)
    assert fs.injected == 1
    assert len(results) == threads_n
    assert all(isinstance(e, stateview.CommitFailed) for e in results.values()), results
    assert state.snapshot() == before_mem
    assert files(tmp_path)[NAME] == before_disk
    assert not temps(path)
    fs.clear()
    state["k0"] = 0
    assert state.snapshot() == {"base": True, "k0": 0}
    state.close()
    forget_lock(path)


def test_failed_transaction_rolls_back_nested_changes_and_views(tmp_path: Any) -> None:
    path = tmp_path / NAME
    fs = FaultFS(1, errno.ENOSPC, only="write_all")
    with StateFile(path, default={"a": {"b": [1, 2]}, "n": 0}, fs=fs) as state:
        inner = state["a"]["b"]
        fs.arm()
        with pytest.raises(stateview.CommitFailed) as info, state.transaction() as root:
            root["a"]["b"].append(3)
            root["n"] = 1
            root["new"] = {"x": 1}
        assert info.value.errno == errno.ENOSPC
        assert state.snapshot() == {"a": {"b": [1, 2]}, "n": 0}
        assert inner == [1, 2]
        fs.clear()
        inner.append(9)
        assert stateview._jsontext.loads(files(tmp_path)[NAME], str(path)) == {
            "a": {"b": [1, 2, 9]}, "n": 0}
        count("faults_injected", fs.injected)
    forget_lock(path)


def test_a_rotation_fault_after_a_durable_commit_leaves_nothing_after_recover(
    tmp_path: Any, templates: dict[str, simfs.Snapshot]
) -> None:
    # Renaming the previous version into NAME.bak fails, before the directory fsync and
    # again after it: the commit succeeds and leaves `.NAME.prev-*.tmp`. After the next
    # commit that file is older than NAME.bak; `stateview recover --apply` must still leave
    # no orphan.
    calls = steps_of(tmp_path, templates["backups1"], "backups1")
    n = min(optional_steps(calls) - set(range(calls.index("link") + 1)))  # the first rename
    assert calls[n - 1] == "replace" and n < calls.index("fsync_dir") + 1, calls
    path = clone(templates["backups1"], tmp_path / "case")
    fs = FaultFS(n, errno.EIO, persistent=True)
    with StateFile(path, backups=1, fs=fs) as state:
        fs.arm()
        _commit(state, "transaction", NEW)  # durable: no error
        assert fs.injected >= 2, describe_calls(fs)  # before and after the fsync
        fs.clear()
        state["after"] = 1
    forget_lock(path)
    count("faults_injected", fs.injected)
    assert temps(path), "expected the orphan the fault leaves"
    code, out, err = run_recover(path)
    forget_lock(path)
    assert not temps(path), f"recover left orphans (exit {code}; bug C5):\n{out}{err}"
    assert load(path) == dict(NEW, after=1)


def test_a_backup_that_cannot_be_looked_at_fails_the_commit_before_anything_changes(
    tmp_path: Any, templates: dict[str, simfs.Snapshot]
) -> None:
    # The rotation decides which backups move from a look at their names. A look that fails
    # (EIO, EACCES) must not be taken for "free" (the rename would free a kept version
    # before the commit is durable) nor for "there" (the shift would stop short): the
    # commit fails while nothing has been written yet.
    for code in (errno.EIO, errno.EACCES):
        d = tmp_path / errno.errorcode[code]
        path = clone(templates["backups3"], d)
        before = files(d)
        fs = FaultFS(2, code, only="lstat")  # NAME.bak.2: the middle of the chain
        with StateFile(path, backups=3, fs=fs) as state:
            memory = state.snapshot()
            fs.arm()
            with pytest.raises(stateview.CommitFailed) as info:
                _commit(state, "transaction", NEW)
            calls = list(fs.calls)
            fs.clear()
            assert info.value.errno == code and "backups" in str(info.value), info.value
            assert state.snapshot() == memory
            assert files(d) == before, describe(d)
            assert not {"open_new", "open_spare", "link", "replace"} & set(calls), calls
            state["after"] = 1  # the fault gone, the rotation runs in full
        forget_lock(path)
        after = files(d)
        assert after[f"{NAME}.bak"] == before[NAME]
        assert after[f"{NAME}.bak.3"] == before[f"{NAME}.bak.2"]
