# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""stateview._jsontext: strict reading with positions, and the on-disk writing format."""

from __future__ import annotations

import json

import pytest

from stateview import CorruptFile
from stateview._jsonscan import scan
from stateview._jsontext import (
    MAX_DEPTH,
    a_json_type,
    decode,
    dumps,
    escape_token,
    join_pointer,
    json_type,
    line_column,
    loads,
    unescape_token,
)


def test_dumps_is_two_space_indent_utf8_and_a_trailing_newline():
    value = {"naïve": ["é", 1, 2.5, None, True], "empty": {}, "list": []}
    assert dumps(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    assert "naïve" in dumps(value)


def test_dumps_refuses_nan():
    with pytest.raises(ValueError):
        dumps({"x": float("nan")})


def test_join_pointer_escapes_tilde_and_slash():
    assert join_pointer(["a/b", "c~d", 3]) == "/a~1b/c~0d/3"
    assert join_pointer([]) == ""


@pytest.mark.parametrize("key", ["", "a", "a/b", "c~d", "~1", "~0/~", "/~/"])
def test_unescape_token_undoes_escape_token(key):
    assert unescape_token(escape_token(key)) == key


def test_unescape_token_reads_tilde_one_as_slash_before_tilde_zero():
    # "~01" is the key "~1", not "/": RFC 6901 decodes ~1 first.
    assert unescape_token("~01") == "~1"
    assert escape_token("~1") == "~01"


@pytest.mark.parametrize(("value", "name", "spoken"), [
    ({}, "object", "an object"), ([], "array", "an array"), ("x", "string", "a string"),
    (True, "boolean", "a boolean"), (None, "null", "null"), (3, "number", "a number"),
    (2.5, "number", "a number"),
])
def test_json_type_names_every_json_value_the_same_way(value, name, spoken):
    assert json_type(value) == name
    assert a_json_type(value) == spoken


def test_json_type_tells_integers_apart_only_when_asked():
    assert json_type(3, integers=True) == "integer"
    assert json_type(2.5, integers=True) == "number"
    assert json_type(False, integers=True) == "boolean"  # a bool is an int to Python, not JSON


def test_line_column_is_one_based():
    assert line_column("ab\ncd", 0) == (1, 1)
    assert line_column("ab\ncd", 4) == (2, 2)


def test_decode_strips_a_bom_but_reports_it():
    text, problems = decode(b'\xef\xbb\xbf{"a": 1}')
    assert text == '{"a": 1}'
    assert [(p.kind, p.fatal) for p in problems] == [("bom", False)]


def test_decode_reports_invalid_utf8_with_its_offset():
    text, problems = decode(b'{"a": "\xff"}')
    assert text is None
    assert problems[0].kind == "encoding" and problems[0].fatal
    assert "offset 7" in problems[0].message


@pytest.mark.parametrize("raw", [b"", b"  \n\t"])
def test_decode_reports_an_empty_file(raw):
    text, problems = decode(raw)
    assert text is None and problems[0].kind == "empty"


def test_loads_returns_the_value_of_strict_json():
    assert loads(b'{"a": [1, 2.5, "x", null, true]}\n', "f") == {"a": [1, 2.5, "x", None, True]}


@pytest.mark.parametrize(
    ("raw", "words", "line", "column"),
    [
        (b'{\n  "a": 1,\n}\n', "trailing comma", 3, 1),
        (b'{\n  "a": 1,\n  "a": 2\n}\n', "duplicate key 'a'", 3, 3),
        (b'{\n  "a": NaN\n}', "NaN is not JSON", 2, 8),
        (b'{\n  "a": -Infinity\n}', "-Infinity is not JSON", 2, 8),
        (b'{"a": 1e999}', "overflows to infinity", 1, 7),
        (b'{"a": [1, 2', "unexpected end of file", 1, 12),
        (b"{'a': 1}", "single-quoted", 1, 2),
        (b'{"a": 1} // note', "JSON has no comments", 1, 10),
        (b'{"a": 1} 2', "extra data", 1, 10),
        (b'{"a": 1 /* c */}', "expected ',' or '}'", 1, 9),
        (b'\xef\xbb\xbf{"a": 1}', "byte order mark", 1, 1),
        (b'["\xc3\x28"]', "invalid UTF-8", 1, 3),
    ],
)
def test_loads_raises_corrupt_file_with_line_and_column(raw, words, line, column):
    with pytest.raises(CorruptFile) as info:
        loads(raw, "state.json")
    error = info.value
    assert words in error.reason
    assert (error.line, error.column) == (line, column)
    assert error.path == "state.json"
    assert str(error).startswith(f"state.json:{line}:{column}: ")


def test_loads_names_the_pointer_of_the_bad_value():
    with pytest.raises(CorruptFile) as info:
        loads(b'{"a": {"b/c": [0, NaN]}}', "f")
    assert info.value.pointer == "/a/b~1c/1"


def test_loads_survives_100000_nested_arrays_with_a_clear_error():
    raw = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(CorruptFile) as info:
        loads(raw, "f")
    assert f"deeper than {MAX_DEPTH}" in info.value.reason


def test_loads_refuses_an_integer_too_long_for_python():
    with pytest.raises(CorruptFile) as info:
        loads(b'{"n": ' + b"9" * 5000 + b"}", "f")
    assert info.value.pointer == "/n"


def test_scan_records_every_position_when_asked():
    text = '{\n  "a": [\n    1,\n    {"b": true}\n  ]\n}\n'
    result = scan(text, want=None)
    assert result.problems == []
    assert result.positions == {"": (1, 1), "/a": (2, 8), "/a/0": (3, 5), "/a/1": (4, 5),
                                "/a/1/b": (4, 11)}


def test_scan_records_only_wanted_positions():
    result = scan('{"a": {"b": 1}, "c": 2}', want={"/c"})
    assert result.positions == {"/c": (1, 22)}


def test_scan_keeps_going_after_non_fatal_problems():
    text = '{"a": 1, "a": 2, "b": NaN, "c": 1e400}'
    result = scan(text)
    assert [(p.kind, p.pointer, p.fatal) for p in result.problems] == [
        ("duplicate-key", "/a", False), ("nan", "/b", False), ("overflow", "/c", False)]


def test_scan_stops_at_the_first_syntax_error():
    result = scan('{"a": [1,, 2], "b": NaN}')
    assert len(result.problems) == 1
    assert result.problems[0].kind == "syntax" and result.problems[0].fatal
    assert result.problems[0].pointer == "/a/1"


def test_scan_respects_max_problems():
    text = "[" + ", ".join(["NaN"] * 50) + "]"
    assert len(scan(text, max_problems=7).problems) == 7


def test_scan_reports_depth_once_past_the_limit():
    depth = MAX_DEPTH + 10
    result = scan("[" * depth + "]" * depth)
    assert [p.kind for p in result.problems] == ["depth"]


def test_scan_and_loads_agree_on_valid_documents():
    raw = dumps({"x": [{"y": "z\u2028\n\"q\""}, -0.0, 1e-7, 10**30]})
    assert scan(raw).problems == []
    assert loads(raw.encode(), "f") == json.loads(raw)
