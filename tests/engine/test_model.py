# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""Model-based testing: random mutations, transactions, rollbacks, reopenings, other writers
and injected faults, checked after every step against a plain-dict model.

Invariant: ``snapshot()`` equals the model and the file is byte for byte
``json.dumps(model, indent=2, ensure_ascii=False) + "\\n"``, with no temp file left.
``STATEVIEW_DEEP=1`` runs many more and longer examples.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from stateview import CommitFailed, StateFile, _commit

from ._helpers import DEEP, FaultFS, expected_bytes, file_bytes

KEYS = st.sampled_from(["a", "b", "c", "k/1", "~t", "é", ""])
SCALARS = (st.none() | st.booleans() | st.integers(-(10**20), 10**20)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(alphabet="ab\"\\\n\u00e9\u2028/~", max_size=4))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(KEYS, inner, max_size=3), max_leaves=6)
FAULT_STEPS = ["open_new", "write_all", "fsync", "link", "replace", "fsync_dir"]


class Boom(Exception):
    pass


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _containers(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, value in items:
        if isinstance(value, (dict, list)):
            found.extend(_containers(value, (*path, key)))
    return found


def _sortable(items: list[Any]) -> bool:
    numbers = all(type(x) in (int, float) for x in items)
    return numbers or all(type(x) is str for x in items)


def _imul(items: Any, n: int) -> Any:
    result = items.__imul__(n)
    if type(items) is list:
        # A plain list repeats references; the document (JSON) holds independent copies.
        # (deepcopy would keep the repeated references shared.)
        items[:] = json.loads(json.dumps(items))
    return result


DICT_OPS = {
    "set": lambda d, k, v: d.__setitem__(k, v),
    "del": lambda d, k, v: d.__delitem__(k),
    "pop": lambda d, k, v: d.pop(k),
    "pop default": lambda d, k, v: d.pop(k, v),
    "popitem": lambda d, k, v: d.popitem(),
    "setdefault": lambda d, k, v: d.setdefault(k, v),
    "update": lambda d, k, v: d.update({k: v, "u": 1}),
    "ior": lambda d, k, v: d.__ior__({k: v}),
    "clear": lambda d, k, v: d.clear(),
}
LIST_OPS = {
    "set": lambda xs, i, v: xs.__setitem__(i, v),
    "del": lambda xs, i, v: xs.__delitem__(i),
    "append": lambda xs, i, v: xs.append(v),
    "extend": lambda xs, i, v: xs.extend([v, 0]),
    "iadd": lambda xs, i, v: xs.__iadd__([v]),
    "imul": lambda xs, i, v: _imul(xs, i % 3),
    "insert": lambda xs, i, v: xs.insert(i, v),
    "remove": lambda xs, i, v: xs.remove(v),
    "pop": lambda xs, i, v: xs.pop(i),
    "reverse": lambda xs, i, v: xs.reverse(),
    "sort": lambda xs, i, v: xs.sort(),
    "slice set": lambda xs, i, v: xs.__setitem__(slice(i, i + 2), [v]),
    "slice del": lambda xs, i, v: xs.__delitem__(slice(i, None, 2)),
    "clear": lambda xs, i, v: xs.clear(),
}


def _plain_result(result: Any, node: Any) -> Any:
    if result is node:
        return "<self>"
    return json.loads(json.dumps(result)) if isinstance(result, (dict, list, tuple)) else result


class StateFileModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="stateview-model-")
        self.path = os.path.join(self.dir, "state.json")
        self.fs = FaultFS(sync=False)
        self.model: dict[str, Any] = {"d": {}, "l": []}
        self.state = StateFile(self.path, default=self.model, fs=self.fs, backups=2)
        self.model = copy.deepcopy(self.model)

    def teardown(self) -> None:
        self.state.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- drawing and applying one operation -------------------------------------------------

    def _draw_op(self, data: Any, model: Any) -> tuple[tuple[Any, ...], str, Any, Any]:
        path = data.draw(st.sampled_from(_containers(model)), label="container")
        node = _at(model, path)
        value = data.draw(VALUES, label="value")
        if isinstance(node, dict):
            existing = st.sampled_from(sorted(node)) if node else KEYS
            key = data.draw(existing | KEYS, label="key")
            return path, data.draw(st.sampled_from(sorted(DICT_OPS)), label="op"), key, value
        name = data.draw(st.sampled_from(sorted(LIST_OPS)), label="op")
        if name == "sort" and not _sortable(node):
            name = "reverse"  # list.sort of mixed types half-sorts the model before failing
        if name == "remove" and node and data.draw(st.booleans()):
            value = copy.deepcopy(node[data.draw(st.integers(0, len(node) - 1))])
        index = data.draw(st.integers(-len(node) - 1, len(node) + 1), label="index")
        return path, name, index, value

    @staticmethod
    def _apply(doc: Any, op: tuple[tuple[Any, ...], str, Any, Any]) -> tuple[str, Any]:
        path, name, arg, value = op
        node = _at(doc, path)
        table = DICT_OPS if isinstance(node, dict) else LIST_OPS
        try:
            return "ok", _plain_result(table[name](node, arg, copy.deepcopy(value)), node)
        except (KeyError, IndexError, ValueError) as e:
            return "error", type(e).__mro__[1:] and _kind(e)

    def _both(self, model: Any, doc: Any, op: Any) -> None:
        expected = self._apply(model, op)
        got = self._apply(doc, op)
        assert got == expected, (op, got, expected)

    # -- rules ------------------------------------------------------------------------------

    @rule(data=st.data())
    def autocommit(self, data: Any) -> None:
        self._both(self.model, self.state.data, self._draw_op(data, self.model))

    @rule(data=st.data(), count=st.integers(1, 4))
    def transaction_commits(self, data: Any, count: int) -> None:
        work = copy.deepcopy(self.model)
        with self.state.transaction() as root:
            for _ in range(count):
                self._both(work, root, self._draw_op(data, work))
        self.model = work

    @rule(data=st.data(), count=st.integers(1, 4))
    def transaction_raises(self, data: Any, count: int) -> None:
        held = self._held()
        work = copy.deepcopy(self.model)
        try:
            with self.state.transaction() as root:
                for _ in range(count):
                    self._both(work, root, self._draw_op(data, work))
                raise Boom
        except Boom:
            pass
        self._same_views(held)

    def _held(self) -> dict[tuple[Any, ...], Any]:
        return {p: _at(self.state.data, p) for p in _containers(self.model)}

    def _same_views(self, held: dict[tuple[Any, ...], Any]) -> None:
        """After a rollback every view the program held is in the document again.

        Only paths through dicts for now: list elements that a rolled-back block shifted are
        matched by position (tests/engine/test_transactions.py pins that separately).
        """
        for path, view in held.items():
            if not any(isinstance(key, int) for key in path):
                assert _at(self.state.data, path) is view, path

    @rule(data=st.data())
    def nested_transaction_inner_raises(self, data: Any) -> None:
        work = copy.deepcopy(self.model)
        with self.state.transaction() as root:
            self._both(work, root, self._draw_op(data, work))
            inner = copy.deepcopy(work)
            try:
                with self.state.transaction() as again:
                    self._both(inner, again, self._draw_op(data, inner))
                    raise Boom
            except Boom:
                pass
            self._both(work, root, self._draw_op(data, work))
        self.model = work

    @rule()
    def reopen(self) -> None:
        self.state.close()
        self.state = StateFile(self.path, fs=self.fs, backups=2)

    @rule()
    def refresh_finds_nothing_new(self) -> None:
        assert self.state.refresh() is False

    @rule(data=st.data(), count=st.integers(1, 3),
          then=st.sampled_from(["refresh", "autocommit", "transaction"]))
    def another_writer_commits(self, data: Any, count: int, then: str) -> None:
        held = self._held()
        other = StateFile(self.path, fs=FaultFS(sync=False), backups=2)
        try:
            for _ in range(count):
                self._both(self.model, other.data, self._draw_op(data, self.model))
        finally:
            other.close()
        if then == "refresh":
            self.state.refresh()
        elif then == "autocommit":  # a commit reloads first (a read alone does not)
            self.state["w"] = count
            self.model["w"] = count
        else:  # a transaction reloads first
            work = copy.deepcopy(self.model)
            with self.state.transaction() as root:
                self._both(work, root, self._draw_op(data, work))
            self.model = work
        if then != "refresh":
            return
        # Views of containers that are still there, of the same kind, were updated in place.
        for path, view in held.items():
            try:
                now = _at(self.model, path)
            except (KeyError, IndexError, TypeError):
                continue
            if type(now) is type(view).__mro__[1]:
                assert _at(self.state.data, path) is view, path

    @rule(step=st.sampled_from(FAULT_STEPS), in_transaction=st.booleans(),
          value=st.integers())
    def a_commit_fails(self, step: str, in_transaction: bool, value: int) -> None:
        held = self._held()
        self.fs.armed = step
        try:
            if in_transaction:
                with self.state.transaction() as root:
                    root["faulty"] = value
                    root["faulty2"] = [value]
            else:
                self.state["faulty"] = value
        except CommitFailed:
            pass
        else:  # "link" is only reached when a backup is made: the file existed (always)
            raise AssertionError(f"a failure at {step} did not fail the commit")
        finally:
            self.fs.armed = None
        self._same_views(held)

    @precondition(lambda self: len(json.dumps(self.model)) > 2000)
    @rule()
    def shrink_when_large(self) -> None:
        self.state["d"] = {}
        self.state["l"] = []
        self.model["d"], self.model["l"] = {}, []

    # -- the invariant ----------------------------------------------------------------------

    @invariant()
    def memory_and_file_equal_the_model(self) -> None:
        snapshot = self.state.snapshot()
        assert snapshot == self.model, (snapshot, self.model)
        assert file_bytes(self.path) == expected_bytes(self.model)
        # Versions that fall off the end of the backups are unlinked in the background.
        drain = getattr(_commit, "drain_discarded", None)
        if drain is not None:
            drain()
        assert not [n for n in os.listdir(self.dir) if n.endswith(".tmp")]


def _kind(error: BaseException) -> str:
    for kind in (KeyError, IndexError, ValueError):
        if isinstance(error, kind):
            return kind.__name__
    return type(error).__name__


StateFileModel.TestCase.settings = settings(
    max_examples=300 if DEEP else 60,
    stateful_step_count=60 if DEEP else 30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestStateFileModel = StateFileModel.TestCase
