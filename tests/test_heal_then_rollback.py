"""After open restored a good copy, memory's idea of the durable version is that copy."""

import json

import pytest

import stateview


def test_a_rollback_after_open_restored_a_backup_goes_back_to_the_restored_copy(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"n": 1,')  # torn
    (tmp_path / "state.json.bak").write_text('{"n": 0}\n')
    state = stateview.open(path)
    assert state.snapshot() == {"n": 0}
    with pytest.raises(RuntimeError), state.transaction() as root:
        root["n"] = 99
        raise RuntimeError
    assert state.snapshot() == {"n": 0}
    state["n"] = 2
    assert json.loads(path.read_text()) == {"n": 2}
    assert state.refresh() is False  # memory and file agree: nothing to reload
    state.close()
    assert [p.name for p in tmp_path.glob("state.json.corrupt-*")]
