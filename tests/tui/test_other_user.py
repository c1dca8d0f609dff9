"""The live view run by a user who may read the state file but not write it: the lock file
is open only to the writers, so the lock record is out of this user's sight."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import stateview

ROOT = os.geteuid() == 0

# The view, headless, as the other user: prints the status bar and the feed's first header
# once a commit by another process has reached the screen.
VIEW_AS_READER = """
import asyncio, sys
from stateview.tui.app import StateViewApp
from stateview.tui.widgets.feed import ChangeFeed
from stateview.tui.widgets.status import StatusBar

async def main():
    app = StateViewApp(sys.argv[1], None, display_name="state.json", poll_interval=0.05)
    async with app.run_test(size=(160, 35)) as pilot:
        for _ in range(3000):
            if app.loads >= 2:
                break
            if app.loads >= 1:
                print("loaded", flush=True)
                sys.stdin.readline()  # the test commits now
            await pilot.pause(0.02)
        await pilot.pause()
        feed = app.query_one(ChangeFeed)
        status = app.query_one(StatusBar)
        print("STATUS", status.render().plain.replace(chr(10), " | "))
        print("FEED", feed._header(feed.entries[0]).plain)

asyncio.run(main())
"""


def _python_for(uid: int, env: dict[str, str]) -> str | None:
    """An interpreter of this version that user ``uid`` can run with stateview and Textual
    (a virtualenv's may live under a home directory other users cannot reach)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for exe in (sys.executable, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        try:
            probe = subprocess.run(
                [exe, "-c", f"import sys, textual, stateview; assert sys.version[:{len(version)}]"
                 f" == {version!r}"], user=uid, group=uid, extra_groups=[], env=env,
                capture_output=True, timeout=60)
        except OSError:
            continue
        if probe.returncode == 0:
            return exe
    return None


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A directory every user can read (pytest's own temp dirs are private)."""
    where = Path(tempfile.mkdtemp(prefix="stateview-reader-", dir="/tmp"))
    os.chmod(where, 0o755)
    yield where
    shutil.rmtree(where, ignore_errors=True)


@pytest.mark.skipif(not ROOT, reason="acting as another user needs root")
def test_a_reader_who_may_not_open_the_lock_file_is_told_the_holder_is_unknown(
        reachable_dir: Path) -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(stateview.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *(p for p in sys.path if p.endswith("site-packages"))]), "HOME": "/tmp"}
    python = _python_for(4321, env)
    if python is None:
        pytest.skip("no interpreter with stateview and Textual that another user may run")
    path = reachable_dir / "state.json"
    with stateview.open(path, default={"n": 0}, exclusive=True) as state:
        os.chmod(path, 0o644)
        state["n"] = 1  # the lock file now has the mode it keeps: 0600
        assert os.stat(str(path) + ".lock").st_mode & 0o077 == 0
        viewer = subprocess.Popen(
            [python, "-c", VIEW_AS_READER, str(path)], user=4321, group=4321,
            extra_groups=[], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            assert viewer.stdout is not None and viewer.stdin is not None
            assert viewer.stdout.readline().strip() == "loaded"
            state["n"] = 2  # held exclusively, by this process, while the reader watches
            viewer.stdin.write("\n")
            viewer.stdin.flush()
            out, err = viewer.communicate(timeout=120)
        finally:
            if viewer.poll() is None:
                viewer.kill()
                viewer.wait()
    assert viewer.returncode == 0, err
    status = next(line for line in out.splitlines() if line.startswith("STATUS"))
    feed = next(line for line in out.splitlines() if line.startswith("FEED"))
    # The writer holds the lock: "lock free" and "none recorded" would be false.
    assert "lock free" not in status and "none recorded" not in status, status
    assert "lock not readable (only its writers may)" in status, status
    assert "last commit not known (the lock record is for its writers)" in status, status
    assert "read-only: no write permission" in status, status
    assert "writer unknown (lock file not readable)" in feed, feed


_WRITE_PROBLEM_AS = """
import os, sys
from stateview._paths import StatePaths
from stateview.tui._writable import write_problem
os.seteuid(int(sys.argv[2]))
print(write_problem(StatePaths.of(sys.argv[1])))
"""


@pytest.mark.skipif(not ROOT, reason="acting as another user needs root")
def test_a_file_another_user_owns_in_a_sticky_directory_is_read_only_before_typing() -> None:
    """Everyone may write it, but only its owner may rename over it there, as commits do."""
    shared = Path(tempfile.mkdtemp(prefix="stateview-sticky-", dir="/tmp"))
    try:
        os.chmod(shared, 0o1777)
        path = shared / "state.json"
        with stateview.open(path, default={"n": 0}):
            os.chmod(path, 0o666)
        said = subprocess.run([sys.executable, "-c", _WRITE_PROBLEM_AS, str(path), "4321"],
                              capture_output=True, text=True, timeout=60)
        assert said.returncode == 0, said.stderr
        assert said.stdout.strip() == (
            f"{shared} is a sticky directory, where only the owner of state.json (uid 0) may "
            "replace it, as every commit does")
        # Its owner may: no problem.
        own = subprocess.run([sys.executable, "-c", _WRITE_PROBLEM_AS, str(path), "0"],
                             capture_output=True, text=True, timeout=60)
        assert own.stdout.strip() == "None", own.stderr
        # And the problem is real: a commit by that user is refused at the rename.
        os.chmod(f"{path}.lock", 0o666)
        refused = subprocess.run(
            [sys.executable, "-c", "import os, sys, stateview\nos.seteuid(4321)\n"
             "s = stateview.open(sys.argv[1])\ns['n'] = 1", str(path)],
            capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0 and "Operation not permitted" in refused.stderr
    finally:
        shutil.rmtree(shared, ignore_errors=True)
