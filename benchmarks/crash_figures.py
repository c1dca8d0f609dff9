"""Run the crash suites and print the figures the README's "Guarantees" section quotes.

    .venv/bin/python benchmarks/crash_figures.py            # the default run (~2 minutes)
    .venv/bin/python benchmarks/crash_figures.py --deep     # STATEVIEW_DEEP=1: longer runs
    .venv/bin/python benchmarks/crash_figures.py --json     # machine-readable

Writes ``results/crash.json`` and ``results/crash.md`` (``crash-deep.*`` with ``--deep``) into
``--out``: the figures, pytest's verdict, the date, the machine and its load average.

The counts come from tests/crash (see its conftest.py): distinct disk states a simulated power
cut left (each opened with the real engine, and recovered when `stateview recover` exists),
I/O faults injected, child processes killed mid-commit, and the commits lost or torn, which
must be zero. The exit code is pytest's: figures from a failing run are not guarantees.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LABELS = {
    "crash_states": "crash states explored (simulated power loss, opened and checked)",
    "recovery_crash_states": "  of which: a recovery itself cut by power loss",
    "crash_points": "crash points (positions in an operation log)",
    "faults_injected": "I/O faults injected (seam EIO/ENOSPC/EACCES/EROFS/EINVAL + real)",
    "processes_killed": "processes killed mid-commit (os._exit at step k, SIGKILL)",
    "commits_acknowledged": "commits acknowledged by processes that were then killed",
    "lost_commits": "acknowledged commits lost",
    "torn_commits": "torn documents (neither the old nor the new version)",
    "failed_opens": "crash states stateview.open refused to open",
    "bad_files": "malformed files opened (refused with line:column, or restored)",
}


def markdown(record: dict[str, Any]) -> str:
    """The figures as a table, under a line saying which run, when, and what pytest said."""
    verdict = "passed" if record["pytest_exit"] == 0 else "FAILED: these are not guarantees"
    lines = [f"Crash suites ({record['run']} run), {record['date']}, "
             f"{record['seconds']:.0f} s, {report.load_text(record)}, "
             f"{record['filesystem'].get('type')}: pytest {verdict} "
             f"({record['summary']})", "", "| count | what |", "|---:|---|"]
    lines += [f"| {record['figures'].get(name, 0):,} | {label.strip()} |"
              for name, label in LABELS.items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deep", action="store_true", help="STATEVIEW_DEEP=1 (longer runs)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("-n", "--workers", default="2", help="pytest-xdist workers (2)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"),
                        help="where crash.json and crash.md go (default: benchmarks/results)")
    args = parser.parse_args()
    record = report.begin()
    # The suites' files go under pytest's temp directory: the file system they crashed is that one.
    record["filesystem"] = report.filesystem(tempfile.gettempdir())
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "figures.json")
        env = dict(os.environ, STATEVIEW_CRASH_FIGURES=out)
        if args.deep:
            env["STATEVIEW_DEEP"] = "1"
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", args.workers, "-p", "no:cacheprovider",
             "tests/crash"], cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        try:
            with open(out, encoding="utf-8") as f:
                figures = json.load(f)
        except FileNotFoundError:
            figures = {}
    tail = run.stdout.strip().splitlines()[-1:] or ["(no output)"]
    record.update(run="deep" if args.deep else "default", workers=args.workers,
                  pytest_exit=run.returncode, seconds=round(seconds, 1),
                  summary=tail[0].strip("= "), figures=figures)
    report.end(record)
    report.save(args.out, "crash-deep" if args.deep else "crash", record, markdown(record))
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print(f"tests/crash ({'deep' if args.deep else 'default'} run, {seconds:.0f} s): "
              f"{tail[0]}")
        for name, label in LABELS.items():
            print(f"  {figures.get(name, 0):>8}  {label}")
        if run.returncode:
            print("pytest failed: these figures are not guarantees.", file=sys.stderr)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
