"""Power loss at every point of a commit, in every state the disk may be left in.

See ``powerloss.py`` for the model and the checks. Each scenario records one real commit and
then opens every distinct directory a power cut could leave, with the real engine (and
``stateview recover --apply`` once that command exists).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

import stateview
from stateview._statefile import StateFile

from . import powerloss, simfs
from .harness import DEEP, FIGURES
from .powerloss import _UNSET, explore, explore_recovery, version

REORDER = ("per-name", "any")
#: Heal states whose own recovery is cut at every point (all of them in a deep run).
RECOVERY_SAMPLES = 1_000 if DEEP else 12


def doc(n: int) -> dict[str, Any]:
    """Version n: distinct at every level, long enough that a torn copy is visibly torn."""
    return {"version": n, "clients": {f"c{i}": {"score": n * 10 + i} for i in range(3)},
            "log": [f"entry {i} of version {n}" for i in range(n % 3 + 2)]}


def _history(path: str, backups: int, versions: list[dict[str, Any]]) -> None:
    with stateview.open(path, default=versions[0], backups=backups) as state:
        for value in versions[1:]:
            with state.transaction() as root:
                root.clear()
                root.update(value)


def _commit(backups: int, history: int, new: dict[str, Any], autocommit: bool = False) -> Any:
    def record(path: str, recorder: Any) -> None:
        _history(path, backups, [doc(i) for i in range(1, history + 1)])
        with StateFile(path, backups=backups, fs=recorder) as state:
            recorder.start(os.path.dirname(path))
            if autocommit:
                state["version"] = new["version"]
            else:
                with state.transaction() as root:
                    root.clear()
                    root.update(new)
        recorder.recording = False  # close() frees the spare: part of the log
    return record


def _explore_all(tmp_path: Any, record: Any, backups: int, default: Any, allowed: list[Any]) -> int:
    """Explore every crash state (and cut some recoveries); fail listing what went wrong."""
    total, failures = 0, []
    for reorder in REORDER:
        work = tmp_path / reorder
        work.mkdir()
        report = explore(str(work), record, backups, default, allowed, reorder)
        total += report.states
        failures += report.failures
        for state, outcome, versions, acked in _spread(report.healed, RECOVERY_SAMPLES):
            cut = explore_recovery(str(work), state, outcome, backups, default, versions, acked)
            total += cut.states
            failures += cut.failures
    shown = "\n".join(f.splitlines()[0] for f in failures[:12])
    assert not failures, f"{len(failures)} of {total} crash states failed; first ones:\n{shown}"
    return total


def _spread(items: list[Any], n: int) -> list[Any]:
    """``n`` items spread evenly over ``items`` (deterministic)."""
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def test_first_commit_creates_the_file_or_leaves_room_for_the_default(tmp_path: Any) -> None:
    # The file did not exist; open(default=NEW) creates it. After any crash, opening with
    # another default gives NEW (if it reached the disk whole) or that default: never a mix.
    new, other = doc(1), {"version": "fresh default", "clients": {}}

    def record(path: str, recorder: Any) -> None:
        recorder.start(os.path.dirname(path))
        StateFile(path, default=new, fs=recorder).close()

    n = _explore_all(tmp_path, record, 1, other, [version(other), version(new)])
    assert n >= 5


@pytest.mark.parametrize("backups", [0, 1])
def test_ordinary_commit_is_old_or_new_after_power_loss(tmp_path: Any, backups: int) -> None:
    n = _explore_all(tmp_path, _commit(backups, 2, doc(3)), backups, _UNSET,
                     [version(doc(2)), version(doc(3))])
    assert n >= 5


def test_autocommit_of_one_value_is_old_or_new_after_power_loss(tmp_path: Any) -> None:
    new = dict(doc(2), version=99)
    n = _explore_all(tmp_path, _commit(1, 2, new, autocommit=True), 1, _UNSET,
                     [version(doc(2)), version(new)])
    assert n >= 5


@pytest.mark.parametrize("history", [1, 2, 4], ids=["no-backups-yet", "one-backup", "full"])
def test_backup_rotation_with_three_backups_survives_power_loss(
    tmp_path: Any, history: int
) -> None:
    new = doc(9)
    n = _explore_all(tmp_path, _commit(3, history, new), 3, _UNSET,
                     [version(doc(history)), version(new)])
    assert n >= 5


@pytest.mark.parametrize("backups", [0, 1, 3, 5] if DEEP else [0, 1, 3])
def test_commits_in_a_row_never_go_back_past_an_acknowledged_one(
    tmp_path: Any, backups: int
) -> None:
    # One log of several commits: power may be cut while an earlier commit's leftovers (its
    # previous-version link, its backup rotation) are not yet durable. After commit j was
    # acknowledged, only version j or j+1 may come back.
    news = [doc(20 + i) for i in range(7 if DEEP else 3)]

    def record(path: str, recorder: Any) -> None:
        _history(path, backups, [doc(1), doc(2)])
        with StateFile(path, backups=backups, fs=recorder) as state:
            recorder.start(os.path.dirname(path))
            for value in news:
                with state.transaction() as root:
                    root.clear()
                    root.update(value)
                recorder.mark()
        recorder.recording = False
        if backups < 3:  # later commits write into the spare that earlier ones retired
            assert any(op.name == "rewrite" for op in recorder.ops), recorder.ops

    n = _explore_all(tmp_path, record, backups, _UNSET, [version(v) for v in [doc(2), *news]])
    assert n >= 15


class _NoFsync(simfs.Recorder):
    """The log of a protocol that forgot to fsync the temp file before the rename."""

    def _log(self, name: str, **args: Any) -> None:
        if name != "fsync":
            super()._log(name, **args)


class _EarlyAck(simfs.Recorder):
    """The log of a protocol that syncs the directory before the rename, not after."""

    def _log(self, name: str, **args: Any) -> None:
        if name == "fsync_dir":
            return
        super()._log(name, **args)
        if name == "fsync":
            super()._log("fsync_dir", path="(directory)")


@pytest.mark.parametrize("broken", [_NoFsync, _EarlyAck], ids=["no-fsync", "early-ack"])
def test_the_simulator_catches_a_broken_protocol(
    tmp_path: Any, broken: type[simfs.Recorder], monkeypatch: Any
) -> None:
    # The harness must have teeth: the same commit, logged as a protocol that skips a
    # barrier would have run, must produce torn or lost versions in some crash states.
    monkeypatch.setattr(powerloss, "RECORDER", broken)
    saved = FIGURES.copy()
    try:
        with pytest.raises(AssertionError, match="crash states failed") as info:
            _explore_all(tmp_path, _commit(1, 2, doc(3)), 1, _UNSET,
                         [version(doc(2)), version(doc(3))])
    finally:
        FIGURES.clear()
        FIGURES.update(saved)
    assert "neither version" in str(info.value) or "lost" in str(info.value)
