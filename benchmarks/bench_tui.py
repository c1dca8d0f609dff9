"""How fast the live view is on large files.

    .venv/bin/python benchmarks/bench_tui.py [--rounds 3]

Measures, headless (``App.run_test``) at 120x35:

* first paint: from creating the app to the first screen showing a 10 MB document with
  200,000 nodes (target < 1.5 s);
* reload latency: from another process's acknowledged commit (through stateview, in a
  subprocess) to the new version painted, for the 10 MB document and a 5 KB one (target:
  under 300 ms, with a 50 ms poll; strict parsing of 10 MB alone takes about 0.2 s);
* expanding an object with 100,000 children (first page built, UI responsive again).

Each figure is the median of ``--rounds`` runs. Machines are noisy: read the numbers as a
guide, not as pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from stateview.tui.app import StateViewApp


def big_document(clients: int = 40_000) -> dict[str, object]:
    """About 10 MB and 200,000 nodes: 40,000 clients of 4 fields each, plus counters."""
    bio = "likes long walks through JSON documents and atomic renames; " * 2
    return {
        "server": {"name": "bench", "port": 7777},
        "stats": {"ticks": 0},
        "clients": {
            f"client{i:06d}": {"score": i, "room": ["lobby", "arena"][i % 2],
                               "email": f"c{i}@example.org", "bio": bio}
            for i in range(clients)
        },
    }


def count_nodes(value: object) -> int:
    stack, n = [value], 0
    while stack:
        v = stack.pop()
        n += 1
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return n


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.005)


async def first_paint(path: str) -> float:
    started = time.perf_counter()
    app = StateViewApp(path)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: app.loads >= 1)
        await pilot.pause()  # one refresh: the screen now shows the tree
        return time.perf_counter() - started


_COMMIT = """
import sys, time, stateview
with stateview.open(sys.argv[1]) as s:
    s["stats"]["ticks"] = int(sys.argv[2])
    print(time.time(), flush=True)  # the assignment returned: the commit is durable
"""


async def reload_latency(path: str, rounds: int) -> list[float]:
    app = StateViewApp(path)
    found: list[float] = []
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: app.loads >= 1)
        for tick in range(1, rounds + 1):
            loads = app.loads
            proc = subprocess.Popen([sys.executable, "-c", _COMMIT, path, str(tick)],
                                    stdout=subprocess.PIPE, text=True)
            await wait_for(pilot, lambda: app.loads > loads)  # noqa: B023 - awaited here
            await pilot.pause()
            shown = time.time()
            out, _ = proc.communicate(timeout=60)
            # Wall-clock time on one machine, from the writer's acknowledged commit to the
            # new version painted here.
            found.append(shown - float(out.split()[0]))
    return found


async def expand_wide(path: str) -> float:
    app = StateViewApp(path)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: app.loads >= 1)
        app.json_tree.move_cursor(app.json_tree.root.children[0])
        await pilot.pause()
        started = time.perf_counter()
        await pilot.press("l")
        await pilot.pause()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.json")
        document = big_document()
        with open(big, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=2, ensure_ascii=False)
        wide = os.path.join(tmp, "wide.json")
        with open(wide, "w", encoding="utf-8") as f:
            json.dump({"flat": {f"k{i:06d}": i for i in range(100_000)}}, f, indent=2)
        size_mb = os.path.getsize(big) / 1e6
        print(f"document: {size_mb:.1f} MB, {count_nodes(document):,} nodes")
        paints = [asyncio.run(first_paint(big)) for _ in range(args.rounds)]
        print(f"first paint:          median {statistics.median(paints) * 1000:7.0f} ms "
              f"(runs: {', '.join(f'{p * 1000:.0f}' for p in paints)})")
        small = os.path.join(tmp, "small.json")
        with open(small, "w", encoding="utf-8") as f:
            json.dump(big_document(clients=20), f, indent=2)
        for label, path in (("reload, 10 MB:", big), ("reload, 5 KB:", small)):
            latencies = asyncio.run(reload_latency(path, args.rounds))
            print(f"{label:<21} median {statistics.median(latencies) * 1000:7.0f} ms "
                  f"(runs: {', '.join(f'{p * 1000:.0f}' for p in latencies)})")
        expands = [asyncio.run(expand_wide(wide)) for _ in range(args.rounds)]
        print(f"expand 100,000 keys:  median {statistics.median(expands) * 1000:7.0f} ms "
              f"(runs: {', '.join(f'{p * 1000:.0f}' for p in expands)})")


if __name__ == "__main__":
    main()
