"""Keeping up with a busy writer: rows patched in place, reloads coalesced, lock re-checked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from stateview.tui.widgets.banner import PauseBanner
from stateview.tui.widgets.feed import ChangeFeed
from stateview.tui.widgets.status import StatusBar

from ._helpers import (
    DOC,
    SCHEMA,
    commit_in_process,
    cursor_pointer,
    drive,
    exclusive_holder,
    labels,
    loaded_once_more,
    make_app,
    wait_until,
    write_atomic,
)

_BURST = """
import sys, time, stateview
path, count, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
with stateview.open(path) as state:
    for i in range(1, count + 1):
        with state.transaction() as root:
            root["server"]["port"] = 8000 + i
            root["clients"][f"new{i:02d}"] = {"score": i}
        time.sleep(pause)
print("done", flush=True)
"""


def start_burst(path: Path, count: int, pause: float = 0.0) -> subprocess.Popen[str]:
    """Another process committing ``count`` times: port 8000+i and a client new<i>."""
    return subprocess.Popen([sys.executable, "-c", _BURST, str(path), str(count), str(pause)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> None:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out == "done\n", err


def test_keys_another_process_adds_to_an_open_container_appear_as_highlighted_rows(
        state_file):
    app = make_app(state_file, highlight_seconds=60)

    async def scenario(pilot):
        app.go_to("/clients/alice")
        await pilot.press("l")  # alice open too: her rows must stay where they are
        before = app.loads
        await commit_in_process(state_file, {"/clients/carol": {"score": 1},
                                             "/clients/dave": {"score": 2},
                                             "/limits": [10, 20, 30, 40]})
        await loaded_once_more(pilot, app, before)
        rows = labels(app)
        assert "▼ clients {4}" in rows and "▶ carol {1}" in rows and "▶ dave {1}" in rows
        assert not any("more (enter to show)" in r for r in rows)
        assert rows.index("▶ carol {1}") > rows.index("▶ bob {3}")
        assert "▼ alice {3}" in rows and cursor_pointer(app) == "/clients/alice"
        tree = app.json_tree
        assert {("clients", "carol"), ("clients", "dave")} <= tree._changed
        # The closed /limits holds the new item: it is marked, and opening it shows 4 rows.
        assert ("limits", 3) in tree._changed and ("limits",) in tree._changed_inside
        app.go_to("/limits/3")
        await pilot.pause()
        assert "[3]: 40" in labels(app)

    drive(app, scenario)


def test_an_open_page_grows_with_its_container_and_removed_rows_go(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, {"items": {f"k{i:02d}": i for i in range(8)}})
    app = make_app(path)

    async def scenario(pilot):
        app.json_tree.page_size = 10
        app.go_to("/items/k07")
        await pilot.pause()
        before = app.loads
        items = {f"k{i:02d}": i for i in range(1, 26)}  # k00 gone, k08..k25 new
        write_atomic(path, {"items": items})
        await loaded_once_more(pilot, app, before)
        rows = labels(app)
        assert rows[2] == "k01: 1" and "k00: 0" not in rows
        # The page was at its end: it grows by a page at most, the rest behind "more".
        assert rows[-2:] == ["k18: 18", "… 7 more (enter to show)"]
        assert cursor_pointer(app) == "/items/k07"
        before = app.loads
        write_atomic(path, {"items": {"k01": 1}})  # the cursor's row goes
        await loaded_once_more(pilot, app, before)
        assert labels(app) == ["▼ state.json {1}", "▼ items {1}", "k01: 1"]
        assert cursor_pointer(app) == "/items"

    drive(app, scenario)


def test_a_list_shift_is_one_feed_entry_and_rows_take_their_new_values(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, {"log": ["a", "b", "c", "d", "e"]})
    app = make_app(path)

    async def scenario(pilot):
        app.go_to("/log/4")
        await pilot.pause()
        before = app.loads
        write_atomic(path, {"log": ["b", "c", "d", "e", "f"]})
        await loaded_once_more(pilot, app, before)
        assert labels(app)[2:] == ['[0]: "b"', '[1]: "c"', '[2]: "d"', '[3]: "e"', '[4]: "f"']
        [entry] = app.query_one(ChangeFeed).entries
        assert [(c.pointer, c.kind) for c in entry.changes] == [("/log", "shifted"),
                                                                ("/log/4", "added")]
        assert entry.changes[0].shift == 1

    drive(app, scenario)


def test_a_first_expansion_during_a_burst_of_commits_stays_expanded(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        burst = start_burst(state_file, 40, pause=0.02)
        try:
            await wait_until(pilot, lambda: app.loads >= 3, "the burst to reach the view")
            app.go_to("/clients")
            await pilot.press("l")  # the first expansion, while versions keep coming
            await pilot.press("j")
            assert cursor_pointer(app) == "/clients/alice"
            await pilot.press("l")
        finally:
            finish(burst)
        await wait_until(pilot, lambda: "new40" in app.json_tree.document["clients"],
                         "the last commit")
        await pilot.pause()
        rows = labels(app)
        assert "▼ clients {42}" in rows and "▼ alice {3}" in rows
        assert "▶ new40 {1}" in rows  # the open page grew with every commit
        assert cursor_pointer(app) == "/clients/alice"

    drive(app, scenario)


def test_a_burst_of_50_commits_is_coalesced_and_ends_on_the_newest(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        before = app.loads
        burst = start_burst(state_file, 50)
        finish(burst)
        await wait_until(pilot, lambda: app.json_tree.document["server"]["port"] == 8050,
                         "the newest version")
        await pilot.pause(0.3)
        applied = app.loads - before
        assert 1 <= applied < 25, applied
        assert app.json_tree.document["server"]["port"] == 8050
        # Nothing older came after it: the view never goes back.
        await pilot.pause(0.3)
        assert app.json_tree.document["server"]["port"] == 8050
        with open(state_file, encoding="utf-8") as f:
            assert json.load(f) == app.json_tree.document

    drive(app, scenario)




def test_a_killed_exclusive_holder_frees_the_view_within_about_a_second(state_file):
    with exclusive_holder(state_file) as holder:
        app = make_app(state_file)

        async def scenario(pilot):
            await wait_until(pilot, lambda: app.readonly_reason is not None, "read-only")
            assert "holds the lock exclusively" in (app.readonly_reason or "")
            loads = app.loads
            os.kill(holder.pid, signal.SIGKILL)
            holder.communicate(timeout=10)
            # Nothing on disk changes: only the timer's look at the holder can tell.
            await wait_until(pilot, lambda: app.readonly_reason is None, "editing back",
                             timeout=5)
            assert app.loads == loads
            bar = str(app.query_one(StatusBar).render())
            assert "lock free" in bar and "read-only" not in bar

        drive(app, scenario)


def test_p_pauses_live_updates_counting_commits_and_resumes_on_the_newest(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("p")
        banner = app.query_one(PauseBanner)
        assert banner.has_class("-shown") and "paused" in str(banner.render())
        loads = app.loads
        for port in (1, 2, 3):
            await commit_in_process(state_file, {"/server/port": port})
            await wait_until(pilot, lambda: f"{port} commit" in str(banner.render()),  # noqa: B023
                             f"the banner to count {port}")
        assert app.loads == loads and app.json_tree.document["server"]["port"] == 7777
        await pilot.press("p")
        await loaded_once_more(pilot, app, loads)
        assert not banner.has_class("-shown")
        assert app.json_tree.document["server"]["port"] == 3
        [entry] = app.query_one(ChangeFeed).entries  # one version: old → newest
        assert [(c.pointer, c.old, c.new) for c in entry.changes] == [("/server/port", 7777, 3)]

    drive(app, scenario)


def test_the_feed_is_focusable_and_enter_jumps_to_the_change(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        before = app.loads
        write_atomic(state_file, {**DOC, "clients": {**DOC["clients"], "bob": {
            **DOC["clients"]["bob"], "room": "lobby"}}})
        await loaded_once_more(pilot, app, before)
        feed = app.query_one(ChangeFeed)
        await pilot.press("tab", "tab")  # past the details pane
        assert feed.has_focus
        await pilot.press("down", "enter")
        await pilot.pause()
        assert cursor_pointer(app) == "/clients/bob/room"
        assert app.json_tree.has_focus

    drive(app, scenario)


def test_the_status_bar_never_calls_a_broken_or_missing_file_valid(state_file):
    app = make_app(state_file, SCHEMA)

    async def scenario(pilot):
        bar = app.query_one(StatusBar)
        await wait_until(pilot, lambda: bar.schema_text == "valid", "the verdict")
        write_atomic(state_file, "{ not json")
        await wait_until(pilot, lambda: app.broken is not None, "the banner")
        await pilot.pause(0.3)
        assert bar.schema_text == "not checked (file unreadable)"
        os.unlink(state_file)
        await wait_until(pilot, lambda: app.broken is not None and app.broken.missing,
                         "missing")
        await pilot.pause(0.3)
        assert bar.schema_text == "not checked (file missing)"
        write_atomic(state_file, DOC)
        await wait_until(pilot, lambda: bar.schema_text == "valid", "valid again")

    drive(app, scenario)
