"""Regenerate the TUI screenshots in ``screenshots/`` (shown in the README).

    .venv/bin/python scripts/screenshots.py [--out screenshots]

Each picture comes from ``app.save_screenshot()`` inside ``run_test()`` on the demo document,
so anyone can rerun this after changing the UI. The clock and the lock record are fixed (a
writer "server.py", pid 4242) so that rerunning without UI changes gives the same files.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from textual.widgets import TextArea

from stateview._paths import StatePaths
from stateview._schema import load_schema
from stateview.tui._load import FileStatus
from stateview.tui.app import StateViewApp
from stateview.tui.demo import DEMO_SCHEMA, demo_document
from stateview.tui.screens.conflict import ConflictScreen
from stateview.tui.widgets.status import StatusBar

SIZE = (120, 36)
WRITER = {"pid": 4242, "program": "server.py", "host": "demo", "exclusive": False}


def fixed_status(paths: StatePaths) -> FileStatus:
    """The real size, and a lock record that does not change from run to run."""
    try:
        size: int | None = os.stat(paths.target).st_size
    except OSError:
        size = None
    last = {"time": "2026-01-02T03:04:05Z", "pid": 4242, "program": "server.py"}
    return FileStatus(size, last, True, WRITER, False)


def write(path: str, content: Any) -> None:
    text = content if isinstance(content, str) else json.dumps(content, indent=2) + "\n"
    tmp = path + ".shot.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


async def until(app: StateViewApp, pilot: Any, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there")
        await pilot.pause(0.02)


async def shoot(path: str, out: str, name: str,
                action: Callable[[StateViewApp, Any], Awaitable[None]],
                readonly: bool = False) -> None:
    app = StateViewApp(path, load_schema(DEMO_SCHEMA), display_name="demo.json",
                       clock=lambda: datetime(2026, 1, 2, 3, 4, 5),
                       status_reader=fixed_status, highlight_seconds=600, readonly=readonly)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(StatusBar)
        await until(app, pilot, lambda: app.loads >= 1 and "checking" not in bar.schema_text)
        await action(app, pilot)
        await pilot.pause(0.1)
        app.save_screenshot(f"{name}.svg", path=out)
    print(os.path.join(out, f"{name}.svg"))


async def main_view(app: StateViewApp, pilot: Any) -> None:
    app.go_to("/clients/alice")
    await pilot.press("l")
    app.go_to("/server/port")
    app.go_to("/clients/alice/score")


def changed(path: str) -> Callable[[StateViewApp, Any], Awaitable[None]]:
    async def action(app: StateViewApp, pilot: Any) -> None:
        await main_view(app, pilot)
        doc = demo_document()
        for step, (who, score) in enumerate([("alice", 19), ("bob", 31)], 1):
            doc["clients"][who]["score"] = score
            if step == 2:  # a player joins: a new row in the open object, highlighted
                doc["clients"]["erin"] = {"score": 0, "room": "lobby", "online": True}
            doc["stats"]["ticks"] = step
            doc["events"].append({"tick": step, "what": f"{who} scored"})
            before = app.loads
            write(path, doc)
            await until(app, pilot, lambda: app.loads > before)  # noqa: B023 - awaited here
        app.go_to("/clients/alice/room")  # off the changed row, so its highlight shows

    return action


def broken(path: str) -> Callable[[StateViewApp, Any], Awaitable[None]]:
    async def action(app: StateViewApp, pilot: Any) -> None:
        await main_view(app, pilot)
        text = json.dumps(demo_document(), indent=2).replace('"room": "arena"',
                                                           '"room": "arena",', 1)
        write(path, text)
        await until(app, pilot, lambda: app.broken is not None)

    return action


async def help_screen(app: StateViewApp, pilot: Any) -> None:
    await main_view(app, pilot)
    await pilot.press("question_mark")


async def editor(app: StateViewApp, pilot: Any) -> None:
    await main_view(app, pilot)
    app.go_to("/clients/alice")
    await pilot.press("e")
    area = app.screen.query_one("#field", TextArea)
    area.cursor_blink = False
    area.text = area.text.replace('"score": 12', '"score": -1')


def add_dialog(path: str) -> Callable[[StateViewApp, Any], Awaitable[None]]:
    async def action(app: StateViewApp, pilot: Any) -> None:
        doc = demo_document()
        del doc["clients"]["bob"]["online"]  # a key the schema knows and bob lacks
        before = app.loads
        write(path, doc)
        await until(app, pilot, lambda: app.loads > before)
        await main_view(app, pilot)
        app.go_to("/clients/bob")
        await pilot.press("a", *"onl", "right", "tab", *"true")

    return action


def conflict(path: str) -> Callable[[StateViewApp, Any], Awaitable[None]]:
    async def action(app: StateViewApp, pilot: Any) -> None:
        await main_view(app, pilot)
        await pilot.press("e")
        doc = demo_document()
        doc["clients"]["alice"]["score"] = 19  # the server counted while the person typed
        write(path, doc)
        await pilot.press("ctrl+u", *"15", "enter")
        await until(app, pilot, lambda: isinstance(app.screen, ConflictScreen))

    return action


async def read_only(app: StateViewApp, pilot: Any) -> None:
    await main_view(app, pilot)
    await pilot.press("e")


async def run(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "demo.json")
        shots: list[tuple[str, Callable[[StateViewApp, Any], Awaitable[None]]]] = [
            ("main", main_view), ("live-change", changed(path)),
            ("broken-file", broken(path)), ("help", help_screen), ("editor", editor),
            ("add", add_dialog(path)), ("conflict", conflict(path)), ("read-only", read_only)]
        for name, action in shots:
            write(path, demo_document())
            await shoot(path, out, name, action, readonly=name == "read-only")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out", default=os.path.join(root, "screenshots"))
    args = parser.parse_args()
    asyncio.run(run(args.out))


if __name__ == "__main__":
    main()
