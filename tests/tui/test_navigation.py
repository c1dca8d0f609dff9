"""Moving around: keys a jless/vim user expects, go to pointer, search, copy, help, quit."""

from __future__ import annotations

from stateview.tui.screens.help import HelpScreen

from ._helpers import cursor_pointer, drive, labels, make_app, wait_until


def test_first_screen_shows_top_level_keys_with_sizes_and_the_root_selected(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        assert labels(app) == [
            "▼ state.json {5}", "▶ server {2}", "▶ clients {2}", "▶ limits [3]",
            "note: null", "open: true",
        ]
        assert cursor_pointer(app) == ""

    drive(app, scenario)


def test_hjkl_and_arrows_move_expand_and_collapse(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("j", "j")
        assert cursor_pointer(app) == "/clients"
        await pilot.press("l")  # expand
        assert "▼ clients {2}" in labels(app)
        await pilot.press("l")  # already open: step into the first child
        assert cursor_pointer(app) == "/clients/alice"
        await pilot.press("right", "right", "down")
        assert cursor_pointer(app) == "/clients/alice/room"
        await pilot.press("h")  # a leaf: go to the parent
        assert cursor_pointer(app) == "/clients/alice"
        await pilot.press("left")  # open: collapse it
        assert "▶ alice {3}" in labels(app)
        await pilot.press("k")
        assert cursor_pointer(app) == "/clients"
        await pilot.press("up")
        assert cursor_pointer(app) == "/server"

    drive(app, scenario)


def test_expand_all_then_collapse_all(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("E")
        rows = labels(app)
        assert "[1]: \"early\"" in rows and "port: 7777" in rows
        assert len(rows) == 21  # every value of DOC, one row each
        await pilot.press("C")
        assert labels(app)[1] == "▶ server {2}"
        assert len(labels(app)) == 6

    drive(app, scenario)


def test_go_to_pointer_opens_the_way_and_selects_it(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("g")
        await pilot.press("ctrl+u", *"/clients/alice/tags/1", "enter")
        await pilot.pause()
        assert cursor_pointer(app) == "/clients/alice/tags/1"
        assert "▼ tags [2]" in labels(app)

    drive(app, scenario)


def test_go_to_a_missing_or_malformed_pointer_keeps_the_cursor(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("j")
        assert not app.go_to("/clients/zed")
        assert not app.go_to("clients")  # no leading slash: a PointerError, not a crash
        assert cursor_pointer(app) == "/server"

    drive(app, scenario)


def test_search_finds_keys_and_values_and_n_and_N_cycle(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("slash", *"ARENA", "enter")  # a capital: case-sensitive
        await wait_until(pilot, lambda: app.screen is app.screen_stack[0], "the prompt gone")
        await pilot.pause(0.2)
        assert app.matches == []
        await pilot.press("slash", *"ar[e]n.$", "enter")  # a regular expression, on values too
        await wait_until(pilot, lambda: app.matches, "search results")
        await pilot.pause()
        assert [m.pointer for m in app.matches] == ["/clients/bob/room"]
        assert cursor_pointer(app) == "/clients/bob/room"
        assert app.json_tree._matches == {("clients", "bob", "room")}  # marked in the tree
        await pilot.press("slash", *"o", "enter")
        await wait_until(pilot, lambda: len(app.matches) > 1, "search results")
        await pilot.pause()
        first = cursor_pointer(app)
        await pilot.press("n")
        second = cursor_pointer(app)
        await pilot.press("N")
        assert cursor_pointer(app) == first != second
        assert "/clients/bob" in [m.pointer for m in app.matches]  # a key hit

    drive(app, scenario)


def test_y_chords_copy_the_value_key_pointer_and_jq_path(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        app.go_to("/clients/alice/tags/1")
        await pilot.press("y", "y")
        assert app.clipboard == "early"  # a string as its text
        await pilot.press("y", "k")  # k copies, it does not move the cursor
        assert app.clipboard == "1"
        assert cursor_pointer(app) == "/clients/alice/tags/1"
        await pilot.press("y", "p")
        assert app.clipboard == "/clients/alice/tags/1"
        await pilot.press("y", "q")  # q copies, it does not quit
        assert app.clipboard == ".clients.alice.tags[1]"
        assert app.return_code is None
        app.go_to("/clients/alice/tags")
        await pilot.press("y", "y")
        assert app.clipboard == '[\n  "admin",\n  "early"\n]'
        await pilot.press("y", "escape", "j")  # any other key cancels; the next one acts
        assert cursor_pointer(app) == "/clients/alice/tags/0"

    drive(app, scenario)


def test_digits_expand_the_tree_to_that_depth_and_c_collapses_siblings(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("2")
        assert labels(app) == [
            "▼ state.json {5}", "▼ server {2}", "name: \"test server\"", "port: 7777",
            "▼ clients {2}", "▶ alice {3}", "▶ bob {3}", "▼ limits [3]", "[0]: 10", "[1]: 20",
            "[2]: 30", "note: null", "open: true",
        ]
        await pilot.press("3")
        assert "▼ alice {3}" in labels(app) and "▶ tags [2]" in labels(app)
        app.go_to("/clients/alice/tags/0")
        await pilot.press("1")  # the cursor's row is hidden: it moves up to a shown one
        assert len(labels(app)) == 6 and cursor_pointer(app) == "/clients"
        await pilot.press("9")
        app.go_to("/clients")
        await pilot.press("c")
        assert labels(app)[1:5] == ["▶ server {2}", "▶ clients {2}", "▶ limits [3]",
                                    "note: null"]
        assert cursor_pointer(app) == "/clients"

    drive(app, scenario)


def test_brackets_go_back_and_forward_through_jumps(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("j")  # /server
        app.go_to("/clients/bob/room")
        app.go_to("/limits/2")
        await pilot.pause()
        await pilot.press("left_square_bracket")
        assert cursor_pointer(app) == "/clients/bob/room"
        await pilot.press("left_square_bracket")
        assert cursor_pointer(app) == "/server"
        await pilot.press("left_square_bracket")  # nothing earlier: stays
        assert cursor_pointer(app) == "/server"
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert cursor_pointer(app) == "/limits/2"

    drive(app, scenario)


def test_g_completes_keys_as_you_type(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("g", "ctrl+u", *"/cl", "tab", *"/b", "tab", *"/ro", "tab")
        assert app.screen.query_one("Input").value == "/clients/bob/room"
        await pilot.press("enter")
        await pilot.pause()
        assert cursor_pointer(app) == "/clients/bob/room"

    drive(app, scenario)


def test_star_and_hash_go_to_the_next_and_previous_node_with_the_same_key(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        app.go_to("/clients/alice/score")
        await pilot.press("asterisk")
        await wait_until(pilot, lambda: cursor_pointer(app) == "/clients/bob/score",
                         "the next score")
        assert {m.pointer for m in app.matches} == {"/clients/alice/score",
                                                    "/clients/bob/score"}
        await pilot.press("number_sign")
        await wait_until(pilot, lambda: cursor_pointer(app) == "/clients/alice/score",
                         "the previous score")

    drive(app, scenario)


def test_help_lists_every_binding_of_the_app_and_the_tree(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = {key for keys, _ in app.screen.rows for key in keys.split(", ")}
        names = {"question_mark": "?", "slash": "/", "escape": "esc"}
        for owner in (app, app.json_tree, *type(app.json_tree).__mro__):
            for binding in getattr(owner, "BINDINGS", []):
                for key in binding.key.split(","):
                    assert names.get(key, key) in listed, key
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

    drive(app, scenario)


def test_clicking_a_row_selects_and_toggles_it(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.click("#tree", offset=(4, 3))  # the row of "clients" (border + root)
        await pilot.pause()
        assert cursor_pointer(app) == "/clients"
        assert "▼ clients {2}" in labels(app)

    drive(app, scenario)


def test_q_quits(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0  # None until the app has been asked to exit

    drive(app, scenario)


def test_command_palette_offers_the_apps_commands(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Go to pointer", "Search", "Copy pointer", "Edit value", "Delete value",
                "Key bindings"} <= set(titles)
        assert any("theme" in t.lower() for t in titles)

    drive(app, scenario)


def test_g_then_a_typed_pointer_replaces_the_one_shown_and_end_keeps_it(state_file):
    app = make_app(state_file)

    async def scenario(pilot):
        app.go_to("/limits")
        await pilot.press("g", *"/clients/bob", "enter")
        await pilot.pause()
        assert cursor_pointer(app) == "/clients/bob"
        await pilot.press("g", "end", *"/room", "enter")
        await pilot.pause()
        assert cursor_pointer(app) == "/clients/bob/room"

    drive(app, scenario)
