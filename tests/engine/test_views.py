# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""DictView and ListView behave like dict and list for every mutation, each one durable at once,
on a state file and on a PostgreSQL document (``target``).

Every operation runs on the document and on a plain-Python model; after each call the return
values match, ``snapshot()`` equals the model, and the file is byte for byte what
``json.dumps(model, indent=2, ensure_ascii=False)`` writes (a stale serialization cache would
show up here).
"""

from __future__ import annotations

import copy
import json
import random
import threading
from typing import Any

import pytest

import stateview
from stateview import Closed

from ._helpers import assert_on_disk, expected_bytes, file_bytes

START: dict[str, Any] = {
    "d": {"a": 1, "b": {"x": [1, 2]}, "c": "three"},
    "l": [3, 1, 2],
    "nested": {"rows": [{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}], "meta": {}},
}

DICT_OPS = {
    "setitem new": lambda d: d.__setitem__("z", {"deep": [1, {"e": None}]}),
    "setitem replace": lambda d: d.__setitem__("b", [True, False]),
    "setitem same scalar": lambda d: d.__setitem__("a", 1),
    "delitem": lambda d: d.__delitem__("b"),
    "update mapping": lambda d: d.update({"a": 2, "n": [1]}),
    "update kwargs": lambda d: d.update(a=5, k="v"),
    "update pairs": lambda d: d.update([("p", 1), ("a", 0)]),
    "setdefault new": lambda d: d.setdefault("s", {"v": 1}),
    "setdefault existing": lambda d: d.setdefault("a", 99),
    "pop": lambda d: d.pop("b"),
    "pop default": lambda d: d.pop("missing", "dflt"),
    "popitem": lambda d: d.popitem(),
    "clear": lambda d: d.clear(),
    "ior": lambda d: d.__ior__({"a": 7, "q": {}}),
}

LIST_OPS = {
    "setitem": lambda xs: xs.__setitem__(1, {"k": [1]}),
    "setitem negative": lambda xs: xs.__setitem__(-1, "last"),
    "delitem": lambda xs: xs.__delitem__(0),
    "delitem negative": lambda xs: xs.__delitem__(-1),
    "append": lambda xs: xs.append([1, {"a": 2}]),
    "extend": lambda xs: xs.extend([4, 5, [6]]),
    "extend generator": lambda xs: xs.extend(x * 10 for x in range(3)),
    "insert": lambda xs: xs.insert(1, "in"),
    "insert past end": lambda xs: xs.insert(99, "end"),
    "insert negative": lambda xs: xs.insert(-1, 0.5),
    "remove": lambda xs: xs.remove(1),
    "pop": lambda xs: xs.pop(),
    "pop index": lambda xs: xs.pop(0),
    "sort": lambda xs: xs.sort(),
    "sort key reverse": lambda xs: xs.sort(key=lambda v: -v, reverse=True),
    "reverse": lambda xs: xs.reverse(),
    "iadd": lambda xs: xs.__iadd__([7, 8]),
    "imul 2": lambda xs: xs.__imul__(2),
    "imul 0": lambda xs: xs.__imul__(0),
    "imul 1": lambda xs: xs.__imul__(1),
    "imul -1": lambda xs: xs.__imul__(-1),
    "clear": lambda xs: xs.clear(),
    "slice set grow": lambda xs: xs.__setitem__(slice(1, 2), ["a", "b", "c"]),
    "slice set shrink": lambda xs: xs.__setitem__(slice(0, 2), []),
    "slice set extended": lambda xs: xs.__setitem__(slice(None, None, 2), ["x", "y"]),
    "slice set all": lambda xs: xs.__setitem__(slice(None), [{"n": 1}]),
    "slice delete": lambda xs: xs.__delitem__(slice(0, 2)),
    "slice delete step": lambda xs: xs.__delitem__(slice(None, None, 2)),
}


def _unview(result):
    """Return values compared as plain data (a view is a dict or list anyway)."""
    return json.loads(json.dumps(result)) if isinstance(result, (dict, list, tuple)) else result


def _run(state, model, get, op):
    model_result = op(get(model))
    result = op(get(state.data))
    if isinstance(model_result, (dict, list)) and model_result is get(model):
        assert result is get(state.data)  # |=, +=, *= return the view itself
    else:
        assert _unview(result) == _unview(model_result)
    assert_on_disk(state, model)


@pytest.mark.parametrize("name", list(DICT_OPS))
@pytest.mark.parametrize("where", ["top", "nested"])
def test_dict_mutation_matches_dict_and_is_on_disk_at_once(target, name, where):
    model = copy.deepcopy(START)
    state = stateview.open(target, default=START)
    get = lambda doc: doc["d"]  # noqa: E731
    if where == "nested":
        get = lambda doc: doc["nested"]["rows"][0]  # noqa: E731
        model["nested"]["rows"][0].update({"a": 1, "b": 2})
        state["nested"]["rows"][0].update({"a": 1, "b": 2})
    _run(state, model, get, DICT_OPS[name])
    state.close()


@pytest.mark.parametrize("name", list(LIST_OPS))
@pytest.mark.parametrize("where", ["top", "nested"])
def test_list_mutation_matches_list_and_is_on_disk_at_once(target, name, where):
    model = copy.deepcopy(START)
    state = stateview.open(target, default=START)
    if where == "top":
        get = lambda doc: doc["l"]  # noqa: E731
    else:
        get = lambda doc: doc["nested"]["rows"][1]["tags"]  # noqa: E731
        model["nested"]["rows"][1]["tags"] = [3, 1, 2]
        state["nested"]["rows"][1]["tags"] = [3, 1, 2]
    _run(state, model, get, LIST_OPS[name])
    state.close()


@pytest.mark.parametrize(
    ("op", "error"),
    [
        (lambda d: d["d"].__delitem__("missing"), KeyError),
        (lambda d: d["d"].pop("missing"), KeyError),
        (lambda d: d["d"]["b"]["x"].clear() or d["d"]["b"]["x"].pop(), IndexError),
        (lambda d: d["l"].remove(42), ValueError),
        (lambda d: d["l"].__setitem__(10, 1), IndexError),
        (lambda d: d["l"].__delitem__(10), IndexError),
        (lambda d: d["l"].__setitem__(slice(None, None, 2), [1]), ValueError),
        (lambda d: d["nested"]["meta"].popitem(), KeyError),
    ],
)
def test_a_failing_mutation_raises_like_python_and_changes_nothing_more(target, op, error):
    model = copy.deepcopy(START)
    state = stateview.open(target, default=START)
    with pytest.raises(error):
        op(model)
    with pytest.raises(error):
        op(state.data)
    assert_on_disk(state, model)
    state["after"] = 1  # the lock was released: the next commit works
    assert_on_disk(state)


def test_a_sort_that_cannot_compare_changes_nothing(target):
    # list.sort may leave a plain list half sorted when a comparison fails; the view does not.
    state = stateview.open(target, default={"l": [3, "s", 1]})
    with pytest.raises(TypeError):
        state["l"].sort()
    assert_on_disk(state, {"l": [3, "s", 1]})


def test_list_imul_copies_nested_containers(target):
    state = stateview.open(target, default={"l": [[1], {"a": 1}]})
    state["l"] *= 3
    assert_on_disk(state, {"l": [[1], {"a": 1}] * 3})
    state["l"][0].append(2)
    assert state["l"][2] == [1]  # each repetition is its own copy


def test_augmented_assignment_keeps_held_views_valid(path):
    state = stateview.open(path, default={"l": [1], "d": {"a": 1}, "rows": [[1]]})
    held_list, held_dict, held_row = state["l"], state["d"], state["rows"][0]
    state["l"] += [2]
    state["d"] |= {"b": 2}
    state["rows"][0] += [2]
    assert held_list is state["l"] and held_dict is state["d"] and held_row is state["rows"][0]
    held_list.append(3)
    held_dict["c"] = 3
    held_row.append(3)
    assert_on_disk(state, {"l": [1, 2, 3], "d": {"a": 1, "b": 2, "c": 3}, "rows": [[1, 2, 3]]})


def test_reads_return_the_same_objects(path):
    state = stateview.open(path, default=START)
    clients = state["nested"]["rows"]
    assert clients is state["nested"]["rows"]
    assert state.get("missing", 5) == 5 and "d" in state and len(state) == 3
    assert list(state) == ["d", "l", "nested"]
    state["nested"]["rows"].append({"id": 3})
    assert clients[-1] == {"id": 3}


def test_a_removed_view_refuses_mutation(path):
    state = stateview.open(path, default=START)
    gone = state["d"]["b"]
    replaced = state["l"]
    popped_row = state["nested"]["rows"][0]
    del state["d"]["b"]
    state["l"] = []
    state["nested"]["rows"].pop(0)
    for mutate in (lambda: gone.__setitem__("k", 1), lambda: replaced.append(1),
                   lambda: popped_row.__setitem__("id", 9)):
        with pytest.raises(Closed):
            mutate()
    assert gone == {"x": [1, 2]}  # still readable
    assert_on_disk(state)


def test_views_refuse_mutation_after_close(path):
    state = stateview.open(path, default=START)
    view = state["d"]
    state.close()
    with pytest.raises(Closed):
        view["a"] = 2
    with pytest.raises(Closed):
        state.data  # noqa: B018
    state.close()  # twice is fine
    assert json.loads(path.read_text()) == START


def test_a_random_sequence_keeps_the_serialization_cache_exact(path):
    """Many small edits in many places: the cached pieces must never go stale."""
    rng = random.Random(1234)
    model: dict = {"a": {}, "b": [], "c": {"d": {"e": []}}}
    state = stateview.open(path, default=model)
    model = copy.deepcopy(model)
    containers = [("a",), ("b",), ("c",), ("c", "d"), ("c", "d", "e")]

    def at(doc, keys):
        for k in keys:
            doc = doc[k]
        return doc

    for step in range(300):
        keys = rng.choice(containers)
        value = rng.choice([step, f"s{step}", None, [step], {"k": step}, 1.5])
        for doc in (model, state.data):
            node = at(doc, keys)
            r = random.Random(step)
            if isinstance(node, dict):
                key = f"k{r.randrange(6)}"
                if r.random() < 0.3 and key in node:
                    del node[key]
                else:
                    node[key] = copy.deepcopy(value)
            else:
                if r.random() < 0.3 and node:
                    node.pop(r.randrange(len(node)))
                else:
                    node.insert(r.randrange(len(node) + 1), copy.deepcopy(value))
        assert file_bytes(path) == expected_bytes(model), f"step {step}"
    assert state.snapshot() == model


def test_every_method_that_writes_is_replayed_when_asked():
    """A write context may raise Replay (on a store that commits without its lock): every
    method that enters one must be wrapped to run again, or the error would reach the
    program."""
    import inspect

    from stateview import _views

    for cls in (_views.DictView, _views.ListView):
        for name, member in vars(cls).items():
            if not callable(member):
                continue
            source = inspect.getsource(inspect.unwrap(member))
            if "._write(" in source:
                assert hasattr(member, "__wrapped__"), f"{cls.__name__}.{name}"


def _another_thread_commits(state, key, value):
    other = threading.Thread(target=lambda: state.__setitem__(key, value))
    other.start()
    other.join(60)
    assert not other.is_alive()


def test_a_sort_key_that_changes_the_document_is_refused_and_the_file_stays_usable(target):
    """The key function runs while the sort holds the document (it sorts the list as it is
    under the lock): a change it makes would be committed with the sort half made. It is
    refused, as ``list.sort`` refuses a list changed under it; inside a transaction both
    changes are one commit, and it goes on."""
    state = stateview.open(target, default={"l": [3, 1, 2], "n": 0})

    def key(x):
        state["n"] += 1
        return x

    with pytest.raises(stateview.StateError, match="sort key"):
        state["l"].sort(key=key)
    assert_on_disk(state, {"l": [3, 1, 2], "n": 0})
    _another_thread_commits(state, "m", 1)  # the mutex is free
    with state.transaction():
        state["l"].sort(key=key)
    assert_on_disk(state, {"l": [1, 2, 3], "n": 3, "m": 1})
    state.close()


def test_a_sort_key_that_opens_a_transaction_is_refused_and_the_file_stays_usable(target):
    """A transaction begun by the key function would take the lock and commit with the
    sort half made, releasing the sort's hold on the mutex as it waited for its commit
    (it failed with 'cannot release un-acquired lock'): it is refused like an autocommit."""
    state = stateview.open(target, default={"l": [3, 1, 2], "n": 0})

    def key(x):
        with state.transaction():
            state["n"] += 1
        return x

    with pytest.raises(stateview.StateError, match="sort key"):
        state["l"].sort(key=key)
    assert_on_disk(state, {"l": [3, 1, 2], "n": 0})
    _another_thread_commits(state, "m", 1)  # the mutex is free
    state["l"].sort()
    assert_on_disk(state, {"l": [1, 2, 3], "n": 0, "m": 1})
    state.close()


@pytest.mark.parametrize("call", ["refresh", "close"])
def test_a_sort_key_that_refreshes_or_closes_is_refused_and_another_writers_change_is_kept(
        target, call):
    """A reload made while the sort holds the document took another writer's commit into
    memory under the sort, which then committed the list it had read against the new
    version: the other writer's change was lost (on PostgreSQL, where the sort goes without
    the lock). Closing there left the sort on a closed document."""
    state = stateview.open(target, default={"l": [3, 1, 2]})
    other = stateview.open(target)
    other["l"].append(0)

    def key(x):
        getattr(state, call)()
        return x

    with pytest.raises(stateview.StateError, match="sort key"):
        state["l"].sort(key=key)
    state["l"].sort()
    other.close()
    assert_on_disk(state, {"l": [0, 1, 2, 3]})
    state.close()
