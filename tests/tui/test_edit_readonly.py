"""Every reason the UI cannot write is shown before anyone starts typing, and no editor opens.

The causes are real: ``--readonly``, another process holding the lock with ``exclusive=True``,
a read-only mount (a tmpfs mounted read-only; needs root), and a file this process may not
write (as root, the check runs in a child without the capability that lets root write
anything).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from stateview.tui.screens.add import AddScreen
from stateview.tui.screens.confirm import ConfirmScreen
from stateview.tui.screens.editor import EditorScreen

from ._helpers import DOC, drive, make_app, wait_until

DIALOGS = (EditorScreen, AddScreen, ConfirmScreen)


def status_text(app):
    return str(app.query_one("#status").render())


async def refuses_every_edit(pilot, app, reason):
    await wait_until(pilot, lambda: f"read-only: {reason}" in status_text(app),
                     f"the status bar to say read-only: {reason}")
    for key in ("e", "a", "r", "d", "u"):
        await pilot.press("j", key)
        await pilot.pause()
        assert not isinstance(app.screen, DIALOGS), key


def test_readonly_flag_is_shown_and_refuses_edits(state_file):
    app = make_app(state_file, readonly=True)
    before = state_file.read_bytes()

    async def scenario(pilot):
        await refuses_every_edit(pilot, app, "opened with --readonly")

    drive(app, scenario)
    assert state_file.read_bytes() == before


HOLDER = """
import os, sys, time, stateview
with stateview.open(sys.argv[1], exclusive=True):
    print("holding", flush=True)
    for _ in range(6000):
        if os.path.exists(sys.argv[2]):
            break
        time.sleep(0.01)
"""


def test_an_exclusive_holder_is_shown_with_its_pid(state_file):
    stop = state_file.with_name("stop")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(state_file), str(stop)],
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"holding\n"
        app = make_app(state_file)

        async def scenario(pilot):
            await refuses_every_edit(pilot, app, f"pid {holder.pid} holds the lock "
                                     "exclusively")

        drive(app, scenario)
    finally:
        stop.touch()
        holder.communicate(timeout=60)


@contextlib.contextmanager
def read_only_mount(tmp_path):
    """A tmpfs holding the state file, remounted read-only; skips where mounting is denied."""
    where = tmp_path / "mnt"
    where.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a read-only file system needs root")
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(where)],
                      capture_output=True).returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        (where / "state.json").write_text(json.dumps(DOC))
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        yield where / "state.json"
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_read_only_mount_is_shown_before_editing(tmp_path):
    with read_only_mount(tmp_path) as path:
        app = make_app(path)

        async def scenario(pilot):
            await refuses_every_edit(pilot, app, f"{path.parent} is on a read-only mount")

        drive(app, scenario)


CHILD = """
import asyncio, sys
from stateview.tui.app import StateViewApp

async def main():
    app = StateViewApp(sys.argv[1], display_name="state.json")
    async with app.run_test(size=(120, 35)) as pilot:
        for _ in range(1500):
            if app.loads and app.readonly_reason:
                break
            await pilot.pause(0.02)
        await pilot.press("j", "e")
        await pilot.pause()
        print(app.readonly_reason)
        print(type(app.screen).__name__)
        print(str(app.query_one("#status").render()).splitlines()[-1])

asyncio.run(main())
"""


def test_a_file_without_write_permission_is_shown_before_editing(state_file):
    state_file.chmod(0o444)
    command = [sys.executable, "-c", CHILD, str(state_file)]
    if os.geteuid() == 0:  # root writes anything unless it drops the capability to
        if not shutil.which("setpriv"):
            pytest.skip("as root this needs setpriv to drop CAP_DAC_OVERRIDE")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner",
                   *command]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    reason, screen, status = out.stdout.splitlines()[-3:]
    assert reason == "no write permission on state.json"
    assert screen == "Screen"  # the main screen: no editor opened
    assert "read-only: no write permission on state.json" in status
