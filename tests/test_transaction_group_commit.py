"""Transactions from several threads share writes, and one built on a failed write fails."""

import errno
import json
import threading

import pytest

import stateview
from stateview._fs import FileSystem
from stateview._statefile import StateFile


class CountingFS(FileSystem):
    def __init__(self) -> None:
        self.renames = 0

    def replace(self, src: str, dst: str) -> None:
        if not dst.endswith((".bak",)) and ".bak." not in dst:
            self.renames += 1
        super().replace(src, dst)


def test_eight_threads_in_transactions_lose_nothing_and_share_writes(tmp_path):
    path = tmp_path / "state.json"
    fs = CountingFS()
    state = StateFile(path, default={"n": 0, "per": {}}, fs=fs)
    before = fs.renames

    def work(i: int) -> None:
        for _ in range(25):
            with state.transaction() as root:
                root["n"] += 1
                root["per"][str(i)] = root["per"].get(str(i), 0) + 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert json.loads(path.read_text()) == {"n": 200, "per": {str(i): 25 for i in range(8)}}
    assert state.snapshot()["n"] == 200
    writes = fs.renames - before
    assert writes <= 200
    print(f"200 transactions from 8 threads in {writes} writes")
    state.close()


class FailFirstWriteFS(FileSystem):
    """The next fsync waits until told to go on, then fails with EIO."""

    def __init__(self) -> None:
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def fsync(self, fd: int) -> None:
        if self.armed:
            self.armed = False
            self.entered.set()
            self.release.wait(30)
            raise OSError(errno.EIO, "Input/output error")
        super().fsync(fd)


def test_a_transaction_built_on_a_write_that_fails_fails_and_leaves_nothing(tmp_path):
    path = tmp_path / "state.json"
    fs = FailFirstWriteFS()
    state = StateFile(path, default={"a": 0, "b": 0}, fs=fs)
    before = path.read_bytes()
    fs.armed = True
    errors: list[BaseException] = []

    def autocommit() -> None:
        try:
            state["a"] = 1
        except stateview.StateError as e:
            errors.append(e)

    writer = threading.Thread(target=autocommit)
    writer.start()
    assert fs.entered.wait(30)  # a = 1 is applied in memory and being written
    with pytest.raises(stateview.CommitFailed) as info, state.transaction() as root:
        assert root["a"] == 1  # it sees the change on its way to disk
        fs.release.set()  # ... which now fails
        writer.join(30)
        root["b"] = root["a"] + 1
    assert info.value.errno == errno.EIO
    assert len(errors) == 1 and isinstance(errors[0], stateview.CommitFailed)
    assert path.read_bytes() == before
    assert state.snapshot() == {"a": 0, "b": 0}
    state["b"] = 5  # the fault is gone: the next commit works
    assert json.loads(path.read_text()) == {"a": 0, "b": 5}
    state.close()
