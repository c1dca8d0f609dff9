"""I/O errors at every step the lock file takes, through the seam.

Opening, committing and closing call the lock file's steps (open, flock, fstat, pwrite,
ftruncate) through the FileSystem seam. A fault in any of them either leaves the operation
successful (the record is for humans: a failed write of it is a warning) or fails it with a
clean StorageError; either way no lock stays held, neither in the kernel's lock table nor in
this process's bookkeeping, so the next open here and in another process succeeds at once.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import subprocess
import sys
from typing import Any

import pytest

import stateview
from stateview._check import check_file
from stateview._holder import kernel_holders
from stateview._statefile import StateFile

from .harness import forget_lock, load
from .seams import LOCK_STEPS, CountingFS, FaultFS

CODES = (errno.EIO, errno.ENOSPC)


def _session(path: str, fs: CountingFS) -> None:
    """What a short-lived writer does: open, one commit, close."""
    state = StateFile(path, fs=fs, lock_timeout=1)
    try:
        state["n"] = state["n"] + 1
    finally:
        state.close()


def _fresh(path: str) -> None:
    """``{"n": 0}`` at ``path`` (its directory made), with no writer left in this process."""
    os.makedirs(os.path.dirname(path))
    stateview.open(path, default={"n": 0}).close()
    forget_lock(path)


def _counted_session(tmp_path: Any) -> list[str]:
    """The seam's calls, in order, of one fault-free session on a fresh file."""
    path = str(tmp_path / "count" / "state.json")
    _fresh(path)
    fs = CountingFS(lock_steps=True)
    fs.arm()
    _session(path, fs)
    fs.disarm()
    forget_lock(path)
    return fs.calls


def _lock_calls(tmp_path: Any) -> list[tuple[str, int]]:
    """Every lock step of one session, as (method, how many calls of it so far)."""
    seen: dict[str, int] = {}
    steps = []
    for name in _counted_session(tmp_path):
        seen[name] = seen.get(name, 0) + 1
        if name in LOCK_STEPS:
            steps.append((name, seen[name]))
    return steps


def _assert_lock_free(path: str, label: str) -> None:
    lock = path + ".lock"
    assert os.getpid() not in kernel_holders(os.stat(lock)), f"{label}: flock still held"
    with StateFile(path, lock_timeout=1) as state:  # this process: no stale owner left
        state["after"] = True
    assert load(path)["after"] is True, label


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "persistent"])
@pytest.mark.parametrize("code", CODES, ids=[errno.errorcode[c] for c in CODES])
def test_fault_at_every_lock_step_leaves_the_lock_free(
    tmp_path: Any, code: int, persistent: bool, caplog: Any
) -> None:
    steps = _lock_calls(tmp_path)
    assert {name for name, _ in steps} >= {"open_lock", "flock", "pread", "pwrite", "fstat"}, \
        steps
    failures = []
    outcomes = set()
    for i, (name, nth) in enumerate(steps):
        path = str(tmp_path / f"s{i}" / "state.json")
        os.makedirs(os.path.dirname(path))
        stateview.open(path, default={"n": 0}).close()
        forget_lock(path)
        label = f"{name} #{nth} {errno.errorcode[code]}"
        fs = FaultFS(nth, code, persistent, only=name, lock_steps=True)
        fs.arm()
        try:
            _session(path, fs)
            outcomes.add("ok")
        except stateview.StorageError as e:
            outcomes.add("failed")
            if e.errno != code:
                failures.append(f"{label}: {e!r}")
        except Exception as e:  # any other error is the defect reported
            failures.append(f"{label}: not a clean StorageError: {e!r}")
        fs.clear()
        try:
            assert fs.injected, f"{label}: no fault injected"
            _assert_lock_free(path, label)
            assert load(path)["n"] in (0, 1), label
        except AssertionError as e:
            failures.append(str(e))
        finally:
            forget_lock(path)
    assert not failures, "\n".join(failures)
    assert outcomes == {"ok", "failed"}, outcomes


class _RefusingFS(FaultFS):
    """Refuses to look at the state file once it holds the flock, and reports an
    error from every close of the lock's descriptor (after closing it, as Linux does)."""

    def __init__(self, target: str) -> None:
        super().__init__(0, errno.EIO, lock_steps=True)
        self.target = target
        self.closes = 0
        self.flocked = False

    def flock(self, fd: int, operation: int) -> None:
        super().flock(fd, operation)
        self.flocked = bool(operation & fcntl.LOCK_EX)

    def stat(self, path: str) -> os.stat_result:
        if self.armed and self.flocked and path == self.target:
            self.injected += 1
            raise OSError(errno.EIO, "injected EIO looking at the state file", path)
        return super().stat(path)

    def close_lock(self, fd: int) -> None:
        super().close_lock(fd)
        self.closes += 1
        raise OSError(errno.EIO, "injected EIO closing the lock file")


