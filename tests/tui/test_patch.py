"""The plain parts behind live updates: shifts, patching a version, the child reader, jq paths."""

from __future__ import annotations

import copy
import json
import os
import random
import signal
from typing import Any

from stateview._paths import StatePaths
from stateview.tui._childreader import ChildReader
from stateview.tui._diff import diff, patched
from stateview.tui._load import Broken, Loaded
from stateview.tui._model import jq_path
from stateview.tui.screens.goto import complete

from ._helpers import DOC, write_atomic


def test_a_list_that_lost_its_first_item_is_one_shift_plus_the_new_last():
    changes = diff({"log": [1, 2, 3, 4]}, {"log": [2, 3, 4, 5]})
    assert [(c.pointer, c.kind, c.shift, c.new) for c in changes] == [
        ("/log", "shifted", 1, [2, 3, 4, 5]), ("/log/3", "added", 0, 5)]
    changes = diff({"log": [1, 2, 3]}, {"log": [0, 1, 2, 3]})
    assert [(c.pointer, c.kind, c.shift) for c in changes] == [
        ("/log", "shifted", -1), ("/log/0", "added", 0)]
    # Two items are too few to call a move a shift.
    assert [c.kind for c in diff([1, 2], [2, 3])] == ["changed", "changed"]


def test_a_key_added_in_the_middle_replaces_the_object_so_its_order_is_kept():
    old = {"a": 1, "c": 3}
    new = {"a": 1, "b": 2, "c": 3}
    [change] = diff({"o": old}, {"o": new})
    assert (change.pointer, change.kind) == ("/o", "changed")
    assert list(patched({"o": old}, [change])["o"]) == ["a", "b", "c"]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.3:
        return {f"k{rng.randrange(8)}": _random_value(rng, depth + 1)
                for _ in range(rng.randrange(5))}
    if depth < 3 and roll < 0.5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(6))]
    return rng.choice([1, 2, "x", None, "y", 3.5])  # no 1 vs true: see _diff's docstring


def _mutated(rng: random.Random, value: Any) -> Any:
    value = copy.deepcopy(value)
    for _ in range(3):
        node = value
        while isinstance(node, (dict, list)) and node and rng.random() < 0.6:
            node = node[rng.choice(list(node))] if isinstance(node, dict) else node[
                rng.randrange(len(node))]
        roll = rng.random()
        if isinstance(node, dict):
            if roll < 0.4:
                node[f"n{rng.randrange(99)}"] = _random_value(rng, 2)
            elif node:
                key = rng.choice(list(node))
                if roll < 0.7:
                    del node[key]
                else:
                    node[key] = _random_value(rng, 2)
        elif isinstance(node, list):
            if roll < 0.3:
                node.append(_random_value(rng, 2))
            elif roll < 0.45:
                node.insert(0, _random_value(rng, 2))
            elif node and roll < 0.6:
                node.pop(0)
            elif node and roll < 0.8:
                node.pop()
            elif node:
                node[rng.randrange(len(node))] = _random_value(rng, 2)
    return value


def test_patching_with_the_diff_gives_the_new_version_and_leaves_the_old_alone():
    rng = random.Random(12)
    for _ in range(2000):
        old = {"r": _random_value(rng), "s": [1, 2, 3, 4, 5]}
        new = _mutated(rng, old)
        before = json.dumps(old)
        result = patched(old, diff(old, new))
        assert json.dumps(result) == json.dumps(new), (before, json.dumps(new))
        assert json.dumps(old) == before


def test_the_child_reader_sends_changes_and_the_parent_rebuilds_each_version(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, DOC)
    reader = ChildReader(StatePaths.of(path))
    try:
        first = reader.read()
        assert isinstance(first, Loaded) and first.first and first.document == DOC
        assert reader.read() is None  # same bytes
        shown = first.document
        write_atomic(path, {**DOC, "limits": [10, 20, 30, 40]})
        second = reader.read()
        assert isinstance(second, Loaded) and not second.first
        assert second.document == {**DOC, "limits": [10, 20, 30, 40]}
        assert second.document["clients"] is shown["clients"]  # untouched parts shared
        assert shown == DOC  # the version on screen was not changed under the tree
        write_atomic(path, "{ broken")
        broken = reader.read()
        assert isinstance(broken, Broken) and broken.line == 1
        # A child that dies is replaced; its first version is diffed here, not rebuilt.
        assert reader._proc is not None
        os.kill(reader._proc.pid, signal.SIGKILL)
        reader._proc.wait(10)
        write_atomic(path, {**DOC, "note": "back"})
        back = reader.read()
        assert isinstance(back, Loaded) and not back.first
        assert sorted((c.pointer, c.kind) for c in back.changes) == [
            ("/limits/3", "removed"), ("/note", "changed")]
        assert back.document == {**DOC, "note": "back"}
    finally:
        reader.close()


def test_without_a_child_process_reading_goes_on_in_this_one(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, DOC)
    reader = ChildReader(StatePaths.of(path), executable=str(tmp_path / "no-such-python"))
    try:
        first = reader.read()
        assert isinstance(first, Loaded) and first.document == DOC
        write_atomic(path, {**DOC, "open": False})
        second = reader.read()
        assert isinstance(second, Loaded)
        assert [(c.pointer, c.new) for c in second.changes] == [("/open", False)]
    finally:
        reader.close()


def test_jq_paths_quote_keys_that_are_not_plain_names():
    assert jq_path(()) == "."
    assert jq_path(("clients", "alice", "tags", 1)) == ".clients.alice.tags[1]"
    assert jq_path(("a b", 0, "ok")) == '.["a b"][0].ok'
    assert jq_path((0,)) == ".[0]"


def test_pointer_completion_offers_the_first_key_that_starts_so():
    assert complete(DOC, "/cl") == "/clients"
    assert complete(DOC, "/clients/b") == "/clients/bob"
    assert complete(DOC, "/limits/") == "/limits/0"
    assert complete(DOC, "/clients") is None  # already whole
    assert complete(DOC, "/nope/x") is None
    assert complete({"a/b": 1}, "/a") == "/a~1b"
    assert complete(DOC, "clients") is None


def test_a_value_changing_between_1_1_0_and_true_is_a_change_even_deep_inside():
    # Python's == takes 1, 1.0 and true for one value; JSON does not, and neither may the view.
    for old, new in [(1, 1.0), (1.0, True), (True, 1), (0, False)]:
        before = {"a": {"b": [old, "x"]}, "c": [{"d": old}, 2, 3, 4]}
        after = {"a": {"b": [new, "x"]}, "c": [{"d": new}, 2, 3, 4]}
        changes = diff(before, after)
        assert [(c.pointer, c.kind) for c in changes] == [("/a/b/0", "changed"),
                                                          ("/c/0/d", "changed")]
        result = patched(before, changes)
        assert json.dumps(result) == json.dumps(after)


def test_a_list_is_not_taken_as_shifted_when_its_items_differ_only_in_number_type():
    before = [[1], [2], [3], [4]]
    after = [[2.0], [3], [4], [5]]
    changes = diff(before, after)
    assert json.dumps(patched(before, changes)) == json.dumps(after)
    assert all(c.kind != "shifted" for c in changes)


def test_the_view_and_the_compare_and_set_share_one_rule_of_sameness():
    from stateview.tui._merge import same

    assert not same({"a": [1]}, {"a": [1.0]}) and not same([True], [1])
    assert same({"a": 1, "b": [2.5]}, {"b": [2.5], "a": 1})  # key order is not JSON
    assert not diff({"a": 1, "b": [2.5]}, {"b": [2.5], "a": 1})
