"""Edits from the UI go through the engine; refused edits write nothing."""

from __future__ import annotations

import json

import stateview
from stateview._schema import load_schema
from stateview.tui._edit import DELETE, commit_edit
from stateview.tui.screens.confirm import ConfirmScreen
from stateview.tui.screens.prompt import PromptScreen

from ._helpers import DOC, SCHEMA, cursor_pointer, drive, labels, loaded_once_more, make_app


def on_disk(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_e_edits_the_selected_value_and_commits_it(state_file):
    app = make_app(state_file, SCHEMA)

    async def scenario(pilot):
        app.go_to("/clients/bob/score")
        await pilot.press("e")
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.value == "7"  # the current value, as JSON
        before = app.loads
        await pilot.press("ctrl+u", *"42", "enter")
        await loaded_once_more(pilot, app, before)
        assert on_disk(state_file)["clients"]["bob"]["score"] == 42
        assert "score: 42" in labels(app)
        assert cursor_pointer(app) == "/clients/bob/score"

    drive(app, scenario)


def test_an_edit_the_schema_refuses_writes_nothing(state_file):
    app = make_app(state_file, SCHEMA)
    before = state_file.read_bytes()

    async def scenario(pilot):
        app.go_to("/clients/bob/score")
        await pilot.press("e", "ctrl+u", *"-1", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert state_file.read_bytes() == before
        assert not (state_file.parent / "state.json.bak").exists()

    drive(app, scenario)


def test_text_that_is_not_json_is_refused_before_anything_is_opened(state_file):
    app = make_app(state_file)
    before = state_file.read_bytes()

    async def scenario(pilot):
        app.go_to("/server/name")
        await pilot.press("e", "ctrl+u", *"'single'", "enter")
        await pilot.pause()
        assert state_file.read_bytes() == before
        assert not (state_file.parent / "state.json.lock").exists()  # never opened

    drive(app, scenario)


def test_d_deletes_after_yes_and_keeps_after_no(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        app.go_to("/clients/alice")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert "alice" in on_disk(state_file)["clients"]
        before = app.loads
        await pilot.press("d", "y")
        await loaded_once_more(pilot, app, before)
        assert on_disk(state_file)["clients"] == {"bob": DOC["clients"]["bob"]}
        assert "▼ clients {1}" in labels(app)

    drive(app, scenario)


def test_readonly_refuses_edits_and_says_why(state_file):
    app = make_app(state_file, readonly=True)
    before = state_file.read_bytes()

    async def scenario(pilot):
        await pilot.press("j", "e", "d")
        assert not isinstance(app.screen, (PromptScreen, ConfirmScreen))
        assert "read-only: --readonly" in str(app.query_one("#status").render())
        assert state_file.read_bytes() == before

    drive(app, scenario)


def test_commit_edit_lets_an_operator_fix_a_document_that_already_breaks_the_schema(tmp_path):
    path = tmp_path / "state.json"
    broken = {**DOC, "clients": {"alice": {"score": -5}, "bob": {"score": -1}}}
    path.write_text(json.dumps(broken))
    schema = load_schema(SCHEMA)
    commit_edit(str(path), ["clients", "alice", "score"], 5, schema)
    assert on_disk(path)["clients"]["alice"]["score"] == 5
    commit_edit(str(path), ["clients", "bob"], DELETE, schema)
    assert "bob" not in on_disk(path)["clients"]


def test_commit_edit_refuses_a_new_violation_and_a_lock_held_too_long(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps(DOC))
    schema = load_schema(SCHEMA)
    before = path.read_bytes()
    try:
        commit_edit(str(path), ["server", "port"], 0, schema)
    except stateview.SchemaViolation as e:
        assert e.pointer == "/server/port" and e.rule == "minimum"
    else:
        raise AssertionError("the schema let port 0 through")
    with stateview.open(path, exclusive=True):
        try:
            commit_edit(str(path), ["note"], 1, schema, lock_timeout=0.2)
        except stateview.LockTimeout:
            pass
        else:
            raise AssertionError("an edit went past an exclusive holder")
    assert path.read_bytes() == before


def test_a_huge_container_is_not_offered_as_one_line_of_json(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"many": list(range(5000))}))
    app = make_app(path)

    async def scenario(pilot):
        app.go_to("/many")
        await pilot.press("e")
        assert not isinstance(app.screen, PromptScreen)
        app.go_to("/many/3")
        await pilot.press("e")
        assert isinstance(app.screen, PromptScreen)

    drive(app, scenario)
