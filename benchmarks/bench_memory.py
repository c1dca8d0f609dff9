"""Memory of an open state file, relative to the file's size.

    .venv/bin/python benchmarks/bench_memory.py [--clients 36441] [--out DIR]

Builds a document of client records (about 6 MB on disk at the default count), then measures
with tracemalloc: the file loaded with plain ``json.load``; the same file opened with
``stateview.open``; and after the first commit, when the serialized pieces kept for fast
commits exist. Writes ``memory.json`` (the figures, the date, the machine and its load
average) and ``memory.md`` into ``--out`` (default: benchmarks/results).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import tracemalloc
from collections.abc import Callable
from typing import Any

import report


def _traced(make: Callable[[], Any]) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    value = make()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return used, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=36441)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "results"),
                        help="where memory.json and memory.md go (default: benchmarks/results)")
    args = parser.parse_args()
    import stateview

    record = report.begin()

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "state.json")
        doc = {"clients": {f"c{i:06d}": {"name": f"client {i}", "score": i,
                                         "tags": ["a", "b"], "active": True, "ratio": 0.5}
                           for i in range(args.clients)}}
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        del doc
        size = os.path.getsize(path)

        def load_plain() -> Any:
            with open(path, "rb") as f:
                return json.load(f)

        plain, value = _traced(load_plain)
        del value
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        state = stateview.open(path)
        opened = tracemalloc.get_traced_memory()[0] - base
        state["clients"]["c000001"]["score"] = -1  # the first commit builds the cache
        committed = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        state.close()

    report.end(record)
    record.update(clients=args.clients, file_bytes=size, json_load_bytes=plain,
                  open_bytes=opened, after_commit_bytes=committed)
    text = markdown(record)
    report.save(args.out, "memory", record, text)
    print(text)


def markdown(r: dict[str, Any]) -> str:
    """The three measurements as a table, in MB and as multiples of the file's size."""
    mb, size = 1e6, r["file_bytes"]
    rows = [("`json.load`", r["json_load_bytes"]), ("`stateview.open`", r["open_bytes"]),
            ("`stateview.open`, after the first commit", r["after_commit_bytes"])]
    return "\n".join([
        f"Memory of an open state file, {r['date']}, Python {r['machine']['python']}, "
        f"{report.load_text(r)}: a {size / mb:.1f} MB file of {r['clients']:,} records "
        "(tracemalloc)", "", "| what | MB | times the file |", "|---|---:|---:|",
        *(f"| {what} | {used / mb:.1f} | {used / size:.1f} |" for what, used in rows)])


if __name__ == "__main__":
    main()
