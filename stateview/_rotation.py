"""Which backups a commit moves, and moving them (docs/design.md, "The commit, step by step",
steps 6 and 8).

The rotation shifts ``.NAME.prev-*`` into ``NAME.bak`` and each ``NAME.bak.G`` up one
generation, the oldest into the spare or out. :func:`backup_chain` looks at the names
before the commit writes anything; :func:`backup_moves` turns what it saw into renames.
"""

from __future__ import annotations

import errno
import stat

from ._errors import CommitFailed
from ._fs import FileSystem
from ._paths import StatePaths

__all__ = ["backup_chain", "backup_moves", "rename_all"]


def backup_chain(paths: StatePaths, fs: FileSystem, backups: int) -> tuple[int, bool]:
    """Look, before anything is written, at which backups the rotation will move.

    Looked at through the seam and before phase 1, so that a name that cannot be looked at
    fails the commit while nothing has changed: taken as free, the rename onto it could
    free a kept version before the commit is durable; taken as present, the rotation would
    stop short and leave an orphan.

    Returns:
        How many backups, from ``NAME.bak`` on, form an unbroken chain (at most
        ``backups - 1``: those that shift up one generation), and whether the oldest kept
        one (the next name up) exists, so that the shift would free it.

    Raises:
        CommitFailed: a backup's name could not be looked at (anything but "not there"), or
            holds something stateview never writes there (a directory, a symlink, a FIFO):
            the rotation would move it, and the spare it reaches is thrown away.
    """
    if backups == 0:
        return 0, False
    top = 0
    while top + 1 < backups and _present(paths, fs, paths.backup(top + 1)):
        top += 1
    return top, top + 1 == backups and _present(paths, fs, paths.backup(top + 1))


def _present(paths: StatePaths, fs: FileSystem, path: str) -> bool:
    try:
        st = fs.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        raise CommitFailed(paths.target, "looking at the backups", e) from e
    if not stat.S_ISREG(st.st_mode):
        what = ("a directory" if stat.S_ISDIR(st.st_mode) else
                "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file")
        raise CommitFailed(paths.target, "looking at the backups", OSError(
            errno.EEXIST, f"{path} is {what}, not a backup stateview wrote; the rotation "
            "would move it: move it away, then commit again (nothing was changed)", path))
    return True


def backup_moves(
    paths: StatePaths, chain: tuple[int, bool], backups: int, previous: str | None,
    recycle: bool,
) -> tuple[list[tuple[str, str]], bool]:
    """The renames that move ``previous`` into ``NAME.bak`` and shift the older backups.

    Args:
        chain: what :func:`backup_chain` found before the commit began (the lock keeps
            every other writer, and recovery, from changing the backups since).

    Returns:
        The renames in order, and whether one of them replaces (frees) a kept version: then
        they must wait until the commit is durable, or a failed commit would lose it.
    """
    if previous is None:
        return [], False
    if backups == 0:
        return ([(previous, paths.spare)] if recycle else []), False
    top, oldest_exists = chain
    moves: list[tuple[str, str]] = []
    frees = False
    # Only what moves up displaces the oldest: a gap in the chain stops the shift.
    shifting = [previous] + [paths.backup(g) for g in range(1, backups)]
    if oldest_exists:
        if recycle:
            moves.append((paths.backup(top + 1), paths.spare))
        else:
            frees = True
    for generation in range(top + 1, 0, -1):
        moves.append((shifting[generation - 1], paths.backup(generation)))
    return moves, frees


def rename_all(
    fs: FileSystem, moves: list[tuple[str, str]], done: list[tuple[str, str]]
) -> None:
    """Do ``moves`` in order until one fails, adding each one done to ``done``."""
    for src, dst in moves:
        try:
            fs.replace(src, dst)
        except OSError:
            return
        done.append((src, dst))
