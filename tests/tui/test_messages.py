"""What the UI says: notices, titles and the status bar, in the words a reader expects."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from stateview.tui._patch import Clash, Conflict
from stateview.tui.screens.add import AddScreen
from stateview.tui.screens.editor import EditorScreen
from stateview.tui.widgets.details import DetailsPane
from stateview.tui.widgets.status import StatusBar

from ._helpers import drive, make_app, wait_until
from ._writer import on_disk


@pytest.fixture
def live(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"one": {"only": 1}, "history": ["a", "b"]}, indent=2) + "\n")
    return path


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def test_a_delete_is_reported_as_deleted_once_durable_not_as_saved(live):
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("/history/0")
        await pilot.press("d", "y")
        await wait_until(pilot, lambda: app.saves == 1, "the delete to be durable")
        assert on_disk(live)["history"] == ["b"]
        assert notices(app)[-1] == "deleted /history/0 (durable)"
        await pilot.press("u")
        await wait_until(pilot, lambda: app.saves == 2, "the undo to be durable")
        assert notices(app)[-1] == "undone: delete /history/0 (durable)"

    drive(app, scenario)


def test_the_status_bar_names_the_editing_keys_there_are(live):
    app = make_app(live)

    async def scenario(pilot):
        text = app.query_one(StatusBar).render().plain
        for key in ("e edit", "a add", "r rename", "d delete", "u undo"):
            assert key in text

    drive(app, scenario)


def test_dialogs_on_the_root_name_it_the_root_not_slash(live):
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("")
        await pilot.press("e")
        assert isinstance(app.screen, EditorScreen)
        assert app.screen.label == "edit '' (the root)"
        await pilot.press("escape")
        await pilot.press("a")
        assert isinstance(app.screen, AddScreen)
        assert app.screen.label == "add a key to '' (the root)"

    drive(app, scenario)


def test_an_object_of_one_key_is_one_key(live):
    app = make_app(live)

    async def scenario(pilot):
        app.go_to("/one")
        await pilot.pause()
        head = app.query_one(DetailsPane)._body.content.renderables[0]
        assert "object (1 key)" in head.plain

    drive(app, scenario)


def test_a_conflict_in_two_places_says_one_more_place():
    clashes = (Clash("/a", "changed", 1), Clash("/b", "changed", 2))
    assert Conflict(clashes, None).why.startswith("/a changed since you saw it "
                                                  "(and 1 more place)")
    root = Conflict((Clash("", "changed", {}),), None)
    assert root.why.startswith("'' (the root) changed")


def test_an_engine_warning_is_a_notice_in_the_ui_not_text_on_the_terminal(live, capfd):
    app = make_app(live)

    async def scenario(pilot):
        capfd.readouterr()
        worker = threading.Thread(target=lambda: logging.getLogger("stateview").warning(
            "%s: could not write the lock record: %s", "state.json.lock", "disk full"))
        worker.start()
        worker.join(10)
        await wait_until(pilot, lambda: any("disk full" in n for n in notices(app)),
                         "the warning as a notice")
        assert "disk full" not in capfd.readouterr().err
        assert list(app._notifications)[-1].severity == "warning"

    drive(app, scenario)
    logging.getLogger("stateview").warning("after the app: not a notice")
    assert not any("after the app" in n for n in notices(app))


def test_an_engine_warning_does_not_also_reach_the_clis_stderr_handler(live):
    # The CLI's logging.basicConfig puts a handler on the root logger that holds the real
    # stderr: a record propagating to it is written over the screen while the app runs.
    seen: list[str] = []
    root_handler = logging.Handler(logging.WARNING)
    root_handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger().addHandler(root_handler)
    app = make_app(live)

    async def scenario(pilot):
        logging.getLogger("stateview").warning("the listener lost the server")
        await wait_until(pilot, lambda: any("lost the server" in n for n in notices(app)),
                         "the warning as a notice")
        assert seen == []

    try:
        drive(app, scenario)
        logging.getLogger("stateview").warning("after the app: to stderr again")
    finally:
        logging.getLogger().removeHandler(root_handler)
    assert seen == ["after the app: to stderr again"]
