"""Editing through the UI next to a real writer process: nothing it commits is lost.

Each test drives the real app with the pilot while another process commits to the same file
(``counting_writer``: ``/counter`` += 1 every 10 ms, or one-off commits by
``commit_in_process``), and checks the file afterwards.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from textual.containers import Vertical
from textual.widgets import Input, TextArea

from stateview.tui.screens.add import AddScreen, RenameScreen
from stateview.tui.screens.confirm import ConfirmScreen
from stateview.tui.screens.conflict import ConflictScreen
from stateview.tui.screens.editor import EditorScreen
from stateview.tui.widgets.feed import ChangeFeed

from ._helpers import SCHEMA, commit_in_process, drive, make_app, wait_until
from ._writer import counting_writer, on_disk

DOC = {
    "counter": 0,
    "clients": {"alice": {"score": 12, "room": "lobby"}, "bob": {"score": 7}},
    "history": ["a", "b", "c"],
}


@pytest.fixture
def live(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps(DOC, indent=2) + "\n")
    return path


async def saved(pilot, app, before):
    try:
        await wait_until(pilot, lambda: app.saves > before, "the save to be durable")
    except AssertionError:
        errors = [str(w.render()) for w in app.screen.query("#error")]
        raise AssertionError(f"not saved; on {app.screen}: {errors}") from None


async def counted_past(pilot, path, value):
    await wait_until(pilot, lambda: on_disk(path)["counter"] > value, "the writer to count")
    return on_disk(path)["counter"]


def test_e_saves_a_scalar_while_another_process_keeps_committing(live):
    app = make_app(live, SCHEMA)

    async def scenario(pilot):
        with counting_writer(live):
            await counted_past(pilot, live, 0)
            app.go_to("/clients/bob/score")
            await pilot.press("e")
            assert isinstance(app.screen, EditorScreen)
            assert app.screen.query_one("#field", Input).value == "7"
            await pilot.press("ctrl+u", *"42", "enter")
            await saved(pilot, app, 0)
            assert on_disk(live)["clients"]["bob"]["score"] == 42  # durable when "saved"
            before = on_disk(live)["counter"]
            await counted_past(pilot, live, before)  # the writer still commits after us

    drive(app, scenario)


def test_a_container_edit_keeps_every_commit_the_server_made_while_typing(live):
    app = make_app(live)

    async def scenario(pilot):
        with counting_writer(live):
            app.go_to("")
            await pilot.press("e")
            area = app.screen.query_one("#field", TextArea)
            seen = json.loads(area.text)["counter"]
            counted = await counted_past(pilot, live, seen + 5)  # the person types slowly
            mine = json.loads(area.text)
            mine["clients"]["alice"]["room"] = "hall"
            area.text = json.dumps(mine, indent=2)
            await pilot.press("ctrl+s")
            await saved(pilot, app, 0)
            doc = on_disk(live)
            assert doc["clients"]["alice"]["room"] == "hall"
            assert doc["counter"] >= counted  # no acknowledged increment was written over

    drive(app, scenario)


async def open_editor_then_commit_elsewhere(pilot, app, path, pointer, change):
    app.go_to(pointer)
    await pilot.press("e")
    assert isinstance(app.screen, EditorScreen)
    await commit_in_process(path, change)


def test_conflict_t_keeps_theirs_and_writes_nothing(live):
    app = make_app(live)

    async def scenario(pilot):
        await open_editor_then_commit_elsewhere(pilot, app, live, "/clients/bob/score",
                                                {"/clients/bob/score": 40})
        before = live.read_bytes()
        await pilot.press("ctrl+u", *"8", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        why = str(app.screen.query_one("#why").render())
        assert "/clients/bob/score changed since you saw it" in why
        assert "40" in str(app.screen.query_one("#theirs").query_one("Static").render())
        await pilot.press("t")
        await pilot.pause()
        assert not isinstance(app.screen, ConflictScreen)
        assert live.read_bytes() == before

    drive(app, scenario)


def test_conflict_o_overwrites_with_mine(live):
    app = make_app(live)

    async def scenario(pilot):
        await open_editor_then_commit_elsewhere(pilot, app, live, "/clients/bob",
                                                {"/clients/bob/score": 40, "/counter": 3})
        area = app.screen.query_one("#field", TextArea)
        area.text = '{"score": 8}'
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        await pilot.press("o")
        await saved(pilot, app, 0)
        doc = on_disk(live)
        assert doc["clients"]["bob"] == {"score": 8}
        assert doc["counter"] == 3  # the other writer's commit elsewhere survives

    drive(app, scenario)


def test_conflict_e_edits_again_starting_from_theirs(live):
    app = make_app(live)

    async def scenario(pilot):
        await open_editor_then_commit_elsewhere(pilot, app, live, "/clients/bob/score",
                                                {"/clients/bob/score": 40})
        await pilot.press("ctrl+u", *"8", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EditorScreen), "the editor")
        field = app.screen.query_one("#field", Input)
        assert field.value == "40"
        await pilot.press("ctrl+u", *"41", "enter")
        await saved(pilot, app, 0)
        assert on_disk(live)["clients"]["bob"]["score"] == 41

    drive(app, scenario)


def test_saving_a_key_another_process_deleted_is_a_conflict_not_a_resurrection(live):
    app = make_app(live)

    async def scenario(pilot):
        await open_editor_then_commit_elsewhere(pilot, app, live, "/clients/bob/score", {
            "/clients": {"alice": DOC["clients"]["alice"]}})
        await pilot.press("ctrl+u", *"8", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        assert "was deleted since you saw it" in str(
            app.screen.query_one("#why").render())
        await pilot.press("t")
        await pilot.pause()
        assert "bob" not in on_disk(live)["clients"]

    drive(app, scenario)


def test_conflict_e_on_a_deleted_key_offers_mine_to_put_back_on_purpose(live):
    app = make_app(live)

    async def scenario(pilot):
        await open_editor_then_commit_elsewhere(pilot, app, live, "/clients/bob/score", {
            "/clients/bob": {}})
        await pilot.press("ctrl+u", *"8", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EditorScreen), "the editor")
        assert app.screen.query_one("#field", Input).value == "8"  # mine: theirs is gone
        assert "score" not in on_disk(live)["clients"]["bob"]
        await pilot.press("enter")
        await saved(pilot, app, 0)
        assert on_disk(live)["clients"]["bob"] == {"score": 8}

    drive(app, scenario)


def test_deleting_an_item_after_the_list_shifted_is_a_conflict(live):
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("/history/0")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        assert '"a"' in str(app.screen.query_one("#body").query_one("Static").render())
        await commit_in_process(live, {"/history": ["b", "c"]})  # someone deleted it first
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        await pilot.press("t")
        await pilot.pause()
        assert on_disk(live)["history"] == ["b", "c"]  # "b" was not deleted in its place

    drive(app, scenario)


def test_conflict_o_after_the_list_shifted_deletes_the_same_item_where_it_is_now(live):
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("/history/1")
        await pilot.press("d")
        await commit_in_process(live, {"/history": ["new", "a", "b", "c"]})
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        assert "/history/1 moved since you saw it" in str(
            app.screen.query_one("#why").render())
        await pilot.press("o")
        await saved(pilot, app, 0)
        assert on_disk(live)["history"] == ["new", "a", "c"]

    drive(app, scenario)


def test_d_deletes_after_yes_while_the_writer_commits(live):
    app = make_app(live)

    async def scenario(pilot):
        with counting_writer(live):
            app.go_to("/clients/alice")
            await pilot.press("d", "n")
            await pilot.pause()
            assert "alice" in on_disk(live)["clients"]
            await pilot.press("d", "y")
            await saved(pilot, app, 0)
            assert "alice" not in on_disk(live)["clients"]

    drive(app, scenario)


def test_a_refused_save_keeps_the_dialog_the_text_and_says_what_to_change(live):
    app = make_app(live, SCHEMA)
    before = live.read_bytes()

    async def scenario(pilot):
        app.go_to("/clients/bob/score")
        await pilot.press("e", "ctrl+u", *"-1")
        await pilot.pause()
        assert "minimum" in str(app.screen.query_one("#check").render())  # as you type
        await pilot.press("enter")
        await wait_until(pilot, lambda: "rule 'minimum'" in str(
            app.screen.query_one("#error").render()), "the refusal")
        error = str(app.screen.query_one("#error").render())
        assert "/clients/bob/score" in error and "change the value" in error
        assert isinstance(app.screen, EditorScreen)
        assert app.screen.query_one("#field", Input).value == "-1"
        await pilot.press("ctrl+u", *"{oops", "enter")
        await pilot.pause()
        assert "not JSON at line 1" in str(app.screen.query_one("#error").render())
        assert app.screen.query_one("#field", Input).value == "{oops"
        assert live.read_bytes() == before

    drive(app, scenario)


def test_a_refusal_goes_once_the_text_changes_and_the_check_says_it_is_good(live):
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("/clients/bob/score")
        await pilot.press("e", "ctrl+u", "enter")
        await pilot.pause()
        assert "not JSON at line 1" in str(app.screen.query_one("#error").render())
        await pilot.press("5")
        await pilot.pause()
        assert "valid JSON" in str(app.screen.query_one("#check").render())
        assert str(app.screen.query_one("#error").render()) == ""  # not "not JSON" below it
        await pilot.press("escape")
        await pilot.press("a", *"team", "tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AddScreen)
        assert str(app.screen.query_one("#error").render()) != ""
        await pilot.press(*"red")
        await pilot.pause()
        assert str(app.screen.query_one("#error").render()) == ""

    drive(app, scenario)


def test_a_bare_word_where_a_string_is_is_taken_as_a_string(live):
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("/clients/alice/room")
        await pilot.press("e", "ctrl+u", *"arena", "enter")
        await saved(pilot, app, 0)
        assert on_disk(live)["clients"]["alice"]["room"] == "arena"

    drive(app, scenario)


def test_a_adds_a_key_the_schema_suggests_with_its_default(live):
    schema = {"type": "object", "properties": {"clients": {
        "type": "object", "additionalProperties": {"type": "object", "properties": {
            "score": {"type": "integer"}, "team": {"type": "string", "default": "red"}}}}}}
    app = make_app(live, schema)

    async def scenario(pilot):
        with counting_writer(live):
            app.go_to("/clients/bob")
            await pilot.press("a")
            assert isinstance(app.screen, AddScreen)
            assert "team (default \"red\")" in str(app.screen.query_one(".muted").render())
            await pilot.press(*"team", "tab")
            assert app.screen.query_one("#value", Input).value == '"red"'
            await pilot.press("ctrl+s")
            await saved(pilot, app, 0)
            assert on_disk(live)["clients"]["bob"] == {"score": 7, "team": "red"}

    drive(app, scenario)


def test_a_on_an_item_inserts_after_it_while_another_process_appends(live):
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("/history/0")
        await pilot.press("a")
        await commit_in_process(live, {"/history": ["a", "b", "c", "server"]})
        await pilot.press(*"mine", "enter")
        await saved(pilot, app, 0)
        assert on_disk(live)["history"] == ["a", "mine", "b", "c", "server"]

    drive(app, scenario)


def test_r_renames_a_key_in_its_place(live):
    app = make_app(live)

    async def scenario(pilot):
        with counting_writer(live):
            app.go_to("/clients/alice")
            await pilot.press("r")
            assert isinstance(app.screen, RenameScreen)
            await pilot.press("ctrl+u", *"carol", "enter")
            await saved(pilot, app, 0)
            assert list(on_disk(live)["clients"]) == ["carol", "bob"]

    drive(app, scenario)


def test_u_undoes_and_ctrl_r_redoes_as_compare_and_set_commits(live):
    app = make_app(live)

    async def scenario(pilot):
        with counting_writer(live):
            app.go_to("/clients/bob/score")
            await pilot.press("e", "ctrl+u", *"8", "enter")
            await saved(pilot, app, 0)
            await pilot.press("u")
            await saved(pilot, app, 1)
            assert on_disk(live)["clients"]["bob"]["score"] == 7
            await pilot.press("ctrl+r")
            await saved(pilot, app, 2)
            assert on_disk(live)["clients"]["bob"]["score"] == 8
        await commit_in_process(live, {"/clients/bob/score": 99})
        await pilot.press("u")  # the value this session wrote is gone: a conflict
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        # The edit was written; it is its undo that was not.
        title = app.screen.query_one(Vertical).border_title
        assert title == "conflict: undo of edit /clients/bob/score was not written", title
        await pilot.press("t")
        await pilot.pause()
        assert on_disk(live)["clients"]["bob"]["score"] == 99
        assert "kept theirs: undo of edit /clients/bob/score was not written" in [
            str(n.message) for n in app._notifications]

    drive(app, scenario)


def test_the_change_feed_marks_the_sessions_own_commits(live):
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("/clients/bob/score")
        await commit_in_process(live, {"/counter": 5})
        await wait_until(pilot, lambda: app.json_tree.document["counter"] == 5, "theirs")
        await pilot.press("e", "ctrl+u", *"8", "enter")
        await saved(pilot, app, 0)
        await wait_until(pilot, lambda: app.json_tree.document["clients"]["bob"]["score"] == 8,
                         "our commit on screen")
        marked = {(change.pointer, i in entry.own)
                  for entry in app.query_one(ChangeFeed).entries
                  for i, change in enumerate(entry.changes)}
        assert ("/clients/bob/score", True) in marked
        assert ("/counter", False) in marked
        await wait_until(pilot, lambda: app.query_one(ChangeFeed).up_to_date, "the feed")
        lines = [str(app.query_one(ChangeFeed).get_option_at_index(i).prompt)
                 for i in range(app.query_one(ChangeFeed).option_count)]
        assert any("you /clients/bob/score" in line for line in lines)
        assert any("/counter" in line and "you" not in line for line in lines)

    drive(app, scenario)


def test_ctrl_o_takes_the_text_back_from_editor(live, tmp_path, monkeypatch):
    script = tmp_path / "fake-editor"
    script.write_text("#!/bin/sh\nprintf '{\"score\": 70, \"vip\": true}' > \"$1\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("/clients/bob")
        await pilot.press("e", "ctrl+o")
        await wait_until(pilot, lambda: "vip" in app.screen.query_one("#field", TextArea).text,
                         "the editor's text")
        await pilot.press("ctrl+s")
        await saved(pilot, app, 0)
        assert on_disk(live)["clients"]["bob"] == {"score": 70, "vip": True}

    drive(app, scenario)


DELETE_SCRIPT = """
import sys, stateview
with stateview.open(sys.argv[1]) as state, state.transaction() as root:
    node = root
    *parents, last = sys.argv[2].strip("/").split("/")
    for key in parents:
        node = node[key]
    del node[last]
