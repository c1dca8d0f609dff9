"""The compare-and-set behind every UI edit, on real files with real other writers.

Each test takes what the person saw, lets another writer commit (another StateFile, or another
process), then saves: only the person's change lands, and a change to something another
writer touched is a conflict that writes nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import stateview
from stateview._schema import load_schema
from stateview.tui._cas import apply
from stateview.tui._edit_commit import Saved, commit_ops
from stateview.tui._merge import merge_lists, same
from stateview.tui._patch import ABSENT, Conflict, Conflicted, Op, diff_ops, guards_for

from ._helpers import SCHEMA


def on_disk(path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({
        "counter": 0,
        "clients": {"alice": {"score": 1, "room": "lobby"}, "bob": {"score": 2}},
        "history": ["a", "b", "c"],
    }))
    return path


def other_writer(path, **changes):
    """Commit ``changes`` ({top-level key: value}) from another process, and wait."""
    script = ("import json, sys, stateview\n"
              "with stateview.open(sys.argv[1]) as s, s.transaction() as root:\n"
              "    for k, v in json.loads(sys.argv[2]).items():\n"
              "        root[k] = v\n")
    subprocess.run([sys.executable, "-c", script, str(path), json.dumps(changes)],
                   check=True, timeout=60)


def edit(path, at, mine):
    """What the UI does on save: diff what was seen against what was typed, commit."""
    seen = on_disk(path)
    original = seen
    for key in at:
        original = original[key]
    return seen, diff_ops(at, original, mine, guards_for(seen, at))


# -- JSON equality and the array merge ---------------------------------------------------


def test_same_tells_apart_what_python_equality_confuses():
    assert not same(1, 1.0) and not same(1, True) and not same(0, False)
    assert same({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]})
    assert not same({"a": [1]}, {"a": [True]})
    assert not same([1, 2], [1, 2, 3]) and not same({"a": 1}, {"b": 1})


def test_merge_lists_keeps_both_sides_when_they_touch_different_items():
    assert merge_lists(["a", "b", "c"], ["a", "b", "c", "d"], ["b", "c"]) == ["b", "c", "d"]
    assert merge_lists([1, 2, 3], [1, 2, 30], [10, 2, 3]) == [10, 2, 30]
    assert merge_lists([1, 2], [1, 2], [2]) == [2]
    assert merge_lists([1, 2], [5], [1, 2]) == [5]


def test_merge_lists_refuses_changes_to_the_same_item_or_place():
    assert merge_lists([1, 2, 3], [1, 20, 3], [1, 21, 3]) is None
    assert merge_lists([1, 2], [1, 2, "theirs"], [1, 2, "mine"]) is None
    assert merge_lists([1, 2, 3], [1, 3], [1, 22, 3]) is None


# -- what a person's edit becomes ---------------------------------------------------------


def test_diff_ops_names_each_key_added_removed_renamed_or_set():
    seen = {"o": {"a": 1, "b": {"x": 1, "y": 2}, "c": [1], "gone": 5, "old": "v"}}
    mine = {"a": 2, "b": {"x": 1, "y": 3}, "c": [1, 2], "new": "v", "added": True}
    ops = diff_ops(("o",), seen["o"], mine)
    described = {(op.kind, op.pointer, op.key) for op in ops}
    assert described == {("replace", "/o/a", ""), ("replace", "/o/b/y", ""),
                         ("merge", "/o/c", ""), ("remove", "/o/gone", ""),
                         ("rename", "/o/old", "new"), ("add", "/o/added", "")}


def test_an_op_below_an_array_item_remembers_the_items_before_it():
    seen = {"rooms": [{"n": 1}, {"n": 2}, {"n": [5, 6]}]}
    guards = guards_for(seen, ("rooms", 2, "n", 1))
    assert [(g.path, g.prefix) for g in guards] == [
        (("rooms",), ({"n": 1}, {"n": 2})), (("rooms", 2, "n"), (5,))]
    (op,) = diff_ops(("rooms", 2, "n", 1), 6, 7, guards)
    assert op.guards == guards


# -- the compare-and-set on a real file ---------------------------------------------------


def test_an_edit_of_an_unchanged_value_is_applied_and_durable(state):
    _, ops = edit(state, ("clients", "alice", "score"), 5)
    result = commit_ops(str(state), ops, None)
    assert isinstance(result, Saved)
    assert on_disk(state)["clients"]["alice"]["score"] == 5


def test_a_value_another_process_changed_is_a_conflict_and_nothing_is_written(state):
    _, ops = edit(state, ("clients", "alice"), {"score": 9, "room": "lobby"})
    other_writer(state, clients={"alice": {"score": 40, "room": "lobby"}, "bob": {"score": 2}})
    before = state.read_bytes()
    result = commit_ops(str(state), ops, None, at=("clients", "alice"))
    assert isinstance(result, Conflict)
    assert [(c.pointer, c.why, c.theirs) for c in result.clashes] == [
        ("/clients/alice/score", "changed", 40)]
    assert result.theirs == {"score": 40, "room": "lobby"}
    assert "changed since you saw it" in result.why
    assert state.read_bytes() == before


def test_a_container_edit_keeps_concurrent_commits_to_other_children(state):
    _, ops = edit(state, (), {"counter": 0, "clients": {"alice": {"score": 1, "room": "hall"},
                                                         "bob": {"score": 2}},
                              "history": ["a", "b", "c"]})
    other_writer(state, counter=13)  # the server counted while the person typed
    assert isinstance(commit_ops(str(state), ops, None), Saved)
    doc = on_disk(state)
    assert doc["counter"] == 13
    assert doc["clients"]["alice"]["room"] == "hall"


def test_saving_a_key_another_process_deleted_does_not_bring_it_back(state):
    _, ops = edit(state, ("clients", "bob"), {"score": 3})
    other_writer(state, clients={"alice": {"score": 1, "room": "lobby"}})
    result = commit_ops(str(state), ops, None, at=("clients", "bob"))
    assert isinstance(result, Conflict)
    assert result.clashes[0].why == "deleted" and result.theirs is ABSENT
    assert "was deleted since you saw it" in result.why
    assert "bob" not in on_disk(state)["clients"]


def test_deleting_an_item_another_process_deleted_first_deletes_nothing_else(state):
    seen = on_disk(state)
    ops = [Op("remove", ("history", 0), old="a", guards=guards_for(seen, ("history", 0)))]
    other_writer(state, history=["b", "c"])
    result = commit_ops(str(state), ops, None, at=("history", 0))
    assert isinstance(result, Conflict)
    assert result.clashes[0].why == "moved" and result.theirs is ABSENT
    assert result.forced is None  # "a" is nowhere: overwriting by index would delete "b"
    assert on_disk(state)["history"] == ["b", "c"]


def test_overwriting_after_a_shift_acts_on_the_same_item_where_it_is_now(state):
    seen = on_disk(state)
    ops = [Op("remove", ("history", 0), old="a", guards=guards_for(seen, ("history", 0)))]
    other_writer(state, history=["z", "a", "b", "c"])
    result = commit_ops(str(state), ops, None, at=("history", 0))
    assert isinstance(result, Conflict) and result.clashes[0].why == "moved"
    assert result.moves == {("history", 0): ("history", 1)} and result.theirs == "a"
    assert result.forced is not None
    assert isinstance(commit_ops(str(state), result.forced, None), Saved)
    assert on_disk(state)["history"] == ["z", "b", "c"]


def test_an_edit_below_a_shifted_array_item_is_a_move_conflict(state):
    state.write_text(json.dumps({"rooms": [{"n": 1}, {"n": 2}]}))
    _, ops = edit(state, ("rooms", 1, "n"), 5)
    other_writer(state, rooms=[{"n": 0}, {"n": 1}, {"n": 2}])
    result = commit_ops(str(state), ops, None, at=("rooms", 1, "n"))
    assert isinstance(result, Conflict) and result.clashes[0].why == "moved"
    assert result.forced is None  # below a shifted item: no safe way to aim at it again
    assert on_disk(state)["rooms"] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_an_append_lands_after_the_cursor_while_the_server_appends_at_the_end(state):
    seen = on_disk(state)
    path = ("history", 1)  # after "a"
    ops = [Op("add", path, new="mine", guards=guards_for(seen, path))]
    other_writer(state, history=["a", "b", "c", "server"])
    assert isinstance(commit_ops(str(state), ops, None), Saved)
    assert on_disk(state)["history"] == ["a", "mine", "b", "c", "server"]


def test_an_array_edit_merges_with_a_concurrent_append(state):
    _, ops = edit(state, ("history",), ["a", "c"])
    other_writer(state, history=["a", "b", "c", "d"])
    assert isinstance(commit_ops(str(state), ops, None), Saved)
    assert on_disk(state)["history"] == ["a", "c", "d"]


def test_a_rename_keeps_the_key_in_its_place(state):
    seen = on_disk(state)
    ops = diff_ops(("clients",), seen["clients"],
                   {"carol": seen["clients"]["alice"], "bob": {"score": 2}})
    assert [op.kind for op in ops] == ["rename"]
    assert isinstance(commit_ops(str(state), ops, None), Saved)
    assert list(on_disk(state)["clients"]) == ["carol", "bob"]


def test_the_same_change_made_by_both_is_no_conflict(state):
    _, ops = edit(state, ("counter",), 7)
    other_writer(state, counter=7)
    assert isinstance(commit_ops(str(state), ops, None), Saved)


def test_undo_and_redo_are_compare_and_set_commits(state):
    _, ops = edit(state, ("clients", "alice", "score"), 5)
    saved = commit_ops(str(state), ops, None)
    assert isinstance(saved, Saved)
    undone = commit_ops(str(state), saved.inverse, None)
    assert isinstance(undone, Saved) and on_disk(state)["clients"]["alice"]["score"] == 1
    redone = commit_ops(str(state), undone.inverse, None)
    assert isinstance(redone, Saved) and on_disk(state)["clients"]["alice"]["score"] == 5
    other_writer(state, clients={"alice": {"score": 99, "room": "lobby"}})
    assert isinstance(commit_ops(str(state), redone.inverse, None), Conflict)
    assert on_disk(state)["clients"]["alice"]["score"] == 99


def test_undo_of_a_delete_and_an_add_puts_the_item_back_in_place(state):
    seen = on_disk(state)
    ops = [Op("remove", ("history", 1), old="b", guards=guards_for(seen, ("history", 1)))]
    saved = commit_ops(str(state), ops, None)
    assert isinstance(saved, Saved) and on_disk(state)["history"] == ["a", "c"]
    assert isinstance(commit_ops(str(state), saved.inverse, None), Saved)
    assert on_disk(state)["history"] == ["a", "b", "c"]


def test_overwrite_after_a_conflict_applies_mine_against_theirs_only(state):
    _, ops = edit(state, ("clients", "alice", "score"), 5)
    other_writer(state, clients={"alice": {"score": 40, "room": "lobby"}, "bob": {"score": 2}})
    conflict = commit_ops(str(state), ops, None)
    assert isinstance(conflict, Conflict)
    other_writer(state, clients={"alice": {"score": 41, "room": "lobby"}, "bob": {"score": 2}})
    again = commit_ops(str(state), conflict.forced, None)
    assert isinstance(again, Conflict)  # theirs changed again after the dialog showed it
    assert isinstance(commit_ops(str(state), again.forced, None), Saved)
    assert on_disk(state)["clients"]["alice"]["score"] == 5


def test_a_new_schema_violation_is_refused_and_nothing_is_written(state):
    _, ops = edit(state, ("clients", "bob", "score"), -1)
    before = state.read_bytes()
    with pytest.raises(stateview.SchemaViolation) as caught:
        commit_ops(str(state), ops, load_schema(SCHEMA))
    assert caught.value.pointer == "/clients/bob/score" and caught.value.rule == "minimum"
    assert state.read_bytes() == before


def test_apply_checks_every_op_before_changing_anything():
    root = {"a": 1, "b": 2}
    ops = [Op("replace", ("a",), old=1, new=10), Op("replace", ("b",), old=3, new=30)]
    with pytest.raises(Conflicted):
        apply(root, ops)
    assert root == {"a": 1, "b": 2}


def test_an_operator_can_fix_a_document_that_already_breaks_the_schema(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"clients": {"alice": {"score": -5}, "bob": {"score": -1}}}))
    seen = on_disk(path)
    schema = load_schema(SCHEMA)
    fix = diff_ops(("clients", "alice", "score"), -5, 5)
    assert isinstance(commit_ops(str(path), fix, schema), Saved)
    drop = [Op("remove", ("clients", "bob"), old=seen["clients"]["bob"])]
    assert isinstance(commit_ops(str(path), drop, schema), Saved)
    assert on_disk(path) == {"clients": {"alice": {"score": 5}}}


def test_an_exclusive_holder_makes_the_commit_time_out_and_writes_nothing(state):
    before = state.read_bytes()
    _, ops = edit(state, ("counter",), 1)
    with stateview.open(state, exclusive=True), pytest.raises(stateview.LockTimeout):
        commit_ops(str(state), ops, None, lock_timeout=0.2)
    assert state.read_bytes() == before


def test_undo_of_a_rename_puts_the_old_key_back_in_its_place(state):
    seen = on_disk(state)
    ops = [Op("rename", ("clients", "alice"), old=seen["clients"]["alice"], key="carol")]
    saved = commit_ops(str(state), ops, None)
    assert isinstance(saved, Saved) and list(on_disk(state)["clients"]) == ["carol", "bob"]
    assert isinstance(commit_ops(str(state), saved.inverse, None), Saved)
    assert on_disk(state)["clients"] == seen["clients"]
    assert list(on_disk(state)["clients"]) == ["alice", "bob"]


def test_undo_of_an_array_edit_keeps_what_others_appended_since(state):
    _, ops = edit(state, ("history",), ["a", "c"])
    saved = commit_ops(str(state), ops, None)
    assert isinstance(saved, Saved)
    other_writer(state, history=["a", "c", "server"])
    assert isinstance(commit_ops(str(state), saved.inverse, None), Saved)
    assert on_disk(state)["history"] == ["a", "b", "c", "server"]


def test_an_undo_is_strict_where_an_edit_takes_its_change_made_already(state):
    saved = commit_ops(str(state), [Op("add", ("extra",), new=5)], None)
    assert isinstance(saved, Saved)
    other_writer(state, extra=6)
    before = state.read_bytes()
    changed = commit_ops(str(state), saved.inverse, None, strict=True)
    assert isinstance(changed, Conflict) and changed.clashes[0].why == "changed"
    assert state.read_bytes() == before
    # Another writer restored what the undo would: still not this session's undo to report.
    other_writer(state, counter=7)
    seen = commit_ops(str(state), diff_ops(("counter",), 7, 8), None)
    assert isinstance(seen, Saved)
    other_writer(state, counter=7)
    again = commit_ops(str(state), seen.inverse, None, strict=True)
    assert isinstance(again, Conflict) and again.clashes[0].why == "changed"
    # An edit is content to find its own change made: it is what the person asked for.
    assert isinstance(commit_ops(str(state), diff_ops(("counter",), 0, 7), None), Saved)


def test_an_undo_of_a_list_edit_is_a_conflict_where_an_edit_would_merge(state):
    saved = commit_ops(str(state), diff_ops(("history",), ["a", "b", "c"], ["a", "b", "c", "d"]),
                       None)
    assert isinstance(saved, Saved)
    assert [op.kind for op in saved.inverse] == ["merge"]
    other_writer(state, history=["z", "a", "b", "c", "d"])  # another item, elsewhere
    before = state.read_bytes()
    undone = commit_ops(str(state), saved.inverse, None, strict=True)
    assert isinstance(undone, Conflict) and undone.clashes[0].why == "changed"
    assert state.read_bytes() == before
    # The same change as an edit merges with theirs: both sides kept.
    merged = commit_ops(str(state), saved.inverse, None)
    assert isinstance(merged, Saved)
    assert json.loads(state.read_text())["history"] == ["z", "a", "b", "c"]
