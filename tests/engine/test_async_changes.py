# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""changes(), arefresh() and aopen() on real loops, with real other processes."""

from __future__ import annotations

import asyncio

import stateview

from ._helpers import assert_on_disk, child, finish, wait_for_file
from .test_async_transactions import LIMIT, run


async def next_event(events) -> stateview.ChangeEvent:
    return await asyncio.wait_for(events.__anext__(), LIMIT)


def test_changes_delivers_another_process_commit_with_exact_pointers(path):
    state = stateview.open(path, default={"settings": {"greeting": "hi"}, "n": 0})

    async def main() -> None:
        events = state.changes(poll=0.02)
        proc = await asyncio.to_thread(child, "commit", str(path), "settings",
                                       '{"greeting": "hello"}')
        event = await next_event(events)
        assert event == stateview.ChangeEvent("external", ["/settings/greeting"])
        assert state["settings"]["greeting"] == "hello"  # loaded before the event
        await asyncio.to_thread(finish, proc)
        await events.aclose()

    run(main())
    state.close()


def test_changes_delivers_our_own_commits_and_ends_at_close(path):
    state = stateview.open(path, default={"a": {"b": 0}, "c": []})

    async def main() -> list[stateview.ChangeEvent]:
        events = state.changes(poll=None)
        got: list[stateview.ChangeEvent] = []

        async def consume() -> None:
            async for event in events:
                got.append(event)

        consumer = asyncio.create_task(consume())
        async with state.atransaction() as root:
            root["a"]["b"] = 1
            root["c"].append(2)
        state["a"]["b"] = 2  # a plain autocommit from the loop is an event too
        await asyncio.sleep(0)
        await asyncio.to_thread(state.close)  # close from another thread ends the stream
        await asyncio.wait_for(consumer, LIMIT)
        return got

    got = run(main())
    # Exact pointers, as for a thread's commit (the engine compares the versions).
    assert got == [stateview.ChangeEvent("local", ["/a/b", "/c/0"]),
                   stateview.ChangeEvent("local", ["/a/b"])]


def test_a_rolled_back_block_is_in_no_change_event(path):
    state = stateview.open(path, default={"a": 0, "b": 0})

    async def main() -> stateview.ChangeEvent:
        events = state.changes(poll=None)
        try:
            async with state.atransaction() as root:
                root["a"] = 1
                raise ValueError
        except ValueError:
            pass
        async with state.atransaction() as root:
            root["b"] = 1
        return await next_event(events)

    event = run(main())
    assert event.pointers == ["/b"]  # nothing of /a
    assert state.snapshot() == {"a": 0, "b": 1}
    state.close()


def test_changes_of_a_closed_state_file_end_at_once(path):
    state = stateview.open(path, default={})
    state.close()

    async def main() -> list[object]:
        return [event async for event in state.changes()]

    assert run(main()) == []


def test_arefresh_loads_another_process_commit(path):
    state = stateview.open(path, default={"x": 0})

    async def main() -> None:
        proc = await asyncio.to_thread(child, "commit", str(path), "x", "5")
        await asyncio.to_thread(finish, proc)
        assert state["x"] == 0
        assert await state.arefresh() is True
        assert state["x"] == 5
        async with state.atransaction() as root:
            assert await state.arefresh() is False  # inside its own block: nothing to load
            root["x"] += 1

    run(main())
    assert_on_disk(state, {"x": 6})
    state.close()


def test_aopen_waits_for_the_lock_off_the_loop(path, tmp_path):
    stateview.open(path, default={"counter": 0}).close()
    ready = tmp_path / "ready"
    holder = child("hold", str(path), str(ready), "1")  # holds the lock until killed
    try:
        wait_for_file(ready, holder)

        async def main() -> int:
            opening = asyncio.create_task(stateview.aopen(path, lock_timeout=LIMIT))
            ticks = 0
            while not opening.done() and ticks < 20:
                await asyncio.sleep(0.01)  # the loop runs while the open waits
                ticks += 1
            assert not opening.done()
            holder.kill()
            state = await opening
            async with state.atransaction() as root:
                root["counter"] += 1
            await asyncio.to_thread(state.close)
            return ticks

        assert run(main()) == 20
    finally:
        holder.kill()
        holder.wait()
        for stream in (holder.stdout, holder.stderr):
            if stream is not None:
                stream.close()
    with stateview.open(path) as state:
        assert state.snapshot() == {"counter": 1}
