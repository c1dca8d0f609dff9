"""Helpers for the tests that pin the READMEs' figures to the benchmark results they quote.

Every figure a README gives comes from a script under ``benchmarks/``, which keeps its last
run in ``benchmarks/results/NAME.json`` (and ``NAME.md``). These tests read those files and
check that the README says what the last run measured, so that a rerun cannot leave the
README quoting figures nobody can find, and a README edit cannot invent one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
BENCH_README = ROOT / "benchmarks" / "README.md"


def result(name: str) -> Any:
    """The figures of the last run, ``benchmarks/results/NAME.json``."""
    return json.loads((RESULTS / f"{name}.json").read_text("utf-8"))


def markdown(name: str) -> str:
    """The Markdown the last run wrote, ``benchmarks/results/NAME.md``."""
    return (RESULTS / f"{name}.md").read_text("utf-8")


def table(text: str, header: str) -> str:
    """The Markdown table of ``text`` whose first line starts with ``header``."""
    return text[text.index(header):].split("\n\n")[0].strip()


def flat(text: str) -> str:
    """``text`` with every run of white space made one space: figures may wrap across lines."""
    return " ".join(text.split())


def load_text(run: dict[str, Any]) -> str:
    """The load a run had, as ``benchmarks/report.py`` writes it (``load_text``)."""
    load = run["load_average"]
    return (f"load average {load['before'][0]:g} before, {load['after'][0]:g} after, "
            f"on {run['machine']['cores']} cores")


def assert_quoted(readme: Path, figures: Iterable[str], source: str) -> None:
    """Each of ``figures`` appears in ``readme`` (white space aside), as ``source`` has it."""
    text = flat(readme.read_text("utf-8"))
    missing = [figure for figure in figures if flat(figure) not in text]
    assert not missing, f"{readme.name} does not say {missing}, as {source} does"
