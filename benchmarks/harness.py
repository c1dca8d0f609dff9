"""The interleaved runner: every contender of a cell gets short time slices, round-robin.

A cell is (document size, thread count). All contenders of a size are set up first, each in
its own directory; then each round gives every contender one slice of ``slice_s`` seconds, so
that background noise (other processes, the disk's write-back, thermal drift) hits every
contender alike. A contender stops when it has ``budget_s`` seconds of measured time.

Before measuring, each contender makes one warm-up commit (reported as ``first_ms``). If it
and the next commit both take longer than ``hopeless_s``, the contender is skipped in the cell
and the output says so.
"""

from __future__ import annotations

import itertools
import math
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import workload
from contenders import Contender


@dataclass(frozen=True)
class Settings:
    budget_s: float = 1.0
    slice_s: float = 0.2
    hopeless_s: float = 2.0
    max_commits_per_slice: int = 200_000


@dataclass
class Tally:
    """Everything measured for one contender in one cell."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    first_s: float | None = None
    skipped: str | None = None
    error: str | None = None

    def summary(self, changes_per_commit: int) -> dict[str, Any]:
        lat = sorted(self.latencies)
        n = len(lat)
        out: dict[str, Any] = {
            "commits": n,
            "seconds": round(self.seconds, 4),
            "commits_per_s": round(n / self.seconds, 2) if self.seconds > 0 and n else None,
            "changes_per_s": (round(n * changes_per_commit / self.seconds, 2)
                              if self.seconds > 0 and n else None),
            "median_ms": round(percentile(lat, 50) * 1e3, 4) if n else None,
            "p99_ms": round(percentile(lat, 99) * 1e3, 4) if n else None,
            "first_ms": round(self.first_s * 1e3, 3) if self.first_s is not None else None,
            "skipped": self.skipped,
            "error": self.error,
        }
        return out


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _slice_one(c: Contender, key: str, counter: itertools.count[int], duration: float,
               cap: int) -> tuple[float, list[float]]:
    lat: list[float] = []
    clock = time.perf_counter
    start = clock()
    end = start + duration
    for _ in range(cap):
        t0 = clock()
        c.commit(key, next(counter))
        t1 = clock()
        lat.append(t1 - t0)
        if t1 >= end:
            break
    return clock() - start, lat


def _slice_many(c: Contender, keys: list[str], counter: itertools.count[int], duration: float,
                cap: int) -> tuple[float, list[float]]:
    """``len(keys)`` threads, each committing its own key until the slice ends."""
    stop = threading.Event()
    gate = threading.Barrier(len(keys) + 1)
    per_thread: list[list[float]] = [[] for _ in keys]
    errors: list[BaseException] = []
    clock = time.perf_counter

    def worker(key: str, lat: list[float]) -> None:
        gate.wait()
        try:
            for _ in range(cap):
                if stop.is_set():
                    break
                t0 = clock()
                c.commit(key, next(counter))
                lat.append(clock() - t0)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k, lat), daemon=True)
               for k, lat in zip(keys, per_thread, strict=True)]
    for t in threads:
        t.start()
    gate.wait()
    start = clock()
    stop.wait(duration)
    stop.set()
    for t in threads:
        t.join()
    wall = clock() - start
    if errors:
        raise errors[0]
    return wall, [x for lat in per_thread for x in lat]


def run_cell(contenders: dict[str, Contender], doc: workload.Doc, threads: int,
             settings: Settings, log: Callable[[str], None]) -> dict[str, Tally]:
    """Measure every contender at ``threads`` threads, interleaved. Returns name -> Tally."""
    keys = [workload.key_for(t, threads, doc) for t in range(threads)]
    tallies = {name: Tally() for name in contenders}
    counters = {name: itertools.count(1_000_000) for name in contenders}
    active = []
    for name, c in contenders.items():
        tally = tallies[name]
        try:
            t0 = time.perf_counter()
            c.commit(keys[0], next(counters[name]))
            tally.first_s = time.perf_counter() - t0
        except Exception as e:
            tally.error = f"{type(e).__name__}: {e}"
            log(f"  {name}: warm-up failed: {tally.error}")
            continue
        if tally.first_s > settings.hopeless_s:
            # A first commit may build caches (stateview serializes everything once after
            # open); judge by the second.
            t0 = time.perf_counter()
            c.commit(keys[0], next(counters[name]))
            second = time.perf_counter() - t0
            if second > settings.hopeless_s:
                tally.skipped = (f"hopeless: first commits took {tally.first_s:.2f} s and "
                                 f"{second:.2f} s (> {settings.hopeless_s:g} s)")
                log(f"  {name}: skipped, {tally.skipped}")
                continue
        active.append(name)

    max_rounds = math.ceil(settings.budget_s / settings.slice_s) + 1
    for round_no in range(max_rounds):
        if not active:
            break
        shift = round_no % len(active)
        for name in active[shift:] + active[:shift]:
            c, tally = contenders[name], tallies[name]
            try:
                if threads == 1:
                    wall, lat = _slice_one(c, keys[0], counters[name], settings.slice_s,
                                           settings.max_commits_per_slice)
                else:
                    wall, lat = _slice_many(c, keys, counters[name], settings.slice_s,
                                            settings.max_commits_per_slice)
            except Exception as e:
                tally.error = f"{type(e).__name__}: {e}"
                log(f"  {name}: failed: {tally.error}")
                traceback.print_exc(file=sys.stderr)
                continue
            tally.seconds += wall
            tally.latencies.extend(lat)
        active = [n for n in active
                  if tallies[n].error is None and tallies[n].seconds < settings.budget_s]
    return tallies


def run_size(label: str, classes: list[type[Contender]], thread_counts: list[int],
             settings: Settings, base_dir: str,
             log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Set up every contender for one document size, run each thread count, clean up."""
    import os

    doc = workload.doc_for(label)
    doc_bytes = len(workload.disk_text(doc).encode())
    log(f"{label}: {len(doc['clients'])} clients, {doc_bytes} bytes on disk; setting up")
    contenders: dict[str, Contender] = {}
    setup_errors: dict[str, str] = {}
    size_dir = os.path.join(base_dir, label)
    for cls in classes:
        c = cls()
        directory = os.path.join(size_dir, cls.name)
        os.makedirs(directory)
        try:
            c.setup(directory, doc)
        except Exception as e:
            setup_errors[cls.name] = f"setup failed: {type(e).__name__}: {e}"
            log(f"  {cls.name}: {setup_errors[cls.name]}")
            continue
        contenders[cls.name] = c
    cells = []
    try:
        for threads in thread_counts:
            log(f"{label}, {threads} thread(s): measuring {len(contenders)} contenders")
            t0 = time.perf_counter()
            tallies = run_cell(contenders, doc, threads, settings, log)
            results = {name: tallies[name].summary(contenders[name].changes_per_commit)
                       for name in contenders}
            for name, why in setup_errors.items():
                results[name] = Tally(error=why).summary(1)
            cells.append({"size": label, "doc_bytes": doc_bytes,
                          "clients": len(doc["clients"]), "threads": threads,
                          "wall_s": round(time.perf_counter() - t0, 2), "results": results})
    finally:
        for c in contenders.values():
            try:
                c.close()
            except Exception as e:  # a close failure must not lose the figures
                log(f"  {type(c).__name__}: close failed: {e}")
        shutil.rmtree(size_dir, ignore_errors=True)
    return cells
