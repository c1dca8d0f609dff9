"""Following other writers: live reload, highlights, the change feed, broken and missing files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime

from stateview.tui._diff import Change
from stateview.tui._load import read_status
from stateview.tui.demo import make_demo, start_writer, stop_writer
from stateview.tui.screens.recovery import RecoveryScreen
from stateview.tui.widgets.banner import Banner
from stateview.tui.widgets.feed import ChangeFeed

from ._helpers import (
    COMMIT_SCRIPT,
    DOC,
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


def test_another_process_commit_shows_up_keeping_open_nodes_and_cursor(state_file):
    app = make_app(state_file, highlight_seconds=60)

    async def scenario(pilot):
        app.go_to("/clients/alice/score")
        await pilot.pause()
        before = app.loads
        await commit_in_process(state_file, {"/clients/alice/score": 13, "/limits/0": 11})
        await loaded_once_more(pilot, app, before)
        assert cursor_pointer(app) == "/clients/alice/score"
        rows = labels(app)
        assert "▼ clients {2}" in rows and "▼ alice {3}" in rows and "score: 13" in rows
        # Changed values are highlighted; a closed container holding one is marked too.
        assert app.json_tree._changed == {("clients", "alice", "score"), ("limits", 0)}
        assert ("limits",) in app.json_tree._changed_inside
        feed = app.query_one(ChangeFeed)
        [entry] = feed.entries
        assert [(c.pointer, c.old, c.new) for c in entry.changes] == [
            ("/clients/alice/score", 12, 13), ("/limits/0", 10, 11)]
        # The status bar and the feed name the writer's commit from the lock file.
        assert app.status is not None
        assert app.status.last_commit.get("pid") not in (None, os.getpid())
        assert entry.pid == app.status.last_commit["pid"] and entry.program

    drive(app, scenario)


def test_highlight_clears_after_its_time(state_file):
    app = make_app(state_file, highlight_seconds=0.2)

    async def scenario(pilot):
        # Every highlight the tree is given, with when: under load a poll of the pilot can
        # come later than the 0.2 s the highlight lasts, and would miss it.
        shown: list[tuple[float, set[tuple[str, ...]], dict[tuple[str, ...], float]]] = []
        highlight = app.json_tree.highlight
        app.json_tree.highlight = lambda paths: (  # type: ignore[method-assign]
            shown.append((time.monotonic(), set(paths), dict(app._highlights))),
            highlight(paths))[1]
        write_atomic(state_file, {**DOC, "open": False})
        await wait_until(pilot, lambda: any(paths for _, paths, _ in shown), "the highlight")
        lit, paths, expiries = next(s for s in shown if s[1])
        assert paths == {("open",)}
        await wait_until(pilot, lambda: not app.json_tree._changed, "the highlight to clear")
        cleared = next(t for t, p, _ in shown if t > lit and not p)
        assert cleared >= expiries[("open",)]  # not cleared before it was due

    drive(app, scenario)


def test_highlights_of_many_versions_share_one_timer(state_file):
    # Each version used to start another timer that re-armed itself while any highlight
    # lived: with a writer always committing, thousands fired a second and keys waited.
    app = make_app(state_file, highlight_seconds=1.0)

    async def scenario(pilot):
        calls = 0
        update = app._update_highlight

        def counted() -> None:
            nonlocal calls
            calls += 1
            update()

        app._update_highlight = counted  # type: ignore[method-assign]
        versions = 12
        for n in range(versions):
            before = app.loads
            write_atomic(state_file, {**DOC, "note": n})
            await loaded_once_more(pilot, app, before)
        await wait_until(pilot, lambda: not app.json_tree._changed, "the highlights to clear")
        # One call per version, and one per expiry: a timer per version made it quadratic.
        assert calls <= 2 * versions + 2

    drive(app, scenario)


def test_a_burst_of_versions_rebuilds_the_feed_a_few_times_and_ends_on_the_newest(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        feed = app.query_one(ChangeFeed)
        rebuilds = 0
        rebuild = feed._rebuild

        def counted() -> None:
            nonlocal rebuilds
            rebuilds += 1
            rebuild()

        feed._rebuild = counted  # type: ignore[method-assign]
        started = time.monotonic()
        for n in range(50):
            feed.add([Change(("note",), "/note", "changed", n, n + 1)], datetime(2026, 1, 1))
        took = time.monotonic() - started
        assert rebuilds <= 2 + took / feed.REBUILD_EVERY
        await wait_until(pilot, lambda: feed.option_count > 1 and "50" in str(
            feed.get_option_at_index(1).prompt), "the newest version in the list")
        assert len(feed.entries) == 40

    drive(app, scenario)


def test_scroll_position_survives_a_reload(tmp_path):
    path = tmp_path / "state.json"
    doc = {"items": {f"k{i:03d}": i for i in range(200)}}
    write_atomic(path, doc)
    app = make_app(path)

    async def scenario(pilot):
        app.go_to("/items/k150")
        await pilot.pause()
        scroll = app.json_tree.scroll_y
        assert scroll > 0
        before = app.loads
        write_atomic(path, {"items": {**doc["items"], "k000": -1}})
        await loaded_once_more(pilot, app, before)
        assert app.json_tree.scroll_y == scroll
        assert cursor_pointer(app) == "/items/k150"

    drive(app, scenario)


def test_a_running_writer_process_is_followed(tmp_path):
    path = make_demo(str(tmp_path))
    app = make_app(tmp_path / "demo.json")
    writer = start_writer(path, interval=0.1)

    async def scenario(pilot):
        app.go_to("/stats/ticks")
        # The writer (a new Python) and the reader process start while other suites run:
        # give them a minute, not the usual 15 s; the wait ends as soon as three land.
        await wait_until(pilot, lambda: app.loads >= 4, "three commits of the writer",
                         timeout=60)
        await pilot.pause()
        assert cursor_pointer(app) == "/stats/ticks"
        node = app.json_tree.cursor_node
        assert node is not None and node.data is not None
        shown = node.data.value
        assert shown >= 1
        with open(path, encoding="utf-8") as f:
            assert json.load(f)["stats"]["ticks"] >= shown
        assert len(app.query_one(ChangeFeed).entries) >= 2

    try:
        drive(app, scenario)
    finally:
        stop_writer(writer)


def test_a_broken_file_keeps_the_last_good_tree_under_a_banner_and_recovers(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        app.go_to("/clients/bob")
        write_atomic(state_file, '{\n  "server": {"port": 7777,}\n}\n')
        await wait_until(pilot, lambda: app.broken is not None, "the banner")
        await pilot.pause()
        assert app.broken is not None
        assert (app.broken.line, app.broken.column) == (2, 27)
        banner = app.query_one(Banner)
        assert banner.has_class("-shown")
        assert "line 2, column 27" in str(banner.render())
        assert "▶ clients {2}" in labels(app) or "▼ clients {2}" in labels(app)
        assert cursor_pointer(app) == "/clients/bob"  # the last good tree, untouched
        assert app.readonly_reason == ("the file is not valid JSON (see the banner); "
                                       "editing resumes once it is good")
        before = app.loads
        write_atomic(state_file, {**DOC, "note": "fixed"})
        await loaded_once_more(pilot, app, before)
        assert app.broken is None and not banner.has_class("-shown")
        assert "note: \"fixed\"" in labels(app)

    drive(app, scenario)


def test_a_deleted_file_is_reported_and_picked_up_again(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        os.unlink(state_file)
        await wait_until(pilot, lambda: app.broken is not None, "the banner")
        assert app.broken is not None and app.broken.missing
        assert app.readonly_reason is not None
        assert app.readonly_reason.startswith("the file is missing (see the banner)")
        before = app.loads
        write_atomic(state_file, DOC)
        await loaded_once_more(pilot, app, before)
        assert app.broken is None
        assert app.readonly_reason is None

    drive(app, scenario)


def test_opening_a_broken_file_offers_the_recovery_plan(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"a": 1,\n "b": NaN}\n')
    (tmp_path / "state.json.bak").write_text('{"a": 1, "b": 2}\n')
    app = make_app(path)

    async def scenario(pilot):
        await wait_until(pilot, lambda: isinstance(app.screen, RecoveryScreen), "the offer")
        screen = app.screen
        assert isinstance(screen, RecoveryScreen)
        body = screen.body
        assert "line 2, column 7" in body and "NaN" in body
        assert f"stateview recover {app.paths.given}" in body
        assert "state.json.bak" in body
        await pilot.press("escape")
        # Nothing was written: recovering is the operator's call.
        assert path.read_text() == '{"a": 1,\n "b": NaN}\n'
        before = app.loads
        write_atomic(path, {"a": 1, "b": 3})
        await loaded_once_more(pilot, app, before)
        assert labels(app)[-1] == "b: 3"

    drive(app, scenario, wait_loaded=False)




def test_an_exclusive_holder_makes_the_view_read_only_and_says_who(state_file):
    with exclusive_holder(state_file) as holder:
        app = make_app(state_file)

        async def scenario(pilot):
            await wait_until(pilot, lambda: app.status is not None, "the status")
            assert app.readonly_reason == (f"pid {holder.pid} holds the lock exclusively; "
                                           "editing resumes when it lets go")
            bar = str(app.query_one("#status").render())
            assert f"locked exclusively by pid {holder.pid}" in bar
            assert f"read-only: pid {holder.pid} holds the lock exclusively" in bar
            before = state_file.read_bytes()
            await pilot.press("j", "e")
            assert app.screen is app.screen_stack[0]  # no edit dialog was opened
            assert state_file.read_bytes() == before

        drive(app, scenario)


def test_the_feed_names_the_writer_of_a_commit_that_lands_between_two_reads(state_file):
    """The watcher reads the file and the lock record one after the other; a commit landing
    between them must not leave the feed naming nobody (or the writer before)."""
    armed = threading.Event()

    def status_then_commit(paths):
        status = read_status(paths)
        if armed.is_set() and threading.current_thread().name.startswith("stateview-tui-watch"):
            armed.clear()
            subprocess.run([sys.executable, "-c", COMMIT_SCRIPT, str(state_file),
                            json.dumps({"/clients/alice/score": 14})], check=True, timeout=60)
        return status

    app = make_app(state_file, status_reader=status_then_commit)

    async def scenario(pilot):
        await pilot.pause()
        feed = app.query_one(ChangeFeed)
        armed.set()
        app._watcher.poke()
        await wait_until(pilot, lambda: not armed.is_set() and feed.entries, "the commit's entry")
        [entry] = feed.entries
        assert [(c.pointer, c.new) for c in entry.changes] == [("/clients/alice/score", 14)]
        assert entry.pid is not None and entry.pid != os.getpid()
        assert entry.program and "-c" in entry.program

    drive(app, scenario)


def test_an_empty_container_that_another_writer_fills_can_be_opened(state_file):
    # A busy writer empties a container now and fills it again later: its row must get its
    # ▶ back, or the keys it holds can never be seen.
    app = make_app(state_file)

    async def scenario(pilot):
        app.go_to("/clients/bob/tags")
        await pilot.pause()
        assert "tags [0]" in labels(app)
        before = app.loads
        await commit_in_process(state_file, {"/clients/bob/tags": ["new", "tag"]})
        await loaded_once_more(pilot, app, before)
        assert "▶ tags [2]" in labels(app)
        assert cursor_pointer(app) == "/clients/bob/tags"
        await pilot.press("enter")
        await wait_until(pilot, lambda: '[1]: "tag"' in labels(app), "the filled list to open")
        assert "▼ tags [2]" in labels(app)

    drive(app, scenario)
