"""Crash at every step, for real: a child process commits and exits at step k.

For every step k of the commit protocol (and of open's creation of the file, of
`stateview set`, and of open's healing of a damaged file), a real child process commits
through a seam that calls ``os._exit(137)`` after step k. The parent then opens the directory
(and runs ``stateview recover --apply`` once it exists) and checks: old or new, never a mix; the
new version if the child acknowledged the commit; the bad bytes of a damaged file kept.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

import stateview
from stateview import _jsontext

from . import simfs
from .harness import (
    clone,
    count,
    describe,
    files,
    forget_lock,
    run_recover,
    temps,
)

NAME = "state.json"


def doc(n: int) -> dict[str, Any]:
    return {"version": n, "clients": {"alice": {"score": n}}, "log": [n] * 4}


# name: (backups, history, how). history 0: no file yet.
SCENARIOS = {
    "first-commit": (1, 0, "first"),
    "backups0": (0, 2, "transaction"),
    "backups1": (1, 2, "transaction"),
    "backups3-rotation": (3, 4, "transaction"),
    "autocommit": (1, 2, "autocommit"),
    "cli-set": (1, 2, "cli-set"),
    "heal-damaged-file": (1, 2, "heal"),
    "recover-apply": (1, 3, "recover"),
}


def _template(root: Any, scenario: str) -> simfs.Snapshot:
    backups, history, how = SCENARIOS[scenario]
    d = root / "template"
    d.mkdir()
    if history:
        with stateview.open(d / NAME, default=doc(1), backups=backups) as state:
            for v in range(2, history + 1):
                with state.transaction() as r:
                    r.clear()
                    r.update(doc(v))
        forget_lock(d / NAME)
    if how == "heal":
        # An editor saved half a file; NAME.bak (version 1) is the good copy.
        (d / NAME).write_bytes(_jsontext.dumps(doc(2)).encode()[:30])
    if how == "recover":
        # What crashes leave: the file unreadable, NAME.bak with version 2, a torn temp and a
        # complete one with version 3 (newer than the backup).
        (d / NAME).write_bytes(b'{"torn": ')
        (d / f".{NAME}.aaaaaaaaaaaa.tmp").write_bytes(_jsontext.dumps(doc(3)).encode()[:20])
        (d / f".{NAME}.bbbbbbbbbbbb.tmp").write_bytes(_jsontext.dumps(doc(3)).encode())
    return simfs.Snapshot.take(str(d))


def _expected(scenario: str, new: dict[str, Any]) -> tuple[list[Any], Any]:
    """(versions allowed after a crash, the version an acknowledged commit shows)."""
    _backups, history, how = SCENARIOS[scenario]
    if how == "first":
        return [None, new], new
    if how == "heal":
        return [doc(1)], doc(1)
    if how == "recover":
        return [doc(2), doc(3)], doc(3)
    if how in ("autocommit", "cli-set"):
        return [doc(history), dict(doc(history), version=new["version"])], dict(
            doc(history), version=new["version"])
    return [doc(history), new], new


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_child_killed_at_every_step_leaves_old_or_new(
    tmp_path: Any, zygote: Any, scenario: str
) -> None:
    backups, _, how = SCENARIOS[scenario]
    template = _template(tmp_path, scenario)
    new = doc(50)
    allowed, acked_value = _expected(scenario, new)
    damaged = files(tmp_path / "template").get(NAME) if how in ("heal", "recover") else None

    # A fault-free child first, to learn how many steps the protocol takes here.
    path = clone(template, tmp_path / "count")
    ack = str(tmp_path / "count.ack")
    assert zygote.run("commit", path=path, how=how, value=new, backups=backups,
                      crash_at=None, ack=ack) == 0, _error(ack)
    with open(ack, "rb") as f:
        steps = int(_jsontext.loads(f.read(), ack)["steps"])
    assert steps >= 5

    problems = []
    for k in range(steps + 1):
        path = clone(template, tmp_path / f"k{k}")
        ack = str(tmp_path / f"k{k}.ack")
        code = zygote.run("commit", path=path, how=how, value=new, backups=backups,
                          crash_at=k, ack=ack)
        acknowledged = os.path.exists(ack)
        if code == 137:
            count("processes_killed")
        else:
            assert code == 0 and k == steps, f"k={k}: exit {code}: {_error(ack)}"
        count("commits_acknowledged", acknowledged)
        try:
            _check(path, backups, how, allowed, acked_value, acknowledged, damaged, k)
        except AssertionError as e:
            problems.append(str(e))
        finally:
            forget_lock(path)
    assert not problems, "\n\n".join(problems[:6])


def _check(path: str, backups: int, how: str, allowed: list[Any], acked_value: Any,
           acknowledged: bool, damaged: bytes | None, k: int) -> None:
    directory = os.path.dirname(path)
    listing = describe(directory)
    default = {"fresh": True} if how == "first" else stateview._statefile._UNSET
    try:
        with stateview._statefile.StateFile(path, default=default, backups=backups) as state:
            value = state.snapshot()
    except stateview.StateError as e:
        count("failed_opens")
        raise AssertionError(f"k={k}: open failed: {e}\n{listing}") from e
    if value == default:
        value = None
    if value not in allowed:
        count("torn_commits")
        raise AssertionError(f"k={k}: neither old nor new: {value}\n{listing}")
    if acknowledged and value != acked_value:
        count("lost_commits")
        raise AssertionError(f"k={k}: acknowledged commit lost: {value}\n{listing}")
    if damaged is not None:
        assert damaged in files(directory).values(), f"k={k}: damaged bytes gone\n{listing}"
    _code, out, err = run_recover(path)
    assert "Traceback" not in err, err
    assert not temps(path), f"k={k}: recover left temp files:\n{out}{err}"
    forget_lock(path)


def _error(ack: str) -> str:
    try:
        with open(ack + ".error") as f:
            return f.read()
    except FileNotFoundError:
        return ""
