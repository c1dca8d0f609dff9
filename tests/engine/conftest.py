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


@pytest.fixture(autouse=True)
def _umask():
    # Modes in these tests are asserted exactly; a CI umask must not change them.
    old = os.umask(0o022)
    yield
    os.umask(old)
