"""``stateview demo``: a state file, its schema and a live writer, opened in the UI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from .._schema import load_schema

__all__ = ["DEMO_SCHEMA", "demo_document", "make_demo", "run", "start_writer"]

DEMO_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "demo game server state",
    "type": "object",
    "required": ["server", "clients", "stats", "events"],
    "properties": {
        "server": {
            "description": "How the server was started.",
            "type": "object",
            "properties": {
                "name": {"description": "Shown to players.", "type": "string", "minLength": 1},
                "port": {"description": "TCP port.", "type": "integer", "minimum": 1,
                         "maximum": 65535},
                "motd": {"description": "Message of the day.", "type": "string",
                         "maxLength": 80},
            },
        },
        "clients": {
            "description": "Connected players by name.",
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["score", "room"],
                "properties": {
                    "score": {"description": "Points this session; never negative.",
                              "type": "integer", "minimum": 0},
                    "room": {"description": "Where the player is.",
                             "enum": ["lobby", "arena", "library"]},
                    "online": {"description": "Connected right now.", "type": "boolean"},
                },
            },
        },
        "stats": {
            "description": "Counters the server keeps.",
            "type": "object",
            "properties": {
                "ticks": {"description": "Writer iterations so far.", "type": "integer",
                          "minimum": 0},
                "online": {"description": "Players connected.", "type": "integer",
                           "minimum": 0},
            },
        },
        "events": {"description": "The latest events: a ring of 8 slots, slot = tick % 8.",
                   "type": "array", "maxItems": 8},
    },
}


def demo_document() -> dict[str, Any]:
    return {
        "server": {"name": "stateview demo", "port": 7777, "motd": "welcome!"},
        "clients": {
            "alice": {"score": 12, "room": "lobby", "online": True},
            "bob": {"score": 7, "room": "arena", "online": True},
            "carol": {"score": 30, "room": "library", "online": False},
            "dave": {"score": 3, "room": "arena", "online": True},
        },
        "stats": {"ticks": 0, "online": 4},
        "events": [{"tick": 0, "what": "server started"}],
    }


def make_demo(directory: str) -> str:
    """Write ``demo.json`` (unless it exists) and ``demo.schema.json``; returns the file."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "demo.json")
    with open(os.path.join(directory, "demo.schema.json"), "w", encoding="utf-8") as f:
        json.dump(DEMO_SCHEMA, f, indent=2)
        f.write("\n")
    if not os.path.exists(path):
        import stateview

        stateview.open(path, default=demo_document(), schema=DEMO_SCHEMA).close()
    return path


def start_writer(path: str, interval: float = 0.5, **kwargs: Any) -> subprocess.Popen[bytes]:
    """The writer as another process, so the UI names a real foreign lock holder."""
    return subprocess.Popen(
        [sys.executable, "-m", "stateview.tui._demo_writer", path, "--interval", str(interval)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        **kwargs)


def stop_writer(writer: subprocess.Popen[bytes]) -> None:
    if writer.poll() is None:
        writer.terminate()
        try:
            writer.wait(timeout=5)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait(timeout=5)


def run(directory: str | None = None) -> int:
    """Make the demo, start the writer, run the UI; stop the writer when the UI quits."""
    if directory is None:
        directory = tempfile.mkdtemp(prefix="stateview-demo-")
    path = make_demo(directory)
    schema = load_schema(os.path.join(directory, "demo.schema.json"))
    writer = start_writer(path)
    try:
        from .app import StateViewApp  # Textual: imported only once the demo is ready

        StateViewApp(path, schema).run()
    finally:
        stop_writer(writer)
    print(f"demo files kept in {directory} (try: stateview {path})")
    return 0
