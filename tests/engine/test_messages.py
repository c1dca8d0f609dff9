"""Words in error messages: the root pointer, articles."""

from __future__ import annotations

from typing import Any

import pytest

import stateview


def test_a_non_json_value_is_named_with_its_article(tmp_path: Any) -> None:
    state = stateview.open(tmp_path / "s.json", default={})
    with pytest.raises(stateview.InvalidValue, match="an object is not a JSON value"):
        state["x"] = object()
    with pytest.raises(stateview.InvalidValue, match="key 1 is an int"):
        state["y"] = {1: 2}
    state.close()


def test_a_schema_violation_at_the_root_names_the_root_pointer(tmp_path: Any) -> None:
    schema = {"type": "object", "required": ["name"]}
    with pytest.raises(stateview.SchemaViolation) as caught:
        stateview.open(tmp_path / "s.json", default={}, schema=schema)
    assert caught.value.pointer == ""
    assert "schema violation at '' (the root)" in str(caught.value)
    assert " at /:" not in str(caught.value)
