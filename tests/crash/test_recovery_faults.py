"""I/O errors at every step of a recovery: open's healing and `stateview recover --apply`.

A damaged directory (the state file cut short, a good NAME.bak, an orphan temp) is healed
with the Nth seam call failing. Whatever happens, the unreadable bytes are never lost, the
error is a clean stateview error (or recover's exit 1, without a traceback), and once the fault
is gone the next open or recover finishes the job.
"""

from __future__ import annotations

import errno
import os
from typing import Any

import pytest

import stateview
from stateview._statefile import StateFile

from .harness import count, files, forget_lock, load, run_recover, temps
from .seams import CountingFS, FaultFS

NAME = "state.json"


def doc(n: int) -> dict[str, Any]:
    return {"version": n, "clients": {"alice": {"score": n}}, "log": [n] * 3}


def _damaged(directory: Any) -> tuple[str, bytes]:
    """A state file an editor cut short, with NAME.bak holding doc(1) and an orphan temp."""
    directory.mkdir()
    path = directory / NAME
    with stateview.open(path, default=doc(1)) as state:
        state["version"] = 2
    forget_lock(path)
    bad = b'{"version": 2, "cli'
    path.write_bytes(bad)
    (directory / f".{NAME}.0123456789ab.tmp").write_bytes(b'{"half": ')
    return str(path), bad


def test_fault_at_every_step_of_healing_on_open_keeps_every_copy(tmp_path: Any) -> None:
    probe_path, _ = _damaged(tmp_path / "probe")
    probe = CountingFS()
    probe.arm()
    StateFile(probe_path, fs=probe).close()
    forget_lock(probe_path)
    problems = []
    for n in range(1, len(probe.calls) + 1):
        path, bad = _damaged(tmp_path / f"h{n}")
        fs = FaultFS(n, errno.EIO)
        fs.arm()
        try:
            StateFile(path, fs=fs).close()
        except stateview.StateError as e:
            if not isinstance(e, OSError | stateview.CorruptFile):
                problems.append(f"step {n}: {e!r}")
        except Exception as e:
            problems.append(f"step {n} ({probe.calls[n - 1]}): not a stateview error: {e!r}")
        forget_lock(path)
        count("faults_injected", fs.injected)
        kept = files(os.path.dirname(path))
        if bad not in kept.values():
            problems.append(f"step {n}: the unreadable bytes are gone: {sorted(kept)}")
        with stateview.open(path) as state:  # the fault is gone: the heal completes
            if state.snapshot() != doc(1):
                problems.append(f"step {n}: healed to {state.snapshot()}")
        forget_lock(path)
    assert not problems, "\n".join(problems)


def test_fault_at_every_step_of_recover_apply(tmp_path: Any) -> None:
    from stateview import _fs

    probe_path, _ = _damaged(tmp_path / "probe")
    probe = CountingFS()
    previous = _fs.set_default(probe)
    probe.arm()
    try:
        run_recover(probe_path)
    finally:
        _fs.set_default(previous)
    forget_lock(probe_path)
    assert probe.calls, "recover made no file-system call through the seam"
    # Listing the directory, probing the kernel lock, looking for a free name to set the
    # bytes aside, and the lock's own steps are all steps the faults below reach.
    assert {"listdir", "flock_busy", "lstat", "read_bytes"} <= set(probe.calls), probe.calls
    problems = []
    for code in (errno.EIO, errno.ENOSPC):
        for n in range(1, len(probe.calls) + 1):
            path, bad = _damaged(tmp_path / f"r{errno.errorcode[code]}{n}")
            fs = FaultFS(n, code)
            previous = _fs.set_default(fs)
            fs.arm()
            try:
                exit_code, out, err = run_recover(path)
            finally:
                _fs.set_default(previous)
            forget_lock(path)
            count("faults_injected", fs.injected)
            if "Traceback" in err or exit_code not in (0, 1):
                problems.append(f"step {n}: exit {exit_code}\n{err}")
            if bad not in files(os.path.dirname(path)).values():
                problems.append(f"step {n}: the unreadable bytes are gone")
            exit_code, out, err = run_recover(path)  # fault gone: recover finishes the job
            forget_lock(path)
            if exit_code != 0 or temps(path):
                problems.append(f"step {n}: second recover: exit {exit_code}, temps "
                                f"{temps(path)}\n{out}{err}")
            if load(path) != doc(1):
                problems.append(f"step {n}: recovered to {load(path)}")
    assert not problems, "\n".join(problems[:10])


