"""The UI names the last writer by its command line, never with a URL's password in it."""

from __future__ import annotations

import json
from pathlib import Path

from stateview.tui.widgets.feed import ChangeFeed
from stateview.tui.widgets.status import StatusBar

from ._helpers import drive, loaded_once_more, make_app, wait_until, write_atomic

PROGRAM = "sync postgresql://me:hunter2@db/app#state"


def test_the_feed_and_the_status_bar_hide_the_password_of_the_writers_url(state_file: Path):
    app = make_app(state_file)

    async def scenario(pilot):
        before = app.loads
        # As a writer of an older version records itself: its whole command line.
        state_file.with_name("state.json.lock").write_text(json.dumps({
            "pid": 4242, "held": False, "program": PROGRAM,
            "last_commit": {"token": "t", "time": "2026-01-02T03:04:05Z", "pid": 4242,
                            "program": PROGRAM}}))
        document = json.loads(state_file.read_text())
        document["open"] = False
        write_atomic(state_file, document)
        await loaded_once_more(pilot, app, before)
        feed = app.query_one(ChangeFeed)
        await wait_until(pilot, lambda: feed.up_to_date, "the feed")
        header = str(feed.get_option_at_index(0).prompt)
        assert "pid 4242 sync postgresql://me:***@db/app#state" in header
        status = str(app.query_one(StatusBar).render())
        assert "by pid 4242 (sync postgresql://me:***@" in status
        assert "hunter2" not in header + status

    drive(app, scenario)
