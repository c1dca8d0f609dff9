"""The spare: the version that falls out of the backups is overwritten by a later commit.

Freeing the oldest file and allocating a new one each commit is a third of a small commit's
cost on ext4 mounted with ``discard``. The spare trades that for a rule: nothing that someone
may still be reading is ever written, and nothing but garbage is written in place.
"""

from __future__ import annotations

import mmap
import os
import subprocess
import sys

import pytest

import stateview
from stateview._fs import FileSystem

from ._helpers import CountingFS

pytestmark = pytest.mark.skipif(not FileSystem.recycles, reason="recycling needs Linux leases")


def spare_of(path) -> str:
    return os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".spare")


def test_a_commit_writes_into_the_spare_the_one_before_retired(tmp_path):
    path = tmp_path / "state.json"
    fs = CountingFS()
    with stateview.StateFile(path, default={"n": 0}, fs=fs) as state:
        state["n"] = 1  # NAME.bak (the default) is now the oldest kept version
        state["n"] = 2  # ... and falls out: it becomes the spare
        retired = os.stat(spare_of(path)).st_ino
        calls = len(fs.calls)
        state["n"] = 3
        assert os.stat(path).st_ino == retired
        assert "open_new" not in fs.names()[calls:]
        assert state.snapshot() == {"n": 3}
        assert stateview._jsontext.loads(path.read_bytes(), str(path)) == {"n": 3}
        assert b'"n": 2' in (tmp_path / "state.json.bak").read_bytes()
    assert not os.path.lexists(spare_of(path))


@pytest.mark.parametrize("how", ["descriptor", "mmap", "other process"])
def test_a_version_someone_still_reads_is_never_overwritten(tmp_path, how):
    path = tmp_path / "state.json"
    state = stateview.open(path, default={"n": 0, "pad": "x" * 5000})
    before = path.read_bytes()
    reader = open(path, "rb")  # noqa: SIM115 - held open across the commits
    child = None
    view = None
    if how == "mmap":
        view = mmap.mmap(reader.fileno(), 0, prot=mmap.PROT_READ)
        reader.close()
    elif how == "other process":
        reader.close()
        child = subprocess.Popen(
            [sys.executable, "-c", "import sys; f = open(sys.argv[1], 'rb'); print('open', "
             "flush=True); sys.stdin.read()", str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline() == "open\n"
    try:
        for n in range(1, 6):  # the version read rotates out and would be the spare twice
            state["n"] = n
        if view is not None:
            assert view[:] == before
        elif child is None:
            reader.seek(0)
            assert reader.read() == before
        # Either way no inode anyone holds was reused for a newer version.
        assert path.read_bytes() != before
        assert stateview._jsontext.loads(path.read_bytes(), str(path))["n"] == 5
    finally:
        if view is not None:
            view.close()
        if child is not None:
            child.communicate("", timeout=30)
        if not reader.closed:
            reader.close()
        state.close()


def test_the_held_version_is_intact_when_read_from_another_process(tmp_path):
    # The reader opens the file, the writer commits past it, then the reader reads.
    path = tmp_path / "state.json"
    state = stateview.open(path, default={"n": 0, "pad": "y" * 3000})
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; f = open(sys.argv[1], 'rb'); print('open', "
         "flush=True); sys.stdin.readline(); sys.stdout.buffer.write(f.read())", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"open\n"
        for n in range(1, 6):
            state["n"] = n
        out, _ = child.communicate(b"go\n", timeout=30)
        assert out == before
    finally:
        if child.poll() is None:
            child.kill()
        state.close()


def test_a_spare_with_another_name_or_a_symlink_is_not_written_through(tmp_path):
    path = tmp_path / "state.json"
    state = stateview.open(path, default={"n": 0})
    state["n"] = 1
    state["n"] = 2
    keep = tmp_path / "someone's link"
    os.link(spare_of(path), keep)  # a hard link: writing in place would change this file
    kept = keep.read_bytes()
    state["n"] = 3
    assert keep.read_bytes() == kept
    if os.path.lexists(spare_of(path)):
        os.unlink(spare_of(path))
    outside = tmp_path / "outside"
    outside.write_bytes(b"not stateview's\n")
    os.symlink(outside, spare_of(path))
    state["n"] = 4
    assert outside.read_bytes() == b"not stateview's\n"
    assert stateview._jsontext.loads(path.read_bytes(), str(path)) == {"n": 4}
    state.close()


def test_check_and_recover_see_no_leftover_in_a_spare(tmp_path):
    path = tmp_path / "state.json"
    state = stateview.open(path, default={"n": 0})
    for n in range(1, 4):
        state["n"] = n
    assert os.path.lexists(spare_of(path))
    assert [x.kind for x in state._paths.leftovers()] == ["backup"]
    for command in (["check", str(path)], ["recover", str(path)]):
        run = subprocess.run([sys.executable, "-m", "stateview", *command],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        assert ".state.json.spare" not in run.stdout
    state.close()


def test_someone_opening_the_spare_during_the_check_does_not_kill_the_writer(tmp_path):
    # Opening a file breaks a lease on it, and the kernel signals the lease holder (SIGIO by
    # default, which ends a process). The check holds its lease for microseconds; here the
    # writer pauses inside it while another process opens the spare.
    path = tmp_path / "state.json"
    writer = (
        "import fcntl, sys, time\n"
        "import stateview\n"
        "real = fcntl.fcntl\n"
        "def slow(fd, cmd, arg=0):\n"
        "    result = real(fd, cmd, arg)\n"
        "    if cmd == 1024 and arg == fcntl.F_WRLCK:\n"
        "        print('lease', flush=True)\n"
        "        time.sleep(0.2)\n"
        "    return result\n"
        "fcntl.fcntl = slow\n"
        "state = stateview.open(sys.argv[1], default={'n': 0})\n"
        "for n in range(1, 4):\n"
        "    state['n'] = n\n"
        "state.close()\n"
        "print('done', flush=True)\n")
    child = subprocess.Popen([sys.executable, "-c", writer, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "lease\n"  # the third commit checks the spare
    fd = os.open(spare_of(path), os.O_RDONLY)  # a backup tool or an indexer, say
    os.close(fd)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, (child.returncode, out, err)
    assert out.strip().endswith("done")
    assert stateview._jsontext.loads(path.read_bytes(), str(path)) == {"n": 3}
