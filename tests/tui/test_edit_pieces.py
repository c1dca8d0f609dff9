"""The editing pieces on their own: typed text to values, own-commit marks, keys and palette,
the choice list and the toggle the schema asks for."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from textual.widgets import Select, Switch

from stateview.tui._edit_commit import OwnWrites
from stateview.tui._patch import Op
from stateview.tui._valuetext import Refusal, ValueChecker, multi_line, parse_value, to_text
from stateview.tui.screens.editor import EditorScreen

from ._helpers import drive, make_app, wait_until
from ._writer import on_disk

STRING = {"type": "string"}


def test_a_bare_word_is_a_string_only_where_a_string_belongs():
    assert parse_value("lobby", STRING, 1) == "lobby"
    assert parse_value("lobby", None, "arena") == "lobby"
    assert parse_value('"quoted"', STRING, None) == "quoted"
    assert parse_value("42", STRING, "x") == 42  # JSON first: the schema check says no
    with pytest.raises(Refusal, match='a string needs JSON quotes: "lobby"'):
        parse_value("lobby", {"type": "integer"}, 3)


def test_text_that_is_not_json_is_refused_with_line_and_column():
    with pytest.raises(Refusal, match="not JSON at line 2, column"):
        parse_value('{\n  "a": ,\n}', None, {})
    with pytest.raises(Refusal):
        parse_value("NaN", None, 1.5)  # not strict JSON, and 1.5 is no string


def test_containers_and_long_strings_get_the_multi_line_editor():
    assert multi_line({}) and multi_line([1]) and multi_line("x" * 61) and multi_line("a\nb")
    assert not multi_line("short") and not multi_line(3) and not multi_line(None)
    assert to_text({"a": [1]}) == '{\n  "a": [\n    1\n  ]\n}'
    assert to_text("é") == '"é"'


def test_the_checker_follows_refs_and_names_the_place_and_rule():
    root = {"$defs": {"score": {"type": "integer", "minimum": 0}},
            "properties": {"s": {"$ref": "#/$defs/score"}}}
    checker = ValueChecker(root, root["properties"]["s"])
    (problem,) = checker.problems(-1, ("clients", "s"))
    assert (problem.pointer, problem.rule) == ("/clients/s", "minimum")
    assert ValueChecker(None, None).problems(-1) == []


def test_own_writes_claim_only_what_this_session_wrote_and_is_still_there():
    own = OwnWrites(keep_seconds=10)
    own.record((Op("replace", ("a", "b"), old=1, new=2), Op("remove", ("gone",), old=1),
                Op("rename", ("k",), old=5, key="n")), now=0)
    doc = {"a": {"b": 2}, "n": 5, "other": 1}
    claimed = own.claim([("a", "b"), ("gone",), ("k",), ("n",), ("other",)], doc, now=1)
    assert claimed == {("a", "b"), ("gone",), ("k",), ("n",)}
    assert own.claim([("a", "b")], doc, now=2) == set()  # each write is claimed once
    own.record((Op("replace", ("x",), old=1, new=2),), now=0)
    assert own.claim([("x",)], {"x": 3}, now=1) == set()  # someone else's 3, not our 2
    own.record((Op("add", ("y",), new=1),), now=0)
    assert own.claim([("y",)], {"y": 1}, now=11) == set()  # too old to tell


def test_every_edit_command_is_in_help_and_in_the_palette(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        rows = dict(app.help_rows())
        for keys in ("e", "a", "r", "d", "u", "ctrl+r"):
            assert keys in rows, keys
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Edit value", "Add key or item", "Rename key", "Delete value", "Undo",
                "Redo"} <= titles

    drive(app, scenario)


SCHEMA = {"type": "object", "properties": {"clients": {"type": "object",
          "additionalProperties": {"type": "object", "properties": {
              "room": {"description": "Where the player is.",
                       "enum": ["lobby", "arena", "library"]},
              "online": {"type": "boolean"}}}}}}


def test_an_enum_gets_a_choice_list_and_a_boolean_a_toggle(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"clients": {"bob": {"room": "arena", "online": False}}}))
    app = make_app(path, SCHEMA)

    async def scenario(pilot):
        app.go_to("/clients/bob/room")
        await pilot.press("e")
        assert isinstance(app.screen, EditorScreen)
        assert "Where the player is." in str(app.screen.query_one("#description").render())
        select = app.screen.query_one("#field", Select)
        assert select.value == 1
        select.value = 2
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.saves == 1, "the choice to be saved")
        app.go_to("/clients/bob/online")
        await pilot.press("e")
        await pilot.pause()
        switch = app.screen.query_one("#field", Switch)
        assert switch.value is False
        await pilot.press("space", "ctrl+s")
        await wait_until(pilot, lambda: app.saves == 2, "the toggle to be saved")
        assert on_disk(path)["clients"]["bob"] == {"room": "library", "online": True}

    drive(app, scenario)


def test_nothing_changed_writes_nothing(state_file):
    app = make_app(state_file)
    before = state_file.read_bytes()

    async def scenario(pilot):
        app.go_to("/server/port")
        await pilot.press("e", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, EditorScreen)
        assert app.saves == 0

    drive(app, scenario)
    assert state_file.read_bytes() == before


def test_a_huge_container_is_not_offered_as_one_text(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"many": list(range(5000))}))
    app = make_app(path)

    async def scenario(pilot):
        app.go_to("/many")
        await pilot.press("e")
        assert not isinstance(app.screen, EditorScreen)
        app.go_to("/many/3")
        await pilot.press("e")
        assert isinstance(app.screen, EditorScreen)

    drive(app, scenario)


def test_the_compare_and_set_modules_do_not_import_textual():
    code = ("import sys\n"
            "import stateview.tui._cas, stateview.tui._edit_commit, stateview.tui._merge\n"
            "import stateview.tui._patch, stateview.tui._valuetext, stateview.tui._writable\n"
            "assert 'textual' not in sys.modules, 'textual was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_escape_cancels_every_editor_and_writes_nothing(state_file):
    app = make_app(state_file)
    before = state_file.read_bytes()

    async def scenario(pilot):
        for pointer in ("/clients/alice", "/server/port"):  # the text area, the line
            app.go_to(pointer)
            await pilot.press("e")
            assert isinstance(app.screen, EditorScreen)
            await pilot.press("x", "escape")
            await pilot.pause()
            assert not isinstance(app.screen, EditorScreen), pointer

    drive(app, scenario)
    assert state_file.read_bytes() == before
