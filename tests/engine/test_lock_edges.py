"""The edges of the lock: odd command lines, other users, descriptors the program closed,
a second handle of the same file, holders the record does not name, and odd files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

import stateview
from stateview._holder import kernel_holders, real_holder

ROOT = os.geteuid() == 0


def _bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _run(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, timeout=timeout)


def test_non_utf8_byte_in_argv_opens_and_names_the_program(tmp_path: Any) -> None:
    path = str(tmp_path / "state.json")
    stateview.open(path, default={"n": 0}).close()
    # The program's arguments hold bytes that are not UTF-8 (a file name, say).
    done = subprocess.run([sys.executable, "-c", "import sys, stateview\n"
                           "with stateview.open(sys.argv[1]) as s: s['n'] = 2",
                           path.encode(), b"\xff\xfe"], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(_bytes(path)) == {"n": 2}
    record = json.loads(_bytes(path + ".lock"))
    assert "\\xff\\xfe" in record["last_commit"]["program"]
    assert record["held"] is False


@pytest.mark.parametrize("argv", [[b"set", b"/\xff", b"1"], [b"set", b"/a", b'"\xff"'],
                                  [b"get", b"/\xff"], [b"delete", b"/\xff"]],
                         ids=["set-pointer", "set-value", "get-pointer", "delete-pointer"])
def test_cli_non_utf8_pointer_or_value_is_a_clear_error(tmp_path: Any, argv: list[bytes]) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"a": 1}\n')
    done = subprocess.run([sys.executable, "-m", "stateview", argv[0], bytes(path), *argv[1:]],
                          capture_output=True, timeout=60)
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    assert b"not UTF-8" in done.stderr, done.stderr
    assert path.read_text() == '{"a": 1}\n'


def test_lock_file_is_open_to_the_state_files_writers_and_follows_a_chmod(
    tmp_path: Any
) -> None:
    path = tmp_path / "state.json"
    path.write_text("{}\n")
    os.chmod(path, 0o644)
    with stateview.open(path) as state:
        # Readers of the state file have no business with its lock (they could hold it).
        assert stat.S_IMODE(os.stat(f"{path}.lock").st_mode) == 0o600
        os.chmod(path, 0o664)
        time.sleep(0.05)  # past the engine's linger, so the next commit takes the lock afresh
        state["a"] = 1
        assert stat.S_IMODE(os.stat(f"{path}.lock").st_mode) == 0o660


@pytest.mark.skipif(not ROOT, reason="giving a file to another user needs root")
def test_lock_file_gets_the_state_file_owner_as_root(tmp_path: Any) -> None:
    path = tmp_path / "state.json"
    path.write_text("{}\n")
    os.chown(path, 4321, 4321)
    with stateview.open(path) as state:
        state["a"] = 1
    lock = os.stat(f"{path}.lock")
    assert (lock.st_uid, lock.st_gid) == (4321, 4321)


def test_timeout_names_the_kernel_holder_when_the_record_is_stale(tmp_path: Any) -> None:
    path = tmp_path / "state.json"
    with stateview.open(path, default={}) as state:
        state["a"] = 1
    # A process that is no stateview writer holds flock; the record names a dead one.
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import fcntl, os, sys, time
        fd = os.open(sys.argv[1], os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("held", flush=True)
        time.sleep(60)
        """), f"{path}.lock"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        with pytest.raises(stateview.LockTimeout) as caught:
            stateview.open(path, lock_timeout=0.2)
        assert caught.value.holder["pid"] == holder.pid
        assert caught.value.holder["source"] == "kernel"
        assert f"pid {holder.pid}" in str(caught.value)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_holder_is_unknown_when_neither_record_nor_kernel_names_it() -> None:
    assert real_holder({"pid": 999999999, "held": True}, None, alive=False) == {"unknown": True}
    message = str(stateview.LockTimeout("x.lock", {"unknown": True}, 1.0))
    assert "unknown" in message


def test_second_handle_inside_the_first_handles_transaction_fails_at_once(
    tmp_path: Any
) -> None:
    path = tmp_path / "state.json"
    first = stateview.open(path, default={"a": 0}, lock_timeout=30)
    second = stateview.open(path, lock_timeout=30)
    try:
        with first.transaction() as root:
            root["a"] = 1
            with pytest.raises(stateview.StateError, match="another StateFile of the same file"):
                second["b"] = 2
            with pytest.raises(stateview.StateError, match="another StateFile of the same file"):
                stateview.open(path, lock_timeout=30)
        second["b"] = 2  # after the block: both handles write
        assert second.snapshot() == {"a": 1, "b": 2}
    finally:
        second.close()
        first.close()


@pytest.mark.parametrize("exclusive", [True, False], ids=["held-for-life", "lingering"])
def test_descriptor_reused_after_closerange_is_left_alone(tmp_path: Any, exclusive: bool) -> None:
    path = str(tmp_path / "state.json")
    victim = str(tmp_path / "victim.txt")
    done = _run("""
        import os, sys, time, stateview
        from stateview._holder import kernel_holders
        path, victim, exclusive = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
        state = stateview.open(path, default={"n": 0}, exclusive=exclusive)
        state["n"] = 1
        os.closerange(3, 4096)  # what a daemonizing program does
        fd = os.open(victim, os.O_RDWR | os.O_CREAT, 0o644)  # reuses the lock's number
        os.write(fd, b"the victim's own data\\n")
        time.sleep(0.05)  # the keeper lets a lingering lock go meanwhile
        state["n"] = 2  # the lock is taken again first
        if exclusive:
            assert os.getpid() in kernel_holders(os.stat(path + ".lock")), "committed unlocked"
        state.close()
        """, path, victim, "1" if exclusive else "0")
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    assert _bytes(victim) == b"the victim's own data\n"
    assert json.loads(_bytes(path)) == {"n": 2}
    assert kernel_holders(os.stat(path + ".lock")) == []


