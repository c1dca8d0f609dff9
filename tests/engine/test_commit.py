# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""stateview._commit.replace_file: the atomic, durable replace, step by step."""

from __future__ import annotations

import os
import stat

import pytest

from stateview import CommitFailed
from stateview._commit import replace_file
from stateview._fs import FileSystem
from stateview._paths import StatePaths

from ._helpers import CountingFS, FaultFS, file_bytes, fingerprint


def _order(fs: CountingFS, temp: str, target: str) -> dict[str, int]:
    """Where the protocol's landmarks happened in the recorded steps."""
    where = {}
    for i, (name, args) in enumerate(fs.calls):
        if name == "replace" and args == (temp, target):
            where["rename"] = i
        elif name == "link" and args[0] == target:
            where["keep previous"] = i
        elif name not in where:
            where[name] = i
    return where


def test_first_commit_creates_the_file_in_protocol_order(path):
    fs = CountingFS()
    paths = StatePaths.of(path)
    replace_file(paths, b"{}\n", fs, backups=1)
    assert file_bytes(path) == b"{}\n"
    assert fs.names() == ["open_new", "write_all", "fsync", "close", "replace", "fsync_dir"]
    assert paths.leftovers() == []


def test_later_commit_writes_syncs_keeps_the_previous_renames_then_syncs_directory(path):
    paths = StatePaths.of(path)
    path.write_bytes(b"[1]\n")
    fs = CountingFS()
    replace_file(paths, b"[2]\n", fs, backups=1)
    temp = fs.calls[0][1][0]
    assert os.path.dirname(temp) == str(path.parent)
    at = _order(fs, temp, str(path))
    assert at["open_new"] < at["write_all"] < at["fsync"] < at["close"] < at["rename"]
    assert at["keep previous"] < at["rename"] < at["fsync_dir"]
    assert fs.calls[at["fsync_dir"]][1] == (str(path.parent),)
    assert file_bytes(path) == b"[2]\n"
    assert file_bytes(paths.backup(1)) == b"[1]\n"
    assert [x.kind for x in paths.leftovers()] == ["backup"]


