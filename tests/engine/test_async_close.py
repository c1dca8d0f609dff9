# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""The edges of asyncio support: closing from a task (aclose, ``async with``), and a blocking
transaction held across an ``await``, which must fail at once rather than hang the loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading

import pytest

import stateview
from stateview._statefile import StateFile

from ._helpers import assert_on_disk
from .test_async_transactions import LIMIT, HeldFsync, hold_block, run, wait_event


class Ticker:
    """A task that counts the loop's turns: it advances only while the loop is free."""

    def __init__(self) -> None:
        self.ticks = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.001)
            self.ticks += 1

    async def advanced(self, by: int = 5) -> None:
        start = self.ticks
        for _ in range(int(LIMIT / 0.001)):
            if self.ticks >= start + by:
                return
            await asyncio.sleep(0.001)
        raise AssertionError("the loop did not turn")

    def stop(self) -> None:
        self.task.cancel()


def test_aclose_waits_for_another_tasks_block_and_its_commit_without_blocking_the_loop(path):
    state = stateview.open(path, default={"a": 0})

    async def main() -> None:
        ticker = Ticker()
        task, leave = await hold_block(state)
        closing = asyncio.create_task(state.aclose())
        await ticker.advanced()  # aclose waits for the block, and the loop runs on
        assert not closing.done() and not state._st.closed
        leave.set()
        await asyncio.gather(task, closing)  # the block committed, then the file closed
        ticker.stop()

    run(main())
    assert state._st.closed
    assert stateview.open(path).snapshot() == {"a": 1}


def test_a_task_that_begins_while_aclose_waits_gets_closed(path):
    state = stateview.open(path, default={"a": 0, "b": 0})

    async def main() -> None:
        async def late() -> None:
            async with state.atransaction() as root:
                root["b"] = 1

        task, leave = await hold_block(state)
        closing = asyncio.create_task(state.aclose())
        await asyncio.sleep(0.01)
        latecomer = asyncio.create_task(late())  # queued behind the close on the loop
        await asyncio.sleep(0.01)
        leave.set()
        await asyncio.gather(task, closing)
        with pytest.raises(stateview.Closed):
            await latecomer

    run(main())
    assert stateview.open(path).snapshot() == {"a": 1, "b": 0}


def test_aclose_waits_for_a_threads_transaction_off_the_loop(path):
    state = stateview.open(path, default={"t": 0})
    in_thread, leave_thread = threading.Event(), threading.Event()

    def thread_block() -> None:
        with state.transaction() as root:
            root["t"] = 1
            in_thread.set()
            leave_thread.wait(LIMIT)

    async def main() -> None:
        ticker = Ticker()
        worker = threading.Thread(target=thread_block)
        worker.start()
        await wait_event(in_thread)
        closing = asyncio.create_task(state.aclose())
        await ticker.advanced()
        assert not closing.done()
        leave_thread.set()
        await closing
        await asyncio.to_thread(worker.join, LIMIT)
        ticker.stop()

    run(main())
    assert state._st.closed
    assert stateview.open(path).snapshot() == {"t": 1}


def test_aclose_waits_for_a_commit_being_written(path):
    fs = HeldFsync()
    state = StateFile(path, default={"x": 0}, fs=fs)

    async def main() -> None:
        ticker = Ticker()
        fs.armed = True

        async def commit() -> None:
            async with state.atransaction() as root:
                root["x"] = 1

        task = asyncio.create_task(commit())
        await wait_event(fs.entered)
        closing = asyncio.create_task(state.aclose())
        await ticker.advanced()
        assert not closing.done()
        fs.go.set()
        await asyncio.gather(task, closing)
        ticker.stop()

    run(main())
    assert stateview.open(path).snapshot() == {"x": 1}


def test_async_with_aopen_closes_at_the_end(path):
    async def main() -> None:
        async with await stateview.aopen(path, default={"n": 0}) as state:
            async with state.atransaction() as root:
                root["n"] += 1
            assert_on_disk(state, {"n": 1})
        assert state._st.closed
        with pytest.raises(stateview.Closed):
            state["n"] = 2

    run(main())
    # The lock is free: an exclusive holder gets it at once.
    with stateview.open(path, exclusive=True, lock_timeout=1.0) as again:
        assert again.snapshot() == {"n": 1}


def test_aclose_inside_the_tasks_own_transaction_raises_and_closes_nothing(path):
    state = stateview.open(path, default={"n": 0})

    async def main() -> None:
        with pytest.raises(stateview.StateError, match="own transaction"):
            async with state.atransaction() as root:
                root["n"] = 1
                await state.aclose()
        assert not state._st.closed and state["n"] == 0
        await state.aclose()
        await state.aclose()  # closing twice is fine

    run(main())
    assert stateview.open(path).snapshot() == {"n": 0}


@pytest.mark.parametrize("blocking", [False, True], ids=["atransaction", "transaction"])
def test_close_inside_the_tasks_own_block_names_that_block_and_closes_nothing(path, blocking):
    # Not "another task is in a transaction": the block is the caller's own, and it is the
    # one to end first.
    state = stateview.open(path, default={"n": 0})

    async def main() -> None:
        block = state.transaction() if blocking else None
        with pytest.raises(stateview.StateError, match="own transaction") as caught:
            if block is not None:
                with block as root:
                    root["n"] = 1
                    state.close()
            else:
                async with state.atransaction() as root:
                    root["n"] = 1
                    state.close()
        assert "another task" not in str(caught.value)
        assert not state._st.closed and state["n"] == 0
        async with state.atransaction() as root:
            root["n"] = 2
        await state.aclose()

    run(main())
    assert stateview.open(path).snapshot() == {"n": 2}


