"""The PostgreSQL targets the README quotes are those of the last ``bench_postgres.py`` run."""

from figures_helpers import README, markdown, table


def test_the_readme_quotes_the_targets_of_the_last_bench_postgres_run():
    targets = table(markdown("postgres"), "| target | size |")
    assert targets in README.read_text(), \
        "README.md does not show the targets table of benchmarks/results/postgres.md"
