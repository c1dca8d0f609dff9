"""The README's figures are those of the last run of the script that measures them.

Each test reads a script's kept results (``benchmarks/results/``) and checks that README.md
quotes them, with the date and load of that run (see ``figures_helpers``).
"""

import statistics

from figures_helpers import BENCH_README, README, assert_quoted, load_text, markdown, result, table


def test_the_memory_figures_are_those_of_the_last_bench_memory_run():
    run = result("memory")
    size = run["file_bytes"]
    assert 0 < run["json_load_bytes"] < run["open_bytes"] <= run["after_commit_bytes"]
    assert_quoted(README, [
        f"a {size / 1e6:.1f} MB file of {run['clients']:,} records",
        f"{run['date'][:10]}, {load_text(run)}",
        f"`json.load` takes {run['json_load_bytes'] / size:.1f} times the file's size",
        f"`stateview.open` {run['open_bytes'] / size:.1f} times",
        f"and {run['after_commit_bytes'] / size:.1f} times after the first commit",
    ], "results/memory.json")


def test_the_check_figures_are_those_of_the_last_bench_check_run():
    run = result("check")
    cases = {case["case"]: case for case in run["cases"]}

    def medians(case: str, digits: int) -> str:
        tools = cases[case]["tools"]
        return (f"{tools['stateview check']['wall_s_median']:.{digits}f} s against "
                f"{tools['check-jsonschema']['wall_s_median']:.{digits}f} s")

    big = [name for name in cases if name.startswith("one ")]
    size = big[0].split()[1]
    duplicate = cases[f"one {size} MB file, a duplicate key at the end"]["tools"]
    # The README's claim about the duplicate key: stateview fails the file, the other passes it.
    assert duplicate["stateview check"]["exit_codes"] == [1]
    assert duplicate["check-jsonschema"]["exit_codes"] == [0]
    valid = cases[f"one {size} MB file, valid"]["tools"]
    slower = valid["stateview check"]["wall_s_median"] > valid["check-jsonschema"]["wall_s_median"]
    assert_quoted(README, [
        f"--repeat {cases['1 small file']['tools']['stateview check']['runs']}",
        f"check-jsonschema {run['versions']['check-jsonschema']}",
        f"[`benchmarks/results/check.md`](benchmarks/results/check.md), {run['date'][:10]}, "
        f"{load_text(run)}",
        f"one small file {medians('1 small file', 2)}",
        f"thousand small files {medians('1000 small files, valid', 2)} when all are valid",
        f"{medians('1000 small files, 10 invalid', 2)} when ten are not",
        f"a valid {size} MB file {medians(f'one {size} MB file, valid', 0)}",
        f"found ({duplicate['stateview check']['wall_s_median']:.0f} s) where check-jsonschema "
        f"passes the file ({duplicate['check-jsonschema']['wall_s_median']:.0f} s)",
        f"`stateview check` was the {'slower' if slower else 'faster'} of the two on the big",
    ], "results/check.json")


def test_the_commit_tables_and_targets_are_those_of_the_last_bench_commit_run():
    text = README.read_text("utf-8")
    md = markdown("commit")
    assert table(md, "| contender | durable |") in text, \
        "README.md does not show the commits/s table of results/commit.md"
    targets = table(md, "| # | ratio |").splitlines()
    quoted = table(text, "| # | ratio |").splitlines()
    # The README leaves out the rows given for information only, and nothing else.
    assert quoted == [row for row in targets if "(information)" not in row]


def test_the_benchmarks_readme_shows_the_whole_of_the_last_bench_commit_run():
    assert markdown("commit").strip() in BENCH_README.read_text("utf-8"), \
        "benchmarks/README.md does not show results/commit.md as it is"


def test_the_commit_prose_quotes_the_last_bench_commit_run():
    run = result("commit")
    cell = {(c["size"], c["threads"]): c["results"] for c in run["cells"]}
    ratio = {(t["what"], t["size"]): t["ratio"] for t in run["targets"]}
    vs_hand = "stateview / hand-fsync indent=2 (commits/s)"
    one, eight = cell[("1KB", 1)], cell[("1KB", 8)]
    threads = eight["stateview"]["commits_per_s"] / one["stateview"]["commits_per_s"]
    words = {4: "four", 5: "five", 6: "six"}
    cases = run["read"]["cases"]
    plain = cases["plain dict"]["ns"]
    meta = run["meta"]
    # Runs from before the script recorded the load say so instead of quoting it.
    load = (load_text(meta) if "load_average" in meta
            else "the script did not record the load average yet")
    assert_quoted(README, [
        load,
        f"This run (`--budget {run['meta']['settings']['budget_s']:g}`)",
        f"Python {run['meta']['machine']['python'].rsplit('.', 1)[0]}",
        run["meta"]["date"][:10],
        f"at 1 MB it commits {ratio[(vs_hand, '1MB')]:.0f} times as often",
        f"at 10 MB {ratio[(vs_hand, '10MB')]:.0f} times",
        f"8 threads commit {words[round(threads)]} times as often as one",
        f"a 1 KB commit's median {one['stateview']['median_ms']:.2f} ms",
        f"`safer`'s {one['safer']['median_ms']:.2f} ms",
        f"costs {cases['state[...] (StateFile)']['ns'] / plain:.1f}x a plain dict lookup",
        f"through a held view {cases['held view, 2 levels']['ns'] / plain:.1f}x",
    ], "results/commit.json")


