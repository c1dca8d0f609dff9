"""Where a stateview commit spends its time: a step breakdown and a cProfile of the hot path.

    python benchmarks/profile_commit.py                 # all scenarios
    python benchmarks/profile_commit.py 10MB-1 --top 30 --save /tmp/prof

Scenarios are SIZE-THREADS (1KB-1, 1KB-8, 1MB-1, 10MB-1 by default). For each:

1. Breakdown (no profiler, so no distortion): the StateFile gets a timing FileSystem seam and
   timing wrappers on serialization and the lock, and the script reports milliseconds per
   commit in each step, plus how many commits each write carried (group commit).
2. cProfile of the same loop, top functions by own time: one profiler per thread, merged. From
   Python 3.12 cProfile runs on sys.monitoring, which allows one profiler per interpreter and
   feeds it the calls of every thread (the workers and the engine's keeper) on one stack; there
   one profiler covers the whole loop, and with ``--cpu`` it reads the process's CPU clock, the
   only one all threads share. Its call counts are exact; with several busy threads its times
   are approximate, as a call may be charged for time another thread spent.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload

DEFAULT = ["1KB-1", "1KB-8", "1MB-1", "10MB-1"]
# sys.monitoring (3.12+) admits one cProfile profiler per interpreter, fed by every thread.
ONE_PROFILER = sys.version_info >= (3, 12)


def _timing_fs(times: dict[str, float], counts: dict[str, int]) -> Any:
    from stateview._fs import FileSystem

    guard = threading.Lock()

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with guard:
                    times[name] += time.perf_counter() - t0
                    counts[name] += 1
        return wrapper

    class TimingFS(FileSystem):
        def fsync_dir(self, path: str) -> None:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)  # not self.fsync: keep data and directory fsyncs apart
            finally:
                os.close(fd)

        def replace(self, src: str, dst: str) -> None:
            # Renaming over a backup drops the old backup's last link: its blocks are freed
            # here, which on ext4 waits for the journal. Timed apart from the commit's rename.
            base = os.path.basename(dst)
            step = ("replace (backup rotation)" if ".bak" in base else
                    "replace (retire to spare)" if base.endswith(".spare") else
                    "replace (temp -> file)")
            timed(step, os.replace)(src, dst)

    fs = TimingFS()
    for name in ("open_spare", "open_new", "fchmod", "rewrite", "write_all", "datasync", "fsync",
                 "close", "link", "unlink", "fsync_dir", "stat"):
        setattr(fs, name, timed(name, getattr(fs, name)))
    fs.timed = timed  # type: ignore[attr-defined]
    return fs


def _open(directory: str, size: str, fs: Any = None) -> tuple[Any, workload.Doc]:
    from stateview import StateFile

    doc = workload.doc_for(size)
    state = StateFile(os.path.join(directory, "state.json"), default=doc, fs=fs)
    return state, doc


def _loop(state: Any, doc: workload.Doc, threads: int, commits: int, seconds: float,
          wrap: Callable[[Callable[[], None]], None] | None = None, txn: bool = False) -> int:
    """``commits`` commits in all (split over threads), bounded by ``seconds``.

    Autocommits, or with ``txn`` one-change transactions.
    """
    done = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(t: int) -> None:
        key = workload.key_for(t, threads, doc)
        record = state["clients"][key]
        for i in range(commits // threads):
            if txn:
                with state.transaction() as root:
                    root["clients"][key]["score"] = i
            else:
                record["score"] = i
            done[t] += 1
            if time.perf_counter() > deadline:
                break

    def run(t: int) -> None:
        if wrap is None:
            work(t)
        else:
            wrap(lambda: work(t))

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return sum(done)


def breakdown(size: str, threads: int, commits: int, seconds: float, txn: bool) -> None:
    times: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    fs = _timing_fs(times, counts)
    with tempfile.TemporaryDirectory() as tmp:
        state, doc = _open(tmp, size, fs)
        state._serialize = fs.timed("serialize (whole file)", state._serialize)
        lock = state._store.file_lock
        for name in ("acquire", "release", "record_commit"):
            setattr(lock, name, fs.timed(f"lock.{name}", getattr(lock, name)))
        state["clients"][workload.key_for(0, 1, doc)]["score"] = -1  # warm-up
        times.clear()
        counts.clear()
        t0 = time.perf_counter()
        n = _loop(state, doc, threads, commits, seconds, txn=txn)
        wall = time.perf_counter() - t0
        state.close()
    writes = counts["fsync_dir"] or 1  # one directory fsync per write
    kind = "transactions" if txn else "autocommits"
    print(f"\n== {size}, {threads} thread(s), {kind}: {n} commits in {wall:.2f} s = "
          f"{n / wall:,.1f} commits/s; {counts['fsync_dir']} writes "
          f"({n / writes:.2f} commits per write)")
    print(f"   {'step':28} {'ms/write':>9} {'ms/commit':>10} {'calls':>7}")
    accounted = 0.0
    for name, total in sorted(times.items(), key=lambda kv: -kv[1]):
        if not name.startswith("lock.acquire"):
            accounted += total
        print(f"   {name:28} {total / writes * 1e3:9.3f} {total / n * 1e3:10.3f} "
              f"{counts[name]:7}")
    if threads == 1:
        other = wall - accounted
        print(f"   {'other (Python: views, cond, ...)':28} {other / writes * 1e3:9.3f} "
              f"{other / n * 1e3:10.3f}")


def _profiled_loop(state: Any, doc: workload.Doc, threads: int, commits: int, seconds: float,
                   cpu: bool, txn: bool) -> tuple[int, pstats.Stats]:
    """Run the loop under cProfile: its commit count and the profile, merged over threads.

    CPU time leaves out waiting (fsync, locks): what Python itself costs, less disturbed by
    other processes on a busy machine.
    """
    if ONE_PROFILER:
        # A per-thread CPU clock would subtract one thread's clock from another's here.
        prof = cProfile.Profile(time.process_time) if cpu else cProfile.Profile()
        prof.enable()
        try:
            n = _loop(state, doc, threads, commits, seconds, txn=txn)
        finally:
            prof.disable()
        return n, pstats.Stats(prof)

    profilers: list[cProfile.Profile] = []
    guard = threading.Lock()

    def wrap(fn: Callable[[], None]) -> None:
        prof = cProfile.Profile(time.thread_time) if cpu else cProfile.Profile()
        with guard:
            profilers.append(prof)
        prof.runcall(fn)

    n = _loop(state, doc, threads, commits, seconds, wrap, txn)
    stats = pstats.Stats(profilers[0])
    for prof in profilers[1:]:
        stats.add(prof)
    return n, stats


def profile(size: str, threads: int, commits: int, seconds: float, top: int,
            save: str | None, cpu: bool = False, txn: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state, doc = _open(tmp, size)
        state["clients"][workload.key_for(0, 1, doc)]["score"] = -1
        n, stats = _profiled_loop(state, doc, threads, commits, seconds, cpu, txn)
        state.close()
    if save:
        os.makedirs(save, exist_ok=True)
        stats.dump_stats(os.path.join(save, f"commit-{size}-{threads}.prof"))
    clock = ("process CPU time" if ONE_PROFILER else "CPU time") if cpu else "wall time"
    scope = "one profiler for all threads" if ONE_PROFILER else "a profiler per thread"
    print(f"\n-- cProfile ({clock}; {scope}) {size}, {threads} thread(s), {n} commits; top {top} "
          "by own time (ms per commit: own, cumulative)")
    rows = []
    for (path, line, func), (_cc, ncalls, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{os.path.basename(path)}:{line}" if line else path
        rows.append((tt, ct, ncalls, f"{func} ({where})"))
    rows.sort(reverse=True)
    for tt, ct, ncalls, name in rows[:top]:
        print(f"   {tt / n * 1e3:8.3f} {ct / n * 1e3:8.3f} {ncalls / n:7.1f}/commit  {name}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("scenarios", nargs="*", default=DEFAULT,
                   help="SIZE-THREADS[-txn], e.g. 1MB-1 or 1KB-8-txn (one-change transactions)")
    p.add_argument("--commits", type=int, default=400, help="commits per scenario (at most)")
    p.add_argument("--seconds", type=float, default=8.0, help="time bound per scenario")
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--save", help="directory for .prof files (snakeviz, pstats)")
    p.add_argument("--no-profile", action="store_true", help="only the step breakdown")
    p.add_argument("--cpu", action="store_true", help="profile CPU time instead of wall time")
    args = p.parse_args(argv)
    for scenario in args.scenarios:
        size, _, rest = scenario.partition("-")
        threads_text, _, kind = rest.partition("-")
        if size not in workload.SIZES or not threads_text.isdigit() or kind not in ("", "txn"):
            p.error(f"bad scenario {scenario!r}: use SIZE-THREADS[-txn], SIZE in "
                    f"{list(workload.SIZES)}")
        threads, txn = int(threads_text), kind == "txn"
        breakdown(size, threads, args.commits, args.seconds, txn)
        if not args.no_profile:
            profile(size, threads, args.commits, args.seconds, args.top, args.save, args.cpu,
                    txn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
