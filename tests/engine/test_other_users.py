"""A state file in a directory other users share: planted spares and symlinks, and files
beside the state file that must never be more readable than it."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
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


@pytest.mark.skipif(not ROOT, reason="planting a file as another user needs root")
def test_symlink_planted_at_a_directory_on_the_way_in_a_sticky_dir_is_refused(
        tmp_path: Any) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link = shared / "app"
    os.symlink(private, link)
    os.lchown(link, 4321, 4321)
    with pytest.raises(stateview.StorageError, match="protected_symlinks"):
        stateview.open(link / "state.json", default={})
    result = subprocess.run([sys.executable, "-m", "stateview", "set",
                             str(link / "state.json"), "/a", "1"], capture_output=True)
    assert result.returncode != 0 and b"Traceback" not in result.stderr
    assert os.listdir(private) == []
    # The directory's owner's own link is followed, as the kernel would.
    os.lchown(link, 0, 0)
    with stateview.open(link / "state.json", default={"n": 1}) as state:
        assert state["n"] == 1
    assert (private / "state.json").exists()


class SwapToLinkFS(_fs.FileSystem):
    """Another user's rename landing between the look at a sibling and its chmod."""

    def __init__(self, victim: str) -> None:
        self.victim = victim
        self.swapped: list[str] = []

    def chmod(self, path: str, mode: int) -> None:
        os.unlink(path)
        os.symlink(self.victim, path)
        self.swapped.append(path)
        super().chmod(path, mode)


def test_sibling_swapped_for_a_symlink_before_its_chmod_leaves_the_commit_standing(
        tmp_path: Any) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("theirs\n")
    os.chmod(victim, 0o644)
    path = tmp_path / "state.json"
    fs = SwapToLinkFS(str(victim))
    with StateFile(path, default={"n": 0}, backups=2, fs=fs) as state:
        state["n"] = 1
        os.chmod(tmp_path / "state.json.bak", 0o644)
        os.chmod(path, 0o600)
        state["n"] = 2  # narrows NAME.bak: swapped for a link first
        assert fs.swapped
        assert state["n"] == 2
    assert json.loads(path.read_text()) == {"n": 2}
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o644


@pytest.mark.skipif(not ROOT, reason="planting a file as another user needs root")
def test_temp_file_planted_by_another_user_is_not_restored_on_first_start(
        tmp_path: Any) -> None:
    os.chmod(tmp_path, 0o1777)
    planted = tmp_path / ".state.json.0123456789ab.tmp"
    planted.write_text('{"admin": "mallory"}\n')
    os.chown(planted, 4321, 4321)
    path = tmp_path / "state.json"
    with stateview.open(path, default={"admin": "root"}) as state:
        assert state.snapshot() == {"admin": "root"}
    assert json.loads(path.read_text()) == {"admin": "root"}
    assert os.stat(path).st_uid == 0