def test_a_failed_look_while_locking_fails_cleanly_and_a_failed_close_still_frees_the_lock(
    tmp_path: Any,
) -> None:
    # Taking the lock matches the lock file to the state file's mode; the state file cannot
    # be looked at, so the acquire is undone by closing the descriptor, and that close
    # reports an error too. The lock must be free all the same, here and for others.
    path = str(tmp_path / "case" / "state.json")
    _fresh(path)
    fs = _RefusingFS(os.path.realpath(path))
    fs.arm()
    with pytest.raises(stateview.StorageError) as info:
        _session(path, fs)
    fs.clear()
    assert info.value.errno == errno.EIO, info.value
    assert fs.injected and fs.closes, (fs.injected, fs.closes)
    _assert_lock_free(path, "after a refused look and a failed close")
    assert load(path) == {"n": 0, "after": True}
    forget_lock(path)


@pytest.mark.parametrize("nth", [1, 2], ids=["taking-the-lock", "noting-the-creation"])
def test_failed_record_write_on_create_is_a_warning_and_frees_the_lock(
    tmp_path: Any, caplog: Any, nth: int
) -> None:
    path = str(tmp_path / "state.json")
    fs = FaultFS(nth, errno.ENOSPC, only="pwrite", lock_steps=True)
    fs.arm()
    with caplog.at_level(logging.WARNING, logger="stateview"):
        state = StateFile(path, default={"n": 0}, fs=fs)
    fs.clear()
    assert fs.injected == 1
    assert any("lock" in r.getMessage() and "ENOSPC" in r.getMessage()
               for r in caplog.records), caplog.text
    assert state.snapshot() == {"n": 0}
    state.close()
    # Another process takes it at once.
    code = (f"import stateview; s = stateview.open({path!r}, lock_timeout=2); s['n'] = 5; "
            "s.close()")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert load(path) == {"n": 5}
    forget_lock(path)


_CRASHING_CHILD = """
import sys
from tests.crash.seams import CrashFS
from stateview._statefile import StateFile
fs = CrashFS(int(sys.argv[2]))
fs.lock_steps = True
fs.arm()
state = StateFile(sys.argv[1], fs=fs, lock_timeout=5)
state["n"] = state["n"] + 1
state.close()
"""


def test_crash_at_every_lock_step_leaves_a_whole_file_and_a_free_lock(tmp_path: Any) -> None:
    calls = _counted_session(tmp_path)
    at_lock_steps = [k for k, name in enumerate(calls) if name in LOCK_STEPS]
    assert at_lock_steps
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    for k in at_lock_steps:  # exit right before lock step k+1 runs
        case = str(tmp_path / f"k{k}" / "state.json")
        _fresh(case)
        child = subprocess.run([sys.executable, "-c", _CRASHING_CHILD, case, str(k)],
                               cwd=root, capture_output=True, timeout=60)
        label = f"exit before step {k + 1} ({calls[k]})"
        assert child.returncode == 137, f"{label}: {child.stderr.decode()}"
        assert load(case)["n"] in (0, 1), label
        assert kernel_holders(os.stat(case + ".lock")) == [], label
        with StateFile(case, lock_timeout=1) as state:  # taken at once
            state["n"] = 5
        forget_lock(case)


@pytest.mark.parametrize("record", [b"", b"\0" * 512, b'{"pid": 1, "held": tr', b"\xff\xfe{",
                                    b'{"pid": 4194305, "held": true, "last_commit": {"tok'],
                         ids=["empty", "nul-bytes", "torn", "not-utf8", "torn-commit"])
def test_a_lock_record_torn_by_power_loss_is_harmless(tmp_path: Any, record: bytes) -> None:
    # The lock file is written without fsync: after a power cut its record may be empty, NUL
    # bytes (XFS), or cut anywhere. Opening, committing and checking must not mind.
    path = str(tmp_path / "state.json")
    stateview.open(path, default={"n": 0}).close()
    forget_lock(path)
    with open(path + ".lock", "wb") as f:
        f.write(record)
    with StateFile(path, lock_timeout=1) as state:
        state["n"] = 1
    assert load(path) == {"n": 1}
    forget_lock(path)
    assert check_file(path).ok
