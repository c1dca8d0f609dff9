# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""stateview._pointer: RFC 6901 JSON Pointers, reading and editing through the views."""

from __future__ import annotations

import pytest

import stateview
from stateview import PointerError
from stateview._pointer import delete_at, get_at, parse_pointer, set_at

from ._helpers import assert_on_disk

DOC = {"a": {"b/c": [10, {"~x": True}]}, "": "empty key", "l": []}


@pytest.mark.parametrize(
    ("pointer", "parts"),
    [("", []), ("/", [""]), ("/a", ["a"]), ("/a/b~1c/1/~0x", ["a", "b/c", "1", "~x"]),
     ("/~01", ["~1"]), ("/a//b", ["a", "", "b"])],
)
def test_parse_pointer_unescapes_in_rfc_order(pointer, parts):
    assert parse_pointer(pointer) == parts


@pytest.mark.parametrize(("pointer", "words"), [("a", "starts with '/'"), ("/a~2", "~0"),
                                                ("/~", "~0")])
def test_malformed_pointers_are_refused(pointer, words):
    with pytest.raises(PointerError) as info:
        parse_pointer(pointer)
    assert words in str(info.value) and info.value.pointer == pointer


def test_get_at_walks_objects_and_arrays():
    assert get_at(DOC, parse_pointer("/a/b~1c/1/~0x")) is True
    assert get_at(DOC, parse_pointer("/")) == "empty key"
    assert get_at(DOC, []) is DOC


@pytest.mark.parametrize(
    ("pointer", "words"),
    [("/nope", "no key 'nope'"), ("/a/b~1c/2", "past the end"), ("/a/b~1c/01", "not an array"),
     ("/a/b~1c/-", "not an array index"), ("/a/b~1c/0/x", "is a number"),
     ("/a/b~1c/x", "not an array index")],
)
def test_get_at_names_the_first_bad_token(pointer, words):
    with pytest.raises(PointerError) as info:
        get_at(DOC, parse_pointer(pointer), pointer)
    assert words in str(info.value)


def test_set_and_delete_commit_through_the_views(path):
    state = stateview.open(path, default=DOC)
    set_at(state.data, parse_pointer("/a/b~1c/0"), 11)
    set_at(state.data, parse_pointer("/l/-"), {"new": 1})
    set_at(state.data, parse_pointer("/l/1"), "appended")
    set_at(state.data, parse_pointer("/n"), None)
    delete_at(state.data, parse_pointer("/a/b~1c/1"))
    delete_at(state.data, parse_pointer("/"))
    assert_on_disk(state, {"a": {"b/c": [11]}, "l": [{"new": 1}, "appended"], "n": None})


def test_set_at_the_root_needs_the_same_kind(path):
    state = stateview.open(path, default={"x": 1})
    set_at(state.data, [], {"y": 2})
    assert_on_disk(state, {"y": 2})
    with pytest.raises(PointerError):
        set_at(state.data, [], [1])


@pytest.mark.parametrize(("pointer", "error"), [
    ("", "cannot be deleted"), ("/zz", "no key 'zz' in the object at /"),
    ("/l/0", "past the end of the array at /l"),
    # The error names the container the missing key was looked up in, as a read's does.
    ("/a/zz", "no key 'zz' in the object at /a"),
    ("/a/b~1c/2", "past the end of the array at /a/b~1c"),
])
def test_delete_at_refuses_what_is_not_there(path, pointer, error):
    state = stateview.open(path, default=DOC)
    with pytest.raises(PointerError) as info:
        delete_at(state.data, parse_pointer(pointer))
    assert error in str(info.value)
    assert_on_disk(state, DOC)


def test_set_at_into_a_scalar_is_refused(path):
    state = stateview.open(path, default=DOC)
    with pytest.raises(PointerError) as info:
        set_at(state.data, parse_pointer("/a/b~1c/0/x"), 1)
    assert "is a number" in str(info.value)
