"""The power-loss check: record a commit, cut power at every point, open every state left.

:func:`explore` drives one scenario: it records a commit (or an open that creates the file)
through a :class:`~simfs.Recorder`, then for every crash point and every disk state a power cut
could leave there it materialises the directory, opens it with the real ``stateview`` code,
runs ``stateview recover --apply`` when that command exists, and checks:

* the document is exactly the old or the new version (value and bytes), the new one when the
  power was cut after the commit's last directory fsync;
* recovery leaves no temp file;
* nothing that held a version before recovery (the file, a backup, a set-aside copy) is gone.

Opens that had to heal the directory are themselves recorded and cut the same way
(:func:`explore_recovery`): a recovery that loses power must still end in old or new.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import stateview
from stateview import _fs, _jsontext
from stateview._statefile import StateFile

from . import simfs
from .harness import count, describe, files, forget_lock, run_recover, temps

NAME = "state.json"
_UNSET: Any = stateview._statefile._UNSET


@dataclass
class Version:
    """A document the directory may legitimately hold after the crash."""

    value: Any
    data: bytes


@dataclass
class Outcome:
    """What opening one crash state gave."""

    value: Any
    heal_ops: list[simfs.Op]
    before: simfs.Snapshot


@dataclass
class Report:
    states: int = 0
    failures: list[str] = field(default_factory=list)
    healed: list[tuple[simfs.DiskState, Outcome, list[Version], bool]] = field(
        default_factory=list)


def version(value: Any) -> Version:
    return Version(value, _jsontext.dumps(value).encode("utf-8"))


def ack_point(ops: list[simfs.Op]) -> int:
    """Crash points at or after this one follow the last directory fsync: acknowledged."""
    last = max(i for i, op in enumerate(ops) if op.name == "fsync_dir")
    return last + 1


def check_model(before: simfs.Snapshot, ops: list[simfs.Op], directory: str) -> None:
    """The log explains the real directory: nothing bypassed the seam."""
    expected = simfs.replay(before, ops)
    real = files(directory)
    assert real == expected, (
        "the operation log does not explain the directory: some file-system call "
        f"bypassed the seam.\nlog: {[str(op) for op in ops]}\nreal:\n{describe(directory)}"
        f"\nmodel: {sorted(expected)}")


def open_state(
    directory: str, backups: int, default: Any, allowed: list[Version], acked: bool,
    label: str, history: list[Version] | None = None,
) -> Outcome:
    """Open a crash state with the real engine and check the document.

    ``allowed`` are the versions it may show (with ``acked``: only the last one);
    ``history`` (older versions) tells a lost commit from a torn one in the figures.
    """
    path = os.path.join(directory, NAME)
    before = simfs.Snapshot.take(directory)
    rec = simfs.Recorder()
    listing = describe(directory)
    try:
        sf = StateFile(path, default=default, backups=backups, fs=rec)
    except stateview.StateError as e:
        count("failed_opens")
        raise AssertionError(f"{label}: open failed: {e!r}\n{listing}") from e
    try:
        value = sf.snapshot()
    finally:
        sf.close()
        forget_lock(path)
    with open(path, "rb") as f:
        data = f.read()
    wanted = allowed[-1:] if acked else allowed
    # Bytes too, up to trailing whitespace: a complete temp file cut before its final newline
    # holds the same document and may be restored as it is.
    if not any(value == v.value and data.rstrip() == v.data.rstrip() for v in allowed):
        if any(value == v.value for v in history or []):
            count("lost_commits")
            raise AssertionError(f"{label}: an acknowledged commit was lost: {data!r}\n"
                                 f"{listing}")
        count("torn_commits")
        raise AssertionError(f"{label}: the document is neither version: {data!r}\n{listing}")
    if not any(value == v.value for v in wanted):
        count("lost_commits")
        raise AssertionError(f"{label}: an acknowledged commit was lost\n{listing}")
    return Outcome(value, [op for op in rec.ops if op.name in simfs.MUTATING], before)


def check_recover(directory: str, kept: dict[str, bytes], label: str) -> Outcome:
    """``stateview recover --apply``: no temp left, the document and every version kept.

    Returns what recover did (its recorded operations), so that it can be cut in turn.
    """
    path = os.path.join(directory, NAME)
    with open(path, "rb") as f:
        document = f.read()
    before = simfs.Snapshot.take(directory)
    rec = simfs.Recorder()
    previous = _fs.set_default(rec)
    try:
        code, out, err = run_recover(path)
    finally:
        _fs.set_default(previous)
    forget_lock(path)
    assert "Traceback" not in err, f"{label}: recover crashed:\n{err}"
    assert not temps(path), f"{label}: recover left temp files (exit {code}):\n{out}{err}"
    with open(path, "rb") as f:
        assert f.read() == document, f"{label}: recover changed a readable document"
    after = set(files(directory).values())
    lost = [name for name, data in kept.items() if data not in after]
    assert not lost, f"{label}: recover deleted the only copy of {lost}\n{describe(directory)}"
    value = _jsontext.loads(document, path)
    return Outcome(value, [op for op in rec.ops if op.name in simfs.MUTATING], before)


def check_backups(directory: str, known: set[bytes], label: str) -> None:
    """Every ``NAME.bak*`` holds a whole version the directory had or was given: none torn.

    Files are rewritten in place (the spare), so a backup could only be torn by a bug that
    let a rewrite reach a file still named as a backup.
    """
    for name, data in files(directory).items():
        if name.startswith(NAME + ".bak") and data.rstrip() not in known:
            raise AssertionError(f"{label}: {name} holds no known version: {data!r}\n"
                                 f"{describe(directory)}")


def check_state(
    workdir: str, state: simfs.DiskState, backups: int, default: Any, allowed: list[Version],
    acked: bool, history: list[Version] | None = None, known: set[bytes] | None = None,
) -> Outcome:
    directory = os.path.join(workdir, "s")
    os.mkdir(directory)
    try:
        simfs.materialise(state, directory)
        # Every non-temp file holds a version someone may need; none may disappear.
        kept = {n: d for n, d in files(directory).items()
                if d and (not n.endswith(".tmp") or ".prev-" in n)}
        if known is not None:
            check_backups(directory, known, state.label + " (as the power cut left it)")
        outcome = open_state(directory, backups, default, allowed, acked, state.label, history)
        after = set(files(directory).values())
        lost = [name for name, data in kept.items() if data not in after]
        assert not lost, f"{state.label}: open deleted the only copy of {lost}"
        recovered = check_recover(directory, kept, state.label)
        again = open_state(directory, backups, default, allowed, acked, state.label, history)
        assert again.value == outcome.value
        if recovered.heal_ops and not outcome.heal_ops:
            outcome = recovered
        if known is not None:
            check_backups(directory, known, state.label + " (after open and recover)")
        count("crash_states")
        return outcome
    finally:
        shutil.rmtree(directory)


#: What records the scenario's commits (the self-tests substitute broken protocols).
RECORDER: type[simfs.Recorder] = simfs.Recorder


def _intersect(sets: list[list[Version]]) -> list[Version]:
    return [v for v in sets[0] if all(any(v.value == w.value for w in o) for o in sets[1:])]


def commit_acks(recorder: simfs.Recorder, ops: list[simfs.Op]) -> list[int]:
    """For each commit in the log, the crash point from which it is acknowledged."""
    mutating_at = [sum(1 for op in recorder.ops[:m] if op.name in simfs.MUTATING)
                   for m in recorder.marks] or [len(ops)]
    acks, start = [], 0
    for end in mutating_at:
        syncs = [i for i in range(start, end) if ops[i].name == "fsync_dir"]
        assert syncs, f"a commit without a directory fsync: {[str(o) for o in ops[start:end]]}"
        acks.append(syncs[-1] + 1)
        start = end
    return acks


def explore(
    workdir: str, record: Callable[[str, simfs.Recorder], None], backups: int,
    default: Any, versions: list[Version], reorder: str = "per-name",
) -> Report:
    """Record ``record(path, recorder)`` in a fresh directory, then check every crash state.

    ``versions`` are the documents in the order the log commits them: the one before the log
    first, then one per commit (``recorder.mark()`` ends each commit when there are several).
    A crash after commit j was acknowledged must show version j or j+1, nothing else.
    """
    rec_dir = os.path.join(workdir, "record")
    os.makedirs(rec_dir, exist_ok=True)
    path = os.path.join(rec_dir, NAME)
    recorder = RECORDER(recording=False)
    record(path, recorder)
    forget_lock(path)
    before = recorder.before
    assert before is not None, "the scenario never called recorder.start()"
    ops = [op for op in recorder.ops if op.name in simfs.MUTATING]
    check_model(before, ops, rec_dir)
    acks = commit_acks(recorder, ops)
    assert len(acks) == len(versions) - 1, (acks, len(versions))

    def allowed_at(k: int) -> list[Version]:
        j = sum(1 for a in acks if a <= k)
        return versions[j: j + 2]

    count("crash_points", len(ops) + 1)
    report = Report()
    known = {data.rstrip() for data, _ in before.inodes.values()} | {
        v.data.rstrip() for v in versions}
    for ks, state in simfs.unique_states(before, ops, reorder):
        report.states += 1
        allowed = _intersect([allowed_at(k) for k in ks])
        try:
            outcome = check_state(workdir, state, backups, default, allowed, False, versions,
                                  known)
        except AssertionError as e:
            report.failures.append(str(e))
            continue
        if outcome.heal_ops:
            report.healed.append((state, outcome, allowed, False))
    return report


def explore_recovery(
    workdir: str, state: simfs.DiskState, outcome: Outcome, backups: int, default: Any,
    allowed: list[Version], acked: bool,
) -> Report:
    """Cut power at every point of the recovery ``outcome.heal_ops`` made on ``state``."""
    ops = outcome.heal_ops
    done_from = ack_point(ops) if any(op.name == "fsync_dir" for op in ops) else len(ops) + 1
    healed = version(outcome.value)
    report = Report()
    count("crash_points", len(ops) + 1)
    for ks, cut in simfs.unique_states(outcome.before, ops):
        # Before the recovery finished: what the crash state allowed; once its restore was
        # durable, exactly what it restored.
        ok = _intersect([[healed] if k >= done_from else allowed for k in ks])
        try:
            check_state(workdir, cut, backups, default, ok, False)
        except AssertionError as e:
            report.failures.append(f"recovery of [{state.label}] cut: {e}")
        count("recovery_crash_states")
        report.states += 1
    return report
