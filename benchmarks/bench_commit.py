"""Durable commits per second and latency: stateview against what a user would otherwise pick.

    python benchmarks/bench_commit.py            # default run, a few minutes
    python benchmarks/bench_commit.py --quick    # seconds; proves the script works
    python benchmarks/bench_commit.py --full     # longer slices, steadier figures

Every commit changes one value (``clients[key]["score"]``) of a realistic server state of
1 KB, 100 KB, 1 MB or 10 MB, from 1 thread and from 8 threads (each changing its own key).
Contenders are interleaved round-robin in short slices within each cell (see harness.py).
Writes ``results/commit.json`` and ``results/commit.md`` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import stateview  # noqa: F401 - fail early with a clear message
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(1, os.path.dirname(HERE))

import contenders  # noqa: E402
import harness  # noqa: E402
import markdown  # noqa: E402
import report  # noqa: E402
import workload  # noqa: E402

MODES = {
    # name: (budget_s, slice_s, hopeless_s)
    "quick": (0.04, 0.02, 2.0),
    "default": (1.0, 0.2, 2.0),
    "full": (5.0, 0.5, 10.0),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="tiny budgets (tests, smoke runs)")
    mode.add_argument("--full", action="store_true", help="5 s per contender per cell")
    p.add_argument("--sizes", default=",".join(workload.SIZES),
                   help="comma-separated, from " + ",".join(workload.SIZES))
    p.add_argument("--threads", default="1,8", help="comma-separated thread counts")
    p.add_argument("--only", default="", help="comma-separated contender names (default all)")
    p.add_argument("--budget", type=float, help="seconds per contender per cell")
    p.add_argument("--slice", type=float, help="seconds per round-robin slice")
    p.add_argument("--hopeless", type=float,
                   help="skip a contender in a cell whose first commit takes longer (s)")
    p.add_argument("--dir", help="where to put the bench files (default: a temp dir under "
                   "$TMPDIR; pick a dir on the filesystem you care about)")
    p.add_argument("--out", default=os.path.join(HERE, "results"),
                   help="directory for commit.json and commit.md")
    p.add_argument("--no-read", action="store_true", help="skip the read benchmark (target 4)")
    p.add_argument("--list", action="store_true", help="list the contenders and exit")
    return p.parse_args(argv)


def settings_of(args: argparse.Namespace) -> harness.Settings:
    budget, slice_s, hopeless = MODES["quick" if args.quick else "full" if args.full
                                     else "default"]
    return harness.Settings(budget_s=args.budget or budget, slice_s=args.slice or slice_s,
                            hopeless_s=args.hopeless or hopeless)


def pick(args: argparse.Namespace) -> tuple[list[type[contenders.Contender]], list[str],
                                            list[int]]:
    known = contenders.by_name()
    names = [n for n in args.only.split(",") if n] or list(known)
    unknown = [n for n in names if n not in known]
    sizes = [s for s in args.sizes.split(",") if s]
    bad_sizes = [s for s in sizes if s not in workload.SIZES]
    if unknown or bad_sizes:
        raise SystemExit(f"bench_commit: unknown contender(s) {unknown} or size(s) "
                         f"{bad_sizes}; try --list")
    threads = [int(t) for t in args.threads.split(",") if t]
    return [known[n] for n in names], sizes, threads


def contender_info(classes: list[type[contenders.Contender]]) -> dict[str, Any]:
    return {c.name: {"label": c.label, "note": c.note,
                     "fsync_data": c.durability.fsync_data,
                     "fsync_dir": c.durability.fsync_dir,
                     "atomic": c.durability.atomic, "durable": c.durability.durable,
                     "changes_per_commit": c.changes_per_commit} for c in classes}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    classes, sizes, thread_counts = pick(args)
    if args.list:
        for c in classes:
            print(f"{c.name:20} {'durable' if c.durability.durable else 'NOT durable':12} "
                  f"{c.label}")
        return 0
    settings = settings_of(args)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stateview-bench-", dir=args.dir) as base:
        meta: dict[str, Any] = report.begin()  # the date, the machine, its load average
        meta["filesystem"] = report.filesystem(base)
        meta["versions"] = report.versions()
        meta["settings"] = {"budget_s": settings.budget_s, "slice_s": settings.slice_s,
                            "hopeless_s": settings.hopeless_s, "sizes": sizes,
                            "threads": thread_counts,
                            "mode": "quick" if args.quick else "full" if args.full
                            else "default"}
        log(f"bench dir {base} ({meta['filesystem'].get('type')} on "
            f"{meta['filesystem'].get('device')})")
        cells: list[dict[str, Any]] = []
        for size in sizes:
            cells += harness.run_size(size, classes, thread_counts, settings, base, log)
        read = None
        if not args.no_read:
            import bench_read

            log("reads (target 4)")
            number, repeat = (2_000, 2) if args.quick else (20_000, 40)
            read = bench_read.measure("100KB", number, repeat, directory=base)
    report.end(meta)
    meta["wall_s"] = round(time.perf_counter() - started, 1)
    result = {"meta": meta, "contenders": contender_info(classes), "cells": cells,
              "targets": report.targets(cells, read), "read": read}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "commit.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    text = markdown.render(result)
    with open(os.path.join(args.out, "commit.md"), "w") as f:
        f.write(text)
    print(text)
    log(f"done in {meta['wall_s']} s; wrote {args.out}/commit.json and commit.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
