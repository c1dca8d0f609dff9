# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""A task cancelled at each await point of atransaction leaves memory and disk consistent and
never takes another task's (or thread's) commit with it."""

from __future__ import annotations

import asyncio
import threading

import pytest

import stateview
from stateview._statefile import StateFile

from ._helpers import assert_on_disk
from .test_async_transactions import LIMIT, HeldFsync, hold_block, run, wait_event


async def cancel(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def settle(state: StateFile) -> None:
    """Wait (off the loop) until every queued commit is written."""
    await state.arefresh()


def test_cancelled_while_waiting_for_another_tasks_block_it_never_begins(path):
    state = stateview.open(path, default={"a": 0, "b": 0})

    async def main() -> None:
        async def second() -> None:
            async with state.atransaction() as root:
                root["b"] = 1

        a, leave = await hold_block(state)
        b = asyncio.create_task(second())
        await asyncio.sleep(0.01)
        await cancel(b)
        leave.set()
        await a
        async with state.atransaction() as root:  # the loop's queue is in order
            root["b"] = 2

    run(main())
    assert_on_disk(state, {"a": 1, "b": 2})
    state.close()


def test_cancelled_while_a_worker_waits_for_a_threads_transaction(path):
    state = stateview.open(path, default={"t": 0, "a": 0})
    in_thread, leave_thread = threading.Event(), threading.Event()

    def thread_block() -> None:
        with state.transaction() as root:
            root["t"] = 1
            in_thread.set()
            leave_thread.wait(LIMIT)

    async def main() -> None:
        worker = threading.Thread(target=thread_block)
        worker.start()
        await wait_event(in_thread)
        task = asyncio.create_task(_set(state, "a", 1))
        await asyncio.sleep(0.02)  # its begin waits in a worker thread for the thread's block
        await cancel(task)
        leave_thread.set()
        await asyncio.to_thread(worker.join, LIMIT)
        # The worker got the transaction for a task that is gone and ended it: the next
        # task (and a plain mutation from the loop) get in.
        async with state.atransaction() as root:
            root["a"] = 2
        await settle(state)
        state["t"] = 2

    run(main())
    assert state._st.txn_owner is None
    assert_on_disk(state, {"t": 2, "a": 2})
    state.close()


async def _set(state: StateFile, key: str, value: int) -> None:
    async with state.atransaction() as root:
        root[key] = value


def test_cancelled_inside_the_block_rolls_back_only_its_own_change(path):
    fs = HeldFsync()
    state = StateFile(path, default={"x": 0, "y": 0, "l": [1]}, fs=fs)

    async def main() -> None:
        fs.armed = True
        x = asyncio.create_task(_set(state, "x", 1))  # its write waits at fsync
        await wait_event(fs.entered)
        inside = asyncio.Event()

        async def y() -> None:
            async with state.atransaction() as root:
                root["y"] = 1
                root["l"].insert(0, 0)
                inside.set()
                await asyncio.sleep(LIMIT)

        task = asyncio.create_task(y())
        await inside.wait()
        await cancel(task)
        assert state.snapshot() == {"x": 1, "y": 0, "l": [1]}  # x's change is not undone
        fs.armed = False
        fs.go.set()
        await x

    run(main())
    assert_on_disk(state, {"x": 1, "y": 0, "l": [1]})
    state.close()


def test_cancelled_while_its_commit_is_written_the_change_still_becomes_durable(path):
    fs = HeldFsync()
    state = StateFile(path, default={"x": 0, "y": 0}, fs=fs)

    async def main() -> None:
        fs.armed = True
        x = asyncio.create_task(_set(state, "x", 1))
        await wait_event(fs.entered)  # x's write is in flight: y queues behind it
        y = asyncio.create_task(_set(state, "y", 1))
        for _ in range(50):
            if state._st.pending:
                break
            await asyncio.sleep(0.002)
        assert state._st.pending  # y's block ended; its commit is queued
        await cancel(y)
        assert state["y"] == 1  # part of the document: it is not half taken back
        fs.armed = False
        fs.go.set()
        await x
        await settle(state)

    run(main())
    assert_on_disk(state, {"x": 1, "y": 1})
    state.close()


def test_a_cancelled_commit_that_fails_rolls_memory_back_for_everyone(path, caplog):
    fs = HeldFsync()
    state = StateFile(path, default={"x": 0, "y": 0}, fs=fs)

    async def main() -> None:
        fs.armed = fs.fail = True
        x = asyncio.create_task(_set(state, "x", 1))
        await wait_event(fs.entered)
        await cancel(x)
        inside, leave = asyncio.Event(), asyncio.Event()

        async def y() -> None:  # a block built on x's change, still in flight
            async with state.atransaction() as root:
                root["y"] = root["x"] + 1
                inside.set()
                await leave.wait()

        task = asyncio.create_task(y())
        await inside.wait()
        fs.go.set()  # x's write fails
        await settle_writes(state)
        leave.set()
        with pytest.raises(stateview.CommitFailed):
            await task  # built on a change that never became durable: refused whole

    run(main())
    assert_on_disk(state, {"x": 0, "y": 0})
    assert "the commit of a cancelled transaction failed" in caplog.text
    state.close()


async def settle_writes(state: StateFile) -> None:
    for _ in range(int(LIMIT / 0.005)):
        if not state._st.writing:
            return
        await asyncio.sleep(0.005)


def test_every_task_whose_commit_a_failed_write_carried_gets_its_error(path):
    fs = HeldFsync()
    state = StateFile(path, default={"x": 0, "a": 0, "b": 0, "c": 0}, fs=fs)

    async def main() -> None:
        fs.armed = fs.fail = True
        first = asyncio.create_task(_set(state, "x", 1))
        await wait_event(fs.entered)  # x's write is held; a, b, c queue behind it
        queued = [asyncio.create_task(_set(state, key, 1)) for key in "abc"]
        for _ in range(int(LIMIT / 0.002)):
            if len(state._st.pending) == 3:
                break
            await asyncio.sleep(0.002)
        fs.go.set()  # x's write fails; the queued ones fail with it (built on it)
        results = await asyncio.gather(first, *queued, return_exceptions=True)
        assert all(isinstance(r, stateview.CommitFailed) for r in results), results
        assert state.snapshot() == {"x": 0, "a": 0, "b": 0, "c": 0}
        await asyncio.gather(*(_set(state, key, 2) for key in "xabc"))  # it works again

    run(main())
    assert_on_disk(state, {"x": 2, "a": 2, "b": 2, "c": 2})
    state.close()
