"""The public face: only these names, so nothing private leaks by accident."""

import pickle

import stateview


def test_all_lists_exactly_the_public_names():
    assert sorted(stateview.__all__) == [
        "ChangeEvent", "ChangeSource", "Closed", "CommitFailed", "CorruptFile", "DictView",
        "FileSystem", "InvalidValue", "JSON", "LeftoverKind", "ListView", "LockTimeout",
        "Node", "PointerError", "RecoveryAction", "RecoveryVerdict", "SchemaError",
        "SchemaViolation", "StateError", "StateFile", "StateFileMissing", "StorageError",
        "__version__", "aopen", "open",
    ]
    for name in stateview.__all__:
        assert hasattr(stateview, name)


def test_every_error_is_a_state_error_and_pickles_with_its_data():
    errors = [
        stateview.InvalidValue("/a/0", "bad"),
        stateview.SchemaViolation([("/a", "type", "/properties/a/type", "1 is not a string")]),
        stateview.SchemaError("s.json", "bad"),
        stateview.PointerError("/x", "no such key"),
        stateview.CorruptFile("f.json", "bad", 3, 4, "/a"),
        stateview.StateFileMissing("f.json"),
        stateview.LockTimeout("f.json.lock", {"pid": 12, "program": "srv"}, 1.0),
        stateview.CommitFailed("f.json", "syncing", OSError(5, "Input/output error")),
        stateview.StorageError("f.json", "reading", OSError(5, "Input/output error")),
        stateview.Closed("gone"),
    ]
    for error in errors:
        assert isinstance(error, stateview.StateError)
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert copy.__dict__ == error.__dict__


def test_errors_subclass_the_matching_builtins():
    assert issubclass(stateview.LockTimeout, TimeoutError)
    assert issubclass(stateview.InvalidValue, ValueError)
    assert issubclass(stateview.PointerError, KeyError)
    assert issubclass(stateview.CommitFailed, stateview.StorageError)
    assert issubclass(stateview.StorageError, OSError)
    assert issubclass(stateview.StateFileMissing, FileNotFoundError)


def test_a_program_that_never_awaits_does_not_import_asyncio(tmp_path):
    import subprocess
    import sys

    code = ("import sys, stateview\n"
            f"s = stateview.open({str(tmp_path / 's.json')!r}, default={{}})\n"
            "s['a'] = 1\n"
            "with s.transaction() as root:\n"
            "    root['b'] = 2\n"
            "s.close()\n"
            "print('asyncio' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "False"
