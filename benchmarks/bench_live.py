"""The live view under a busy writer: commit-to-screen lag, key latency, CPU and memory.

    .venv/bin/python benchmarks/bench_live.py [--seconds 60] [--interval 0.2] [--json]
                                              [--out DIR]

A ~10 MB document of ~200,000 nodes is opened headless (``App.run_test``, 120x35) with a few
thousand rows open (``/clients`` and the first clients expanded). Another process then commits
through stateview every ``--interval`` seconds for ``--seconds`` seconds: it bumps a counter,
changes one client's score and now and then adds a client. Meanwhile the benchmark presses a
cursor key every ``--key-every`` seconds.

Measured:

* commit to screen: for every acknowledged commit, the time until the view shows that version
  or a newer one (a version skipped because a newer one came first counts until the newer one
  is shown; a commit never shown counts until the end of the run);
* key latency: from a key event posted to the app until the cursor has moved;
* memory: resident set size of this process (the app runs in it) with the rows open before
  the writer starts, and after the run; CPU time of this process over the run;
* how many versions the view applied, out of how many commits.

Targets: median commit-to-screen under 0.5 s and never over 2 s,
key p95 under 0.1 s, memory after within 1.5x of before. Machines are noisy: read the numbers
as a guide, not as pass/fail.

Writes ``results/live.json`` (the figures, the run's settings, the date, the machine and its
load average) and ``results/live.md`` (the text printed), into ``--out``.
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
import threading
import time
from typing import Any

from textual import events

from stateview.tui.app import StateViewApp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report as machine_report
from bench_tui import big_document, count_nodes

_WRITER = """
import random, sys, time, stateview
path, interval, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rng = random.Random(7)
with stateview.open(path) as state:
    clients = state["clients"]
    names = list(clients)
    end = time.monotonic() + seconds
    tick = 0
    while time.monotonic() < end:
        started = time.monotonic()
        tick += 1
        with state.transaction() as root:
            root["stats"]["ticks"] = tick
            root["clients"][names[rng.randrange(40)]]["score"] = tick
            if tick % 10 == 0:
                root["clients"][f"new{tick:06d}"] = {"score": 0, "room": "lobby"}
        print(tick, time.time(), flush=True)  # the block returned: the commit is durable
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
"""


def rss_mb() -> float:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_for(pilot: Any, condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.01)


def shown_tick(app: StateViewApp) -> int:
    document = app.json_tree.document
    return int(document["stats"]["ticks"]) if isinstance(document, dict) else -1


async def open_rows(app: StateViewApp, pilot: Any, clients: int) -> int:
    """Expand /clients and its first ``clients`` children; returns the rows on screen."""
    tree = app.json_tree
    app.go_to("/clients")
    await pilot.pause()
    node = tree.cursor_node
    assert node is not None
    node.expand()
    await pilot.pause()
    for child in list(node.children)[:clients]:
        child.expand()
    await wait_for(pilot, lambda: tree.last_line > clients * 4)
    app.go_to("/stats/ticks")
    await pilot.pause()
    return tree.last_line + 1


async def measure(path: str, args: argparse.Namespace) -> dict[str, Any]:
    app = StateViewApp(path)
    acks: dict[int, float] = {}
    shown_at: dict[int, float] = {}
    key_lags: list[float] = []
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: app.loads >= 1)
        rows = await open_rows(app, pilot, args.open_clients)
        await pilot.pause(0.5)
        rss_before = rss_mb()
        loads_before = app.loads
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, path, str(args.interval), str(args.seconds)],
            stdout=subprocess.PIPE, text=True)

        def read_acks() -> None:
            assert writer.stdout is not None
            for line in writer.stdout:
                tick, when = line.split()
                acks[int(tick)] = float(when)

        reader = threading.Thread(target=read_acks, daemon=True)
        reader.start()
        cpu_start, wall_start = time.process_time(), time.monotonic()
        next_key = time.monotonic() + args.key_every
        direction = "j"
        last_seen = shown_tick(app)
        while writer.poll() is None or reader.is_alive():
            await asyncio.sleep(0.005)
            tick = shown_tick(app)
            if tick != last_seen:
                now = time.time()
                for t in range(max(last_seen, 0) + 1, tick + 1):
                    shown_at.setdefault(t, now)
                last_seen = tick
            if time.monotonic() >= next_key:
                tree = app.json_tree
                before = tree.cursor_line
                started = time.perf_counter()
                app.post_message(events.Key(direction, direction))
                deadline = time.monotonic() + 10
                while tree.cursor_line == before and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)
                key_lags.append(time.perf_counter() - started)
                direction = "k" if direction == "j" else "j"
                next_key = time.monotonic() + args.key_every
        # Let the view catch up with the last commit (bounded), then take the figures.
        final = max(acks) if acks else 0
        deadline = time.monotonic() + 10
        while shown_tick(app) < final and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        now = time.time()
        for t in range(max(last_seen, 0) + 1, shown_tick(app) + 1):
            shown_at.setdefault(t, now)
        cpu = time.process_time() - cpu_start
        wall = time.monotonic() - wall_start
        await pilot.pause(0.5)
        rss_after = rss_mb()
        loads = app.loads - loads_before
    lags = [shown_at.get(t, time.time()) - acked for t, acked in acks.items()]
    never = sum(1 for t in acks if t not in shown_at)
    return {
        "rows_open": rows,
        "commits": len(acks),
        "versions_applied": loads,
        "never_shown": never,
        "lag_median_s": statistics.median(lags) if lags else None,
        "lag_max_s": max(lags) if lags else None,
        "key_presses": len(key_lags),
        "key_p95_s": percentile(key_lags, 0.95) if key_lags else None,
        "key_max_s": max(key_lags) if key_lags else None,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "cpu_percent": 100 * cpu / wall if wall else None,
    }


def report(doc: dict[str, Any], r: dict[str, Any], args: argparse.Namespace) -> str:
    def ms(x: float | None) -> str:
        return "-" if x is None else f"{x * 1000:.0f} ms"

    ratio = r["rss_after_mb"] / r["rss_before_mb"] if r["rss_before_mb"] else float("nan")
    return "\n".join([
        f"document: {doc['mb']:.1f} MB, {doc['nodes']:,} nodes; {r['rows_open']:,} rows open",
        f"writer: {r['commits']} commits in {args.seconds:g} s (one every {args.interval:g} s); "
        f"view applied {r['versions_applied']} versions, {r['never_shown']} commits never shown",
        f"commit to screen: median {ms(r['lag_median_s'])}, max {ms(r['lag_max_s'])}",
        f"key latency: p95 {ms(r['key_p95_s'])}, max {ms(r['key_max_s'])} "
        f"({r['key_presses']} presses)",
        f"memory (RSS): {r['rss_before_mb']:.0f} MB before, {r['rss_after_mb']:.0f} MB after "
        f"({ratio:.2f}x)",
        f"CPU of the view's process: {r['cpu_percent']:.0f}% of one core",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the writer runs")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between commits")
    parser.add_argument("--clients", type=int, default=40_000, help="document size (clients)")
    parser.add_argument("--open-clients", type=int, default=600,
                        help="clients expanded in the view (4 rows each)")
    parser.add_argument("--key-every", type=float, default=0.25, help="seconds between keys")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "results"),
                        help="where live.json and live.md go (default: benchmarks/results)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.json")
        document = big_document(args.clients)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=2, ensure_ascii=False)
            f.write("\n")
        doc = {"mb": os.path.getsize(path) / 1e6, "nodes": count_nodes(document)}
        del document
        result = asyncio.run(measure(path, args))
    settings = {k: getattr(args, k) for k in
                ("seconds", "interval", "clients", "open_clients", "key_every")}
    figures = {"document": doc, **result}
    # The load average says how much of the two cores the view and the writer really had.
    header = (f"{machine_report.now()}, load average {os.getloadavg()[0]:.1f}, "
              f"{settings['seconds']:g} s run")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "live.json"), "w", encoding="utf-8") as f:
        json.dump({"date": machine_report.now(), "machine": machine_report.machine(),
                   "load_average": os.getloadavg(), "settings": settings, **figures}, f,
                  indent=2)
        f.write("\n")
    text = report(doc, result, args)
    with open(os.path.join(args.out, "live.md"), "w", encoding="utf-8") as f:
        f.write(f"Live view under a busy writer, {header}:\n\n```\n{text}\n```\n")
    print(json.dumps(figures, indent=2) if args.json else text)


if __name__ == "__main__":
    main()
