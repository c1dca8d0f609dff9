# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""JSON-value rules: what may enter the document, how it is copied in and taken out."""

from __future__ import annotations

import copy
import enum
import pickle
from typing import Any

import pytest

import stateview
from stateview import InvalidValue

from ._helpers import assert_on_disk, fingerprint

START: dict[str, Any] = {"a": {"b": [1, 2]}, "l": [0], "s": "x"}


@pytest.fixture
def state(target):
    """An open document, on each store."""
    with stateview.open(target, default=START) as s:
        yield s


@pytest.fixture
def file_state(path):
    """An open state file, for the tests that look at the file itself."""
    with stateview.open(path, default=START) as s:
        yield s


def _cycle_list():
    x: list = [1]
    x.append(x)
    return x


def _cycle_dict():
    x: dict = {}
    x["me"] = {"up": x}
    return x


SHARED = [1]


@pytest.mark.parametrize(
    ("value", "pointer", "words"),
    [
        (float("nan"), "/new", "not a JSON number"),
        (float("inf"), "/new", "not a JSON number"),
        ({"x": [0, {"y": float("-inf")}]}, "/new/x/1/y", "not a JSON number"),
        ({1: "a"}, "/new", "JSON keys are strings"),
        ({"k": {None: 1}}, "/new/k", "JSON keys are strings"),
        ({"k": {(1, 2): 1}}, "/new/k", "JSON keys are strings"),
        ({1, 2}, "/new", "set is not a JSON value"),
        (b"bytes", "/new", "bytes is not a JSON value"),
        ([object()], "/new/0", "object is not a JSON value"),
        ({"a/b": {"c~d": 1j}}, "/new/a~1b/c~0d", "complex is not a JSON value"),
        (_cycle_list(), "/new/1", "appears twice"),
        (_cycle_dict(), "/new/me/up", "appears twice"),
        ([SHARED, SHARED], "/new/1", "appears twice"),
        ({"a": SHARED, "b": {"c": SHARED}}, "/new/b/c", "appears twice"),
    ],
)
def test_a_refused_value_names_its_pointer_and_writes_nothing(file_state, path, value, pointer,
                                                              words):
    before = fingerprint(path)
    with pytest.raises(InvalidValue) as info:
        file_state["new"] = value
    assert info.value.pointer == pointer
    assert words in str(info.value) and pointer in str(info.value)
    assert fingerprint(path) == before
    assert_on_disk(file_state, START)


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda s: s["l"].append(float("nan")), "/l/1"),
        (lambda s: s["l"].insert(0, {"x": set()}), "/l/0/x"),
        (lambda s: s["l"].extend([1, {2: 3}]), "/l/1"),
        (lambda s: s["l"].__setitem__(0, [float("inf")]), "/l/0/0"),
        (lambda s: s["l"].__setitem__(slice(0, 1), [1, object()]), "/l/1"),
        (lambda s: s["a"].update({"ok": 1, "bad": {"x": b""}}), "/a/bad/x"),
        (lambda s: s["a"].update(bad=float("nan")), "/a/bad"),
        (lambda s: s["a"].setdefault("n", [{1}]), "/a/n/0"),
        (lambda s: s["a"].__setitem__(5, 1), "/a"),
        (lambda s: s["a"]["b"].__iadd__([None, float("nan")]), "/a/b/1"),
    ],
)
def test_every_mutator_checks_values_first(file_state, path, mutate, pointer):
    before = fingerprint(path)
    with pytest.raises(InvalidValue) as info:
        mutate(file_state)
    assert info.value.pointer.startswith(pointer)
    assert fingerprint(path) == before
    assert_on_disk(file_state, START)


def test_a_refused_value_inside_a_transaction_leaves_the_transaction_usable(file_state, path):
    with file_state.transaction() as root:
        root["ok"] = 1
        with pytest.raises(InvalidValue):
            root["bad"] = float("nan")
        root["ok2"] = 2
    assert_on_disk(file_state, {**START, "ok": 1, "ok2": 2})


def test_too_deep_a_value_is_refused(state):
    deep: Any = []
    for _ in range(500):
        deep = [deep]
    with pytest.raises(InvalidValue) as info:
        state["deep"] = deep
    assert "deeper than" in str(info.value)
    assert_on_disk(state, START)


def test_values_are_copied_in(state):
    original: Any = {"x": [1, 2], "y": {"z": 1}}
    state["c"] = original
    original["x"].append(3)
    original["y"]["z"] = 99
    original["new"] = 1
    assert state["c"] == {"x": [1, 2], "y": {"z": 1}}
    assert_on_disk(state)


def test_one_value_assigned_twice_makes_two_independent_copies(state):
    shared = {"n": 1}
    state["p"] = shared
    state["q"] = shared
    state["p"]["n"] = 2
    assert state["q"]["n"] == 1
    assert state["p"] is not state["q"]


def test_a_view_assigned_elsewhere_is_copied(state):
    state["copy"] = state["a"]
    state["copy"]["b"].append(3)
    assert state["a"]["b"] == [1, 2]
    assert_on_disk(state)


def test_values_taken_out_are_plain(state):
    state["m"] = {"x": {"y": [1]}, "z": [{"k": 1}]}
    taken = state["m"].pop("x")
    assert type(taken) is dict and type(taken["y"]) is list
    key, item = state["m"].popitem()
    assert key == "z" and type(item) is list and type(item[0]) is dict
    state["l"].append({"q": [1]})
    out = state["l"].pop()
    assert type(out) is dict and type(out["q"]) is list
    out["q"].append(2)  # mutating what was taken out changes nothing stored
    assert_on_disk(state, {**START, "m": {}})


@pytest.mark.parametrize("how", [dict.copy, copy.copy, copy.deepcopy,
                                 lambda v: pickle.loads(pickle.dumps(v))])
def test_copies_of_views_are_plain(state, how):
    result = how(state["a"]) if how is not dict.copy else state["a"].copy()
    assert result == {"b": [1, 2]}
    assert type(result) is dict and type(result["b"]) is list
    result["b"].append(3)
    assert state["a"]["b"] == [1, 2]


def test_views_read_as_dicts_and_lists(state):
    assert isinstance(state.data, dict) and isinstance(state["a"], dict)
    assert isinstance(state["l"], list)
    assert state["a"] is state["a"]
    assert repr(state["a"]) == "{'b': [1, 2]}"
    assert isinstance(state.data, stateview.DictView)
    assert isinstance(state["l"], stateview.ListView)


class Color(enum.IntEnum):
    RED = 1


class Name(str, enum.Enum):
    ANN = "ann"


def test_subclasses_of_json_scalars_are_stored_as_plain_values(file_state, path):
    file_state["v"] = {"color": Color.RED, "name": Name.ANN, "t": (1, 2), "yes": True}
    stored = file_state["v"]
    assert type(stored["color"]) is int and type(stored["name"]) is str
    assert stored["t"] == [1, 2] and stored["yes"] is True
    assert path.read_text().count('"ann"') == 1
    assert_on_disk(file_state)


def test_non_ascii_and_escapes_are_written_as_json_does(file_state, path):
    file_state["text"] = 'naïve "quoted" \\ \n\t\u2028 \x01 🎉'
    file_state["k/e~y"] = 1.5e-7
    file_state["big"] = 10**40
    file_state["neg"] = -0.0
    assert_on_disk(file_state)
    assert "naïve" in path.read_text(encoding="utf-8")