def test_a_cancelled_aclose_still_closes(path):
    state = stateview.open(path, default={"a": 0, "t": 0})
    in_thread, leave_thread = threading.Event(), threading.Event()

    def thread_block() -> None:
        with state.transaction() as root:
            root["t"] = 1
            in_thread.set()
            leave_thread.wait(LIMIT)

    async def main() -> None:
        task, leave = await hold_block(state)
        closing = asyncio.create_task(state.aclose())
        await asyncio.sleep(0.01)
        closing.cancel()  # still waiting for the task's block: nothing started
        with pytest.raises(asyncio.CancelledError):
            await closing
        leave.set()
        await task
        assert not state._st.closed
        worker = threading.Thread(target=thread_block)
        worker.start()
        await wait_event(in_thread)
        closing = asyncio.create_task(state.aclose())
        await asyncio.sleep(0.05)  # the close waits in a worker for the thread's block
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        assert not state._st.closed
        leave_thread.set()  # the close goes on once the block ends
        await asyncio.to_thread(worker.join, LIMIT)
        for _ in range(int(LIMIT / 0.001)):
            if state._st.closed:
                break
            await asyncio.sleep(0.001)
        with pytest.raises(stateview.Closed):  # the gate opened again after the close
            async with state.atransaction():
                pass

    run(main())
    assert state._st.closed
    assert stateview.open(path).snapshot() == {"a": 1, "t": 1}


# -- a blocking transaction held across an await -------------------------------------------------


def test_an_atransaction_while_another_task_holds_a_blocking_transaction_fails_at_once(path):
    fs = HeldFsync()
    state = StateFile(path, default={"a": 0, "b": 0, "t": 0}, fs=fs)
    fs.armed = True
    # Another thread's write in flight: the blocking block's commit must then wait on the
    # loop for a later write, which is where it used to hang.
    writer = threading.Thread(target=state.__setitem__, args=("t", 1))
    writer.start()
    assert fs.entered.wait(LIMIT)

    async def main() -> None:
        inside = asyncio.Event()

        async def blocking() -> None:
            with state.transaction() as root:  # a blocking block held across an await
                root["a"] = 1
                inside.set()
                await asyncio.sleep(0.1)
            # Its commit blocked the loop until written (the thread lets the fsync go).

        holder = asyncio.create_task(blocking())
        await inside.wait()
        threading.Timer(0.3, fs.go.set).start()
        with pytest.raises(stateview.StateError, match="blocking `transaction\\(\\)` across"):
            async with state.atransaction() as root:
                root["b"] = 1
        await holder

    run(main())
    writer.join(LIMIT)
    assert_on_disk(state, {"a": 1, "b": 0, "t": 1})
    state.close()


def test_a_block_this_thread_opened_before_its_loop_ran_is_refused_not_waited_for(path):
    state = stateview.open(path, default={"a": 0, "b": 0})

    async def main() -> None:
        with pytest.raises(stateview.StateError, match="outside any task"):
            state["b"] = 1
        with pytest.raises(stateview.StateError, match="outside any task"):
            async with state.atransaction() as root:
                root["b"] = 1

    with state.transaction() as root:
        root["a"] = 1
        run(main())
    assert_on_disk(state, {"a": 1, "b": 0})
    state.close()


FIRST_ASYNC_CALL = """
import asyncio, sys, threading
import stateview

state = stateview.open(sys.argv[1], default={"a": 0, "b": 0})
assert "stateview._aio" not in sys.modules

async def main():
    inside = asyncio.Event()

    async def blocking():
        with state.transaction() as root:  # asyncio support is not installed yet
            root["a"] = 1
            inside.set()
            await asyncio.sleep(0.05)

    holder = asyncio.create_task(blocking())
    await inside.wait()
    try:
        state["b"] = 1  # used to become part of the other task's block
    except stateview.StateError as e:
        print("mutation:", type(e).__name__)
    try:
        async with state.atransaction() as root:
            root["b"] = 2
    except stateview.StateError as e:
        print("atransaction:", type(e).__name__)
    await holder

asyncio.run(main())
print(state.snapshot())
"""


def test_a_blocking_transaction_held_across_an_await_before_any_async_call(path):
    # A fresh process: asyncio support is installed by the first use of the engine inside a
    # task, so that the blocking block is the task's and not the loop thread's.
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(FIRST_ASYNC_CALL), str(path)],
                          capture_output=True, text=True, timeout=LIMIT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["mutation: StateError", "atransaction: StateError",
                                        "{'a': 1, 'b': 0}"]


def test_a_second_handle_used_inside_a_tasks_block_fails_at_once(path):
    first = stateview.open(path, default={"a": 0, "b": 0}, lock_timeout=30)
    second = stateview.open(path, lock_timeout=30)

    async def main() -> None:
        async with first.atransaction() as root:  # holds the lock until the block ends
            root["a"] = 1
            with pytest.raises(stateview.StateError, match="another StateFile of the same file"):
                second["b"] = 2  # would wait the whole lock_timeout on the loop, for itself
        with first.transaction() as root:  # a blocking block of the task: the same
            root["a"] = 2
            with pytest.raises(stateview.StateError, match="another StateFile of the same file"):
                second["b"] = 2

    run(main())
    second["b"] = 3  # after the blocks: both handles write
    assert second.snapshot() == {"a": 2, "b": 3}
    first.close()
    second.close()