def test_mode_of_the_file_is_kept(path):
    path.write_bytes(b"{}\n")
    os.chmod(path, 0o600)
    replace_file(StatePaths.of(path), b"[]\n", CountingFS())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_new_file_gets_the_umask_mode(path):
    replace_file(StatePaths.of(path), b"{}\n", CountingFS())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_a_symlink_stays_a_symlink_and_its_target_gets_the_data(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "data.json"
    target.write_bytes(b"[1]\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    replace_file(StatePaths.of(link), b"[2]\n", CountingFS(), backups=1)
    assert link.is_symlink()
    assert file_bytes(target) == b"[2]\n"
    assert file_bytes(tmp_path / "real" / "data.json.bak") == b"[1]\n"
    assert sorted(os.listdir(tmp_path)) == ["link.json", "real"]


def test_backups_zero_keeps_no_copy_and_leaves_nothing(path):
    paths = StatePaths.of(path)
    for n in range(3):
        replace_file(paths, f"[{n}]\n".encode(), CountingFS(), backups=0)
    assert file_bytes(path) == b"[2]\n"
    # The replaced version is retired as the spare the next commit writes into.
    spare = [".state.json.spare"] if FileSystem.recycles else []
    assert sorted(os.listdir(path.parent)) == [*spare, "state.json"]


def test_backups_rotate_newest_first(path):
    paths = StatePaths.of(path)
    for n in range(1, 6):
        replace_file(paths, f"[{n}]\n".encode(), CountingFS(), backups=3)
    assert file_bytes(path) == b"[5]\n"
    assert [file_bytes(paths.backup(g)) for g in (1, 2, 3)] == [b"[4]\n", b"[3]\n", b"[2]\n"]
    assert not os.path.exists(paths.backup(4))


def test_a_directory_in_the_files_place_is_refused(path):
    path.mkdir()
    with pytest.raises(CommitFailed) as info:
        replace_file(StatePaths.of(path), b"{}\n", CountingFS())
    assert isinstance(info.value.__cause__, IsADirectoryError) or "regular" in str(info.value)
    assert path.is_dir()


@pytest.mark.parametrize("step", ["open_new", "write_all", "fsync", "link", "replace",
                                  "fsync_dir"])
def test_a_failed_step_leaves_the_file_as_it_was_and_no_temp(path, step):
    paths = StatePaths.of(path)
    replace_file(paths, b"[0]\n", CountingFS())
    replace_file(paths, b"[1]\n", CountingFS())
    before = fingerprint(path)
    fs = FaultFS()
    fs.armed = step
    with pytest.raises(CommitFailed) as info:
        replace_file(paths, b"[2]\n", fs, backups=1)
    assert info.value.errno == 5
    assert isinstance(info.value.__cause__, OSError)
    assert file_bytes(path) == before[0]
    assert [x for x in paths.leftovers() if x.kind == "temp"] == []
    replace_file(paths, b"[3]\n", fs, backups=1)  # the fault is gone: the next one works
    assert file_bytes(path) == b"[3]\n"


class _RefusesOnce(FileSystem):
    """Refuses (EIO) the first rename onto a name ending with ``suffix``; with ``dir_sync``,
    the directory fsync after it, and then the first rename of the undo that does not put
    the state file back."""

    def __init__(self, suffix: str, dir_sync: bool = False) -> None:
        self.suffix, self.dir_sync, self.failed = suffix, dir_sync, 0

    def replace(self, src: str, dst: str) -> None:
        if self.failed == 0 and dst.endswith(self.suffix):
            self.failed = 1
            raise OSError(5, "injected EIO")
        if self.failed == 2 and not dst.endswith("state.json"):
            self.failed = 3
            raise OSError(5, "injected EIO")
        super().replace(src, dst)

    def fsync_dir(self, path: str) -> None:
        if self.dir_sync and self.failed == 1:
            self.failed = 2
            raise OSError(5, "injected EIO")
        super().fsync_dir(path)


def _versions(path) -> dict[str, bytes]:
    return {name: (path.parent / name).read_bytes() for name in sorted(os.listdir(path.parent))
            if name.startswith("state.json") and not name.endswith(".lock")}


def _history(path, backups: int, n: int) -> StatePaths:
    paths = StatePaths.of(path)
    for v in range(1, n + 1):
        replace_file(paths, f"[{v}]\n".encode(), FileSystem(), backups=backups)
    return paths


@pytest.mark.parametrize("backups", [1, 2, 3])
def test_a_refused_backup_rename_loses_no_kept_version(path, backups):
    # One rename of the backup chain fails before the directory fsync: the commit goes on,
    # and the chain finishes shifting after it, from where it stopped.
    paths = _history(path, backups, backups + 3)
    replace_file(paths, b"[new]\n", _RefusesOnce(".bak"), backups=backups)
    after = _versions(path)
    want = {"state.json": b"[new]\n"}
    want.update({os.path.basename(paths.backup(g)): f"[{backups + 4 - g}]\n".encode()
                 for g in range(1, backups + 1)})
    assert after == want


@pytest.mark.parametrize("backups", [0, 1, 3])
def test_a_failed_directory_fsync_puts_the_file_back_first(path, backups):
    # The directory fsync fails, and then one of the renames that undo the backup shift:
    # the state file still shows the last acknowledged version.
    paths = _history(path, backups, backups + 3)
    fs = _RefusesOnce("no such name", dir_sync=True)
    fs.failed = 1  # fail the directory fsync itself
    with pytest.raises(CommitFailed):
        replace_file(paths, b"[new]\n", fs, backups=backups)
    assert file_bytes(path) == f"[{backups + 3}]\n".encode()
    assert fs.failed == (2 if backups == 0 else 3)  # backups=0: nothing else to undo
    # Whatever could not be put back, no kept version was overwritten.
    held = set(_versions(path).values()) | {
        (path.parent / n).read_bytes() for n in os.listdir(path.parent) if n.startswith(".")}
    kept = {f"[{v}]\n".encode() for v in range(3, backups + 4)}
    assert kept <= held, sorted(held)


def test_a_gap_in_the_backups_stops_the_shift(path):
    # NAME.bak.2 deleted by hand: NAME.bak moves into the gap, NAME.bak.3 keeps its version.
    paths = _history(path, 3, 5)
    os.unlink(paths.backup(2))
    replace_file(paths, b"[6]\n", FileSystem(), backups=3)
    assert _versions(path) == {"state.json": b"[6]\n", "state.json.bak": b"[5]\n",
                               "state.json.bak.2": b"[4]\n", "state.json.bak.3": b"[2]\n"}


@pytest.mark.parametrize("backups", [1, 3])
@pytest.mark.parametrize("kind", ["directory", "symlink"])
def test_a_backup_name_holding_what_stateview_never_writes_fails_the_commit_untouched(
        path, backups, kind):
    """The rotation would move it (into the spare, which is thrown away): a user's directory
    at NAME.bak must not vanish into a hidden name."""
    paths = StatePaths.of(path)
    path.write_bytes(b"[1]\n")
    for generation in range(1, backups):
        (path.parent / os.path.basename(paths.backup(generation))).write_bytes(b"[0]\n")
    odd = path.parent / os.path.basename(paths.backup(backups))
    if kind == "directory":
        odd.mkdir()
        (odd / "keep.txt").write_text("mine")
    else:
        odd.symlink_to(path.parent / "elsewhere")
    before = sorted(os.listdir(path.parent))
    said = "a directory" if kind == "directory" else "a symbolic link"
    with pytest.raises(CommitFailed, match=f"is {said}, not a backup stateview wrote.*move it"):
        replace_file(paths, b"[2]\n", FileSystem(), backups=backups)
    assert file_bytes(path) == b"[1]\n"
    assert sorted(os.listdir(path.parent)) == before
    if kind == "directory":
        assert (odd / "keep.txt").read_text() == "mine"
    else:
        assert odd.is_symlink()
