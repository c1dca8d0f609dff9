"""Real faults, no mocks: a file-size limit, a read-only mount, a full disk, a directory where
the file should be, and the state directory removed while the server runs.

Each commit must fail with a clean ``stateview.CommitFailed`` carrying the errno, memory and
file as before, no temp file left, and the next commit succeeds once the fault is gone.
Mount-based tests need root and mount(2); they skip with that reason elsewhere.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

import stateview
from stateview import _lock

from .harness import count, files, forget_lock, load, temps

NAME = "state.json"
#: A failed file-system step: CommitFailed during the write, StorageError (its base) before it.
CLEAN = getattr(stateview, "StorageError", stateview.CommitFailed)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


def _umount(path: Any, forget: bool = False) -> None:
    # Lock files the engine keeps open would make the mount busy: at teardown, close ours
    # first, and detach lazily if something else still holds it.
    prefix = os.path.abspath(path) + os.sep
    for key in [k for k in _lock._registry if k.startswith(prefix)] if forget else ():
        forget_lock(key[: -len(".lock")])
    done = subprocess.run(["umount", str(path)], check=False, capture_output=True, timeout=30)
    if done.returncode:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True,
                       timeout=30)


def _can_mount(tmp_path: Any) -> str | None:
    """None if this process can mount here, else the reason it cannot."""
    if os.geteuid() != 0:
        return "needs root (mount(2))"
    probe = tmp_path / "mount-probe"
    probe.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe))
    except (OSError, subprocess.CalledProcessError) as e:
        return f"mount(2) is not permitted here: {e}"
    _umount(probe)
    return None


def _expect_clean_failure(state: stateview.StateFile, path: Any, code: int) -> None:
    before_mem = state.snapshot()
    before_disk = None
    if os.path.isfile(path):
        with open(path, "rb") as f:
            before_disk = f.read()
    with pytest.raises(CLEAN) as info:
        state["big"] = "x" * 20_000
    count("faults_injected")
    assert info.value.errno == code, repr(info.value)
    assert state.snapshot() == before_mem
    if before_disk is not None:
        with open(path, "rb") as f:
            assert f.read() == before_disk
    assert not temps(path)


def test_file_size_limit_efbig_in_a_child(tmp_path: Any) -> None:
    path = tmp_path / NAME
    with stateview.open(path, default={"small": True}):
        pass
    forget_lock(path)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import json, resource, signal, stateview
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # get EFBIG rather than a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        state = stateview.open({str(path)!r})
        try:
            state["big"] = "x" * 20000
            print(json.dumps({{"error": None}}))
        except stateview.CommitFailed as e:
            print(json.dumps({{"error": e.errno, "memory": state.snapshot()}}))
        state.close()
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    count("faults_injected")
    assert result["error"] == errno.EFBIG
    assert result["memory"] == {"small": True}
    assert path.read_bytes() == before
    assert not temps(path), files(tmp_path)
    with stateview.open(path) as state:  # no limit here: the same commit succeeds
        state["big"] = "x" * 20_000
    forget_lock(path)
    assert load(path)["big"] == "x" * 20_000


@pytest.fixture
def mountable(tmp_path: Any) -> Iterator[list[Any]]:
    reason = _can_mount(tmp_path)
    if reason:
        pytest.skip(reason)
    mounted: list[Any] = []
    yield mounted
    for m in reversed(mounted):
        _umount(m, forget=True)


def test_read_only_directory_fails_cleanly_then_recovers(tmp_path: Any, mountable: Any) -> None:
    # As root, chmod does not stop writes; a read-only bind mount of the directory does.
    d = tmp_path / "ro"
    d.mkdir()
    path = d / NAME
    state = stateview.open(path, default={"n": 1})
    _mount("--bind", str(d), str(d))
    mountable.append(d)
    _mount("-o", "remount,bind,ro", str(d))
    try:
        _expect_clean_failure(state, path, errno.EROFS)
        run = subprocess.run([sys.executable, "-m", "stateview", "set", str(path), "/n", "2"],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    finally:
        _umount(d)
        mountable.remove(d)
    state["n"] = 3
    assert load(path) == {"n": 3}
    state.close()
    forget_lock(path)


def test_full_disk_enospc_fails_cleanly_then_recovers(tmp_path: Any, mountable: Any) -> None:
    d = tmp_path / "small"
    d.mkdir()
    _mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(d))
    mountable.append(d)
    path = d / NAME
    state = stateview.open(path, default={"n": 1})
    filler = d / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for _ in range(1000):  # 256 KiB at most: the loop ends on ENOSPC long before
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    _expect_clean_failure(state, path, errno.ENOSPC)
    filler.unlink()
    state["big"] = "x" * 20_000
    assert load(path) == {"n": 1, "big": "x" * 20_000}
    state.close()
    forget_lock(path)


def test_state_file_replaced_by_a_directory(tmp_path: Any) -> None:
    path = tmp_path / NAME
    state = stateview.open(path, default={"n": 1})
    path.unlink()
    path.mkdir()
    _expect_clean_failure(state, path, errno.EISDIR)
    assert path.is_dir(), "the directory someone put there must not be touched"
    with pytest.raises(stateview.StateError):  # a fresh open refuses it clearly too
        stateview.open(tmp_path / NAME, default={"x": 1}, lock_timeout=1)
    path.rmdir()
    state["n"] = 2
    assert load(path) == {"n": 2}
    state.close()
    forget_lock(path)


def test_state_directory_removed_while_the_server_runs(tmp_path: Any) -> None:
    d = tmp_path / "gone"
    d.mkdir()
    path = d / NAME
    state = stateview.open(path, default={"n": 1, "keep": [1, 2]})
    shutil.rmtree(d)
    before = state.snapshot()
    with pytest.raises(stateview.StateError) as info:
        state["n"] = 2
    count("faults_injected")
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOENT
    assert state.snapshot() == before
    d.mkdir()
    state["n"] = 3  # the directory is back: the whole document is written again
    assert load(path) == {"n": 3, "keep": [1, 2]}
    state.close()
    forget_lock(path)
