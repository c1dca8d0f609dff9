"""The benchmark scripts run end to end and write well-formed results (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
CONTENDERS = [
    "stateview", "stateview-txn", "stateview-txn10", "hand-fsync", "hand-fsync-compact",
    "hand-nofsync", "bare-io", "sqlite-wal", "sqlite-journal", "sqlite-wal-doc",
    "atomicwrites", "safer", "tinydb", "pickledb", "shelve",
]


def run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(cwd)}
    return subprocess.run([sys.executable, str(BENCH / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240, check=False)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("bench")
    res = run("bench_commit.py", "--quick", "--sizes", "1KB,100KB", "--threads", "1,3",
              "--out", str(tmp / "out"), cwd=tmp)
    assert res.returncode == 0, res.stderr
    return tmp, res.stdout


def test_commit_json_has_every_contender_and_cell(quick_run: tuple[Path, str]) -> None:
    tmp, _ = quick_run
    result = json.loads((tmp / "out" / "commit.json").read_text())
    names = set(CONTENDERS)
    assert set(result["contenders"]) == names
    cells = [(c["size"], c["threads"]) for c in result["cells"]]
    assert cells == [("1KB", 1), ("1KB", 3), ("100KB", 1), ("100KB", 3)]
    for cell in result["cells"]:
        assert set(cell["results"]) == names
        for name, r in cell["results"].items():
            assert r["error"] is None, (name, r)
            if r["skipped"] is None:
                assert r["commits"] >= 1 and r["commits_per_s"] > 0, (name, r)
                assert 0 < r["median_ms"] <= r["p99_ms"], (name, r)
    assert 900 <= result["cells"][0]["doc_bytes"] <= 1100


def test_durability_columns_are_honest(quick_run: tuple[Path, str]) -> None:
    tmp, _ = quick_run
    info = json.loads((tmp / "out" / "commit.json").read_text())["contenders"]
    durable = {n for n, c in info.items() if c["durable"]}
    assert {"stateview", "hand-fsync", "bare-io", "sqlite-wal", "atomicwrites"} <= durable
    assert not durable & {"hand-nofsync", "safer", "pickledb", "shelve", "tinydb"}


def test_meta_names_machine_filesystem_and_date(quick_run: tuple[Path, str]) -> None:
    tmp, _ = quick_run
    meta = json.loads((tmp / "out" / "commit.json").read_text())["meta"]
    assert meta["machine"]["cores"] >= 1 and meta["machine"]["cpu"]
    assert meta["machine"]["python"] == sys.version.split()[0]
    assert meta["filesystem"]["type"] and meta["filesystem"]["mount"]
    # The bench files went under TMPDIR (here the test's tmp dir), and were cleaned up.
    assert meta["filesystem"]["bench_dir"].startswith(str(tmp.resolve()))
    assert not list(tmp.glob("stateview-bench-*"))
    assert meta["date"].endswith("Z")
    assert meta["load_average"]["before"] and meta["load_average"]["after"]


def test_targets_and_markdown(quick_run: tuple[Path, str]) -> None:
    tmp, stdout = quick_run
    result = json.loads((tmp / "out" / "commit.json").read_text())
    by_target: dict[str, list[dict[str, object]]] = {}
    for row in result["targets"]:
        by_target.setdefault(row["target"], []).append(row)
    # Targets 1, 2 (at the threaded cells) and 4 are computable from this run; 3 needs 1 MB.
    assert len(by_target["1"]) == 3 and all(r["pass"] in (True, False) for r in by_target["1"])
    assert {r["size"] for r in by_target["2"]} == {"1KB", "100KB"}
    assert all(r["ratio"] is None and r["pass"] is None for r in by_target["3"])
    assert all(r["pass"] in (True, False) for r in by_target["4"])
    md = (tmp / "out" / "commit.md").read_text()
    assert md in stdout
    assert "| `stateview` | **yes** |" in md and "Targets (ratios from this run)" in md
    assert "| 1KB 1t | 1KB 3t | 100KB 1t | 100KB 3t |" in md


def test_list_and_bad_arguments(tmp_path: Path) -> None:
    res = run("bench_commit.py", "--list", cwd=tmp_path)
    assert res.returncode == 0 and "sqlite-wal" in res.stdout and "NOT durable" in res.stdout
    res = run("bench_commit.py", "--only", "nosuch", cwd=tmp_path)
    assert res.returncode != 0 and "unknown contender" in res.stderr
    assert "Traceback" not in res.stderr


def test_bench_read_quick(tmp_path: Path) -> None:
    res = run("bench_read.py", "--quick", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    cases = json.loads(res.stdout)["cases"]
    assert cases["plain dict"]["ns"] > 0 and cases["state[...] (StateFile)"]["ns"] > 0


def test_profile_commit_runs(tmp_path: Path) -> None:
    res = run("profile_commit.py", "1KB-1", "1KB-2-txn", "--commits", "6", "--top", "5",
              "--cpu", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "commits per write" in res.stdout and "serialize (whole file)" in res.stdout
    assert "1KB, 2 thread(s), transactions: 6 commits" in res.stdout
    # From 3.12 cProfile admits one profiler per interpreter: one covers every thread.
    scope = ("one profiler for all threads" if sys.version_info >= (3, 12)
             else "a profiler per thread")
    profiles = [p.split("\n\n")[0] for p in res.stdout.split("\n-- cProfile (")[1:]]
    assert len(profiles) == 2 and all(f"CPU time; {scope})" in p for p in profiles)
    assert all(p.count("/commit  ") == 5 for p in profiles), res.stdout  # --top 5 rows
    res = run("profile_commit.py", "1KB-x", cwd=tmp_path)
    assert res.returncode == 2 and "bad scenario" in res.stderr


def test_fs_protocols_runs(tmp_path: Path) -> None:
    res = run("fs_protocols.py", "--rounds", "1", "--block", "2", "--seconds", "5",
              "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    saved = json.loads((tmp_path / "out" / "fs_protocols.json").read_text())
    assert saved["settings"]["rounds"] == 1 and saved["load_average"]["after"]
    for variant in ("replace", "keep-prev", "reaper", "no-dir-fsync"):
        assert f"| `{variant}` |" in res.stdout
        assert saved["variants"][variant]["commits"] == 2  # one block of --block 2
        assert saved["variants"][variant]["median_ms"] > 0
    assert (tmp_path / "out" / "fs_protocols.md").read_text() in res.stdout + "\n"
    assert not list(tmp_path.glob("fs-protocols-*"))


def test_bench_live_runs_for_a_few_seconds(tmp_path: Path) -> None:
    res = run("bench_live.py", "--seconds", "2", "--clients", "2000", "--open-clients", "50",
              "--key-every", "0.2", "--json", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    figures = json.loads(res.stdout)
    saved = json.loads((tmp_path / "out" / "live.json").read_text())
    assert saved["settings"]["seconds"] == 2 and saved["commits"] == figures["commits"]
    assert f"{figures['commits']} commits" in (tmp_path / "out" / "live.md").read_text()
    assert figures["document"]["nodes"] > 10_000 and figures["rows_open"] > 200
    assert figures["commits"] >= 1 and 1 <= figures["versions_applied"] <= figures["commits"]
    assert figures["never_shown"] == 0
    assert 0 <= figures["lag_median_s"] <= figures["lag_max_s"]
    assert figures["key_presses"] >= 1 and figures["key_p95_s"] > 0
    assert figures["rss_before_mb"] > 0 and figures["rss_after_mb"] > 0


def test_postgres_benchmark_runs_every_contender_and_cell(tmp_path: Path) -> None:
    from tests.pg.server import available

    missing = available()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the PostgreSQL benchmark must run in CI: {missing}")
        pytest.skip(missing)
    res = run("bench_postgres.py", "--quick", "--sizes", "1KB", "--out", str(tmp_path / "out"),
              cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    result = json.loads((tmp_path / "out" / "postgres.json").read_text())
    cells = [(c["size"], c["mode"], c["processes"], c["threads"]) for c in result["cells"]]
    assert cells == [("1KB", "1t", 1, 1), ("1KB", "8t", 1, 8), ("1KB", "4p", 4, 1)]
    for cell in result["cells"]:
        assert set(cell["results"]) == {"stateview", "stateview-txn", "hand", "hand-indent",
                                        "file"}
        for name, r in cell["results"].items():
            # Every process commits at least once per slice (8 threads: at least one each
            # over the run is not promised, one commit in all is).
            assert r["commits"] >= cell["processes"], (name, r)
            assert 0 < r["median_ms"] <= r["p99_ms"], (name, r)
            assert r["vs_hand"] is not None and r["vs_hand"] > 0, (name, r)
    on_change = result["on_change"]
    assert on_change["received"] == on_change["commits"] > 0  # each, or with a later one
    assert 1 <= on_change["callbacks_for_them"] <= on_change["commits"]
    assert 0 < on_change["median_ms_from_commit_start"] <= on_change["p95_ms_from_commit_start"]
    assert on_change["pass"] in (True, False)
    assert [(t["contender"], t["mode"], t["need"]) for t in result["targets"]] == [
        ("stateview", "1t", 0.9), ("stateview-txn", "1t", 0.9),
        ("stateview", "8t", 2.0), ("stateview-txn", "8t", 2.0)]
    assert all(t["pass"] in (True, False) for t in result["targets"])
    assert result["load_average"]["before"] >= 0
    md = (tmp_path / "out" / "postgres.md").read_text()
    assert md in res.stdout and "load average" in md
    assert "| 1KB | 8t |" in md and "`on_change` median" in md
    res = run("bench_postgres.py", "--modes", "2t", cwd=tmp_path)
    assert res.returncode == 2 and "unknown size or mode: 2t" in res.stderr
    assert "Traceback" not in res.stderr


def test_async_benchmark_measures_every_mode_and_states_its_targets(tmp_path: Path) -> None:
    res = run("bench_async.py", "--quick", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    result = json.loads((tmp_path / "out" / "async.json").read_text())
    modes = result["modes"]
    assert set(modes) == {"atransaction", "autocommit-loop", "threads", "idle-loop"}
    for name in ("atransaction", "autocommit-loop", "threads"):
        assert modes[name]["commits"] >= 1 and modes[name]["commits_per_s"] > 0, name
        assert 0 < modes[name]["commit_p50_ms"] <= modes[name]["commit_p99_ms"], name
    for name in ("atransaction", "autocommit-loop", "idle-loop"):
        assert modes[name]["lag_samples"] >= 1, name
        assert 0 <= modes[name]["lag_p50_ms"] <= modes[name]["lag_p99_ms"], name
    assert modes["idle-loop"]["commits"] == 0 and modes["threads"]["lag_samples"] == 0
    assert [t["need"] for t in result["targets"]] == ["< 5", ">= 0.9"]
    assert all(isinstance(t["pass"], bool) for t in result["targets"])
    assert "| `atransaction` |" in (tmp_path / "out" / "async.md").read_text()


def test_bench_tui_keeps_every_run_of_every_figure(tmp_path: Path) -> None:
    res = run("bench_tui.py", "--rounds", "2", "--clients", "500", "--out",
              str(tmp_path / "out"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    saved = json.loads((tmp_path / "out" / "tui.json").read_text())
    assert set(saved["figures"]) == {"first_paint", "reload_big", "reload_small", "expand_wide"}
    assert all(len(runs) == 2 and min(runs) > 0 for runs in saved["figures"].values())
    assert saved["document"]["nodes"] > 2_000 and saved["load_average"]["after"]
    md = (tmp_path / "out" / "tui.md").read_text()
    assert md in res.stdout + "\n" and "| first paint, " in md and "< 300 ms" in md


def test_bench_memory_measures_the_three_stages(tmp_path: Path) -> None:
    res = run("bench_memory.py", "--clients", "300", "--out", str(tmp_path / "out"),
              cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    saved = json.loads((tmp_path / "out" / "memory.json").read_text())
    assert saved["clients"] == 300 and saved["file_bytes"] > 300 * 100
    assert 0 < saved["json_load_bytes"] < saved["open_bytes"] <= saved["after_commit_bytes"]
    assert (tmp_path / "out" / "memory.md").read_text() in res.stdout + "\n"


def test_pg_statements_runs(tmp_path: Path) -> None:
    res = run("pg_statements.py", "--rounds", "1", "--block", "3", "--out",
              str(tmp_path / "out"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    saved = json.loads((tmp_path / "out" / "pg_statements.json").read_text())
    for variant in ("hand", "locked", "unlocked", "unlocked-no-history"):
        assert f"| `{variant}` |" in res.stdout
        assert len(saved["variants"][variant]["blocks_us"]) == 1
        assert saved["variants"][variant]["median_us"] > 0
    assert (tmp_path / "out" / "pg_statements.md").read_text() in res.stdout + "\n"
