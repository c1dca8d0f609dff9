"""What the file system charges for each way of replacing a file durably (no JSON at all).

    python benchmarks/fs_protocols.py [--size BYTES] [--seconds S] [--dir DIR] [--out DIR]

Variants, run in interleaved blocks of ``--block`` commits (per-commit interleaving would
let one variant's deferred journal work land on the next one's fsync):

* ``replace``: temp + fsync + os.replace + dir fsync. The replace drops the last link of the
  old file, so its blocks are freed inside the commit.
* ``keep-prev``: as stateview keeps a backup: link the current file as NAME.bak (replacing the
  previous NAME.bak, which frees *its* blocks inside the commit).
* ``reaper``: like ``keep-prev``, but the old NAME.bak is renamed aside and unlinked by a
  background thread, so no blocks are freed on the commit path.
* ``spare``: what stateview does: write the new version in place into the spare (the version
  that fell out of the backups), ``fdatasync``, link the current file aside, rename the spare
  over NAME, rename NAME.bak to be the next spare and the link to NAME.bak, then one directory
  fsync. Nothing is allocated or freed, and nothing is left pending in the journal.
* ``spare-late``: ``spare`` with the backup renames after the directory fsync (as stateview did
  first): the next commit's data sync then has the previous commit's renames to wait for.
* ``no-dir-fsync``: ``replace`` without the directory fsync (NOT durable; for scale only).

On ext4 (more so when mounted with ``discard``) freeing blocks waits for the journal; this
script shows how much of a small commit that is on the disk at hand. Writes
``fs_protocols.json`` (every variant's figures, the date, the machine, the file system and the
load average) and ``fs_protocols.md`` into ``--out`` (default: benchmarks/results).
"""

from __future__ import annotations

import argparse
import itertools
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import report


class Protocols:
    """The variants, each replacing its own file ``DIR/<variant>.json``."""

    def __init__(self, directory: str, size: int) -> None:
        self.dir = directory
        self.data = b"x" * size
        self.dfd = os.open(directory, os.O_RDONLY)
        self.seq = itertools.count()
        self.trash: queue.Queue[str | None] = queue.Queue()
        self.reaper = threading.Thread(target=self._reap, daemon=True)
        self.reaper.start()

    def _reap(self) -> None:
        while (path := self.trash.get()) is not None:
            os.unlink(path)

    def close(self) -> None:
        self.trash.put(None)
        self.reaper.join(timeout=30)
        os.close(self.dfd)

    def _temp(self, name: str) -> str:
        temp = f"{name}.{next(self.seq)}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, self.data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return temp

    def replace(self, name: str) -> None:
        os.replace(self._temp(name), name)
        os.fsync(self.dfd)

    def no_dir_fsync(self, name: str) -> None:
        os.replace(self._temp(name), name)

    def _swap_in(self, name: str, new: str) -> str:
        """Link the current file aside, rename ``new`` over it; returns the link's name."""
        prev = f"{name}.{next(self.seq)}.prev"
        os.link(name, prev)
        os.replace(new, name)
        return prev

    def keep_prev(self, name: str) -> None:
        prev = self._swap_in(name, self._temp(name))
        os.fsync(self.dfd)
        os.replace(prev, name + ".bak")  # frees the old NAME.bak's blocks here

    def reaper_variant(self, name: str) -> None:
        prev = self._swap_in(name, self._temp(name))
        os.fsync(self.dfd)
        if os.path.lexists(name + ".bak"):
            aside = f"{name}.{next(self.seq)}.trash"
            os.rename(name + ".bak", aside)  # a new name: nothing is freed
            self.trash.put(aside)
        os.rename(prev, name + ".bak")

    def _into_spare(self, name: str) -> str:
        spare = name + ".spare"
        if not os.path.exists(spare):
            return self._temp(name)
        fd = os.open(spare, os.O_RDWR)
        try:
            os.pwrite(fd, self.data, 0)
            os.fdatasync(fd)
        finally:
            os.close(fd)
        return spare

    def spare_variant(self, name: str, late: bool = False) -> None:
        prev = self._swap_in(name, self._into_spare(name))
        if not late:
            self._retire(name, prev)
        os.fsync(self.dfd)
        if late:
            self._retire(name, prev)

    def _retire(self, name: str, prev: str) -> None:
        if os.path.lexists(name + ".bak"):
            os.rename(name + ".bak", name + ".spare")
        os.rename(prev, name + ".bak")

    def variants(self) -> dict[str, Callable[[str], None]]:
        return {"replace": self.replace, "keep-prev": self.keep_prev,
                "reaper": self.reaper_variant, "spare": self.spare_variant,
                "spare-late": lambda name: self.spare_variant(name, late=True),
                "no-dir-fsync": self.no_dir_fsync}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=1000, help="bytes per file (default 1000)")
    p.add_argument("--seconds", type=float, default=20.0, help="time bound for the run")
    p.add_argument("--block", type=int, default=30, help="commits per interleaved block")
    p.add_argument("--rounds", type=int, default=12, help="blocks per variant (at most)")
    p.add_argument("--dir", help="where to put the files (default: a temp dir)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "results"),
                   help="where fs_protocols.json and .md go (default: benchmarks/results)")
    args = p.parse_args(argv)
    record = report.begin()
    with tempfile.TemporaryDirectory(prefix="fs-protocols-", dir=args.dir) as d:
        record["filesystem"] = report.filesystem(d)
        times = run(d, args)
    report.end(record)
    record["settings"] = {k: getattr(args, k) for k in ("size", "seconds", "block", "rounds")}
    record["variants"] = {}
    for k, xs in times.items():
        xs.sort()
        record["variants"][k] = {"commits": len(xs), "median_ms": xs[len(xs) // 2] * 1e3,
                                 "mean_ms": sum(xs) / len(xs) * 1e3}
    text = markdown(record)
    report.save(args.out, "fs_protocols", record, text)
    print(text)
    return 0


def run(d: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """Each variant's commit times (s), in interleaved blocks, within the time bound."""
    protos = Protocols(d, args.size)
    variants = protos.variants()
    times: dict[str, list[float]] = {k: [] for k in variants}
    for k in variants:
        with open(os.path.join(d, f"{k}.json"), "wb") as f:
            f.write(protos.data)
    deadline = time.perf_counter() + args.seconds
    order = list(variants)
    for r in range(args.rounds):
        for k in order[r % len(order):] + order[:r % len(order)]:
            fn, name = variants[k], os.path.join(d, f"{k}.json")
            for _ in range(args.block):
                t0 = time.perf_counter()
                fn(name)
                times[k].append(time.perf_counter() - t0)
        if time.perf_counter() > deadline:
            break
    protos.close()
    return times


def markdown(record: dict[str, Any]) -> str:
    """One row per variant under a line saying when, where and at what load."""
    fs = record["filesystem"]
    lines = [f"Durable file replacement, {record['settings']['size']} bytes per commit, "
             f"{record['date']}, {fs.get('type')} on {fs.get('device')} mounted "
             f"{fs.get('options')}, {report.load_text(record)}", "",
             "| variant | commits | median ms | mean ms | commits/s |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| `{k}` | {v['commits']} | {v['median_ms']:.2f} | {v['mean_ms']:.2f} | "
              f"{1e3 / v['mean_ms']:,.0f} |" for k, v in record["variants"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