@pytest.mark.parametrize("kind", ["fifo", "dir", "dev-null"])
def test_anything_but_a_regular_file_is_refused_before_a_lock_file_exists(
    tmp_path: Any, kind: str
) -> None:
    if kind == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    elif kind == "dir":
        path = str(tmp_path / "dir")
        os.mkdir(path)
    else:
        path = os.devnull
        if os.path.exists(path + ".lock"):
            pytest.skip("a /dev/null.lock is already there")
    with pytest.raises(stateview.StorageError, match="a state file must be a regular file"):
        stateview.open(path, default={})
    assert not os.path.exists(path + ".lock")
    cli = subprocess.run([sys.executable, "-m", "stateview", "set", path, "/a", "1"],
                         capture_output=True, timeout=60)
    assert cli.returncode == 1 and b"Traceback" not in cli.stderr
    assert b"regular file" in cli.stderr
    assert not os.path.exists(path + ".lock")


def test_lock_file_hard_linked_to_another_file_is_refused_and_that_file_untouched(
    tmp_path: Any
) -> None:
    # Where hard links to others' files are allowed (macOS, protected_hardlinks=0), another
    # user can plant NAME.lock as a second name of a file they may not write.
    precious = tmp_path / "precious.conf"
    precious.write_bytes(b"root:keep-me\n")
    os.chmod(precious, 0o640)
    path = tmp_path / "state.json"
    path.write_text('{"a": 0}\n')
    os.link(precious, tmp_path / "state.json.lock")
    with pytest.raises(stateview.StorageError, match="hard links"):
        stateview.open(path)
    result = subprocess.run([sys.executable, "-m", "stateview", "set", str(path), "/a", "1"],
                            capture_output=True, timeout=60)
    assert result.returncode == 1 and b"hard links" in result.stderr
    assert b"Traceback" not in result.stderr
    assert precious.read_bytes() == b"root:keep-me\n"
    assert stat.S_IMODE(os.stat(precious).st_mode) == 0o640
    assert json.loads(path.read_text()) == {"a": 0}


def test_fifo_planted_at_the_lock_file_is_refused_not_taken_over(tmp_path: Any) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"a": 0}\n')
    fifo = tmp_path / "state.json.lock"
    os.mkfifo(fifo, 0o666)
    os.chmod(fifo, 0o666)
    with pytest.raises(stateview.StorageError, match="not a regular file"):
        stateview.open(path, lock_timeout=1)
    result = subprocess.run([sys.executable, "-m", "stateview", "set", str(path), "/a", "1"],
                            capture_output=True, timeout=60)
    assert result.returncode == 1 and b"not a regular file" in result.stderr
    assert b"Traceback" not in result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and stat.S_IMODE(os.lstat(fifo).st_mode) == 0o666
    assert json.loads(path.read_text()) == {"a": 0}


@pytest.mark.parametrize("dangling", [False, True])
def test_symlink_at_the_lock_file_is_refused_saying_so_and_its_target_untouched(
    tmp_path: Any, dangling: bool
) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"a": 0}\n')
    target = tmp_path / "target"
    if not dangling:
        target.write_bytes(b"keep me\n")
    (tmp_path / "state.json.lock").symlink_to(target)
    with pytest.raises(stateview.StorageError, match="is a symbolic link") as caught:
        stateview.open(path, lock_timeout=1)
    assert "remove it, then try again" in str(caught.value)
    assert str(tmp_path / "state.json.lock") in str(caught.value)
    if dangling:
        assert not target.exists()  # not created through the link
    else:
        assert target.read_bytes() == b"keep me\n"
    assert json.loads(path.read_text()) == {"a": 0}


@pytest.mark.timeout(120)
def test_fifo_at_the_lock_file_does_not_hang_check_recover_or_a_readonly_monitor(
    tmp_path: Any
) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"a": 1}\n')
    os.mkfifo(tmp_path / "state.json.lock")
    for command in ("check", "recover"):  # both fail: every writer refuses it
        result = subprocess.run([sys.executable, "-m", "stateview", command, str(path)],
                                capture_output=True, timeout=60)
        assert result.returncode == 1, result.stdout + result.stderr
        assert b"every writer refuses" in result.stdout
        assert b"Traceback" not in result.stderr
    with stateview.open(path, readonly=True) as state:
        state.refresh()
        assert state.snapshot() == {"a": 1}


def test_descriptors_closed_inside_a_transaction_fail_its_commit_not_another_writers(
    tmp_path: Any
) -> None:
    # The program closes every descriptor inside a block: its lock is gone, and another
    # writer commits. The block's commit must not go ahead without the lock over that one.
    path = str(tmp_path / "state.json")
    done = _run("""
        import json, os, subprocess, sys, stateview
        path = sys.argv[1]
        state = stateview.open(path, default={"n": 0})
        try:
            with state.transaction() as root:
                root["n"] = 1
                os.closerange(3, 4096)  # what a daemonizing program does
                other = subprocess.run([sys.executable, "-m", "stateview", "set", path,
                                        "/other", "2"], capture_output=True)
                assert other.returncode == 0, other.stderr
        except stateview.CommitFailed as e:
            print("failed:", e)
        state["n"] = 3  # the lock is taken again, and the other writer's commit merged
        """, path)
    assert done.returncode == 0, done.stderr.decode()
    assert b"failed:" in done.stdout and b"closed by the program" in done.stdout
    assert json.loads(_bytes(path)) == {"n": 3, "other": 2}
