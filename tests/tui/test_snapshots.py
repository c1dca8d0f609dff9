"""What a person sees, pinned as SVG snapshots (update with ``--snapshot-update``).

Every app here has a fixed name, clock and terminal size, and its file has no lock record, so
nothing in the picture depends on the run: no paths, pids, times or sizes that vary.
"""

from __future__ import annotations

from stateview.tui.widgets.feed import ChangeFeed
from stateview.tui.widgets.status import StatusBar

from ._helpers import DOC, SCHEMA, SIZE, make_app, wait_until, write_atomic


def settled(app, then=None):
    """A ``run_before`` that waits for the first load and the schema verdict, then ``then``."""

    async def run_before(pilot):
        await wait_until(pilot, lambda: app.loads >= 1, "the first load")
        if app.schema is not None:
            await wait_until(pilot, lambda: app.query_one(StatusBar).schema_text != "checking…",
                             "the schema verdict")
        if then is not None:
            await then(pilot)
        await wait_until(pilot, lambda: app.query_one(ChangeFeed).up_to_date, "the feed")
        await pilot.pause()

    return run_before


def test_main_view_with_schema_details(snap_compare, state_file):
    """The tree with alice open, her score selected, the schema's word on it in details."""
    app = make_app(state_file, SCHEMA)

    async def select(pilot):
        app.go_to("/clients/alice/score")

    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, select))


def test_live_change_highlighted_with_the_change_feed(snap_compare, state_file):
    """Another writer changed two values: both are highlighted and listed in the feed."""
    app = make_app(state_file, SCHEMA, highlight_seconds=600)

    async def change(pilot):
        app.go_to("/clients/alice/score")
        before = app.loads
        write_atomic(state_file, {**DOC, "clients": {**DOC["clients"], "alice": {
            **DOC["clients"]["alice"], "score": 15}}, "limits": [10, 25, 30]})
        await wait_until(pilot, lambda: app.loads > before, "the new version")

    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, change))


def test_broken_file_banner_over_the_last_good_tree(snap_compare, state_file):
    """The file became invalid JSON: the banner says where; the last good tree stays."""
    app = make_app(state_file)

    async def breaks(pilot):
        app.go_to("/server/port")
        write_atomic(state_file, '{\n  "server": {"port": 7777,}\n}\n')
        await wait_until(pilot, lambda: app.broken is not None, "the banner")

    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, breaks))


def test_schema_violation_in_details_and_status(snap_compare, tmp_path):
    """A value that breaks the schema: the status bar counts it, details explains it."""
    path = tmp_path / "state.json"
    write_atomic(path, {**DOC, "server": {"name": "x", "port": 0}})
    app = make_app(path, SCHEMA)

    async def select(pilot):
        app.go_to("/server/port")

    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, select))


def test_help_screen(snap_compare, state_file):
    """? lists every key binding."""
    app = make_app(state_file)

    async def help_(pilot):
        await pilot.press("question_mark")

    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, help_))
