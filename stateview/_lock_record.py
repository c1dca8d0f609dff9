"""The lock file's record: what it says, how it is written, and whom it names.

The record is one JSON object (``pid``, ``host``, ``program``, ``since``, ``exclusive``,
``held``, and ``last_commit``), padded with spaces to a multiple of 512 bytes, written
without fsync: it is for people, tools and the freshness check, never durable state. Readers
take no lock and may catch it half-written; that reads as ``{}``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from . import _fs
from ._holder import real_holder

__all__ = [
    "HOST", "LockState", "busy_holder", "decode", "encode", "now", "pid_alive", "probe",
    "read_info",
]

HOST = socket.gethostname()


def now() -> str:
    """The record's time stamps: UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def encode(info: dict[str, Any]) -> bytes:
    """The record's bytes, padded with spaces to a multiple of 512 (JSON allows trailing
    white space): a stable size spares an ``ftruncate`` on almost every write."""
    data = (json.dumps(info, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
    return data + b" " * (-len(data) % 512)


def decode(raw: bytes) -> dict[str, Any]:
    """The record in ``raw``; ``{}`` for anything torn, empty or not an object."""
    try:
        info = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def read_info(lock_path: str, fs: _fs.FileSystem | None = None) -> dict[str, Any]:
    """What the lock file says (its holder and last commit); ``{}`` if absent or unreadable.

    Read through ``fs``'s seam (the default file system if ``None``), which opens without
    blocking and refuses anything but a regular file: a FIFO someone put there says nothing.
    """
    try:
        raw = (fs or _fs.get_default()).read_bytes(lock_path)
    except OSError:
        return {}
    return decode(raw)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class LockState:
    """Who holds a state file's lock, found without taking it.

    Attributes:
        held: a live process holds it now.
        holder: the lock file's record of the current or last holder.
        stale: the file names a holder that is gone (the kernel freed the lock when it died);
            harmless, and ``stateview recover --apply`` clears the record.
        unreadable: this user may not read the lock file (it is open only to those who may
            write the state file): who holds it, if anyone, is not known.
    """

    held: bool
    holder: dict[str, Any]
    stale: bool
    unreadable: bool = False


def probe(lock_path: str, fs: _fs.FileSystem | None = None) -> LockState:
    """Tell who holds the lock without taking it (for the UI, check and recover)."""
    try:
        info = decode((fs or _fs.get_default()).read_bytes(lock_path))
    except PermissionError:  # a reader of the state file: the lock is its writers' business
        return LockState(held=False, holder={}, stale=False, unreadable=True)
    except OSError:
        info = {}
    if not info.get("held"):
        return LockState(held=False, holder=info, stale=False)
    pid = info.get("pid")
    if not isinstance(pid, int):
        return LockState(held=False, holder=info, stale=True)
    if info.get("host") not in (None, HOST):
        # Another machine (a shared filesystem): we cannot see its processes; trust the file.
        return LockState(held=True, holder=info, stale=False)
    if pid == os.getpid():
        from ._lock import held_here  # deferred: _lock imports this module

        alive = held_here(lock_path)
    else:
        alive = pid_alive(pid)
    return LockState(held=alive, holder=info, stale=not alive)


def busy_holder(lock_path: str, fs: _fs.FileSystem, fd: int | None) -> dict[str, Any]:
    """Who holds the lock, for a timeout's message: the record, if it is right.

    Args:
        lock_path: the lock file.
        fs: the seam its reads go through.
        fd: this process's descriptor of it, if open (its device and inode find the
            kernel's holder in ``/proc/locks``).
    """
    info = read_info(lock_path, fs)
    if info.get("host") not in (None, HOST):
        return info  # another machine: its processes are not ours to see
    try:
        st = fs.fstat(fd) if fd is not None else None
    except OSError:
        st = None
    pid = info.get("pid")
    alive = isinstance(pid, int) and pid_alive(pid)
    return real_holder(info, st, alive, fs)
