"""An asyncio server's view of commits: how late the event loop runs while 8 tasks commit.

    python benchmarks/bench_async.py            # 5 s per mode, interleaved in 1 s slices
    python benchmarks/bench_async.py --quick    # seconds, figures meaningless

Modes, each on its own state file (the 1 KB document of ``workload.py`` by default), each
changing ``clients[key]["score"]`` with 8 workers flat out:

* ``atransaction``: 8 tasks on one loop, ``async with state.atransaction() as root``.
* ``autocommit-loop``: 8 tasks on one loop, a plain ``state[...] = n`` (the commit blocks the
  loop), then ``await asyncio.sleep(0)`` so that the others get a turn.
* ``threads``: 8 threads, ``with state.transaction() as root`` (no loop): the figure to match.
* ``idle-loop``: no commits; the lag floor of this machine's loop.

In the loop modes a monitor task sleeps 1 ms and records how much later than that it wakes
(the loop lag every other client of the server would feel). Modes run in rounds of slices,
starting with a different mode each round, so that the disk's and the machine's noise hits
them alike. Writes ``async.json`` and ``async.md`` to ``--out`` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report
import workload
from harness import percentile

import stateview

WORKERS = 8
TICK = 0.001  # the lag monitor's sleep
MODES = ["atransaction", "autocommit-loop", "threads", "idle-loop"]
TARGET_LAG_MS = 5.0
TARGET_RATIO = 0.9


class Tally:
    """What one mode measured over all its slices."""

    def __init__(self) -> None:
        self.commits = 0
        self.seconds = 0.0
        self.lags: list[float] = []  # seconds late, per monitor wake-up
        self.latencies: list[float] = []  # seconds, per commit as its caller saw it

    def summary(self) -> dict[str, Any]:
        lags, lat = sorted(self.lags), sorted(self.latencies)
        ms = 1000.0
        return {
            "commits": self.commits,
            "seconds": round(self.seconds, 3),
            "commits_per_s": self.commits / self.seconds if self.seconds else None,
            "lag_samples": len(lags),
            "lag_p50_ms": percentile(lags, 50) * ms if lags else None,
            "lag_p99_ms": percentile(lags, 99) * ms if lags else None,
            "lag_max_ms": lags[-1] * ms if lags else None,
            "commit_p50_ms": percentile(lat, 50) * ms if lat else None,
            "commit_p99_ms": percentile(lat, 99) * ms if lat else None,
        }


async def _monitor(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(TICK)
        lags.append(max(0.0, time.perf_counter() - start - TICK))


async def _loop_slice(mode: str, state: stateview.StateFile, keys: list[str],
                      duration: float, tally: Tally) -> None:
    stop = asyncio.Event()
    counts = [0] * len(keys)

    async def atransaction(i: int) -> None:
        clients = state["clients"]
        while not stop.is_set():
            t = time.perf_counter()
            async with state.atransaction():
                clients[keys[i]]["score"] += 1
            tally.latencies.append(time.perf_counter() - t)
            counts[i] += 1

    async def autocommit(i: int) -> None:
        client = state["clients"][keys[i]]
        while not stop.is_set():
            t = time.perf_counter()
            client["score"] += 1
            tally.latencies.append(time.perf_counter() - t)
            counts[i] += 1
            await asyncio.sleep(0)

    work = {"atransaction": atransaction, "autocommit-loop": autocommit}.get(mode)
    monitor = asyncio.create_task(_monitor(stop, tally.lags))
    start = time.perf_counter()
    tasks = [asyncio.create_task(work(i)) for i in range(len(keys))] if work else []
    await asyncio.sleep(duration)
    stop.set()
    await asyncio.gather(monitor, *tasks)
    tally.seconds += time.perf_counter() - start
    tally.commits += sum(counts)


def _thread_slice(state: stateview.StateFile, keys: list[str], duration: float,
                  tally: Tally) -> None:
    stop = threading.Event()
    counts = [0] * len(keys)
    latencies: list[list[float]] = [[] for _ in keys]

    def work(i: int) -> None:
        clients = state["clients"]
        while not stop.is_set():
            t = time.perf_counter()
            with state.transaction():
                clients[keys[i]]["score"] += 1
            latencies[i].append(time.perf_counter() - t)
            counts[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(keys))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(duration)
    stop.set()
    for t in threads:
        t.join()
    tally.seconds += time.perf_counter() - start
    tally.commits += sum(counts)
    for lat in latencies:
        tally.latencies.extend(lat)


def run(size: str, budget: float, slice_s: float, directory: str) -> dict[str, Any]:
    doc = workload.doc_for(size)
    keys = [workload.key_for(i, WORKERS, doc) for i in range(WORKERS)]
    states = {}
    for mode in MODES:
        os.makedirs(os.path.join(directory, mode))
        states[mode] = stateview.open(os.path.join(directory, mode, "state.json"), default=doc)
    tallies = {mode: Tally() for mode in MODES}
    rounds = max(1, round(budget / slice_s))
    for r in range(rounds):
        for k in range(len(MODES)):
            mode = MODES[(r + k) % len(MODES)]
            if mode == "threads":
                _thread_slice(states[mode], keys, slice_s, tallies[mode])
            else:
                asyncio.run(_loop_slice(mode, states[mode], keys, slice_s, tallies[mode]))
    for mode, state in states.items():
        expected = tallies[mode].commits + sum(doc["clients"][k]["score"] for k in keys)
        got = sum(state["clients"][k]["score"] for k in keys)
        if got != expected:  # every counted commit must be in the document
            raise SystemExit(f"{mode}: {got} increments in the document, {expected} counted")
        state.close()
    return {mode: t.summary() for mode, t in tallies.items()}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    a, threads = results["atransaction"], results["threads"]
    ratio = a["commits_per_s"] / threads["commits_per_s"] if threads["commits_per_s"] else None
    return [
        {"what": "p99 loop lag while 8 tasks commit with atransaction (ms)",
         "value": a["lag_p99_ms"], "need": f"< {TARGET_LAG_MS:g}",
         "pass": a["lag_p99_ms"] is not None and a["lag_p99_ms"] < TARGET_LAG_MS},
        {"what": "commits/s: 8 tasks with atransaction / 8 threads with transaction()",
         "value": ratio, "need": f">= {TARGET_RATIO:g}",
         "pass": ratio is not None and ratio >= TARGET_RATIO},
    ]


def _num(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if x >= 100 else f"{x:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    lines = ["| mode | commits/s | loop lag p50 ms | p99 ms | max ms | commit p50 ms | p99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for mode, r in result["modes"].items():
        lines.append(f"| `{mode}` | {_num(r['commits_per_s'])} | {_num(r['lag_p50_ms'])} | "
                     f"{_num(r['lag_p99_ms'])} | {_num(r['lag_max_ms'])} | "
                     f"{_num(r['commit_p50_ms'])} | {_num(r['commit_p99_ms'])} |")
    m = result["machine"]
    lines += ["", f"{result['date']}, {m['cores']} cores, Python {m['python']}, "
              f"{result['filesystem'].get('type')}, load average "
              f"{result['load_average_1min'][0]:g} to {result['load_average_1min'][1]:g}, "
              f"{result['size']} document, {result['budget_s']:g} s per mode."
              + (f" {result['note']}" if result.get("note") else ""),
              "", "| target | value | need | result |", "|---|---:|---|---|"]
    for t in result["targets"]:
        verdict = "PASS" if t["pass"] else "**FAIL**"
        lines.append(f"| {t['what']} | {_num(t['value'])} | {t['need']} | {verdict} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1KB", choices=list(workload.SIZES))
    parser.add_argument("--budget", type=float, default=5.0, help="seconds per mode")
    parser.add_argument("--slice", type=float, default=1.0, help="seconds per turn")
    parser.add_argument("--quick", action="store_true", help="0.6 s per mode")
    parser.add_argument("--dir", default=None, help="where the state files go")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    parser.add_argument("--note", default="", help="what else ran on the machine, for the record")
    args = parser.parse_args()
    budget, slice_s = (0.6, 0.3) if args.quick else (args.budget, args.slice)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-async-", dir=args.dir) as directory:
        modes = run(args.size, budget, slice_s, directory)
        fs = report.filesystem(directory)
    # Other processes on the machine show in the loop lag (see idle-loop): keep the load.
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result = {"date": report.now(), "size": args.size, "workers": WORKERS,
              "budget_s": budget, "slice_s": slice_s, "machine": report.machine(),
              "load_average_1min": load, "note": args.note, "filesystem": fs, "modes": modes,
              "targets": targets(modes)}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "async.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    text = markdown(result)
    with open(os.path.join(args.out, "async.md"), "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
