# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""atransaction on real event loops and real files: group commit shared with threads, the loop
never blocked, tasks serialized, and cancellation at every await point leaving memory and disk
consistent."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

import stateview
from stateview._fs import FileSystem
from stateview._statefile import StateFile

from ._helpers import CountingFS, assert_on_disk

LIMIT = 60.0  # seconds any one test's loop may run before it counts as hung


def run(coro: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, LIMIT)

    return asyncio.run(bounded())


async def hold_block(state: StateFile) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Start a task whose ``atransaction`` sets ``/a`` to 1 and waits inside the block.

    Returns once the task is inside, with the task and the event that lets it leave.
    """
    inside, leave = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with state.atransaction() as root:
            root["a"] = 1
            inside.set()
            await leave.wait()

    task = asyncio.create_task(holder())
    await inside.wait()
    return task, leave



def on_disk(path: Any) -> Any:
    with open(path, "rb") as f:
        return json.loads(f.read())


class HeldFsync(FileSystem):
    """Real fsyncs, but each waits until the test lets it go (bounded), while armed."""

    def __init__(self) -> None:
        self.armed = False
        self.fail = False  # the held fsync then fails with EIO
        self.entered = threading.Event()
        self.go = threading.Event()

    def _hold(self) -> None:
        if self.armed:
            self.entered.set()
            if not self.go.wait(LIMIT):
                raise OSError(5, "the test never let the fsync go")
            if self.fail:
                self.armed = self.fail = False
                raise OSError(5, "Input/output error")

    def fsync(self, fd: int) -> None:
        self._hold()
        super().fsync(fd)

    def datasync(self, fd: int) -> None:
        self._hold()
        super().datasync(fd)


async def wait_event(event: threading.Event) -> None:
    """Wait for a thread's event without blocking the loop."""
    if not await asyncio.to_thread(event.wait, LIMIT):
        raise AssertionError("event never set")


def test_eight_tasks_lose_nothing_share_writes_and_each_returns_durable(path):
    fs = CountingFS()
    state = StateFile(path, default={"n": 0, "per": {}}, fs=fs)
    before = fs.replaces_onto(str(path))
    seen_durable: list[bool] = []

    async def work(i: int) -> None:
        for k in range(60):
            async with state.atransaction() as root:
                root["n"] += 1
                root["per"][str(i)] = k + 1
            # Returned: its own change is on disk (later ones may be too).
            seen_durable.append(on_disk(path)["per"][str(i)] >= k + 1)

    async def main() -> None:
        await asyncio.gather(*(work(i) for i in range(8)))

    run(main())
    assert all(seen_durable) and len(seen_durable) == 480
    assert_on_disk(state, {"n": 480, "per": {str(i): 60 for i in range(8)}})
    assert fs.replaces_onto(str(path)) - before < 480  # some commits shared a write
    state.close()


def test_the_loop_runs_other_tasks_while_a_commit_waits_for_its_fsync(path):
    fs = HeldFsync()
    state = StateFile(path, default={"n": 0}, fs=fs)

    async def main() -> None:
        fs.armed = True
        commit = asyncio.create_task(_increment(state))
        await wait_event(fs.entered)
        # Only this task, on the loop, lets the fsync go: a blocked loop would never finish.
        assert not commit.done()
        fs.go.set()
        await commit

    run(main())
    assert_on_disk(state, {"n": 1})
    state.close()


async def _increment(state: StateFile) -> None:
    async with state.atransaction() as root:
        root["n"] += 1


def test_two_tasks_in_atransaction_serialize_without_blocking_the_loop(path):
    state = stateview.open(path, default={"log": []})
    order: list[str] = []

    async def first(inside: asyncio.Event, leave: asyncio.Event) -> None:
        async with state.atransaction() as root:
            root["log"].append("first")
            inside.set()
            await leave.wait()  # the loop must stay free for the test to set this
            order.append("first ends")

    async def second() -> None:
        async with state.atransaction() as root:
            order.append("second begins")
            assert list(root["log"]) == ["first"]  # it saw the first block's commit
            root["log"].append("second")

    async def main() -> None:
        inside, leave = asyncio.Event(), asyncio.Event()
        a = asyncio.create_task(first(inside, leave))
        await inside.wait()
        b = asyncio.create_task(second())
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert order == []  # the second waits for the first, asynchronously
        leave.set()
        await asyncio.gather(a, b)

    run(main())
    assert order == ["first ends", "second begins"]
    assert_on_disk(state, {"log": ["first", "second"]})
    state.close()


