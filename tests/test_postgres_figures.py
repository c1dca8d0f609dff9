"""The PostgreSQL targets the README quotes are those of the last ``bench_postgres.py`` run."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_quotes_the_targets_of_the_last_bench_postgres_run():
    results = (ROOT / "benchmarks" / "results" / "postgres.md").read_text()
    targets = results[results.index("| target | size |"):].split("\n\n")[0].strip()
    assert targets in (ROOT / "README.md").read_text(), \
        "README.md does not show the targets table of benchmarks/results/postgres.md"