"""


async def delete_in_process(pilot, app, path, pointer):
    """Another process deletes ``pointer`` (an object's key); wait until the UI shows it."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", DELETE_SCRIPT, str(path),
                                                pointer, stderr=subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    await wait_until(pilot, lambda: app.json_tree.document == on_disk(path), "their delete")


def refusals(app):
    return [str(n.message) for n in app._notifications if "nothing was written" in str(n.message)]


@pytest.mark.parametrize(("pointer", "keys", "deleted", "gone"), [
    # undoing an add would delete a key another writer deleted already
    ("/clients/bob", ("a", *"team", "tab", *'"red"', "ctrl+s"), "/clients/bob/team",
     "/clients/bob/team"),
    # undoing an edit would put back a value whose object another writer deleted
    ("/clients/bob/score", ("e", "ctrl+u", "8", "enter"), "/clients/bob",
     "/clients/bob/score"),
])
def test_an_undo_whose_target_another_writer_deleted_says_so_and_writes_nothing(
        live, pointer, keys, deleted, gone):
    app = make_app(live)

    async def scenario(pilot):
        app.go_to(pointer)
        await pilot.press(*keys)
        await saved(pilot, app, 0)
        await delete_in_process(pilot, app, live, deleted)
        before = live.read_bytes()
        await pilot.press("u")
        await wait_until(pilot, lambda: refusals(app), "the refusal")
        [refusal] = refusals(app)
        assert refusal.startswith("undo of ") and f"{gone} was deleted by another" in refusal
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConflictScreen)
        assert app.saves == 1 and live.read_bytes() == before
        assert app.redo_stack == []  # nothing was undone, so nothing can be redone

    drive(app, scenario)


_HOLD_A_TRANSACTION = """
import sys, stateview
with stateview.open(sys.argv[1]) as state, state.transaction():
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_an_undo_refused_for_a_busy_lock_can_be_tried_again(live):
    """A refusal that wrote nothing (another writer kept the lock past the UI's wait) must
    leave the commit to undo where it was, not drop it from the session's history."""
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("/clients/bob/score")
        await pilot.press("e", "ctrl+u", *"8", "enter")
        await saved(pilot, app, 0)
        holder = subprocess.Popen([sys.executable, "-c", _HOLD_A_TRANSACTION, str(live)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
            await pilot.press("u")
            await wait_until(pilot, lambda: any(
                "refused" in str(n.title) for n in app._notifications), "the refusal")
        finally:
            holder.communicate("\n", timeout=60)
        assert on_disk(live)["clients"]["bob"]["score"] == 8
        await pilot.press("u")
        await saved(pilot, app, 1)
        assert on_disk(live)["clients"]["bob"]["score"] == 7
        await pilot.press("ctrl+r")
        await saved(pilot, app, 2)
        assert on_disk(live)["clients"]["bob"]["score"] == 8

    drive(app, scenario)
