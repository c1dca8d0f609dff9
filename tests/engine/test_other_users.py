"""A state file in a directory other users share: planted spares and symlinks, and files
beside the state file that must never be more readable than it."""

from __future__ import annotations

import os
import signal
import stat
from typing import Any

import pytest

import stateview
from stateview import _fs
from stateview._statefile import StateFile

ROOT = os.geteuid() == 0
LINUX_LEASES = _fs.FileSystem.recycles


class SpyFS(_fs.FileSystem):
    """The real file system, noting how each attempt to reuse the spare ended."""

    def __init__(self) -> None:
        self.spares: list[str] = []

    def open_spare(self, path: str, mode: int | None = None) -> int:
        try:
            fd = super().open_spare(path, mode)
        except OSError as e:
            self.spares.append(e.strerror or str(e))
            raise
        self.spares.append("reused")
        return fd


def _mode(path: Any) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_chmod_600_reaches_backups_spare_and_lock_at_the_next_commit(tmp_path: Any) -> None:
    path = tmp_path / "state.json"
    with stateview.open(path, default={"n": 0}, backups=2) as state:
        for n in range(1, 5):
            state["n"] = n
        spare = tmp_path / ".state.json.spare"
        siblings = [tmp_path / "state.json.bak", tmp_path / "state.json.bak.2",
                    tmp_path / "state.json.lock"] + ([spare] if spare.exists() else [])
        for p in siblings:
            os.chmod(p, 0o644)
        os.chmod(path, 0o600)
        state["n"] = 5
        for p in siblings + ([spare] if spare.exists() else []):
            if p.exists():
                assert _mode(p) == 0o600, p


@pytest.mark.skipif(not (ROOT and LINUX_LEASES), reason="needs root and Linux leases")
def test_spare_planted_by_another_user_is_never_reused(tmp_path: Any) -> None:
    os.chmod(tmp_path, 0o1777)
    path = tmp_path / "state.json"
    fs = SpyFS()
    with StateFile(path, default={"secret": 0}, fs=fs) as state:
        state["secret"] = 1
        os.chmod(path, 0o600)
        planted = tmp_path / ".state.json.spare"
        if planted.exists():
            planted.unlink()
        planted.write_bytes(b"PWNED\n")
        os.chown(planted, 4321, 4321)
        os.chmod(planted, 0o666)
        fs.spares.clear()
        state["secret"] = 2
        assert fs.spares == ["the spare belongs to another user"]
        assert (os.stat(path).st_uid, _mode(path)) == (0, 0o600)
        assert not planted.exists() or os.stat(planted).st_uid == 0
    assert b"PWNED" not in path.read_bytes()


@pytest.mark.skipif(not LINUX_LEASES, reason="needs Linux leases")
def test_spare_reused_only_after_its_mode_matches_the_state_file(tmp_path: Any) -> None:
    path = tmp_path / "state.json"
    fs = SpyFS()
    with StateFile(path, default={"n": 0}, fs=fs) as state:
        for n in range(1, 4):
            state["n"] = n
        spare = tmp_path / ".state.json.spare"
        assert spare.exists()
        os.chmod(spare, 0o666)
        os.chmod(path, 0o600)
        fs.spares.clear()
        state["n"] = 9
        assert fs.spares == ["reused"]
        assert _mode(path) == 0o600


@pytest.mark.skipif(not LINUX_LEASES, reason="needs Linux leases")
def test_spare_not_recycled_while_the_program_handles_sigurg(tmp_path: Any) -> None:
    previous = signal.signal(signal.SIGURG, lambda *_: None)
    try:
        path = tmp_path / "state.json"
        fs = SpyFS()
        with StateFile(path, default={"n": 0}, fs=fs) as state:
            for n in range(1, 4):
                state["n"] = n
        assert fs.spares and set(fs.spares) == {"the program handles SIGURG itself"}
    finally:
        signal.signal(signal.SIGURG, previous)
    fs = SpyFS()
    with StateFile(path, fs=fs) as state:  # the default handling again: recycled
        for n in range(4, 7):
            state["n"] = n
    assert "reused" in fs.spares


@pytest.mark.skipif(not ROOT, reason="planting a file as another user needs root")
def test_symlink_planted_by_another_user_in_a_sticky_dir_is_refused(tmp_path: Any) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link = shared / "state.json"
    os.symlink(private / "state.json", link)
    os.lchown(link, 4321, 4321)
    with pytest.raises(stateview.StorageError, match="protected_symlinks"):
        stateview.open(link, default={})
    assert os.listdir(private) == []
    # The directory's owner's own link, and the caller's, are followed.
    os.lchown(link, 0, 0)
    with stateview.open(link, default={"n": 1}) as state:
        assert state["n"] == 1
    assert (private / "state.json").exists()
