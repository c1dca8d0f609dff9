# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""A block that raises while other commits are still being written undoes exactly its own
changes, from its undo log: memory is as the block found it, the views a program holds are the
very objects back in their places, and the commits in flight land untouched."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import pytest

from stateview._statefile import StateFile

from ._helpers import assert_on_disk
from .test_async_transactions import LIMIT, HeldFsync

START: dict[str, Any] = {
    "n": 0,
    "clients": {"a": {"score": 1, "tags": ["x"]}, "b": {"score": 2, "tags": []}},
    "rows": [{"id": 0}, {"id": 1}, [2, 3]],
}


class Boom(Exception):
    pass


def views(node: Any, where: str = "") -> dict[str, Any]:
    """Every container of the document by its pointer: the objects a program may hold."""
    found = {where: node}
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        if isinstance(value, (dict, list)):
            found.update(views(value, f"{where}/{key}"))
    return found


def at(root: Any, pointer: str) -> Any:
    node = root
    for part in pointer.split("/")[1:]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


class InFlight:
    """A commit of another thread, held at its fsync while the test's block runs."""

    def __init__(self, state: StateFile, fs: HeldFsync, key: str, value: int) -> None:
        self.fs = fs
        fs.entered.clear()
        fs.go.clear()
        fs.armed = True
        self.thread = threading.Thread(target=state.__setitem__, args=(key, value))
        self.thread.start()
        assert fs.entered.wait(LIMIT)

    def land(self) -> None:
        self.fs.go.set()
        self.thread.join(LIMIT)
        self.fs.armed = False
        assert not self.thread.is_alive()


def mutate(rng: random.Random, state: StateFile, root: Any, depth: int = 0) -> None:
    """One random change somewhere in the document, or a nested block of a few."""
    containers = list(views(root).values())
    node = rng.choice(containers)
    op = rng.randrange(9)
    if op == 8 and depth < 2:
        with state.transaction() as inner:
            for _ in range(rng.randrange(1, 4)):
                mutate(rng, state, inner, depth + 1)
            if rng.random() < 0.5:
                raise Boom  # caught below: an inner level rolled back alone
        return
    if isinstance(node, dict):
        key = rng.choice([*node.keys(), "new"]) if node else "new"
        if op < 3:
            node[key] = rng.choice([op, {"k": [op]}, [op, {"m": op}]])
        elif op < 5 and key in node:
            del node[key]
        elif op < 7:
            node.update({key: op, "other": [op]})
        else:
            node.clear()
    else:
        if op < 2:
            node.append({"added": op})
        elif op < 4:
            node.insert(0, [op])
        elif op < 5 and node:
            node.pop(rng.randrange(len(node)))
        elif op < 6:
            node.reverse()
        elif op < 7:
            node[0:1] = [op, op]
        else:
            node.clear()


def counting(state: StateFile, calls: list[bytes]) -> Any:
    """``state._serialize`` that also notes each call in ``calls``."""
    real = state._serialize

    def serialize() -> bytes:
        calls.append(real())
        return calls[-1]

    return serialize


@pytest.mark.parametrize("seed", range(12))
def test_a_block_that_raises_while_a_write_is_in_flight_undoes_only_itself(path, seed):
    rng = random.Random(seed)
    fs = HeldFsync()
    state = StateFile(path, default=START, fs=fs, exclusive=True)
    try:
        for trial in range(5):
            other = InFlight(state, fs, "n", trial + 1)  # another thread's commit in flight
            before, held = state.snapshot(), views(state.data)
            serialized: list[bytes] = []
            state._serialize = counting(state, serialized)  # type: ignore[method-assign]
            with pytest.raises(Boom), state.transaction() as root:
                for _ in range(rng.randrange(1, 8)):
                    try:
                        mutate(rng, state, root)
                    except Boom:
                        pass
                raise Boom
            del state._serialize
            assert serialized == []  # undone from the log, not from a copy of the document
            assert state.snapshot() == before  # the other thread's commit is still there
            assert views(state.data).keys() == held.keys()
            assert all(at(state.data, p) is view for p, view in held.items())
            other.land()
            assert_on_disk(state)
            assert json.loads(path.read_bytes())["n"] == trial + 1
        # The views held all along are live parts of the document.
        clients = state["clients"]
        clients["late"] = {"score": 9}
        assert_on_disk(state)
    finally:
        fs.go.set()
        state.close()


def test_an_inner_block_that_raises_undoes_its_changes_not_the_outer_ones(path):
    fs = HeldFsync()
    state = StateFile(path, default=START, fs=fs, exclusive=True)
    a, rows = state["clients"]["a"], state["rows"]
    other = InFlight(state, fs, "n", 7)
    with state.transaction() as root:
        a["score"] = 10  # the outer block first
        with pytest.raises(Boom), state.transaction() as inner:
            a["score"] = 20
            a["tags"].append("inner")
            inner["rows"].insert(0, "inner")
            del inner["clients"]["b"]
            raise Boom
        assert a["score"] == 10 and list(a["tags"]) == ["x"]
        assert rows is root["rows"] and rows[0] == {"id": 0}
        with state.transaction() as inner:  # ends well: its changes become the outer's
            rows.append("kept")
        with pytest.raises(Boom), state.transaction():
            rows.clear()
            raise Boom
        assert rows[-1] == "kept"
        other.land()  # before the block's own commit, which waits for it
    assert state["n"] == 7 and state["clients"]["a"]["score"] == 10
    assert list(state["rows"]) == [{"id": 0}, {"id": 1}, [2, 3], "kept"]
    assert state["clients"]["a"] is a and "b" in state["clients"]
    assert_on_disk(state)
    state.close()


def test_an_outer_block_that_raises_undoes_the_inner_blocks_that_ended_well(path):
    fs = HeldFsync()
    state = StateFile(path, default=START, fs=fs, exclusive=True)
    held = views(state.data)
    other = InFlight(state, fs, "n", 3)
    before = state.snapshot()
    with pytest.raises(Boom), state.transaction() as root:
        root["clients"]["b"]["score"] = 5  # the outer block changes it first
        with state.transaction() as inner:
            inner["clients"]["b"]["score"] = 6
            inner["clients"]["a"]["tags"].append("inner")
            inner["clients"]["c"] = {"score": 0}
        root["clients"]["a"]["tags"].clear()  # a container the inner block changed first
        root["rows"][2].reverse()
        raise Boom
    assert state.snapshot() == before
    assert all(at(state.data, p) is view for p, view in held.items())
    other.land()
    assert_on_disk(state, {**START, "n": 3})
    state.close()
