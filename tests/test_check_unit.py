"""Unit tests of ``stateview check``'s model (``stateview._check``), in process, on tmp_path."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import jsonschema
import pytest
from check_helpers import REPORT_SCHEMA
from hypothesis import given, settings
from hypothesis import strategies as st

from stateview._check import ERROR, INFO, WARNING, Checker, FileReport, Problem, check_file
from stateview._check._locate import locate
from stateview._check._result import _MESSAGE_LIMIT
from stateview._jsonscan import scan


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_has_no_problems_and_reports_its_schema(tmp_path):
    _write(tmp_path / "s.json", '{"a": [1, 2]}')
    _write(tmp_path / "s.schema.json", '{"type": "object"}')
    report = check_file(tmp_path / "s.json")
    assert report.ok and report.problems == []
    assert report.schema is not None and report.schema.endswith("s.schema.json")


def test_schema_argument_accepts_a_dict(tmp_path):
    _write(tmp_path / "s.json", '{"a": "x"}')
    report = check_file(tmp_path / "s.json", schema={"properties": {"a": {"type": "integer"}}})
    [problem] = report.errors
    assert (problem.kind, problem.pointer, problem.line, problem.column, problem.rule) == (
        "schema", "/a", 1, 7, "type")
    assert report.schema == "<dict>"


def test_schema_violations_come_in_file_order_not_pointer_text_order(tmp_path):
    items = ",\n".join(f'  "x{i}"' for i in range(12))
    _write(tmp_path / "s.json", f"[\n{items}\n]\n")
    report = check_file(tmp_path / "s.json", schema={"items": {"type": "integer"}})
    assert [p.pointer for p in report.errors] == [f"/{i}" for i in range(12)]
    assert [p.line for p in report.errors] == list(range(2, 14))


def test_every_one_of_many_violations_is_reported(tmp_path):
    _write(tmp_path / "s.json", json.dumps(list(range(3000)), indent=1))
    report = check_file(tmp_path / "s.json", schema={"items": {"type": "string"}})
    assert len(report.errors) == 3000
    assert report.errors[-1].line == 3001 and report.errors[-1].pointer == "/2999"


def test_a_huge_offending_value_gives_a_short_message(tmp_path):
    _write(tmp_path / "s.json", json.dumps({"k": "v" * 100_000}))
    report = check_file(tmp_path / "s.json", schema={"type": "array"})
    [problem] = report.errors
    assert len(problem.message) <= _MESSAGE_LIMIT and problem.message.endswith("...")


def test_an_unloadable_file_notes_that_the_schema_was_skipped(tmp_path):
    _write(tmp_path / "s.json", "{")
    report = check_file(tmp_path / "s.json", schema={"type": "object"})
    assert [p.kind for p in report.errors] == ["syntax"]
    assert [p.kind for p in report.notes] == ["schema-skipped"]


def test_checker_loads_a_shared_schema_once(tmp_path, monkeypatch):
    import stateview._check as check

    calls = []
    real = check.load_schema
    monkeypatch.setattr(check, "load_schema", lambda s: calls.append(s) or real(s))
    _write(tmp_path / "schema.json", '{"type": "object"}')
    checker = Checker(str(tmp_path / "schema.json"))
    for i in range(5):
        assert checker.check(_write(tmp_path / f"f{i}.json", "{}")).ok
    assert len(calls) == 1


def test_an_invalid_sibling_schema_is_reported_for_the_file(tmp_path):
    _write(tmp_path / "s.json", "{}")
    _write(tmp_path / "s.schema.json", '{"minimum": "zero"}')
    report = check_file(tmp_path / "s.json")
    [problem] = report.errors
    assert problem.kind == "schema-invalid" and problem.file and problem.file.endswith(
        "s.schema.json")


def test_a_schema_file_is_not_checked_against_itself(tmp_path):
    _write(tmp_path / "s.schema.json", '{"type": "object"}')
    assert check_file(tmp_path / "s.schema.json").schema is None


def test_check_bytes_has_no_leftovers_and_uses_only_the_explicit_schema(tmp_path):
    report = Checker({"type": "array"}).check_bytes(b'{"a": 1}')
    assert report.path == "<stdin>" and [p.kind for p in report.errors] == ["schema"]
    assert Checker().check_bytes(b"[]").ok


def test_leftover_listing_is_skipped_when_nothing_is_named_like_the_file(tmp_path, monkeypatch):
    import stateview._check as check

    seen = []
    real = check.leftover_problems
    monkeypatch.setattr(check, "leftover_problems", lambda s, p: seen.append(s) or real(s, p))
    for name in ("a.json", "b.json", "c.json"):
        _write(tmp_path / name, "{}")
    _write(tmp_path / "b.json.bak", "{}")
    checker = Checker()
    reports = [checker.check(tmp_path / n) for n in ("a.json", "b.json", "c.json")]
    assert seen == [str(tmp_path / "b.json")]
    assert [p.kind for p in reports[1].notes] == ["backup"]


def test_a_stale_lock_record_is_a_warning_naming_the_recover_command(tmp_path):
    _write(tmp_path / "s.json", "{}")
    # pid 2**22 + 1 is above Linux's default pid_max: no such process.
    _write(tmp_path / "s.json.lock", json.dumps({"pid": 4194305, "host": os.uname().nodename,
                                                 "program": "server", "held": True}))
    result = check_file(tmp_path / "s.json")
    assert result.ok and result.errors == []
    [problem] = result.warnings
    assert problem.kind == "stale-lock" and "pid 4194305 (server)" in problem.message
    assert problem.fix == f"stateview recover {tmp_path / 's.json'} --apply"


def test_a_released_lock_record_is_not_a_problem(tmp_path):
    _write(tmp_path / "s.json", "{}")
    _write(tmp_path / "s.json.lock", json.dumps({"pid": 4194305, "held": False}))
    assert check_file(tmp_path / "s.json").problems == []


def test_recover_command_quotes_awkward_paths(tmp_path):
    path = _write(tmp_path / "my state.json", "{}")
    _write(tmp_path / ".my state.json.abc.tmp", "{}")
    [problem] = check_file(path).errors
    assert problem.fix == f"stateview recover '{path}' --apply"


def test_report_dict_is_valid_against_the_published_schema(tmp_path):
    report = FileReport("x.json", None, [
        Problem("syntax", "bad", 1, 2, "/a"),
        Problem("schema", "no", 3, 4, "", rule="type", schema_path="/type"),
        Problem("corrupt-copy", "look", severity=WARNING, file="x.json.corrupt-1"),
        Problem("backup", "kept", severity=INFO, file="x.json.bak"),
    ])
    document = {"status": "fail", "summary": {"files": 1, "ok": 0, "failed": 1, "errors": 2,
                                              "warnings": 1}, "files": [report.to_dict()]}
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(document)
    assert not report.ok and [p.severity for p in report.errors] == [ERROR, ERROR]


def test_the_report_schema_is_itself_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)


# -- locate: the fast position finder must agree with the engine's scan ---------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(alphabet="ab/~\"\\é\n", max_size=3), children, max_size=4),
    max_leaves=25,
)


def _all_pointers(value, prefix=""):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _all_pointers(v, prefix + "/" + k.replace("~", "~0").replace("/", "~1"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _all_pointers(v, f"{prefix}/{i}")


@settings(max_examples=200, deadline=None)
@given(value=_json, indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans())
def test_locate_finds_every_value_where_scan_does(value, indent, ascii_only):
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    pointers = set(_all_pointers(value))
    assert locate(text, pointers) == scan(text, want=pointers).positions


def test_locate_takes_the_later_of_duplicate_keys_like_loading_does():
    text = '{"a": {"b": 1},\n "a": {"b": 2}}'
    assert locate(text, {"/a/b"}) == scan(text, want={"/a/b"}, max_problems=10).positions \
        == {"/a/b": (2, 13)}


def test_locate_ignores_pointers_that_name_nothing():
    assert locate('{"a": [1]}', {"/b", "/a/5", "/a/0/x"}) == {}


@pytest.mark.parametrize("text", ['{"a": 1,}', "[1 2]", "{1: 2}"])
def test_locate_raises_value_error_on_text_it_cannot_walk(text):
    with pytest.raises(ValueError):
        locate(text, {"/a", "/1", "/1/x"})


# -- no input crashes the command -------------------------------------------------------------

_VALID = json.dumps({"clients": {"alice": {"score": 1, "tags": ["a", "é"]}}, "n": [1.5, None]},
                    indent=2).encode()


@settings(max_examples=150, deadline=None)
@given(data=st.one_of(
    st.binary(max_size=200),
    st.builds(lambda cut: _VALID[:cut], st.integers(0, len(_VALID))),
    st.builds(lambda at, junk: _VALID[:at] + junk + _VALID[at:],
              st.integers(0, len(_VALID)), st.sampled_from(
                  [b",", b"//", b"NaN", b"1e999", b"\xff", b"\xef\xbb\xbf", b"[", b"}", b'"',
                   b"\x00", b"'", b'"k": 1,']))))
def test_any_bytes_give_a_report_and_exit_0_or_1_never_an_exception(tmp_path_factory, data):
    from stateview.cli import main

    path = tmp_path_factory.mktemp("fuzz") / "f.json"
    path.write_bytes(data)
    report = check_file(path, schema={"type": "object", "additionalProperties": {
        "type": "object"}})
    assert all(p.line is None or p.line >= 1 for p in report.problems)
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        assert main(["check", str(path), "-v"]) in (0, 1)
        assert main(["check", str(path), "-o", "json"]) in (0, 1)


def test_colour_auto_needs_a_terminal_and_no_no_color(monkeypatch):
    from stateview.cli._check_report import use_colour

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour("auto", Tty()) is True
    assert use_colour("never", Tty()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour("auto", Tty()) is False
    assert use_colour("always", Tty()) is True  # an explicit flag wins over the environment
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: set *and non-empty*
    assert use_colour("auto", Tty()) is True
