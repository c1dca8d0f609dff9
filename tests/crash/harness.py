"""Shared helpers of the crash suites: figures, recovery runs, directory inspection.

The figures (crash states explored, faults injected, processes killed, lost or torn commits)
are counted here by every test and summed over pytest-xdist workers by ``conftest.py``;
``benchmarks/crash_figures.py`` runs the suites and prints them.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections import Counter
from typing import Any

from stateview import _lock
from stateview._paths import StatePaths

#: Counted by the tests; summed over workers at the end of the session.
FIGURES: Counter[str] = Counter()

FIGURE_NAMES = (
    "crash_states",          # distinct disk states after a simulated power cut, opened and checked
    "recovery_crash_states", # ... of which: states left by a recovery that itself lost power
    "crash_points",          # positions in an operation log at which power was cut
    "faults_injected",       # OSErrors raised through the seam, plus real faults
    "processes_killed",      # children that died by os._exit at step k or by SIGKILL
    "commits_acknowledged",  # commits a killed child reported durable before it died
    "lost_commits",          # an acknowledged commit missing after a crash (must stay 0)
    "torn_commits",          # a document that is neither the old nor the new version (must be 0)
    "failed_opens",          # a crash state that stateview.open refused to open (must be 0)
    "bad_files",             # malformed files opened (refused or restored, never overwritten)
)

DEEP = os.environ.get("STATEVIEW_DEEP", "") not in ("", "0")


def count(name: str, n: int = 1) -> None:
    FIGURES[name] += n


def run_recover(path: str | os.PathLike[str], apply: bool = True) -> tuple[int, str, str]:
    """Run ``stateview recover`` in this process (fast enough for thousands of states)."""
    from stateview.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = ["recover", os.fspath(path)] + (["--apply"] if apply else [])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse errors
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


def forget_lock(path: str | os.PathLike[str]) -> None:
    """Close this process's handle on a state file's lock file.

    The engine keeps one open lock fd per state file for the life of the process; the
    simulator opens thousands of throwaway directories, so it closes them itself.
    """
    key = os.path.abspath(StatePaths.of(path).lock)
    lock = _lock._registry.get(key)
    # A StateFile the test left open keeps the lock for a moment after its last commit
    # (the engine's linger); its keeper thread must not find the descriptor closed, or
    # worse, reused by a file the test opens next.
    deadline = time.monotonic() + 5.0
    while lock is not None and lock.owner is not None:
        assert time.monotonic() < deadline, f"{path}: the lock is still held after 5 s"
        time.sleep(0.001)
    lock = _lock._registry.pop(key, None)
    fd = getattr(lock, "_fd", None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def temps(path: str | os.PathLike[str]) -> list[str]:
    """Orphans: temp files of commits in flight, and previous versions not yet NAME.bak."""
    return [x.path for x in StatePaths.of(path).leftovers() if x.kind in ("temp", "previous")]


def files(directory: str | os.PathLike[str], skip_lock: bool = True) -> dict[str, bytes]:
    """Every regular file of ``directory`` by name, with its bytes."""
    found: dict[str, bytes] = {}
    for entry in sorted(os.listdir(directory)):
        full = os.path.join(directory, entry)
        if (skip_lock and entry.endswith(".lock")) or not os.path.isfile(full):
            continue
        with open(full, "rb") as f:
            found[entry] = f.read()
    return found


def describe(directory: str | os.PathLike[str]) -> str:
    """A short listing for assertion messages."""
    lines = []
    for name, data in files(directory).items():
        shown = data[:60] + (b"..." if len(data) > 60 else b"")
        lines.append(f"  {name} ({len(data)} B): {shown!r}")
    return "\n".join(lines) or "  (empty)"


def summary(figures: dict[str, Any]) -> str:
    return ", ".join(f"{name.replace('_', ' ')}: {figures.get(name, 0)}" for name in FIGURE_NAMES)


def clone(snapshot: Any, directory: str | os.PathLike[str], name: str = "state.json") -> str:
    """Write a :class:`simfs.Snapshot` into a new directory; returns the state file's path."""
    os.makedirs(directory)
    for entry, ino in snapshot.names.items():
        with open(os.path.join(directory, entry), "wb") as f:
            f.write(snapshot.inodes[ino][0])
        os.utime(os.path.join(directory, entry), ns=(snapshot.inodes[ino][1],) * 2)
    return os.path.join(directory, name)


def load(path: str | os.PathLike[str]) -> Any:
    """The document in ``path``, parsed strictly (raises CorruptFile)."""
    from stateview import _jsontext

    with open(path, "rb") as f:
        return _jsontext.loads(f.read(), os.fspath(path))
