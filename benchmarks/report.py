"""Where a run happened (machine, file system, versions, load), the targets, the results files."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from typing import Any

TARGET_1 = [("hand-fsync", 1.0, ">="), ("atomicwrites", 1.0, ">"), ("safer", 1.0, ">")]


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": mem,
            "platform": platform.platform(), "python": sys.version.split()[0],
            "python_impl": platform.python_implementation()}


def filesystem(directory: str) -> dict[str, Any]:
    """The mount holding ``directory`` (from /proc/mounts) and ``stat -f``'s type."""
    real = os.path.realpath(directory)
    out: dict[str, Any] = {"bench_dir": real}
    best = ""
    try:
        with open("/proc/mounts") as f:
            for line in f:
                dev, mnt, fstype, opts = line.split()[:4]
                inside = real == mnt or real.startswith(mnt.rstrip("/") + "/")
                if inside and len(mnt) >= len(best):
                    best = mnt
                    out.update(device=dev, mount=mnt, type=fstype, options=opts)
    except OSError:
        pass
    try:
        res = subprocess.run(["stat", "-f", "-c", "%T", real], capture_output=True,
                             text=True, timeout=10, check=False)
        out["stat_f_type"] = res.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["stat_f_type"] = None
    return out


def versions() -> dict[str, Any]:
    import sqlite3
    from importlib import metadata

    import contenders_db

    found: dict[str, Any] = {"sqlite": sqlite3.sqlite_version,
                             "shelve_backend": contenders_db.shelve_backend()}
    for dist in ("stateview", "atomicwrites", "safer", "tinydb", "pickledb", "orjson"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = None
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=False)
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "stateview"],
                               capture_output=True, text=True, timeout=10, check=False)
        found["git_commit"] = head.stdout.strip() or None
        found["engine_modified"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        found["git_commit"] = None
    return found


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cps(cells: list[dict[str, Any]], size: str, threads: int, name: str) -> float | None:
    for cell in cells:
        if cell["size"] == size and cell["threads"] == threads:
            res = cell["results"].get(name)
            return res["commits_per_s"] if res else None
    return None


def _row(target: str, what: str, size: str, threads: int, ours: float | None,
         theirs: float | None, need: str, limit: float) -> dict[str, Any]:
    ratio = ours / theirs if ours and theirs else None
    ok: bool | None = None
    if ratio is not None:
        ok = {">=": ratio >= limit, ">": ratio > limit, "<=": ratio <= limit}[need]
    return {"target": target, "what": what, "size": size, "threads": threads,
            "ours": ours, "theirs": theirs,
            "ratio": round(ratio, 3) if ratio is not None else None,
            "need": f"{need} {limit:g}", "pass": ok}


def targets(cells: list[dict[str, Any]], read: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The four performance targets, as ratios of figures from this run."""
    rows = []
    sv = "stateview"
    for other, limit, need in TARGET_1:
        rows.append(_row("1", f"stateview / {other} (commits/s)", "1KB", 1,
                         _cps(cells, "1KB", 1, sv), _cps(cells, "1KB", 1, other), need, limit))
    threaded = sorted({(c["size"], c["threads"]) for c in cells if c["threads"] > 1},
                      key=lambda st: [c["size"] for c in cells].index(st[0]))
    for size, threads in threaded:
        row = _row("2", "stateview / sqlite-wal shared connection (commits/s)", size,
                   threads, _cps(cells, size, threads, sv),
                   _cps(cells, size, threads, "sqlite-wal"), ">=", 2.0)
        if size != "1KB":
            # The target compares with "a row per thread": a small document. At larger
            # sizes stateview rewrites the whole file while SQLite still writes one row.
            row["need"], row["pass"] = "info", None
        rows.append(row)
    for size in ("1MB", "10MB"):
        ours = _cps(cells, size, 1, sv)
        rows.append(_row("3", "stateview / hand-fsync indent=2 (commits/s)", size, 1, ours,
                         _cps(cells, size, 1, "hand-fsync"), ">=", 10.0))
        bare = _cps(cells, size, 1, "bare-io")
        rows.append(_row("3", "bare I/O / stateview (commits/s; cost vs bare I/O)", size, 1,
                         bare, ours, "<=", 3.0))
        # What the first ratio can reach at most on this disk: a writer that spends nothing
        # on serializing still pays bare I/O.
        ceiling = _row("3", "ceiling: bare I/O / hand-fsync indent=2 (commits/s)", size, 1,
                       bare, _cps(cells, size, 1, "hand-fsync"), ">=", 10.0)
        ceiling["need"], ceiling["pass"] = "info", None
        rows.append(ceiling)
    if read:
        plain = read["cases"]["plain dict"]["ns"]
        for case in ("state[...] (StateFile)", "state.data[...] (root view)"):
            if case in read["cases"]:
                got = read["cases"][case]["ns"]
                row = _row("4", f"read 3 levels: {case} / plain dict (time)", read["size"], 1,
                           got, plain, "<=", 5.0)
                rows.append(row)
    return rows


def load_average() -> list[float]:
    """The machine's load average over 1, 5 and 15 minutes, rounded to hundredths."""
    return [round(x, 2) for x in os.getloadavg()]


def begin() -> dict[str, Any]:
    """The record of a run as it starts: its date, the machine and the load already on it.

    The machine is shared: the load average before and after (see :func:`end`) says how much
    of it the run really had, and belongs beside every figure quoted from it.
    """
    return {"date": now(), "machine": machine(), "load_average": {"before": load_average()}}


def end(record: dict[str, Any]) -> dict[str, Any]:
    """Add the load average at the end of the run to ``record`` and return it."""
    record["load_average"]["after"] = load_average()
    return record


def load_text(record: dict[str, Any]) -> str:
    """The load of a run, as its Markdown and the README say it."""
    load = record["load_average"]
    return (f"load average {load['before'][0]:g} before, {load['after'][0]:g} after, "
            f"on {record['machine']['cores']} cores")


def save(out: str, name: str, record: dict[str, Any], markdown: str) -> None:
    """Write ``NAME.json`` (every figure and the run's record) and ``NAME.md`` into ``out``."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, f"{name}.md"), "w", encoding="utf-8") as f:
        f.write(markdown.rstrip("\n") + "\n")
