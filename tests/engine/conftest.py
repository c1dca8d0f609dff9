# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""Fixtures of the engine tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where the test's state file goes (it does not exist yet)."""
    return tmp_path / "state.json"


@pytest.fixture(params=["file", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the test's document goes, on each store the engine runs on: a state file, and
    a document of a real PostgreSQL server (it does not exist yet)."""
    if request.param == "file":
        return str(tmp_path / "state.json")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(autouse=True)
def _umask():
    # Modes in these tests are asserted exactly; a CI umask must not change them.
    old = os.umask(0o022)
    yield
    os.umask(old)
