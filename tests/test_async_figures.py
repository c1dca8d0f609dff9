"""The asyncio figures the READMEs quote are those of the last ``bench_async.py`` run."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def test_the_readmes_quote_the_table_and_ratio_of_the_last_bench_async_run():
    table = (RESULTS / "async.md").read_text().split("\n\n")[0]  # the modes, as measured
    result = json.loads((RESULTS / "async.json").read_text())
    modes = result["modes"]
    ratio = modes["atransaction"]["commits_per_s"] / modes["threads"]["commits_per_s"]
    load = result["load_average_1min"]
    for readme in (ROOT / "README.md", ROOT / "benchmarks" / "README.md"):
        text = readme.read_text()
        assert table in text, f"{readme.name} does not show the table of results/async.md"
        flat = " ".join(text.split())  # the figures may wrap across lines
        for figure in (f"{ratio:.2f}x the commits/s of 8 threads",
                       f"load average {load[0]:g} to {load[1]:g}"):
            assert figure in flat, f"{readme.name} does not say {figure!r}, as async.json does"
