"""Memory of an open state file, relative to the file's size.

    .venv/bin/python benchmarks/bench_memory.py [--clients 36441]

Builds a document of client records (about 10 MB on disk at the default count, the same
shape as bench_commit.py's), then measures with tracemalloc: the file loaded with plain
``json.load``; the same file opened with ``stateview.open``; and after the first commit, when
the serialized pieces kept for fast commits exist.
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
    args = parser.parse_args()
    import stateview

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

    mb = 1e6
    print(f"file: {size / mb:.1f} MB ({args.clients:,} clients)")
    print(f"json.load:                   {plain / mb:6.1f} MB  ({plain / size:.1f}x the file)")
    print(f"stateview.open:              {opened / mb:6.1f} MB  ({opened / size:.1f}x)")
    print(f"stateview after a commit:    {committed / mb:6.1f} MB  ({committed / size:.1f}x)")


if __name__ == "__main__":
    main()