@pytest.mark.skipif(not ROOT, reason="planting a file as another user needs root")
def test_backup_planted_by_another_user_is_never_restored_by_recover(tmp_path: Any) -> None:
    os.chmod(tmp_path, 0o1777)
    path = tmp_path / "state.json"
    path.write_text('{"admin": "ro')  # torn
    os.chmod(path, 0o600)
    planted = tmp_path / "state.json.bak"
    planted.write_text('{"admin": "mallory"}\n')
    os.chown(planted, 4321, 4321)
    cli = [sys.executable, "-m", "stateview", "recover", str(path), "--apply"]
    result = subprocess.run(cli, capture_output=True, timeout=60)
    assert b"Traceback" not in result.stderr
    assert b"another user" in result.stdout + result.stderr
    assert path.read_text() == '{"admin": "ro'  # nothing good to restore: left as it was
    with pytest.raises(stateview.CorruptFile):
        stateview.open(path)
    # The state file's owner's own backup is restored as before.
    os.chown(planted, 0, 0)
    result = subprocess.run(cli, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(path.read_text()) == {"admin": "mallory"}


@pytest.mark.skipif(not ROOT, reason="planting a file as another user needs root")
def test_a_backup_planted_after_the_look_at_its_owner_is_never_restored(tmp_path: Any) -> None:
    # The look at NAME.bak's owner finds the name free (the owner's own program has just
    # rotated it away), and another user of the shared directory creates it before it is
    # read: what was read is looked at again, and another user's file is never restored.
    os.chmod(tmp_path, 0o1777)
    path = tmp_path / "state.json"
    backup = str(tmp_path / "state.json.bak")
    path.write_text('{"admin": "ro')  # torn
    with open(backup, "w") as f:
        f.write('{"admin": "root"}\n')

    class QuickNeighbour(_fs.FileSystem):
        planted = False

        def lstat(self, p: str) -> os.stat_result:
            if p != backup or self.planted:
                return super().lstat(p)
            os.unlink(backup)  # rotated away by its owner's program
            try:
                return super().lstat(p)
            finally:  # and at once another user's file takes the name
                with open(backup, "w") as f:
                    f.write('{"admin": "mallory"}\n')
                os.chown(backup, 4321, 4321)
                type(self).planted = True

    with pytest.raises(stateview.CorruptFile):
        StateFile(path, fs=QuickNeighbour()).close()
    assert QuickNeighbour.planted
    assert path.read_text() == '{"admin": "ro'  # nothing trusted to restore: left as it was


@pytest.fixture
def shared_dir() -> Any:
    """A sticky directory every user can reach (pytest's own temp dirs are private)."""
    import shutil
    import tempfile
    from pathlib import Path

    where = Path(tempfile.mkdtemp(prefix="stateview-shared-", dir="/tmp"))
    os.chmod(where, 0o1777)
    yield where
    shutil.rmtree(where, ignore_errors=True)


def _as_user(uid: int, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, user=uid, group=uid, extra_groups=[], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.skipif(not ROOT, reason="acting as another user needs root")
@pytest.mark.parametrize(("state_mode", "lock_mode", "others_hold"), [
    (0o644, 0o600, False), (0o664, 0o660, False), (0o666, 0o666, True)])
def test_only_those_who_may_write_the_state_file_may_open_its_lock(
        shared_dir: Any, state_mode: int, lock_mode: int, others_hold: bool) -> None:
    path = shared_dir / "state.json"
    with stateview.open(path, default={"n": 0}) as state:
        os.chmod(path, state_mode)
        state["n"] = 1  # the next lock matches the lock file to the state file
        state["n"] = 2
    lock = shared_dir / "state.json.lock"
    assert _mode(lock) == lock_mode
    # Another user reads the file, and can hold its lock only if it may write the file.
    read = _as_user(4321, "cat", str(path))
    assert read.returncode == 0 and json.loads(read.stdout) == {"n": 2}
    hold = _as_user(4321, "flock", "--nonblock", "--exclusive", str(lock), "true")
    if others_hold:
        assert hold.returncode == 0, hold.stderr
    else:
        assert hold.returncode != 0 and "Permission denied" in hold.stderr


@pytest.mark.skipif(not ROOT, reason="planting a file as another user needs root")
@pytest.mark.parametrize("state_exists", [False, True])
def test_a_lock_file_planted_by_a_user_who_may_not_write_is_refused(
        shared_dir: Any, state_exists: bool) -> None:
    path = shared_dir / "state.json"
    if state_exists:
        path.write_text('{"n": 1}\n')
        os.chmod(path, 0o644)
    lock = shared_dir / "state.json.lock"
    lock.write_text("")
    os.chown(lock, 4321, 4321)
    os.chmod(lock, 0o666)
    with pytest.raises(stateview.StorageError, match="uid 4321, who may not write") as caught:
        stateview.open(path, default={"n": 0})
    assert str(lock) in str(caught.value) and "remove it" in str(caught.value)
    assert os.stat(lock).st_uid == 4321 and lock.read_text() == ""
    if state_exists:
        assert path.read_text() == '{"n": 1}\n'
    else:
        assert not path.exists()
    # The same from the command line: one line naming the file, no traceback.
    result = subprocess.run([sys.executable, "-m", "stateview", "set", str(path), "/n", "2"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "uid 4321" in result.stderr and "Traceback" not in result.stderr
    # check fails where the writers do, with the same reason.
    checked = subprocess.run([sys.executable, "-m", "stateview", "check", str(path)],
                             capture_output=True, text=True, timeout=60)
    if state_exists:
        assert checked.returncode == 1, checked.stdout
        assert "uid 4321, who may not write" in checked.stdout + checked.stderr
    # Once the state file lets that user write, its lock file is a writer's, and is used.
    if state_exists:
        os.chmod(path, 0o666)
        with stateview.open(path) as state:
            state["n"] = 3
        assert json.loads(path.read_text()) == {"n": 3}


@pytest.mark.skipif(not ROOT, reason="planting a file as another user needs root")
def test_a_lock_file_made_by_a_group_writer_is_used(shared_dir: Any) -> None:
    import pwd

    try:
        writer = pwd.getpwnam("daemon")  # a real account, to look its groups up
    except KeyError:
        pytest.skip("no 'daemon' account on this system")
    path = shared_dir / "state.json"
    path.write_text('{"n": 1}\n')
    os.chown(path, 0, writer.pw_gid)
    os.chmod(path, 0o664)  # its group may write it: daemon, by its primary group
    lock = shared_dir / "state.json.lock"
    lock.write_text("")
    os.chown(lock, writer.pw_uid, writer.pw_gid)
    os.chmod(lock, 0o660)
    with stateview.open(path) as state:
        state["n"] = 2
    assert json.loads(path.read_text()) == {"n": 2}
    assert os.stat(lock).st_uid == 0  # root gives it the state file's owner
    # Without the group's write permission, the same file is a stranger's, and refused
    # (by a process that opens it now: this one keeps the descriptor it opened).
    os.chown(lock, writer.pw_uid, writer.pw_gid)
    os.chmod(path, 0o644)
    result = subprocess.run([sys.executable, "-m", "stateview", "set", str(path), "/n", "3"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "belongs to user daemon (uid 1), who may not write" in result.stderr
    assert json.loads(path.read_text()) == {"n": 2}


def _as_reader(*args: str) -> subprocess.CompletedProcess[str]:
    """``/usr/bin/python3 ARGS`` as uid 4321, with this checkout's stateview importable."""
    source = os.path.dirname(os.path.dirname(os.path.abspath(stateview.__file__)))
    return subprocess.run(["/usr/bin/env", f"PYTHONPATH={source}", "/usr/bin/python3", *args],
                          user=4321, group=4321, extra_groups=[], capture_output=True,
                          text=True, timeout=60, cwd="/tmp")


def _readable_by_all_lockable_by_its_owner(path: Any) -> StateFile:
    """A 0644 state file with two commits: its lock file is 0600, closed to its readers."""
    state = stateview.open(path, default={"n": 0})
    os.chmod(path, 0o644)
    state["n"] = 1
    state["n"] = 2  # the next lock matched the lock file to the state file
    assert _mode(f"{path}.lock") == 0o600
    return state


@pytest.mark.skipif(not ROOT, reason="acting as another user needs root")
def test_a_reader_who_may_not_open_the_lock_is_told_so_not_that_it_is_free(
        shared_dir: Any) -> None:
    path = shared_dir / "state.json"
    with (_readable_by_all_lockable_by_its_owner(path) as state,
          state.transaction() as root):  # held while the reader looks
        root["n"] = 3
        got = _as_reader("-m", "stateview", "get", str(path), "/n")
        assert (got.returncode, got.stdout.strip()) == (0, "2"), got.stderr
        status = _as_reader("-c", "import sys; from stateview._paths import StatePaths; "
                            "from stateview.tui._load import read_status; "
                            "print(read_status(StatePaths.of(sys.argv[1])).lock_text)",
                            str(path))
        assert status.returncode == 0, status.stderr
        assert status.stdout.strip() == "lock not readable (only its writers may)"
        recover = _as_reader("-m", "stateview", "recover", str(path))
        lock_line = [line for line in recover.stdout.splitlines() if "state.json.lock" in line]
        assert lock_line and "free" not in lock_line[0], recover.stdout
        assert "who holds the lock is not known" in lock_line[0]


def _stateview_as(uid: int, gid: int, groups: list[int],
                  *args: str) -> subprocess.CompletedProcess[str]:
    source = os.path.dirname(os.path.dirname(os.path.abspath(stateview.__file__)))
    return subprocess.run(["/usr/bin/env", f"PYTHONPATH={source}", "/usr/bin/python3", "-m",
                           "stateview", *args], user=uid, group=gid, extra_groups=groups,
                          capture_output=True, text=True, timeout=60, cwd="/tmp")


@pytest.mark.skipif(not ROOT, reason="acting as other users needs root")
def test_the_lock_file_takes_the_state_files_group_when_its_owner_is_not_root(
        shared_dir: Any) -> None:
    # The owner (uid 4321, primary group 4321, also in group 5555) shares the file with
    # group 5555: chgrp 5555, chmod 664. Its lock file, made with the owner's primary group,
    # must go to group 5555 too: else 5555's writers cannot open it, and group 4321, who may
    # only read the state file, could hold the lock for ever.
    team = shared_dir / "team"  # the group's own directory (in a sticky one, only the
    team.mkdir()  # owner could rename over the state file)
    os.chown(team, 4321, 5555)
    os.chmod(team, 0o775)
    path = team / "state.json"
    path.write_text('{"n": 0}\n')
    os.chown(path, 4321, 4321)
    owner = (4321, 4321, [5555])
    made = _stateview_as(*owner, "set", str(path), "/n", "1")
    assert made.returncode == 0, made.stderr
    os.chown(path, 4321, 5555)
    os.chmod(path, 0o664)
    again = _stateview_as(*owner, "set", str(path), "/n", "2")  # matches the lock file
    assert again.returncode == 0, again.stderr
    assert (os.stat(path).st_gid, _mode(path)) == (5555, 0o664)  # the commit kept both
    lock = team / "state.json.lock"
    assert os.stat(lock).st_gid == 5555 and _mode(lock) == 0o660
    colleague = _stateview_as(4322, 5555, [], "set", str(path), "/n", "3")
    assert colleague.returncode == 0, colleague.stderr
    assert json.loads(path.read_text()) == {"n": 3}
    assert (os.stat(path).st_gid, _mode(path)) == (5555, 0o664)
    reader = subprocess.run(["flock", "--nonblock", "--exclusive", str(lock), "true"],
                            user=4323, group=4321, extra_groups=[], capture_output=True,
                            text=True, timeout=60)  # the owner's group, not the file's
    assert reader.returncode != 0 and "Permission denied" in reader.stderr


_KEEPER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)  # while the lock file is still open to all
print("opened", flush=True)
sys.stdin.readline()  # the owner narrows the lock file meanwhile
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("holding", flush=True)
except OSError as e:
    print("refused", e, flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(not ROOT, reason="acting as another user needs root")
def test_a_descriptor_opened_before_the_lock_file_was_narrowed_cannot_keep_writers_out(
        shared_dir: Any) -> None:
    path = shared_dir / "state.json"
    lock = shared_dir / "state.json.lock"
    with stateview.open(path, default={"n": 0}) as state:
        os.chmod(path, 0o666)
        state["n"] = 1
        state["n"] = 2
    assert _mode(lock) == 0o666  # everyone may write the file, so may lock it
    with subprocess.Popen(["/usr/bin/python3", "-c", _KEEPER, str(lock)], user=4321,
                          group=4321, extra_groups=[], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as keeper:
        assert keeper.stdout is not None and keeper.stdin is not None
        assert keeper.stdout.readline() == "opened\n"
        os.chmod(path, 0o644)  # others may only read now
        with stateview.open(path) as state:
            state["n"] = 3  # narrows the lock file
        assert _mode(lock) == 0o600
        keeper.stdin.write("go\n")
        keeper.stdin.flush()
        # It holds whatever its old descriptor locks, for as long as it likes ...
        assert keeper.stdout.readline() == "holding\n"
        with stateview.open(path, lock_timeout=2) as state:
            state["n"] = 4  # ... and the writers are not kept out
        assert json.loads(path.read_text()) == {"n": 4}
        keeper.kill()
    assert _mode(lock) == 0o600 and os.stat(lock).st_nlink == 1


def test_a_narrowed_lock_file_that_cannot_be_replaced_stays_and_still_locks(
        tmp_path: Any, caplog: Any) -> None:
    class NoRename(_fs.FileSystem):
        def replace(self, src: str, dst: str) -> None:
            if dst.endswith(".lock"):
                raise OSError(28, "No space left on device", dst)
            super().replace(src, dst)

    path = tmp_path / "state.json"
    lock = tmp_path / "state.json.lock"
    with StateFile(path, default={"n": 0}) as state:
        os.chmod(path, 0o666)
        state["n"] = 1
    before = os.stat(lock).st_ino
    os.chmod(path, 0o644)
    with StateFile(path, fs=NoRename()) as state:
        state["n"] = 2
    assert "could not replace the lock file" in caplog.text
    assert (os.stat(lock).st_ino, _mode(lock)) == (before, 0o600)  # narrowed in place
    assert sorted(os.listdir(tmp_path)) == ["state.json", "state.json.bak", "state.json.lock"]
    assert json.loads(path.read_text()) == {"n": 2}


@pytest.mark.skipif(not ROOT, reason="acting as other users needs root")
@pytest.mark.parametrize("how", ["open", "copy"])
def test_the_group_may_write_a_state_file_its_creator_made_group_writable_at_once(
        shared_dir: Any, how: str) -> None:
    team = shared_dir / "team"  # a setgid directory of group 5555, as teams have
    team.mkdir()
    os.chown(team, 4321, 5555)
    os.chmod(team, 0o2775)
    path = team / "state.json"
    source = os.path.dirname(os.path.dirname(os.path.abspath(stateview.__file__)))
    if how == "open":
        make = ["-c", "import os, sys, stateview; os.umask(0o002); "
                "stateview.open(sys.argv[1], default={'n': 0}).close()", str(path)]
    else:
        (shared_dir / "seed.json").write_text('{"n": 0}\n')
        make = ["-c", "import os, sys, runpy; os.umask(0o002); sys.argv[0] = 'stateview'; "
                "runpy.run_module('stateview', run_name='__main__')", "copy",
                str(shared_dir / "seed.json"), str(path)]
    made = subprocess.run(["/usr/bin/env", f"PYTHONPATH={source}", "/usr/bin/python3", *make],
                          user=4321, group=4321, extra_groups=[5555], capture_output=True,
                          text=True, timeout=60, cwd="/tmp")
    assert made.returncode == 0, made.stderr
    assert (os.stat(path).st_gid, _mode(path)) == (5555, 0o664)
    assert _mode(team / "state.json.lock") == 0o660
    colleague = _stateview_as(4322, 5555, [], "set", str(path), "/n", "1")
    assert colleague.returncode == 0, colleague.stderr
    assert json.loads(path.read_text()) == {"n": 1}


@pytest.mark.skipif(not ROOT, reason="acting as another user needs root")
def test_check_by_a_reader_does_not_call_a_temp_file_orphaned_when_it_cannot_tell(
        shared_dir: Any) -> None:
    path = shared_dir / "state.json"
    _readable_by_all_lockable_by_its_owner(path).close()
    temp = shared_dir / ".state.json.0123456789ab.tmp"  # a writer's commit, as it may be
    temp.write_text('{"n": 3}\n')
    checked = _as_reader("-m", "stateview", "check", str(path))
    assert "Traceback" not in checked.stderr
    assert "orphan" not in checked.stdout and "not known" not in checked.stdout
    assert "of a commit in flight, or a commit that was interrupted" in checked.stdout
    assert "open only to the state file's writers" in checked.stdout
    # A writer can tell: no process holds the lock, so the temp file is an orphan.
    by_root = subprocess.run([sys.executable, "-m", "stateview", "check", str(path)],
                             capture_output=True, text=True, timeout=60)
    assert "orphan" in by_root.stdout


_COMMIT_AS = """
import logging, os, sys
import stateview
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
os.setgroups([int(sys.argv[3])])
os.setegid(int(sys.argv[3]))
os.seteuid(int(sys.argv[2]))
with stateview.open(sys.argv[1]) as state:
    for n in range(3):
        state["n"] = n
"""


@pytest.mark.skipif(not ROOT, reason="acting as another user needs root")
def test_a_writers_lock_file_open_to_others_is_used_with_one_warning_naming_its_owner(
        shared_dir: Any) -> None:
    import pwd

    try:
        owner = pwd.getpwnam("daemon")  # a real account, in the state file's group
    except KeyError:
        pytest.skip("no 'daemon' account on this system")
    team = shared_dir / "team"  # a group's directory (in a sticky one only owners rename)
    team.mkdir()
    os.chown(team, 0, owner.pw_gid)
    os.chmod(team, 0o2775)
    path = team / "state.json"
    path.write_text('{"n": -1}\n')
    os.chown(path, 0, owner.pw_gid)
    os.chmod(path, 0o664)
    lock = team / "state.json.lock"
    lock.write_text("")
    os.chown(lock, owner.pw_uid, owner.pw_gid)
    os.chmod(lock, 0o666)  # anyone could hold it; only daemon or root may narrow it
    # Another member of the group (not the lock's owner, not root) commits.
    result = subprocess.run([sys.executable, "-c", _COMMIT_AS, str(path), "4321",
                             str(owner.pw_gid)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(path.read_text()) == {"n": 2}
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, result.stderr
    assert f"only its owner (uid {owner.pw_uid}) or root can narrow it: chmod 660" in warnings[0]
    assert _mode(lock) == 0o666
