"""``stateview check`` against check-jsonschema on the same files.

    .venv/bin/python benchmarks/bench_check.py              # full run (a 100 MB file)
    .venv/bin/python benchmarks/bench_check.py --big-mb 10  # quicker

Cases: one small file (start-up cost), a thousand small files sharing one schema (all valid,
then with ten violations), and one big file (valid, then with one violation near its end).
Each tool runs as a user would run it, as a fresh process; wall time and peak memory (RSS) are
taken per process with ``wait4``. A case where the tools disagree on the verdict is flagged:
the duplicate-key case is one on purpose (check-jsonschema parses with ``json.loads``, which
keeps the later value silently; it is also stateview's slowest path, a full tokenizing scan).
Results go to ``check.json`` (every figure, the command lines, the date, the machine and its
load average before and after) and ``check.md`` (the table printed) in ``--out`` (default:
benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import report

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
SCHEMA = {
    "type": "object",
    "required": ["clients", "version"],
    "properties": {
        "version": {"type": "integer", "minimum": 1},
        "clients": {"type": "object", "additionalProperties": {
            "type": "object",
            "required": ["score", "email"],
            "properties": {
                "score": {"type": "integer", "minimum": 0},
                "email": {"type": "string", "format": "email"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        }},
    },
}


def _client(i: int) -> dict[str, Any]:
    return {"score": i, "email": f"user{i}@example.com", "tags": ["a", "b", f"t{i % 7}"]}


def _small(i: int) -> dict[str, Any]:
    return {"version": 1, "clients": {f"c{j}": _client(i + j) for j in range(5)}}


def _write_big(path: Path, megabytes: int, bad: int) -> None:
    """A state file of about ``megabytes`` MB in the on-disk format (2-space indent).

    Runs in a child process: a parent that grew to a gigabyte building the document would
    pass its peak RSS on to every tool it starts (Linux keeps ``maxrss`` across fork and exec).
    """
    subprocess.run([sys.executable, __file__, "--write-big", str(path), str(megabytes),
                    str(bad)], check=True)


def _write_big_here(path: Path, megabytes: int, bad: int) -> None:
    """``bad``: 0 valid, 1 a schema violation near the end, 2 a duplicate key at the end."""
    sample = {f"c{i:07d}": _client(i) for i in range(1000)}
    per_client = len(json.dumps({"version": 1, "clients": sample}, indent=2)) / 1000
    count = int(megabytes * 1_000_000 / per_client)
    clients = {f"c{i:07d}": _client(i) for i in range(count)}
    if bad == 1:
        clients[f"c{count - 1:07d}"]["score"] = -1
    text = json.dumps({"version": 1, "clients": clients}, indent=2) + "\n"
    if bad == 2:  # json.loads lets the later one win silently; strict JSON tools must not
        text = text[: -len("}\n")] + ',\n  "version": 2\n}\n'
    path.write_text(text)


def _measure(cmd: list[str], cwd: Path) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MB and exit code of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if b"Traceback" in err:
        raise SystemExit(f"{cmd[:3]} printed a traceback:\n{err.decode(errors='replace')}")
    return wall, usage.ru_maxrss // 1024, proc.returncode


def _tools(schema: str, files: list[str]) -> dict[str, list[str]]:
    return {
        "stateview check": [sys.executable, "-m", "stateview", "check", "-q", "--schema",
                            schema, *files],
        "check-jsonschema": [str(BIN / "check-jsonschema"), "--schemafile", schema, *files],
    }


def _case(name: str, cwd: Path, files: list[str], repeat: int) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for tool, cmd in _tools("schema.json", files).items():
        walls, rss, codes = [], [], set()
        for _ in range(repeat):
            wall, peak, code = _measure(cmd, cwd)
            walls.append(wall)
            rss.append(peak)
            codes.add(code)
        listed = files if len(files) <= 2 else [files[0], "...", files[-1]]
        shown = [*cmd[: len(cmd) - len(files)], *listed]
        runs[tool] = {"command": " ".join(shown).replace(sys.executable, "python"),
                      "wall_s_median": round(statistics.median(walls), 3),
                      "wall_s_min": round(min(walls), 3), "peak_rss_mb": max(rss),
                      "exit_codes": sorted(codes), "runs": repeat}
    codes = {tuple(r["exit_codes"]) for r in runs.values()}
    return {"case": name, "files": len(files), "agree": len(codes) == 1, "tools": runs}


def _versions() -> dict[str, str]:
    return {name: metadata.version(name)
            for name in ("stateview", "check-jsonschema", "jsonschema")}


def main() -> None:
    if sys.argv[1:2] == ["--write-big"]:
        _write_big_here(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big-mb", type=int, default=100, help="size of the big file")
    parser.add_argument("--small", type=int, default=1000, help="number of small files")
    parser.add_argument("--repeat", type=int, default=3, help="runs per small case")
    parser.add_argument("--out", default=str(HERE / "results"),
                        help="where check.json and check.md go (default: benchmarks/results)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    results = report.begin()
    results.update(versions=_versions(), repeat=args.repeat, cases=[])
    try:
        (work / "schema.json").write_text(json.dumps(SCHEMA))
        small = []
        for i in range(args.small):
            name = f"s{i:04d}.json"
            (work / name).write_text(json.dumps(_small(i), indent=2) + "\n")
            small.append(name)
        cases = results["cases"]
        cases.append(_case("1 small file", work, small[:1], args.repeat))
        cases.append(_case(f"{args.small} small files, valid", work, small, args.repeat))
        for name in small[:: max(1, args.small // 10)]:
            doc = _small(0)
            doc["clients"]["c1"]["score"] = -5
            (work / name).write_text(json.dumps(doc, indent=2) + "\n")
        cases.append(_case(f"{args.small} small files, 10 invalid", work, small, args.repeat))
        kinds = ("valid", "1 violation at the end", "a duplicate key at the end")
        for bad, kind in enumerate(kinds):
            _write_big(work / "big.json", args.big_mb, bad)
            size = (work / "big.json").stat().st_size / 1e6
            cases.append(_case(f"one {size:.0f} MB file, {kind}", work, ["big.json"], 1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.end(results)
    text = markdown(results)
    report.save(args.out, "check", results, text)
    print(text)


def _seconds(run: dict[str, Any]) -> str:
    return f"{run['wall_s_median']:.2f} ({run['wall_s_min']:.2f})"


def markdown(results: dict[str, Any]) -> str:
    """One row per case: each tool's wall time, peak memory and verdict, under the run's load."""
    v = results["versions"]
    lines = [f"`stateview check` against check-jsonschema {v['check-jsonschema']}, "
             f"{results['date']}, Python {results['machine']['python']}, "
             f"{report.load_text(results)}; median (min) of {results['repeat']} runs for the "
             "small files, one run for the big one", "",
             "| case | `stateview check` s | check-jsonschema s | peak RSS MB | exit codes |",
             "|---|---:|---:|---:|---|"]
    for case in results["cases"]:
        ours, theirs = case["tools"]["stateview check"], case["tools"]["check-jsonschema"]
        codes = f"{ours['exit_codes']} / {theirs['exit_codes']}"
        lines.append(f"| {case['case']} | {_seconds(ours)} | {_seconds(theirs)} | "
                     f"{ours['peak_rss_mb']} / {theirs['peak_rss_mb']} | "
                     f"{codes if case['agree'] else codes + ' **disagree**'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
