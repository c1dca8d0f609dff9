# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""stateview._schema, and the schema enforced at every commit of a StateFile."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

import stateview
from stateview import SchemaError, SchemaViolation
from stateview._schema import Schema, load_schema

from ._helpers import assert_on_disk, stored_fingerprint

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "minimum": 0},
        "clients": {"type": "object",
                    "additionalProperties": {"type": "object",
                                             "properties": {"name": {"type": "string"}},
                                             "required": ["name"]}},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "when": {"type": "string", "format": "date-time"},
    },
    "required": ["count"],
}
DOC = {"count": 1, "clients": {"a": {"name": "Ann"}}, "tags": ["x"],
       "when": "2026-01-01T00:00:00Z"}


def test_load_schema_accepts_none_a_dict_a_path_and_a_schema(tmp_path):
    assert load_schema(None) is None
    from_dict = load_schema(SCHEMA)
    assert from_dict is not None and from_dict.document == SCHEMA
    file = tmp_path / "s.schema.json"
    file.write_text(json.dumps(SCHEMA))
    loaded = load_schema(file)
    assert loaded is not None
    assert loaded.document == SCHEMA and loaded.source == str(file)
    assert load_schema(loaded) is loaded


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "cannot read it"), ("{nope", "not valid JSON"), ('{"type": 12}', "/type"),
     ('{"minimum": "zero"}', "not a valid JSON Schema"), ("[1]", "object or a boolean")],
)
def test_an_unusable_schema_file_is_refused_clearly(tmp_path, content, words):
    file = tmp_path / "s.schema.json"
    if content is not None:
        file.write_text(content)
    with pytest.raises(SchemaError) as info:
        load_schema(file)
    assert words in str(info.value)
    assert info.value.source == str(file)


def test_an_invalid_schema_is_refused_at_open_and_nothing_is_created(path):
    with pytest.raises(SchemaError) as info:
        stateview.open(path, default={}, schema={"type": "objekt"})
    assert "not a valid JSON Schema" in str(info.value)
    assert os.listdir(path.parent) == []


def test_issues_name_pointer_rule_and_schema_path():
    schema = Schema(SCHEMA)
    issues = schema.issues({"count": -1, "clients": {"b": {}}, "tags": ["a", 2]})
    assert [(i.pointer, i.rule, i.schema_path) for i in issues] == [
        ("/clients/b", "required", "/properties/clients/additionalProperties/required"),
        ("/count", "minimum", "/properties/count/minimum"),
        ("/tags/1", "type", "/properties/tags/items/type"),
    ]
    assert schema.issues(DOC) == []


def test_format_checks_are_on():
    issues = Schema(SCHEMA).issues({"count": 0, "when": "yesterday"})
    assert [(i.pointer, i.rule) for i in issues] == [("/when", "format")]


def test_dollar_schema_picks_the_draft():
    tuple_items = {"items": [{"type": "integer"}, {"type": "string"}]}
    # Draft 2020-12 (the default) has no array form of "items": the schema itself is invalid.
    with pytest.raises(SchemaError):
        Schema(tuple_items)
    draft7 = Schema({"$schema": "http://json-schema.org/draft-07/schema#", **tuple_items})
    assert draft7.issues([1, "a", None]) == []
    assert [i.pointer for i in draft7.issues(["a", "a"])] == ["/0"]
    # And a 2020-12 keyword means nothing to draft 7.
    prefix = {"prefixItems": [{"type": "integer"}]}
    assert Schema(prefix).issues(["x"]) != []
    assert Schema({"$schema": "http://json-schema.org/draft-07/schema#", **prefix}).issues(
        ["x"]) == []


def test_validate_raises_a_violation_naming_pointer_and_rule():
    with pytest.raises(SchemaViolation) as info:
        Schema(SCHEMA).validate({"count": "three"})
    error = info.value
    assert (error.pointer, error.rule) == ("/count", "type")
    assert "/count" in str(error) and "'type'" in str(error)
    assert "nothing was written" in str(error)


def test_open_refuses_a_default_that_breaks_the_schema(path):
    with pytest.raises(SchemaViolation):
        stateview.open(path, default={"count": -5}, schema=SCHEMA)
    assert not path.exists()


def test_open_refuses_an_existing_file_that_breaks_the_schema(path):
    path.write_text('{"count": "x"}\n')
    with pytest.raises(SchemaViolation) as info:
        stateview.open(path, schema=SCHEMA)
    assert info.value.pointer == "/count"
    assert path.read_text() == '{"count": "x"}\n'


@pytest.mark.parametrize(
    ("mutate", "pointer", "rule"),
    [
        (lambda s: s.__setitem__("count", -1), "/count", "minimum"),
        (lambda s: s["clients"].__setitem__("b", {"nom": "B"}), "/clients/b", "required"),
        (lambda s: s["clients"]["a"].__delitem__("name"), "/clients/a", "required"),
        (lambda s: s["clients"]["a"].clear(), "/clients/a", "required"),
        (lambda s: s["tags"].append(5), "/tags/1", "type"),
        (lambda s: s["tags"].extend(["a", "b", "c"]), "/tags", "maxItems"),
        (lambda s: s["tags"].insert(0, None), "/tags/0", "type"),
        (lambda s: s["tags"].__setitem__(slice(0, 1), [1]), "/tags/0", "type"),
        (lambda s: s.data.pop("count"), "", "required"),
        (lambda s: s.data.update(count=2.5), "/count", "type"),
        (lambda s: s["clients"].setdefault("z", {}), "/clients/z", "required"),
        (lambda s: s.__setitem__("when", "soon"), "/when", "format"),
    ],
)
def test_an_autocommit_breaking_the_schema_changes_nothing(target, mutate, pointer, rule):
    state = stateview.open(target, default=DOC, schema=SCHEMA)
    clients, tags = state["clients"], state["tags"]
    before = stored_fingerprint(state)
    with pytest.raises(SchemaViolation) as info:
        mutate(state)
    assert (info.value.pointer, info.value.rule) == (pointer, rule)
    assert stored_fingerprint(state) == before
    assert_on_disk(state, DOC)
    # The views survive the refusal and the next valid change commits.
    assert clients is state["clients"] and tags is state["tags"]
    clients["c"] = {"name": "C"}
    tags.append("y")
    assert_on_disk(state, {**DOC, "clients": {"a": {"name": "Ann"}, "c": {"name": "C"}},
                           "tags": ["x", "y"]})


def test_a_transaction_breaking_the_schema_rolls_back_entirely(target):
    state = stateview.open(target, default=DOC, schema=SCHEMA)
    before = stored_fingerprint(state)
    with pytest.raises(SchemaViolation) as info, state.transaction() as root:
        root["count"] = 7
        root["clients"]["b"] = {}
    assert (info.value.pointer, info.value.rule) == ("/clients/b", "required")
    assert stored_fingerprint(state) == before
    assert_on_disk(state, DOC)


def test_a_transaction_may_pass_through_invalid_states(path):
    state = stateview.open(path, default=DOC, schema=SCHEMA)
    with state.transaction() as root:
        root["clients"]["b"] = {}
        root["clients"]["b"]["name"] = "Bo"
    assert state["clients"]["b"] == {"name": "Bo"}
    assert_on_disk(state)
