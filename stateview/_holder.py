"""Naming a lock holder: this program's own record, and the kernel's view of who holds it.

The lock file's record is written by stateview writers. A process that is not one (another
user's ``flock NAME.lock sleep 1d``, say) holds the lock without saying so, and the record then
names whoever wrote it last. On Linux ``/proc/locks`` lists every ``flock`` with its pid and
the locked file's device and inode, which names the real holder.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from . import _fs
from ._postgres._url import hide_password, hide_url_passwords, is_store_url

__all__ = ["kernel_holders", "program", "real_holder"]


def _text(arg: str) -> str:
    # A command line may hold bytes that are not UTF-8 (Python keeps them as surrogates); the
    # record is JSON in UTF-8, so they are spelled as escapes rather than fail the encoding.
    return os.fsencode(arg).decode("utf-8", "backslashreplace")


def program() -> str:
    """This process's command line, as the lock record and a database row show it (at most
    200 characters). ``stateview copy postgresql://u:pw@h/db#doc state.json`` is recorded
    where every reader of the file or table sees it: a password in it is hidden first."""
    if not sys.argv:
        return "python"
    name = os.path.basename(sys.argv[0] or "python")
    if name == "__main__.py":  # `python -m pkg ...`: name the package, as the user typed it
        orig = getattr(sys, "orig_argv", [])
        if "-m" in orig[:-1]:
            name = "python -m " + orig[orig.index("-m") + 1]
    return _text(" ".join([name, *(_hidden(a) for a in sys.argv[1:])]))[:200]


def _hidden(arg: str) -> str:
    """A command-line argument without the passwords of the URLs in it: a URL as a whole
    (its password may hold a space), or inside an option (``--db=postgresql://...``)."""
    return hide_password(arg) if is_store_url(arg) else hide_url_passwords(arg)


def kernel_holders(st: os.stat_result, fs: _fs.FileSystem | None = None) -> list[int]:
    """Pids that hold a ``flock`` on the file ``st`` describes (Linux; ``[]`` elsewhere).

    ``/proc/locks`` is read through ``fs``'s seam (the default file system if ``None``).
    """
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        lines = (fs or _fs.get_default()).read_bytes("/proc/locks").decode(
            "ascii", "replace").splitlines()
    except OSError:
        return []
    pids: list[int] = []
    for line in lines:
        parts = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 08:02:1311 0 EOF"; waiters carry a "->" first.
        if len(parts) < 6 or parts[1] != "FLOCK" or parts[5] != key:
            continue
        try:
            pids.append(int(parts[4]))
        except ValueError:
            continue
    return pids


def _cmdline(pid: int, fs: _fs.FileSystem | None) -> str:
    try:
        raw = (fs or _fs.get_default()).read_bytes(f"/proc/{pid}/cmdline")
    except OSError:
        return "?"
    args = [a.decode("utf-8", "backslashreplace") for a in raw.split(b"\0") if a]
    return " ".join(args)[:200] or "?"


def real_holder(record: dict[str, Any], st: os.stat_result | None,
                alive: bool, fs: _fs.FileSystem | None = None) -> dict[str, Any]:
    """The holder to name when the lock is busy: the record, if it describes the holder.

    Args:
        record: what the lock file says.
        st: the lock file's status (``None`` when it could not be read).
        alive: whether the process the record names is alive.
        fs: the seam ``/proc`` is read through (the default file system if ``None``).

    Returns:
        The record when it names a live holder the kernel agrees with (or the kernel cannot
        tell); else the kernel's holder, ``source: "kernel"``; else ``{"unknown": True}``.
    """
    pids = kernel_holders(st, fs) if st is not None else []
    pid = record.get("pid")
    if record.get("held") and alive and (not pids or pid in pids):
        return record
    if pids:
        return {"pid": pids[0], "program": _cmdline(pids[0], fs), "source": "kernel"}
    if record.get("held") and alive:
        return record
    return {"unknown": True}
