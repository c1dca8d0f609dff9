from __future__ import annotations

import json
from pathlib import Path

import pytest

from ._helpers import DOC


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    """A small document written as stateview writes it (no lock file: no writer yet)."""
    path = tmp_path / "state.json"
    path.write_text(json.dumps(DOC, indent=2) + "\n", encoding="utf-8")
    return path
