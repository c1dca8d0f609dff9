"""Whether this process could commit to the file at all, asked before anyone starts typing.

A commit creates a temp file beside the state file, renames it over the file and opens the
lock file for writing. Finding out that one of those is impossible only after the person
typed their change is the experience this module exists to prevent.

No Textual here; cheap system calls only (``statvfs``, ``access``), run on the watcher thread.
"""

from __future__ import annotations

import os

from .._paths import StatePaths

__all__ = ["write_problem"]


def write_problem(paths: StatePaths) -> str | None:
    """Why a commit to ``paths`` would fail for this process now, or ``None``."""
    directory = os.path.dirname(paths.target) or "."
    try:
        fs = os.statvfs(directory)
    except OSError as e:
        return f"cannot look at {directory}: {e.strerror}"
    if fs.f_flag & os.ST_RDONLY:
        return f"{directory} is on a read-only mount"
    if os.path.exists(paths.target) and not os.access(paths.target, os.W_OK):
        return f"no write permission on {os.path.basename(paths.target)}"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"no write permission in {directory} (a commit writes a new file there)"
    if os.path.exists(paths.lock) and not os.access(paths.lock, os.R_OK | os.W_OK):
        return f"no write permission on the lock file {os.path.basename(paths.lock)}"
    return None
