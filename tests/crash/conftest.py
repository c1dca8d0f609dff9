"""Sum the crash figures over pytest-xdist workers and report them at the end of the run.

Each worker counts into :data:`harness.FIGURES`; at the end of its session it hands the counts
to the controller through ``workeroutput``. The controller (or a plain, single-process run)
prints them in the terminal summary and, when ``STATEVIEW_CRASH_FIGURES`` names a file, writes
them there as JSON for ``benchmarks/crash_figures.py``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pytest

from .harness import FIGURE_NAMES, FIGURES, summary

_collected: Counter[str] = Counter()


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workeroutput"):
        config.workeroutput["crash_figures"] = json.dumps(dict(FIGURES))
        return
    _collected.update(FIGURES)
    target = os.environ.get("STATEVIEW_CRASH_FIGURES")
    if target:
        with open(target, "w", encoding="utf-8") as f:
            json.dump({name: _collected.get(name, 0) for name in FIGURE_NAMES}, f, indent=2)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    raw = getattr(node, "workeroutput", {}).get("crash_figures")
    if raw:
        _collected.update(json.loads(raw))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if any(_collected.values()):
        terminalreporter.write_sep("-", "stateview crash figures")
        terminalreporter.write_line(summary(dict(_collected)))


@pytest.fixture(scope="module")
def zygote() -> Any:
    """A process that forks real committing children (see ``zygote.py``)."""
    from .children import Zygote

    z = Zygote()
    yield z
    z.close()
