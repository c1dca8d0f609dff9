"""What a person sees while editing, pinned as SVG snapshots (update with --snapshot-update)."""

from __future__ import annotations

from dataclasses import replace

from stateview.tui._load import read_status
from stateview.tui.screens.conflict import ConflictScreen

from ._helpers import SCHEMA, SIZE, commit_in_process, make_app, wait_until
from .test_snapshots import settled

TEAM_SCHEMA = {
    **SCHEMA,
    "properties": {**SCHEMA["properties"], "clients": {
        "type": "object", "additionalProperties": {"type": "object", "properties": {
            "score": {"description": "Never negative.", "type": "integer", "minimum": 0},
            "team": {"description": "The client's side.", "enum": ["red", "blue"],
                     "default": "red"},
            "vip": {"type": "boolean", "default": False}}}}},
}


def test_editor_on_an_object_with_a_rule_broken_as_you_type(snap_compare, state_file):
    """e on alice: the JSON editor; a negative score is flagged before saving."""
    app = make_app(state_file, SCHEMA)

    async def edit(pilot):
        app.go_to("/clients/alice")
        await pilot.press("e")
        area = app.screen.query_one("#field")
        area.cursor_blink = False  # a blinking cursor is on or off depending on the moment
        area.text = area.text.replace("12", "-3")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, edit))


def test_add_dialog_suggests_the_schema_keys_with_defaults(snap_compare, state_file):
    """a on bob: key, tab, value; the schema's keys and defaults are offered."""
    app = make_app(state_file, TEAM_SCHEMA)

    async def add(pilot):
        app.go_to("/clients/bob")
        await pilot.press("a", *"te", "right", "tab")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, add))


def test_conflict_dialog_shows_original_theirs_and_mine(snap_compare, state_file):
    """Another process changed the score while the editor was open."""
    # The other process leaves a lock record (its pid, the time): not in the picture.
    app = make_app(state_file, SCHEMA, status_reader=lambda paths: replace(
        read_status(paths), last_commit={}, holder={}, lock_held=False))

    async def conflict(pilot):
        app.go_to("/clients/bob/score")
        await pilot.press("e")
        await commit_in_process(state_file, {"/clients/bob/score": 40})
        await pilot.press("ctrl+u", *"8", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")

    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, conflict))


def test_read_only_mode_says_why_in_the_status_bar(snap_compare, state_file):
    """--readonly: the status bar says so; e is refused with the reason."""
    app = make_app(state_file, SCHEMA, readonly=True)

    async def try_edit(pilot):
        app.go_to("/clients/bob/score")
        await pilot.press("e")

    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, try_edit))
