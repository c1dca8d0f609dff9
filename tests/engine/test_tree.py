# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""stateview._document: adopting values as views, serializing them, merging new versions in."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from stateview._document import plain, pointer_of, serialize
from stateview._document_merge import merge
from stateview._views import new_root

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=4),
    max_leaves=20,
)
DOCS = st.dictionaries(st.text(max_size=3), JSON, max_size=5) | st.lists(JSON, max_size=5)


@settings(max_examples=200, deadline=None, database=None)
@given(DOCS)
def test_serialize_writes_what_json_dumps_writes(doc):
    root = new_root(doc, None)
    expected = json.dumps(doc, indent=2, ensure_ascii=False)
    assert serialize(root) == expected
    assert serialize(root) == expected  # the cached text is the same text
    assert plain(root) == doc


@settings(max_examples=200, deadline=None, database=None)
@given(DOCS, DOCS)
def test_merge_makes_the_tree_equal_to_the_new_version(old, new):
    if isinstance(old, dict) != isinstance(new, dict):
        return
    root = new_root(old, None)
    serialize(root)  # fill the caches: merge must clear the stale ones
    changed: list[str] = []
    merge(root, new, changed, "")
    assert plain(root) == new
    assert serialize(root) == json.dumps(new, indent=2, ensure_ascii=False)
    if json.dumps(old) == json.dumps(new):
        assert changed == []  # nothing changed: nothing reported, no callback noise


def test_merge_keeps_containers_and_reports_changed_pointers():
    root = new_root({"a": {"b": [1, {"c": 2}]}, "keep": {"x": 1}}, None)
    a, inner, keep = root["a"], root["a"]["b"][1], root["keep"]
    changed: list[str] = []
    merge(root, {"a": {"b": [1, {"c": 3}]}, "keep": {"x": 1}, "new": 1}, changed, "")
    assert root["a"] is a and root["a"]["b"][1] is inner and root["keep"] is keep
    assert inner == {"c": 3}
    assert sorted(changed) == ["/a/b/1/c", "/new"]


def test_pointer_of_walks_up_through_lists_and_escapes():
    root = new_root({"a/b": [{"~": {"x": []}}]}, None)
    assert pointer_of(root["a/b"][0]["~"]["x"]) == "/a~1b/0/~0/x"
    assert pointer_of(root) == ""
