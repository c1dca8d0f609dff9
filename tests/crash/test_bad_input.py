"""Bad input: every malformed file a user could meet.

Without a good copy, ``stateview.open`` raises ``CorruptFile`` naming the file, line and
column, with or without a default, and the bad bytes stay exactly as they were. With a good
backup, open restores it and sets the bad bytes aside as ``NAME.corrupt-*``, byte for byte.
The CLI reports the same without a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

import pytest

import stateview
from stateview import _jsontext

from .harness import count, files, forget_lock

NAME = "state.json"
GOOD = {"clients": {"alice": {"score": 1}}, "note": "caf\u00e9"}
GOOD_BYTES = _jsontext.dumps(GOOD).encode()

BAD = {
    "empty": b"",
    "whitespace-only": b"  \n\n",
    "truncated": GOOD_BYTES[: len(GOOD_BYTES) // 2],
    "truncated-before-last-brace": GOOD_BYTES.rstrip()[:-1],
    "binary": bytes(range(256)) * 4,
    "nul-bytes": b"\0" * 64,
    "invalid-utf8": b'{"name": "caf\xe9"}\n',
    "utf16": '{"a": 1}'.encode("utf-16"),
    "nan": b'{"a": NaN}\n',
    "infinity": b'{"a": -Infinity}\n',
    "duplicate-keys": b'{"a": 1, "b": 2, "a": 3}\n',
    "nested-duplicate-keys": b'{"x": {"k": 1, "k": 1}}\n',
    "deep-100000-arrays": b"[" * 100_000 + b"]" * 100_000,
    "deep-100000-objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "overflow-1e999": b'{"a": 1e999}\n',
    "huge-integer": b'{"a": ' + b"9" * 5000 + b"}\n",
    "bom": b"\xef\xbb\xbf" + GOOD_BYTES,
    "trailing-garbage": GOOD_BYTES + b"}\n",
    "two-documents": GOOD_BYTES + GOOD_BYTES,
    "trailing-comma": b'{"a": 1,}\n',
    "comment": b'{\n  // the score\n  "a": 1\n}\n',
    "single-quotes": b"{'a': 1}\n",
    "raw-newline-in-string": b'{"a": "two\nlines"}\n',
    "merge-conflict": b'{\n<<<<<<< HEAD\n  "a": 1\n=======\n  "a": 2\n>>>>>>> x\n}\n',
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_file_without_a_good_copy_raises_corruptfile_and_is_kept(
    tmp_path: Any, name: str
) -> None:
    path = tmp_path / NAME
    path.write_bytes(BAD[name])
    for default in (None, {"default": True}):
        with pytest.raises(stateview.CorruptFile) as info:
            if default is None:
                stateview.open(path)
            else:
                stateview.open(path, default=default)
        forget_lock(path)
        e = info.value
        assert e.path == str(path) or os.path.samefile(e.path, path)
        assert isinstance(e.line, int) and isinstance(e.column, int) and e.line >= 1, e
        assert f"{path}:{e.line}:{e.column}" in str(e), str(e)
        assert len(str(e)) < 500, "the message must be readable, not a dump of the file"
    assert path.read_bytes() == BAD[name], "the bad bytes were overwritten"
    assert sorted(files(tmp_path)) == [NAME], "open left files behind"
    count("bad_files")


@pytest.mark.parametrize("name", list(BAD))
def test_bad_file_with_a_good_backup_is_restored_and_set_aside(
    tmp_path: Any, name: str
) -> None:
    path = tmp_path / NAME
    with stateview.open(path, default=GOOD) as state:
        state["note"] = "second"  # NAME.bak now holds GOOD
    forget_lock(path)
    path.write_bytes(BAD[name])
    with stateview.open(path) as state:
        assert state.snapshot() == GOOD
    forget_lock(path)
    corrupt = [n for n in files(tmp_path) if n.startswith(NAME + ".corrupt-")]
    assert len(corrupt) == 1, sorted(files(tmp_path))
    assert (tmp_path / corrupt[0]).read_bytes() == BAD[name]
    assert _jsontext.loads(path.read_bytes(), str(path)) == GOOD
    assert (tmp_path / (NAME + ".bak")).read_bytes() == GOOD_BYTES, "the good backup is gone"
    count("bad_files")


@pytest.mark.parametrize("name", ["empty", "deep-100000-arrays", "invalid-utf8", "nan"])
def test_cli_reports_a_bad_file_without_a_traceback(tmp_path: Any, name: str) -> None:
    path = tmp_path / NAME
    path.write_bytes(BAD[name])
    for argv in (["get", str(path)], ["set", str(path), "/a", "1"]):
        run = subprocess.run([sys.executable, "-m", "stateview", *argv],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 1, (argv, run.returncode, run.stderr)
        assert "Traceback" not in run.stderr
        assert str(path) in run.stderr
    assert path.read_bytes() == BAD[name]


def test_root_scalar_is_refused_clearly_and_kept(tmp_path: Any) -> None:
    path = tmp_path / NAME
    path.write_bytes(b"42\n")
    with pytest.raises(stateview.StateError, match="object or an array"):
        stateview.open(path, default={})
    forget_lock(path)
    assert path.read_bytes() == b"42\n"


def _bounded(fn: Any, seconds: float = 10.0) -> BaseException | None:
    """Run ``fn`` in a daemon thread; fail the test (not hang it) if it never returns."""
    result: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
            result.append(None)
        except BaseException as e:
            result.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert result, f"{fn} did not return within {seconds} s: the StateFile is wedged"
    return result[0]


def test_lone_surrogate_escape_never_breaks_a_later_commit(tmp_path: Any) -> None:
    # "\ud800" is valid JSON syntax but no Unicode text: Python's json accepts it, and UTF-8
    # cannot encode it. Either open refuses the file, or commits keep working.
    path = tmp_path / NAME
    raw = b'{"a": "\\ud800", "b": 1}\n'
    path.write_bytes(raw)
    try:
        state = stateview.open(path)
    except stateview.StateError:
        forget_lock(path)
        assert path.read_bytes() == raw
        return

    def commit() -> None:
        state["b"] = 2

    error = _bounded(commit)
    assert error is None or isinstance(error, stateview.StateError), repr(error)
    assert _bounded(state.close) is None
    forget_lock(path)
    if error is None:
        assert _jsontext.loads(path.read_bytes(), str(path))["b"] == 2
    else:
        assert path.read_bytes() == raw


def test_lone_surrogate_value_is_refused_and_does_not_wedge(tmp_path: Any) -> None:
    path = tmp_path / NAME
    state = stateview.open(path, default={"ok": 1})

    def assign() -> None:
        state["a"] = "\ud800"

    error = _bounded(assign)
    assert isinstance(error, stateview.InvalidValue), repr(error)
    assert _bounded(lambda: state.__setitem__("ok", 2)) is None
    assert _bounded(state.close) is None
    forget_lock(path)
    assert _jsontext.loads(path.read_bytes(), str(path)) == {"ok": 2}
