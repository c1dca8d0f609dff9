"""Crash leftovers beside a state file, judged the way ``stateview recover`` will act on them.

What counts as a problem, and why:

- an orphaned temp file (no live writer holds the lock) is an unacknowledged commit, and an
  orphaned ``.NAME.prev-*.tmp`` a replaced version not yet rotated into ``NAME.bak``: errors;
- a lock file that every writer refuses (a symlink, a FIFO, a directory, a file with other
  names) keeps them all out until a person removes it: error, named as the engine names it;
- a lock record naming a holder that is gone means a writer died holding it, perhaps
  mid-commit: a warning (the kernel freed the lock), cleared by ``recover --apply``;
- a set-aside corrupt copy is kept *on purpose* (stateview never deletes one) so a person can
  look at it: a warning, shown but not failing, or ``check`` could never pass after a recovery;
- backups are the configured ``backups=N`` working as intended: notes, shown with ``-v``.
"""

from __future__ import annotations

import os
import shlex

from .._errors import describe_holder
from .._fs import get_default
from .._lock import probe
from .._lock_file import lock_file_refusal
from .._paths import StatePaths
from ._result import INFO, WARNING, Problem

__all__ = ["leftover_problems", "recover_command", "recoverable_note"]


# Files that exist only while a writer commits: (what it is, what an orphan of it means).
_IN_FLIGHT = {
    "temp": ("temp file", "a commit that was interrupted before it was acknowledged"),
    "previous": ("copy of the replaced version",
                 "a commit was interrupted before it turned it into NAME.bak"),
}


def recover_command(shown: str) -> str:
    return f"stateview recover {shlex.quote(shown)} --apply"


def leftover_problems(shown: str, paths: StatePaths) -> list[Problem]:
    """Problems and notes about the files a crash or a recovery left beside ``paths``.

    Args:
        shown: the state file as the user named it (used in the commands we suggest).
        paths: its on-disk names.
    """
    # List first, probe second: a live commit's temp file exists only while its writer holds
    # the lock, so a temp seen in the listing that still exists after a probe found the lock
    # free is an orphan, not a commit that was in flight when we looked.
    found = paths.leftovers()
    lock = probe(paths.lock)
    fix = recover_command(shown)
    out: list[Problem] = []
    where = _Namer(shown, paths)
    refusal = lock_file_refusal(get_default(), paths.lock, paths.target)
    if refusal is not None:
        # No writer can lock, so none commits (the probe above found no holder): the same
        # refusal they meet, so that check fails where `stateview set` would.
        out.append(Problem(
            "unusable-lock", f"every writer refuses this lock file: {refusal.strerror}",
            file=where(paths.lock)))
    elif lock.stale:
        holder = describe_holder(lock.holder).replace("locked", "held", 1)
        out.append(Problem(
            "stale-lock", f"the lock record says it is {holder}, but that process is gone (it "
            f"stopped while holding the lock, perhaps mid-commit); harmless, as the kernel "
            f"freed the lock; `{fix}` clears the record",
            file=where(paths.lock), fix=fix, severity=WARNING))
    elif lock.held:
        out.append(Problem("locked", describe_holder(lock.holder), file=where(paths.lock),
                           severity=INFO))
    for leftover in found:
        name = where(leftover.path)
        if leftover.kind in _IN_FLIGHT:
            what, orphan = _IN_FLIGHT[leftover.kind]
            if lock.held:
                out.append(Problem(leftover.kind, f"{what} of a commit in flight by the live "
                                   "lock holder", file=name, severity=INFO))
            elif lock.unreadable:  # a reader: whether a writer is committing is not known
                out.append(Problem(leftover.kind, f"{what}: of a commit in flight, or "
                                   f"{orphan} (the lock file is open only to the state file's "
                                   f"writers: `stateview recover {shlex.quote(shown)}` run by "
                                   "one of them tells)", file=name,
                                   severity=WARNING))
            elif os.path.lexists(leftover.path):
                out.append(Problem(
                    f"orphan-{leftover.kind}", f"an orphaned {what}: {orphan}; `{fix}` resolves "
                    "it (without --apply: the plan)", file=name, fix=fix))
        elif leftover.kind == "corrupt":
            out.append(Problem(
                "corrupt-copy", "an unreadable version that recovery set aside; stateview never "
                "deletes it: compare it with the file, then delete it yourself "
                f"(`stateview recover {shlex.quote(shown)}` lists it)",
                file=name, severity=WARNING))
        elif leftover.kind == "backup":
            out.append(Problem("backup", f"backup generation {leftover.generation} (a previous "
                               "version, kept by backups=N)", file=name, severity=INFO))
        else:  # a kind this version does not know yet: say so rather than hide it
            out.append(Problem(leftover.kind, f"a {leftover.kind} file left beside the state "
                               f"file (`stateview recover {shlex.quote(shown)}` explains it)",
                               file=name, severity=WARNING))
    return out


def recoverable_note(shown: str, problems: list[Problem]) -> Problem | None:
    """A hint that a damaged file can be restored, when temp files or backups exist."""
    kinds = ("orphan-temp", "temp", "orphan-previous", "previous", "backup")
    copies = [p.file for p in problems if p.kind in kinds and p.file]
    if not copies:
        return None
    fix = recover_command(shown)
    return Problem(
        "recoverable", f"{len(copies)} possible cop{'y' if len(copies) == 1 else 'ies'} to "
        f"restore from ({', '.join(copies[:3])}{', ...' if len(copies) > 3 else ''}); `{fix}` "
        "restores the newest good one, if any is (without --apply it shows which)",
        severity=WARNING, fix=fix)


class _Namer:
    """Leftover paths shown the way the user named the state file (relative stays relative)."""

    def __init__(self, shown: str, paths: StatePaths) -> None:
        given_dir = os.path.dirname(shown)
        same = os.path.abspath(given_dir or ".") == paths.directory
        self._prefix = given_dir if same else paths.directory

    def __call__(self, path: str) -> str:
        return os.path.join(self._prefix, os.path.basename(path))
