"""A state file deleted while open, and something else put at its name (someone else's FIFO,
a link to a device or to another file, in a shared directory): reading it back fails at once
with a clear error, never blocks for ever, never reads what the link points to."""

from __future__ import annotations

import os
from typing import Any

import pytest

import stateview


def _swap(path: Any, kind: str, tmp_path: Any) -> None:
    os.unlink(path)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-dev-zero":
        os.symlink("/dev/zero", path)
    else:
        secret = tmp_path / "secret.json"
        secret.write_text('{"n": "secret"}\n')
        os.symlink(secret, path)


KINDS = ["fifo", "link-to-dev-zero", "link-to-another-file"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", KINDS)
def test_commit_after_the_state_file_was_swapped_fails_at_once(tmp_path: Any, kind: str) -> None:
    path = tmp_path / "state.json"
    with stateview.open(path, default={"n": 0}) as state:
        state["n"] = 1
        with stateview.open(path) as other:  # another writer's commit makes ours reload
            other["n"] = 2
        _swap(path, kind, tmp_path)
        with pytest.raises(stateview.StorageError, match="another writer's commit"):
            state["n"] = 3
        assert state["n"] != "secret"
    with stateview.open(tmp_path / "next.json", default={}, lock_timeout=1):
        pass  # nothing held on: the process goes on


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("readonly", [True, False])
def test_refresh_after_the_state_file_was_swapped_fails_at_once(
        tmp_path: Any, kind: str, readonly: bool) -> None:
    path = tmp_path / "state.json"
    with stateview.open(path, default={"n": 0}) as writer:
        writer["n"] = 1
    with stateview.open(path, readonly=readonly) as state:
        _swap(path, kind, tmp_path)
        with pytest.raises(stateview.StorageError, match="another writer's commit"):
            state.refresh()
        assert state.snapshot() == {"n": 1}
