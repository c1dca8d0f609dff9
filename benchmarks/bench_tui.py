"""How fast the live view is on large files.

    .venv/bin/python benchmarks/bench_tui.py [--rounds 3] [--clients 40000] [--out DIR]

Measures, headless (``App.run_test``) at 120x35:

* first paint: from creating the app to the first screen showing a 10 MB document with
  200,000 nodes (target < 1.5 s);
* reload latency: from another process's acknowledged commit (through stateview, in a
  subprocess) to the new version painted, for the 10 MB document and a 5 KB one (target:
  under 300 ms, with a 50 ms poll; strict parsing of 10 MB alone takes about 0.2 s);
* expanding an object with 100,000 children (first page built, UI responsive again).

Each figure is the median of ``--rounds`` runs. Machines are noisy: read the numbers as a
guide, not as pass/fail. Writes ``tui.json`` (every run's figure, the date, the machine and its
load average) and ``tui.md`` (the table printed) into ``--out`` (default: benchmarks/results).
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
from collections.abc import Callable, Iterable
from typing import Any

import report

from stateview.tui.app import StateViewApp

# What each figure is, and its target in ms (None: no target, reported for information).
MEASURES = {
    "first_paint": ("first paint, {doc}", 1500),
    "reload_big": ("another process's commit to the screen, {doc}", 300),
    "reload_small": ("another process's commit to the screen, {small}", 300),
    "expand_wide": ("expanding an object of 100,000 keys", None),
}


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


def markdown(record: dict[str, Any]) -> str:
    """The medians, every run and the targets as a table under the run's date and load."""
    doc, small = record["document"], record["small_document"]
    names = {"doc": f"{doc['mb']:.1f} MB, {doc['nodes']:,} nodes",
             "small": f"{small['kb']:.1f} KB"}
    lines = [f"The live view on large files, {record['date']}, headless at 120x35, Python "
             f"{record['machine']['python']}, {report.load_text(record)}; medians of "
             f"{record['rounds']} runs", "",
             "| what | median ms | runs ms | target | met |", "|---|---:|---|---|---|"]
    for key, (what, target) in MEASURES.items():
        runs = record["figures"][key]
        median = statistics.median(runs)
        need, met = ("-", "-") if target is None else (
            f"< {target:,} ms", "yes" if median < target else "**no**")
        lines.append(f"| {what.format(**names)} | {median:,.0f} | "
                     f"{', '.join(f'{r:.0f}' for r in runs)} | {need} | {met} |")
    return "\n".join(lines)


def ms(seconds: Iterable[float]) -> list[float]:
    return [round(s * 1000, 1) for s in seconds]


def measure(tmp: str, rounds: int, clients: int) -> dict[str, Any]:
    """Write the documents into ``tmp`` and time each view ``rounds`` times (ms)."""
    big = os.path.join(tmp, "big.json")
    document = big_document(clients)
    with open(big, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2, ensure_ascii=False)
    wide = os.path.join(tmp, "wide.json")
    with open(wide, "w", encoding="utf-8") as f:
        json.dump({"flat": {f"k{i:06d}": i for i in range(100_000)}}, f, indent=2)
    small = os.path.join(tmp, "small.json")
    with open(small, "w", encoding="utf-8") as f:
        json.dump(big_document(clients=20), f, indent=2)
    return {
        "document": {"mb": os.path.getsize(big) / 1e6, "nodes": count_nodes(document)},
        "small_document": {"kb": os.path.getsize(small) / 1e3},
        "rounds": rounds,
        "figures": {
            "first_paint": ms(asyncio.run(first_paint(big)) for _ in range(rounds)),
            "reload_big": ms(asyncio.run(reload_latency(big, rounds))),
            "reload_small": ms(asyncio.run(reload_latency(small, rounds))),
            "expand_wide": ms(asyncio.run(expand_wide(wide)) for _ in range(rounds)),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=40_000,
                        help="clients in the big document (40,000: about 10 MB)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "results"),
                        help="where tui.json and tui.md go (default: benchmarks/results)")
    args = parser.parse_args()
    record = report.begin()
    with tempfile.TemporaryDirectory() as tmp:
        record.update(measure(tmp, args.rounds, args.clients))
    report.end(record)
    text = markdown(record)
    report.save(args.out, "tui", record, text)
    print(text)


if __name__ == "__main__":
    main()
