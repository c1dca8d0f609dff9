"""Snapshots of the live parts: a row another writer added, and the change feed in use.

Files are replaced with ``write_atomic`` (no lock record), and the clock is fixed, so the
pictures do not depend on the run.
"""

from __future__ import annotations

from stateview.tui.widgets.feed import ChangeFeed

from ._helpers import DOC, SIZE, make_app, wait_until, write_atomic


def test_a_new_key_in_an_open_object_is_a_highlighted_row(snap_compare, state_file):
    """carol joined while clients was open: her row is there, highlighted, not behind "more"."""
    app = make_app(state_file, highlight_seconds=600)

    async def run_before(pilot):
        await wait_until(pilot, lambda: app.loads >= 1, "the first load")
        app.go_to("/clients/bob")
        await pilot.press("l")
        before = app.loads
        write_atomic(state_file, {**DOC, "clients": {**DOC["clients"], "carol": {
            "score": 0, "room": "lobby", "tags": []}}})
        await wait_until(pilot, lambda: app.loads > before, "the new version")
        # The feed is rebuilt at most twice a second: the picture waits for its rebuild too.
        await wait_until(pilot, lambda: app.query_one(ChangeFeed).up_to_date, "the feed")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_the_change_feed_grouped_per_version_with_focus(snap_compare, state_file):
    """Three versions in the feed, newest first; a list shift is one line; focus on a line."""
    app = make_app(state_file, highlight_seconds=600)
    versions = [
        {**DOC, "limits": [20, 30, 40]},
        {**DOC, "limits": [20, 30, 40], "note": "maintenance at noon"},
        {**DOC, "limits": [20, 30, 40], "note": None, "open": False,
         "server": {"name": "test server", "port": 7778}},
    ]

    async def run_before(pilot):
        await wait_until(pilot, lambda: app.loads >= 1, "the first load")
        for version in versions:
            before = app.loads
            write_atomic(state_file, version)
            await wait_until(pilot, lambda: app.loads > before, "the next version")  # noqa: B023
        await wait_until(pilot, lambda: app.query_one(ChangeFeed).up_to_date, "the feed")
        await pilot.press("tab", "tab", "down", "down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