def _with_previous(directory: Any) -> tuple[str, bytes]:
    """A good state file (doc 2), NAME.bak (doc 1), and the version a commit replaced but
    did not yet move into the backups (doc 3, newer than NAME.bak)."""
    directory.mkdir()
    path = directory / NAME
    with stateview.open(path, default=doc(1)) as state:
        state["version"] = 2
    forget_lock(path)
    previous = stateview._jsontext.dumps(doc(3)).encode()
    (directory / f".{NAME}.prev-0123456789ab.tmp").write_bytes(previous)
    return str(path), previous


def test_a_failed_look_while_moving_a_previous_version_keeps_it_for_the_next_run(
    tmp_path: Any,
) -> None:
    # Moving `.prev` into NAME.bak looks for the first free generation through the seam; a
    # look that fails (EIO) must fail that step, not take the name for free (the rename
    # would replace a backup) nor skip the move unnoticed. The `.prev` stays, and the next
    # run moves it with every backup kept.
    from stateview import _fs

    probe_path, _ = _with_previous(tmp_path / "probe")
    probe = CountingFS()
    previous_fs = _fs.set_default(probe)
    probe.arm()
    try:
        assert run_recover(probe_path)[0] == 0
    finally:
        _fs.set_default(previous_fs)
    forget_lock(probe_path)
    looks = probe.calls.count("lstat")
    assert looks >= 2, probe.calls
    problems = []
    for nth in range(1, looks + 1):
        path, moved = _with_previous(tmp_path / f"l{nth}")
        directory = os.path.dirname(path)
        bak = files(directory)[f"{NAME}.bak"]
        fs = FaultFS(nth, errno.EIO, only="lstat")
        previous_fs = _fs.set_default(fs)
        fs.arm()
        try:
            exit_code, out, err = run_recover(path)
        finally:
            _fs.set_default(previous_fs)
        forget_lock(path)
        if not fs.injected or "Traceback" in err or exit_code not in (0, 1):
            problems.append(f"look {nth}: injected {fs.injected}, exit {exit_code}\n{err}")
        kept = files(directory).values()
        if moved not in kept or bak not in kept:
            problems.append(f"look {nth}: a version is gone: {sorted(files(directory))}")
        exit_code, out, err = run_recover(path)  # the fault gone: the move completes
        forget_lock(path)
        after = files(directory)
        if exit_code != 0 or temps(path) or after.get(f"{NAME}.bak") != moved \
                or after.get(f"{NAME}.bak.2") != bak:
            problems.append(f"look {nth}: second run: exit {exit_code}, "
                            f"{sorted(after)}\n{out}{err}")
    assert not problems, "\n".join(problems)


def test_a_copy_whose_owner_cannot_be_looked_at_is_never_restored(tmp_path: Any) -> None:
    # In a shared directory only copies of trusted owners are restored; the look at a copy's
    # owner goes through the seam, and a copy whose owner cannot be checked is not trusted
    # (it is not taken for the caller's). With NAME.bak refused, nothing is left to restore.
    path, bad = _damaged(tmp_path / "d")
    backup = path + ".bak"

    class OwnerHidden(FaultFS):
        def lstat(self, p: str) -> os.stat_result:
            if p == backup:
                self.injected += 1
                raise OSError(errno.EIO, "injected EIO", p)
            return super().lstat(p)

    fs = OwnerHidden(0, errno.EIO)
    with pytest.raises(stateview.CorruptFile):
        StateFile(path, fs=fs).close()
    forget_lock(path)
    assert fs.injected
    assert files(os.path.dirname(path))[NAME] == bad  # untouched, for a person to fix
    with stateview.open(path) as state:  # the look works again: the backup is restored
        assert state.snapshot() == doc(1)
    forget_lock(path)
