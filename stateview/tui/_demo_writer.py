"""The demo's background writer: a stand-in for a server, committing through the library.

Run as ``python -m stateview.tui._demo_writer FILE``. Every half second it changes the demo
state in one transaction (scores move, clients join and leave, an event is logged), so the UI
has something live to show and a real lock holder (another pid) to name. It stops on SIGTERM,
SIGINT, when its parent is gone, or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import time
from typing import Any

import stateview

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
ROOMS = ["lobby", "arena", "library"]


def step(root: Any, rng: random.Random, tick: int) -> str:
    """One change to the demo document; returns what happened (for the event log)."""
    clients = root["clients"]
    absent = [n for n in NAMES if n not in clients]
    roll = rng.random()
    if absent and (roll < 0.12 or not clients):
        name = rng.choice(absent)
        clients[name] = {"score": 0, "room": rng.choice(ROOMS), "online": True}
        what = f"{name} joined"
    elif len(clients) > 3 and roll < 0.2:
        name = rng.choice(sorted(clients))
        del clients[name]
        what = f"{name} left"
    elif roll < 0.35:
        name = rng.choice(sorted(clients))
        clients[name]["room"] = rng.choice(ROOMS)
        what = f"{name} moved to {clients[name]['room']}"
    else:
        name = rng.choice(sorted(clients))
        clients[name]["score"] += rng.randint(1, 25)
        what = f"{name} scored"
    root["stats"]["ticks"] = tick
    root["stats"]["online"] = len(clients)
    # A ring of the last 8 events: one slot changes per tick, so the change feed shows the
    # event itself rather than every entry shifting down by one.
    events = root["events"]
    event = {"tick": tick, "what": what}
    if len(events) < 8:
        events.append(event)
    else:
        events[tick % 8] = event
    return what


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stateview-demo-writer")
    parser.add_argument("file")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--max-seconds", type=float, default=4 * 3600)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parent = os.getppid()
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.max_seconds
    with stateview.open(args.file) as state:
        tick = int(state["stats"].get("ticks", 0))
        while not stopping and time.monotonic() < deadline and os.getppid() == parent:
            time.sleep(args.interval)
            tick += 1
            try:
                with state.transaction() as root:
                    step(root, rng, tick)
            except stateview.StateError as e:  # an operator's edit broke the schema? go on
                print(f"demo writer: {e}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