def test_a_plain_mutation_from_another_task_during_an_atransaction_raises(path):
    state = stateview.open(path, default={"a": 0, "b": 0})

    async def main() -> None:
        task, leave = await hold_block(state)
        with pytest.raises(stateview.StateError, match="atransaction"):
            state["b"] = 1  # waiting here would deadlock the loop
        with pytest.raises(stateview.StateError, match="arefresh"):
            state.refresh()
        blocking = state.transaction()
        with pytest.raises(stateview.StateError, match=r"atransaction\(\)` in this task"):
            blocking.__enter__()
        with pytest.raises(stateview.StateError, match="aclose"):
            state.close()
        assert state["b"] == 0
        leave.set()
        await task
        state["b"] = 2  # no transaction now: a plain (blocking) autocommit works again

    run(main())
    assert_on_disk(state, {"a": 1, "b": 2})
    state.close()


def test_tasks_and_threads_committing_together_lose_nothing(path):
    # The threads' keys exist from the start: the file's key order is then fixed.
    state = stateview.open(path, default={"n": 0, "thread": {"0": 0, "1": 0, "2": 0}})

    def thread_work(i: int) -> None:
        for k in range(20):
            if k % 2:
                with state.transaction() as root:
                    root["n"] += 1
            else:
                state["thread"][str(i)] = k

    async def task_work() -> None:
        for _ in range(20):
            async with state.atransaction() as root:
                root["n"] += 1

    async def main() -> None:
        threads = [threading.Thread(target=thread_work, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        await asyncio.gather(*(task_work() for _ in range(4)))
        for t in threads:
            await asyncio.to_thread(t.join, LIMIT)

    run(main())
    assert_on_disk(state, {"n": 80 + 30, "thread": {"0": 18, "1": 18, "2": 18}})
    state.close()


def test_a_nested_atransaction_rolls_back_alone(path):
    state = stateview.open(path, default={"a": 0, "b": 0})

    async def main() -> None:
        async with state.atransaction() as root:
            root["a"] = 1
            with pytest.raises(ZeroDivisionError):
                async with state.atransaction() as inner:
                    inner["b"] = 1
                    1 / 0  # noqa: B018
            assert root["b"] == 0
            async with state.atransaction() as inner:
                inner["b"] = 2

    run(main())
    assert_on_disk(state, {"a": 1, "b": 2})
    state.close()


def test_a_block_refused_by_the_schema_changes_nothing(path):
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 1}}}
    state = stateview.open(path, default={"n": 0}, schema=schema)

    async def main() -> None:
        with pytest.raises(stateview.SchemaViolation):
            async with state.atransaction() as root:
                root["n"] = 5
        assert state["n"] == 0

    run(main())
    assert_on_disk(state, {"n": 0})
    state.close()


def test_an_exception_in_the_block_rolls_memory_back_and_writes_nothing(path):
    state = stateview.open(path, default={"n": 0, "l": [1, 2]})

    async def main() -> None:
        with pytest.raises(KeyError):
            async with state.atransaction() as root:
                root["n"] = 7
                root["l"].insert(0, 0)
                raise KeyError("x")

    run(main())
    assert_on_disk(state, {"n": 0, "l": [1, 2]})
    state.close()


def test_tasks_of_two_loops_in_two_threads_lose_nothing(path):
    state = stateview.open(path, default={"n": 0})

    async def loop_work() -> None:
        async def task_work() -> None:
            for _ in range(20):
                async with state.atransaction() as root:
                    root["n"] += 1

        await asyncio.gather(*(task_work() for _ in range(4)))

    threads = [threading.Thread(target=run, args=(loop_work(),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LIMIT)
    assert not any(t.is_alive() for t in threads)
    assert_on_disk(state, {"n": 160})
    state.close()
