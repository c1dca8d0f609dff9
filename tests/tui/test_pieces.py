"""The plain parts of the UI, without Textual: diff, search, schema hints, watcher, reader."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from stateview._paths import StatePaths
from stateview._schema import load_schema
from stateview.tui._diff import diff
from stateview.tui._load import Broken, Loaded, Reader
from stateview.tui._model import resolve, search
from stateview.tui._schemainfo import constraints, subschema
from stateview.tui._watch import FileWatcher
from stateview.tui.demo import DEMO_SCHEMA, demo_document
from stateview.tui.widgets.status import human_size

from ._helpers import DOC, write_atomic


def test_diff_reports_changed_added_and_removed_leaves_by_pointer():
    old = {"a": {"b": 1, "gone": True}, "list": [1, 2], "same": {"x": [1]}}
    new = {"a": {"b": 2, "new~/": None}, "list": [1, 2, 3], "same": {"x": [1]}}
    found = [(c.pointer, c.kind, c.old, c.new) for c in diff(old, new)]
    assert found == [
        ("/a/b", "changed", 1, 2), ("/a/new~0~1", "added", None, None),
        ("/a/gone", "removed", True, None), ("/list/2", "added", None, 3),
    ]


def test_diff_compares_leaves_by_json_type_too():
    assert [c.pointer for c in diff([1, 5], [True, 6])] == ["/0", "/1"]
    assert [c.kind for c in diff([1, 0], [True])] == ["changed", "removed"]
    # Inside subtrees that Python's == calls equal too.
    assert [c.pointer for c in diff({"a": [1]}, {"a": [True]})] == ["/a/0"]


def test_diff_stops_at_its_limit():
    old = {f"k{i}": i for i in range(5000)}
    new = {k: v + 1 for k, v in old.items()}
    assert len(diff(old, new, limit=100)) == 100


def test_search_matches_keys_and_scalar_values_smart_case_in_document_order():
    hits = search(DOC, "ali")
    assert [(h.pointer, h.on_key) for h in hits] == [("/clients/alice", True)]
    assert search(DOC, "ALI") == []  # a capital makes it case-sensitive
    hits = search(DOC, "e")
    assert [h.pointer for h in hits][:4] == ["/server", "/server/name", "/clients",
                                            "/clients/alice"]
    assert [h.pointer for h in search(DOC, "7777")] == ["/server/port"]
    assert [h.pointer for h in search(DOC, "null")] == ["/note"]


def test_search_takes_regular_expressions_and_plain_text_when_not_one():
    assert [h.pointer for h in search(DOC, r"^(alice|bob)$")] == ["/clients/alice",
                                                                   "/clients/bob"]
    assert [h.pointer for h in search(DOC, r"\d{4}")] == ["/server/port"]
    assert [h.pointer for h in search({"a[": 1, "b": "(x"}, "a[")] == ["/a["]
    assert [h.pointer for h in search({"a[": 1, "b": "(x"}, "(")] == ["/b"]


def test_search_has_no_depth_limit_and_stops_at_its_limit():
    deep: object = "needle"
    for _ in range(5000):
        deep = [deep]
    assert len(search(deep, "needle")[0].path) == 5000
    assert len(search({str(i): "x" for i in range(50)}, "x", limit=7)) == 7


def test_resolve_turns_pointer_tokens_into_typed_steps():
    assert resolve(DOC, ["clients", "alice", "tags", "1"]) == ["clients", "alice", "tags", 1]
    assert resolve(DOC, ["limits", "01"]) is None
    assert resolve(DOC, ["limits", "3"]) is None
    assert resolve(DOC, ["nope"]) is None


def test_subschema_follows_properties_additional_properties_items_and_refs():
    schema = {
        "$defs": {"client": {"type": "object", "properties": {
            "score": {"type": "integer", "minimum": 0, "description": "points"}}}},
        "type": "object",
        "properties": {"clients": {"additionalProperties": {"$ref": "#/$defs/client"}},
                       "tags": {"type": "array", "items": {"type": "string", "maxLength": 9}}},
        "patternProperties": {"^x-": {"description": "an extension"}},
    }
    score = subschema(schema, ("clients", "zed", "score"))
    assert score is not None and score["description"] == "points"
    assert constraints(score) == [("minimum", 0)]
    tag = subschema(schema, ("tags", 4))
    assert tag is not None and constraints(tag) == [("maxLength", 9)]
    ext = subschema(schema, ("x-thing",))
    assert ext is not None and ext["description"] == "an extension"
    assert subschema(schema, ("unknown",)) is None


def test_the_watcher_sees_an_atomic_rename_and_a_lock_change(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, {"v": 1})
    seen: list[object] = []
    changed = threading.Event()

    def on_change(signature):
        seen.append(signature)
        changed.set()

    watcher = FileWatcher(str(path), str(path) + ".lock", on_change, interval=0.02)
    watcher.start()
    try:
        assert changed.wait(10)  # the first call comes at once
        for step in range(2):
            changed.clear()
            if step == 0:
                write_atomic(path, {"v": 2})  # same size, new inode
            else:
                (tmp_path / "state.json.lock").write_text("{}")
            assert changed.wait(10)
    finally:
        watcher.stop()
    assert len(seen) == 3 and len(set(seen)) == 3


def test_the_reader_diffs_versions_reports_a_broken_file_once_and_recovers(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, {"a": 1})
    reader = Reader(StatePaths.of(path))
    first = reader.read()
    assert isinstance(first, Loaded) and first.first and first.changes == []
    assert reader.read() is None  # same bytes: nothing to do
    write_atomic(path, '{"a": 1,}')
    broken = reader.read()
    assert isinstance(broken, Broken) and (broken.line, broken.column) == (1, 9)
    assert reader.read() is None  # reported once
    assert reader.document == {"a": 1}  # the last good version is kept
    write_atomic(path, {"a": 2})
    again = reader.read()
    assert isinstance(again, Loaded) and [c.pointer for c in again.changes] == ["/a"]
    os.unlink(path)
    gone = reader.read()
    assert isinstance(gone, Broken) and gone.missing


def test_the_reader_refuses_a_scalar_root(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, "42")
    result = Reader(StatePaths.of(path)).read()
    assert isinstance(result, Broken) and "root is a number" in result.reason


def test_human_size():
    assert [human_size(n) for n in (None, 0, 1023, 1536, 10 * 1024 * 1024)] == [
        "missing", "0 B", "1023 B", "1.5 KB", "10.0 MB"]


def test_the_demo_writer_keeps_the_document_valid_for_its_schema():
    from stateview.tui._demo_writer import step

    schema = load_schema(DEMO_SCHEMA)
    assert schema is not None
    doc = demo_document()
    rng = random.Random(7)
    for tick in range(1, 300):
        step(doc, rng, tick)
        assert schema.issues(doc) == [], tick
    assert len(doc["events"]) == 8


def test_the_demo_writer_process_stops_on_sigterm(tmp_path):
    from stateview.tui.demo import make_demo, start_writer, stop_writer

    path = make_demo(str(tmp_path))
    writer = start_writer(path, interval=0.05)
    deadline = time.monotonic() + 30
    while json.loads(Path(path).read_text())["stats"]["ticks"] < 2:
        assert time.monotonic() < deadline and writer.poll() is None
        time.sleep(0.05)
    stop_writer(writer)
    assert writer.returncode == 0


def test_the_plain_modules_and_the_cli_do_not_import_textual():
    code = (
        "import sys\n"
        "import stateview.cli, stateview.tui._demo_writer, stateview.tui._load, "
        "stateview.tui._diff, stateview.tui._watch, stateview.tui._edit_commit\n"
        "stateview.cli.build_parser()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"
