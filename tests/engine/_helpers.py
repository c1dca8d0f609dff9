"""Shared helpers of the engine tests: reading the file back, counting commits, child scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

from stateview import _fs

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_child.py")
DEEP = os.environ.get("STATEVIEW_DEEP") == "1"


def expected_bytes(value: Any) -> bytes:
    """What the file must hold for ``value``: the on-disk contract, byte for byte."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def file_bytes(path: str | os.PathLike[str]) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _stored(state: Any) -> tuple[Any, bytes]:
    from urllib.parse import quote

    from stateview._postgres import PostgresStore

    url = state._store.url
    with PostgresStore(f"{url.conninfo}#{quote(url.document, safe='')}") as store:
        snap = store.load()
    assert snap.data is not None, "the database holds no document"
    return snap.version, snap.data


def stored_bytes(state: Any) -> bytes:
    """What the store holds for ``state``'s document: the file's bytes, or the database's."""
    if state._paths is not None:
        return file_bytes(state._paths.target)
    return _stored(state)[1]


def stored_fingerprint(state: Any) -> Any:
    """:func:`fingerprint` of the file, or the database's version and bytes: unchanged means
    nothing was written."""
    if state._paths is not None:
        return fingerprint(state._paths.target)
    return _stored(state)


def assert_on_disk(state: Any, model: Any = None) -> None:
    """The store holds exactly the document (and ``model`` when given), in canonical form."""
    snap = state.snapshot()
    if model is not None:
        assert snap == model
        assert stored_bytes(state) == expected_bytes(model)
    raw = stored_bytes(state)
    assert json.loads(raw) == snap
    assert raw == expected_bytes(snap)


def fingerprint(path: str | os.PathLike[str]) -> tuple[bytes, int, int]:
    """Bytes, mtime and inode: unchanged means nothing was written."""
    st = os.stat(path)
    return file_bytes(path), st.st_mtime_ns, st.st_ino


class CountingFS(_fs.FileSystem):
    """The real file system, recording each step; optionally slow at fsync (to batch)."""

    def __init__(self, fsync_delay: float = 0.0) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fsync_delay = fsync_delay
        self._mutex = threading.Lock()
        self._local = threading.local()

    def _note(self, name: str, *args: Any) -> None:
        with self._mutex:
            self.calls.append((name, args))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def replaces_onto(self, target: str) -> int:
        return sum(1 for name, args in self.calls if name == "replace" and args[1] == target)

    def open_new(self, path: str, mode: int) -> int:
        self._note("open_new", path, mode)
        return super().open_new(path, mode)

    def fchmod(self, fd: int, mode: int) -> None:
        self._note("fchmod", mode)
        super().fchmod(fd, mode)

    def write_all(self, fd: int, data: bytes) -> None:
        self._note("write_all", len(data))
        super().write_all(fd, data)

    def fsync(self, fd: int) -> None:
        if getattr(self._local, "in_dir", False):  # fsync_dir's own fsync is one step
            super().fsync(fd)
            return
        self._note("fsync")
        if self.fsync_delay:
            time.sleep(self.fsync_delay)
        super().fsync(fd)

    def close(self, fd: int) -> None:
        self._note("close")
        super().close(fd)

    def link(self, src: str, dst: str) -> None:
        self._note("link", src, dst)
        super().link(src, dst)

    def replace(self, src: str, dst: str) -> None:
        self._note("replace", src, dst)
        super().replace(src, dst)

    def unlink(self, path: str) -> None:
        self._note("unlink", path)
        super().unlink(path)

    def fsync_dir(self, path: str) -> None:
        self._note("fsync_dir", path)
        self._local.in_dir = True
        try:
            super().fsync_dir(path)
        finally:
            self._local.in_dir = False


class FaultFS(_fs.FileSystem):
    """Fails the next call of one step with an OSError while armed."""

    def __init__(self, sync: bool = True) -> None:
        self.armed: str | None = None
        self.error = OSError(5, "Input/output error")
        # sync=False skips the real fsyncs: for logic tests (the model) that commit thousands
        # of times and prove nothing about durability.
        self.sync = sync

    def _maybe_fail(self, step: str) -> None:
        if self.armed == step:
            self.armed = None
            raise self.error

    def _spoil_spare(self, step: str) -> None:
        # The spare's steps fail with the plain step they stand for, without disarming: the
        # commit falls back to a new temp file, whose own step then fails the commit.
        if self.armed == step:
            raise self.error

    def open_spare(self, path: str, mode: int | None = None) -> int:
        self._spoil_spare("open_new")
        return super().open_spare(path, mode)

    def rewrite(self, fd: int, data: bytes) -> None:
        self._spoil_spare("write_all")
        super().rewrite(fd, data)

    def datasync(self, fd: int) -> None:
        self._spoil_spare("fsync")
        if self.sync:
            super().datasync(fd)

    def open_new(self, path: str, mode: int) -> int:
        self._maybe_fail("open_new")
        return super().open_new(path, mode)

    def write_all(self, fd: int, data: bytes) -> None:
        self._maybe_fail("write_all")
        super().write_all(fd, data)

    def fsync(self, fd: int) -> None:
        self._maybe_fail("fsync")
        if self.sync:
            super().fsync(fd)

    def link(self, src: str, dst: str) -> None:
        self._maybe_fail("link")
        super().link(src, dst)

    def replace(self, src: str, dst: str) -> None:
        self._maybe_fail("replace")
        super().replace(src, dst)

    def fsync_dir(self, path: str) -> None:
        self._maybe_fail("fsync_dir")
        if self.sync:
            super().fsync_dir(path)


def child(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``_child.py`` with ``args`` in a real Python process."""
    return subprocess.Popen([sys.executable, CHILD, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for_file(path: str | os.PathLike[str], proc: subprocess.Popen[str] | None = None,
                  limit: float = 30.0) -> None:
    """Wait (bounded) until ``path`` exists; fail early if ``proc`` died."""
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"child exited {proc.returncode}: {out}\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {limit}s")
        time.sleep(0.01)


def finish(proc: subprocess.Popen[str], limit: float = 120.0) -> str:
    """Wait for a child; assert it succeeded; return its stdout."""
    out, err = proc.communicate(timeout=limit)
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{out}\n{err}"
    return out


def stateview_cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stateview", *args], capture_output=True,
                          text=True, timeout=timeout)


def cli_has(command: str) -> bool:
    """Whether ``stateview COMMAND`` exists yet (get/set/delete land separately)."""
    from stateview.cli import build_parser

    parser = build_parser()
    for action in parser._actions:
        choices = getattr(action, "choices", None)
        if isinstance(choices, dict) and command in choices:
            return True
    return False
