"""The asyncio figures the READMEs quote are those of the last ``bench_async.py`` run."""

from figures_helpers import BENCH_README, README, assert_quoted, markdown, result


def test_the_readmes_quote_the_table_and_ratio_of_the_last_bench_async_run():
    table = markdown("async").split("\n\n")[0]  # the modes, as measured
    run = result("async")
    modes = run["modes"]
    ratio = modes["atransaction"]["commits_per_s"] / modes["threads"]["commits_per_s"]
    load = run["load_average_1min"]
    for readme in (README, BENCH_README):
        assert table in readme.read_text(), f"{readme.name} does not show results/async.md"
        assert_quoted(readme, [f"{ratio:.2f}x the commits/s of 8 threads",
                               f"load average {load[0]:g} to {load[1]:g}"], "async.json")


def test_the_readme_prose_quotes_the_lags_of_the_last_bench_async_run():
    run = result("async")
    modes = run["modes"]
    txn, plain, idle = modes["atransaction"], modes["autocommit-loop"], modes["idle-loop"]
    assert_quoted(README, [
        f"The last run ({run['date'][:10]}, {run['budget_s']:g} s per mode",
        f"median lag is {txn['lag_p50_ms']:.2f} ms and its p99 {txn['lag_p99_ms']:.2f} ms",
        f"the idle loop's own p99 was {idle['lag_p99_ms']:.2f} ms",
        f"(median {plain['lag_p50_ms']:.2f} ms, p99 {plain['lag_p99_ms']:.2f} ms)",
    ], "async.json")
