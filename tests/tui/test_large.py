"""Large documents: lazy children, pages with "show more", bounded expand-all."""

from __future__ import annotations

import json

from ._helpers import cursor_pointer, drive, labels, make_app, wait_until

WIDE = 100_000


def _wide_file(tmp_path):
    """An object with WIDE children under /flat."""
    path = tmp_path / "wide.json"
    path.write_text(json.dumps({"flat": {f"k{i:06d}": i for i in range(WIDE)}}))
    return path


def write_big(path, clients=40_000):
    bio = "likes long walks through JSON documents and atomic renames; " * 2
    doc = {"stats": {"ticks": 0}, "clients": {
        f"client{i:06d}": {"score": i, "room": "lobby", "email": f"c{i}@example.org", "bio": bio}
        for i in range(clients)}}
    path.write_text(json.dumps(doc, indent=2))


def test_a_10_mb_document_opens_with_only_its_first_level_built(tmp_path):
    path = tmp_path / "big.json"
    write_big(path)
    assert path.stat().st_size > 9_000_000
    app = make_app(path)

    async def scenario(pilot):
        assert labels(app) == ["▼ big.json {2}", "▶ stats {1}", "▶ clients {40000}"]
        assert len(app.json_tree._tree_nodes) == 3  # nothing below is built yet
        app.go_to("/clients/client039999/email")
        await pilot.pause()
        assert cursor_pointer(app) == "/clients/client039999/email"

    drive(app, scenario)


def test_an_object_with_100000_children_expands_one_page_at_a_time(tmp_path):
    app = make_app(_wide_file(tmp_path))

    async def scenario(pilot):
        tree = app.json_tree
        page = tree.page_size
        await pilot.press("j", "l")
        rows = labels(app)
        assert len(rows) == 2 + page + 1
        assert rows[2] == "k000000: 0"
        assert rows[-1] == f"… {WIDE - page:,} more (enter to show)"
        await pilot.press("end", "enter")
        rows = labels(app)
        assert len(rows) == 2 + 2 * page + 1
        assert rows[-1] == f"… {WIDE - 2 * page:,} more (enter to show)"
        # The next key past the built pages: one more page, not a new window.
        app.go_to(f"/flat/k{2 * page:06d}")
        await pilot.pause()
        assert cursor_pointer(app) == f"/flat/k{2 * page:06d}"
        flat = tree.root.children[0].data
        assert flat is not None and flat.start == 0

    drive(app, scenario)


def test_expand_all_stops_at_its_budget(tmp_path):
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"a": [{"b": [1, 2, 3]} for _ in range(5000)]}))
    app = make_app(path)

    async def scenario(pilot):
        tree = app.json_tree
        await pilot.press("E")
        built = len(tree._tree_nodes)
        assert tree.expand_budget <= built <= tree.expand_budget + 2 * tree.page_size

    drive(app, scenario)


def test_search_in_a_large_document_runs_off_the_ui_thread_and_finds_deep_values(tmp_path):
    path = tmp_path / "big.json"
    write_big(path, clients=5000)
    app = make_app(path)

    async def scenario(pilot):
        await pilot.press("slash", *"c4999@", "enter")
        await wait_until(pilot, lambda: app.matches, "the search")
        await pilot.pause()
        assert [m.pointer for m in app.matches] == ["/clients/client004999/email"]
        assert cursor_pointer(app) == "/clients/client004999/email"

    drive(app, scenario)


def test_going_far_into_a_wide_object_builds_a_page_around_the_target(tmp_path):
    app = make_app(_wide_file(tmp_path))

    async def scenario(pilot):
        tree = app.json_tree
        page = tree.page_size
        app.go_to("/flat/k054321")
        await pilot.pause()
        assert cursor_pointer(app) == "/flat/k054321"
        flat = tree.root.children[0]
        assert len(flat.children) == page + 2  # the page plus "earlier" and "more" rows
        rows = labels(app)
        assert rows[2] == f"… {54321 - page // 2:,} earlier (enter to show)"
        assert rows[-1] == f"… {WIDE - 54321 - page // 2:,} more (enter to show)"
        # "earlier" loads the previous page and keeps the cursor where it was.
        tree.move_cursor(flat.children[0])
        await pilot.press("enter")
        assert cursor_pointer(app) == f"/flat/k{54321 - page // 2:06d}"
        assert labels(app)[2] == f"… {54321 - page // 2 - page:,} earlier (enter to show)"

    drive(app, scenario)
