"""Whether this process could commit to the file at all, asked before anyone starts typing.

A commit creates a temp file beside the state file, renames it over the file and opens the
lock file for writing. Finding out that one of those is impossible only after the person
typed their change is the experience this module exists to prevent.

No Textual here; cheap system calls only (``statvfs``, ``access``), run on the watcher thread.
"""

from __future__ import annotations

import os
import stat

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
    sticky = _sticky_and_not_ours(directory, paths.target)
    if sticky is not None:
        return sticky
    if os.path.exists(paths.lock) and not os.access(paths.lock, os.R_OK | os.W_OK):
        return f"no write permission on the lock file {os.path.basename(paths.lock)}"
    return None


def _sticky_and_not_ours(directory: str, target: str) -> str | None:
    """In a sticky directory (``/tmp``) only a file's owner, the directory's and root may
    rename over it, and a commit renames its new version over the state file."""
    try:
        where, st = os.stat(directory), os.stat(target)
    except OSError:
        return None
    uid = os.geteuid()
    if not where.st_mode & stat.S_ISVTX or uid in (0, st.st_uid, where.st_uid):
        return None
    return (f"{directory} is a sticky directory, where only the owner of "
            f"{os.path.basename(target)} (uid {st.st_uid}) may replace it, as every commit does")
