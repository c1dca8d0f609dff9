"""Shared pieces of the TUI tests: real files, real writer processes, bounded waits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from stateview._schema import load_schema
from stateview.tui.app import StateViewApp

SIZE = (120, 35)
FIXED_NOW = datetime(2026, 1, 2, 3, 4, 5)

DOC: dict[str, Any] = {
    "server": {"name": "test server", "port": 7777},
    "clients": {
        "alice": {"score": 12, "room": "lobby", "tags": ["admin", "early"]},
        "bob": {"score": 7, "room": "arena", "tags": []},
    },
    "limits": [10, 20, 30],
    "note": None,
    "open": True,
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "server": {"type": "object", "properties": {
            "port": {"description": "TCP port.", "type": "integer", "minimum": 1,
                     "maximum": 65535}}},
        "clients": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {
                "score": {"description": "Never negative.", "type": "integer", "minimum": 0},
            }}},
    },
}


def write_atomic(path: Path, content: Any) -> None:
    """Replace ``path`` the way any careful writer does: a temp file, then a rename."""
    data = content if isinstance(content, (str, bytes)) else json.dumps(content, indent=2)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.test.tmp")
    tmp.write_bytes(raw)
    os.replace(tmp, path)


def make_app(path: Path | str, schema: dict[str, Any] | None = None,
             **kwargs: Any) -> StateViewApp:
    """An app with a fixed name and clock, so what it shows does not depend on the run.

    ``path`` is a state file, or a database document's URL (then named ``doc``).
    """
    kwargs.setdefault("display_name", path.name if isinstance(path, Path) else "doc")
    kwargs.setdefault("clock", lambda: FIXED_NOW)
    kwargs.setdefault("poll_interval", 0.05)
    return StateViewApp(path, load_schema(schema) if schema else None, **kwargs)


async def wait_until(pilot: Pilot[Any], condition: Callable[[], object], what: str,
                     timeout: float = 15.0) -> None:
    """Let the app run until ``condition()`` holds; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    for _ in range(100_000):
        if condition():
            return
        if time.monotonic() > deadline:
            break
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def drive(app: StateViewApp, scenario: Callable[[Pilot[Any]], Awaitable[None]],
          size: tuple[int, int] = SIZE, wait_loaded: bool = True) -> None:
    """Run ``scenario`` against the app, headless, after its first load."""

    async def go() -> None:
        async with app.run_test(size=size) as pilot:
            if wait_loaded:
                await wait_until(pilot, lambda: app.loads >= 1, "the first load")
                await pilot.pause()
            await scenario(pilot)

    asyncio.run(go())


async def loaded_once_more(pilot: Pilot[Any], app: StateViewApp, before: int) -> None:
    await wait_until(pilot, lambda: app.loads > before, "the next version on screen")
    await pilot.pause()


COMMIT_SCRIPT = """
import json, sys, stateview
with stateview.open(sys.argv[1]) as state:
    with state.transaction() as root:
        for pointer, value in json.loads(sys.argv[2]).items():
            *parents, last = pointer.strip("/").split("/")
            node = root
            for p in parents:
                node = node[int(p)] if isinstance(node, list) else node[p]
            node[int(last) if isinstance(node, list) else last] = value
"""


async def commit_in_process(path: Path, changes: dict[str, Any]) -> None:
    """Commit ``changes`` ({pointer: value}) from another process, through stateview."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", COMMIT_SCRIPT, str(path), json.dumps(changes),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()


def labels(app: StateViewApp) -> list[str]:
    """The tree's visible rows as plain text (icons included), top to bottom."""
    tree = app.json_tree
    rows = []
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        assert node is not None
        rows.append(tree.render_label(node, tree.rich_style, tree.rich_style).plain)
    return rows


def cursor_pointer(app: StateViewApp) -> str | None:
    return app._cursor_pointer()


_HOLD_EXCLUSIVE = """
import sys, stateview
with stateview.open(sys.argv[1], exclusive=True) as state:
    print("holding", flush=True)
    sys.stdin.readline()
"""


@contextlib.contextmanager
def exclusive_holder(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``path`` open with ``exclusive=True`` until the block ends (or
    until a test kills it)."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_EXCLUSIVE, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        yield holder
    finally:
        if holder.poll() is None:
            holder.communicate("\n", timeout=30)
        holder.communicate(timeout=10)  # reaps it and closes the pipes