def test_the_crash_figures_are_those_of_the_last_deep_crash_run_and_it_passed():
    deep, default = result("crash-deep"), result("crash")
    # Figures from a failing run are not guarantees: the kept runs passed.
    assert deep["pytest_exit"] == 0 and deep["run"] == "deep", deep["summary"]
    assert default["pytest_exit"] == 0 and default["run"] == "default", default["summary"]
    f = deep["figures"]
    assert_quoted(README, [
        f"`python benchmarks/crash_figures.py --deep`, {deep['date'][:10]}, "
        f"{deep['seconds']:.0f} s, {load_text(deep)}, {deep['filesystem']['type']};",
        f"the default test run explores {default['figures']['crash_states']:,} of them",
        f"| {f['crash_states']:,} | crash states explored:",
        f"| {f['recovery_crash_states']:,} | of them with a recovery itself cut",
        f"| {f['processes_killed']:,} | processes killed mid-commit:",
        f"| {f['commits_acknowledged']:,} | commits acknowledged by processes",
        f"| {f['faults_injected']:,} | I/O faults injected",
        f"| {f['bad_files']:,} | malformed files opened",
        f"| **{f['lost_commits']}** | acknowledged commits lost; **{f['torn_commits']}** torn "
        f"documents; **{f['failed_opens']}** crash states that `stateview.open` refused |",
    ], "results/crash-deep.json and crash.json")


def test_the_live_view_speed_figures_are_those_of_the_last_bench_tui_run():
    run = result("tui")
    rounds, doc, small = run["rounds"], run["document"], run["small_document"]
    runs = run["figures"]
    assert all(len(times) == rounds for times in runs.values())
    median = {key: statistics.median(times) for key, times in runs.items()}

    def verdict(key: str, target: int) -> str:
        return "met" if median[key] < target else "missed"

    over = sum(t >= 300 for t in runs["reload_big"])
    assert_quoted(README, [
        f"`python benchmarks/bench_tui.py --rounds {rounds}` (headless, 120x35; medians of "
        f"{rounds} runs, [`benchmarks/results/tui.md`](benchmarks/results/tui.md), "
        f"{run['date'][:10]}, {load_text(run)})",
        f"a {doc['mb']:.1f} MB document of {doc['nodes']:,} nodes paints its first screen in "
        f"{median['first_paint']:,.0f} ms (target < 1,500 ms: {verdict('first_paint', 1500)})",
        f"shows {median['reload_small']:,.0f} ms later on a {small['kb']:.1f} KB file "
        f"(target < 300 ms: {verdict('reload_small', 300)})",
        f"and {median['reload_big']:,.0f} ms later on the {doc['mb']:.1f} MB one",
        f"target < 300 ms: {verdict('reload_big', 300)} by the median, {over} of the {rounds} "
        "runs were over it",
        f"an object with 100,000 keys expands in {median['expand_wide']:,.0f} ms",
    ], "results/tui.json")


def test_the_file_system_figures_are_those_of_the_last_fs_protocols_run():
    run = result("fs_protocols")
    median = {name: f"{v['median_ms']:.2f} ms" for name, v in run["variants"].items()}
    when = f"{run['date'][:10]}, {run['settings']['size']} bytes, {load_text(run)}"
    assert "discard" in run["filesystem"]["options"].split(",")  # as the README says
    assert_quoted(BENCH_README, [
        f"[`results/fs_protocols.md`](results/fs_protocols.md), {when})",
        f"the hand-written `replace` {median['replace']} median",
        f"stateview's `spare` protocol {median['spare']} (",
        f"after the fsync {median['spare-late']}",
        f"not durable, {median['no-dir-fsync']}.",
    ], "results/fs_protocols.json")
    assert_quoted(README, [
        f"replacing {run['settings']['size']:,} bytes durably took {median['replace']} (median) "
        f"the usual way and {median['spare']} through the spare",
        f"(benchmarks/results/fs_protocols.md), {run['date'][:10]}, {load_text(run)})",
    ], "results/fs_protocols.json")


def test_the_statement_figures_are_those_of_the_last_pg_statements_run():
    run = result("pg_statements")
    us = {name: f"{v['median_us']:.0f} us" for name, v in run["variants"].items()}
    assert table(markdown("pg_statements"), "| variant |") in BENCH_README.read_text()
    assert_quoted(BENCH_README, [
        f"the statement took {us['unlocked']} against {us['locked']} for stateview's locked "
        f"path and {us['hand']} for `hand`'s statements",
    ], "results/pg_statements.json")
