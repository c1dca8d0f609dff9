"""The recovery planner and executor on hand-built post-crash directories.

Each golden case builds a directory the way a crash, a power cut or a hand edit leaves it,
checks the plan (what every file is and what will happen to it), that the dry run changed
nothing, and what ``apply`` leaves behind. Recovery interrupted at every step (an injected
error, a simulated stop, a real ``os._exit``) must finish the job when run again and never
lose the only copy of a version.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from recover_helpers import (
    CORRUPT,
    FAILS_SCHEMA,
    GOOD,
    NEWER,
    OLDER,
    SCHEMA,
    TRUNCATED,
    StepFS,
    Stop,
    dead_pid,
    listing,
    put,
    temp_name,
    write_stale_lock,
)

import stateview
from stateview._fs import FileSystem
from stateview._lock import probe, read_info
from stateview._paths import StatePaths
from stateview._recovery import (
    apply,
    candidates,
    heal_on_open,
    plan,
    render_outcome,
    render_plan,
)
from stateview._schema import load_schema

FS = FileSystem()
TESTS = Path(__file__).resolve().parent


def plan_for(state: Path, schema=None, fs=FS):
    return plan(StatePaths.of(state), fs, load_schema(schema))


def actions(p) -> dict[str, str]:
    return {item.file.name: item.action for item in p.items}


def corrupt_copies(directory: Path, name: str = "state.json") -> list[Path]:
    return sorted(directory.glob(f"{name}.corrupt-*"))


def temps(directory: Path) -> list[Path]:
    return sorted(directory.glob(".state.json.*.tmp"))


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


# -- golden cases ------------------------------------------------------------------------


def test_good_file_with_orphan_temps_removes_them_and_keeps_the_backup(state: Path):
    put(state, GOOD)
    put(state.with_name("state.json.bak"), OLDER, age=60)
    put(temp_name(state, "newer1"), NEWER)
    put(temp_name(state, "trunc1"), TRUNCATED)
    p = plan_for(state)
    assert p.state == "good" and p.restore_from is None
    assert actions(p) == {"state.json": "keep", ".state.json.newer1.tmp": "remove",
                          ".state.json.trunc1.tmp": "remove", "state.json.bak": "keep"}
    by_name = {i.file.name: i for i in p.items}
    assert by_name[".state.json.trunc1.tmp"].file.json == "incomplete"
    assert "never finished writing" in by_name[".state.json.trunc1.tmp"].reason
    assert by_name[".state.json.newer1.tmp"].file.json == "complete"
    assert by_name["state.json.bak"].file.relation == "older"
    assert p.actionable and not p.clean and not p.problems

    outcome = apply(p, FS)
    assert outcome.fixed, render_outcome(outcome)
    assert [s.action for s in outcome.steps] == ["remove", "remove"]
    assert state.read_bytes() == GOOD
    assert state.with_name("state.json.bak").read_bytes() == OLDER
    assert temps(state.parent) == []
    assert plan_for(state).clean


def test_missing_file_with_a_backup_restores_it_and_keeps_the_backup(state: Path):
    put(state.with_name("state.json.bak"), GOOD, age=30)
    p = plan_for(state)
    assert p.state == "missing"
    assert actions(p) == {"state.json": "restore", "state.json.bak": "restore-from"}
    outcome = apply(p, FS)
    assert outcome.fixed
    assert state.read_bytes() == GOOD
    assert state.with_name("state.json.bak").read_bytes() == GOOD
    assert corrupt_copies(state.parent) == [] and temps(state.parent) == []


@pytest.mark.parametrize("newest", ["temp", "backup"])
def test_corrupt_file_with_backup_and_temp_restores_the_newest_valid_copy(
        state: Path, newest: str):
    put(state, CORRUPT)
    bak = put(state.with_name("state.json.bak"), OLDER, age=100 if newest == "temp" else 10)
    tmp = put(temp_name(state), NEWER, age=10 if newest == "temp" else 100)
    truncated = put(temp_name(state, "zzzzzz"), TRUNCATED, age=1)  # newest, but incomplete
    p = plan_for(state, SCHEMA)
    assert p.state == "unreadable"
    winner, loser = (tmp, bak) if newest == "temp" else (bak, tmp)
    assert p.restore_from is not None and p.restore_from.path == str(winner)
    acts = actions(p)
    assert acts["state.json"] == "set-aside" and acts[winner.name] == "restore-from"
    assert acts[truncated.name] == "remove"
    assert acts[loser.name] == ("keep" if loser is bak else "remove")
    set_aside = p.state_item
    assert "line 4, column 3" in set_aside.reason and set_aside.to is not None

    outcome = apply(p, FS)
    assert outcome.fixed, render_outcome(outcome)
    assert state.read_bytes() == (NEWER if newest == "temp" else OLDER)
    assert bak.read_bytes() == OLDER  # never pushed out by rotation
    assert temps(state.parent) == []
    [aside] = corrupt_copies(state.parent)
    assert aside.read_bytes() == CORRUPT


def test_corrupt_file_with_a_backup_that_fails_the_schema_changes_nothing(state: Path):
    put(state, CORRUPT)
    put(state.with_name("state.json.bak"), FAILS_SCHEMA)
    put(temp_name(state), TRUNCATED)
    before = listing(state.parent)
    p = plan_for(state, SCHEMA)
    assert p.restore_from is None and p.state == "unreadable"
    assert set(actions(p).values()) == {"keep"}
    assert any("line 4, column 3" in problem for problem in p.problems)
    assert any("fails the schema" in a and "--schema" in a for a in p.advice)
    assert any("stateview check" in a for a in p.advice)
    outcome = apply(p, FS)
    assert not outcome.fixed and outcome.steps == ()
    assert listing(state.parent) == before
    # Without the schema the same backup is a good copy: the schema is what refused it.
    assert plan_for(state).restore_from is not None


def test_corrupt_file_and_nothing_else_is_left_for_a_person_to_fix(state: Path):
    put(state, CORRUPT)
    before = listing(state.parent)
    p = plan_for(state)
    assert actions(p) == {"state.json": "keep"}
    assert p.problems and "line 4, column 3" in p.problems[0]
    assert "fix it by hand at line 4, column 3" in p.advice[0]
    text = render_plan(p)
    assert "--apply" not in text and "What to do" in text
    outcome = apply(p, FS)
    assert not outcome.fixed and listing(state.parent) == before


def test_stale_lock_record_is_cleared_and_the_lock_file_is_never_unlinked(state: Path):
    put(state, GOOD)
    lock = write_stale_lock(state, dead_pid())
    inode = os.stat(lock).st_ino
    assert probe(str(lock)).stale
    p = plan_for(state)
    assert actions(p) == {"state.json": "keep", "state.json.lock": "clear-stale-lock-record"}
    assert "no longer running" in p.items[-1].reason
    outcome = apply(p, FS)
    assert outcome.fixed
    assert [s.action for s in outcome.steps] == ["clear-stale-lock-record"]
    assert os.stat(lock).st_ino == inode
    assert read_info(str(lock))["held"] is False
    assert not probe(str(lock)).stale and not probe(str(lock)).held
    assert plan_for(state).clean


def test_live_lock_holder_is_named_and_nothing_is_touched(state: Path):
    put(state, GOOD)
    put(temp_name(state), NEWER)
    with holding_child(state) as child:
        before = listing(state.parent)
        p = plan_for(state)
        assert p.holder is not None and p.holder["pid"] == child.pid
        assert set(actions(p).values()) == {"keep"}
        assert str(child.pid) in p.problems[0]
        outcome = apply(p, FS)
        assert outcome.blocked is not None and outcome.blocked["pid"] == child.pid
        assert not outcome.fixed and outcome.steps == ()
        assert f"pid {child.pid}" in render_outcome(outcome)
        assert listing(state.parent) == before
    # Once the holder is gone the temp file is an orphan.
    assert actions(plan_for(state))[temp_name(state).name] == "remove"


def test_symlinked_state_file_is_restored_next_to_its_target(tmp_path: Path):
    real = tmp_path / "real"
    real.mkdir()
    target = put(real / "state.json", CORRUPT)
    put(real / "state.json.bak", GOOD)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    p = plan_for(link)
    assert p.paths.target == str(target) and p.restore_from is not None
    assert "a symlink to" in render_plan(p)
    assert apply(p, FS).fixed
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert link.read_bytes() == GOOD
    assert [c.read_bytes() for c in corrupt_copies(real)] == [CORRUPT]
    assert sorted(os.listdir(tmp_path)) == ["link.json", "real"]


def test_missing_file_with_only_a_complete_temp_restores_it_and_removes_the_temp(state: Path):
    tmp = put(temp_name(state), GOOD)  # a first commit whose rename a power cut undid
    p = plan_for(state)
    assert actions(p) == {"state.json": "restore", tmp.name: "restore-from"}
    assert "removed once the restored file is durable" in p.items[1].reason
    assert apply(p, FS).fixed
    assert state.read_bytes() == GOOD and not tmp.exists()


def test_missing_file_with_only_a_truncated_temp_clears_it_so_the_default_can_be_created(
        state: Path):
    tmp = put(temp_name(state), TRUNCATED)
    p = plan_for(state)
    assert p.state == "missing" and p.restore_from is None
    assert actions(p) == {"state.json": "keep", tmp.name: "remove"}
    outcome = apply(p, FS)
    assert not tmp.exists()
    assert not outcome.fixed and outcome.after.problems  # the file is still missing
    with stateview.open(state, default={"clients": {}}) as s:
        assert s.snapshot() == {"clients": {}}


def test_only_an_old_backup_generation_is_enough(state: Path):
    put(state.with_name("state.json.bak.3"), GOOD)
    p = plan_for(state)
    assert actions(p) == {"state.json": "restore", "state.json.bak.3": "restore-from"}
    assert apply(p, FS).fixed and state.read_bytes() == GOOD
    assert state.with_name("state.json.bak.3").read_bytes() == GOOD


def test_empty_file_after_a_power_cut_is_set_aside_and_restored(state: Path):
    put(state, b"")
    put(state.with_name("state.json.bak"), GOOD)
    p = plan_for(state)
    assert p.state == "unreadable" and actions(p)["state.json"] == "set-aside"
    assert apply(p, FS).fixed and state.read_bytes() == GOOD
    assert [c.read_bytes() for c in corrupt_copies(state.parent)] == [b""]


def test_backup_wins_over_a_temp_file_of_the_same_age(state: Path):
    bak = put(state.with_name("state.json.bak"), OLDER)
    tmp = put(temp_name(state), NEWER)
    os.utime(tmp, ns=(os.stat(bak).st_atime_ns, os.stat(bak).st_mtime_ns))
    assert plan_for(state).restore_from.path == str(bak)


def test_file_that_fails_the_schema_is_left_alone_with_its_temps(state: Path):
    put(state, FAILS_SCHEMA)
    put(state.with_name("state.json.bak"), GOOD)
    put(temp_name(state), GOOD)
    p = plan_for(state, SCHEMA)
    assert p.state == "invalid" and set(actions(p).values()) == {"keep"}
    assert "fails the schema at /clients/alice" in p.problems[0]
    assert any("--schema" in a for a in p.advice)
    assert not p.actionable and not p.clean


def test_unjudgeable_temp_is_kept_when_restoring(state: Path):
    put(state.with_name("state.json.bak"), GOOD)
    odd = temp_name(state, "dirdir")
    odd.mkdir()  # a "temp file" that cannot be read: it might have been the newest version
    p = plan_for(state)
    assert actions(p)[odd.name] == "keep" and p.problems
    outcome = apply(p, FS)
    assert state.read_bytes() == GOOD and odd.is_dir() and not outcome.fixed


def test_a_step_that_fails_is_reported_and_the_rest_still_happens(state: Path):
    put(state, GOOD)
    odd = temp_name(state, "dirdir")
    odd.mkdir()
    plain = put(temp_name(state), NEWER)
    outcome = apply(plan_for(state), FS)
    failed = [s for s in outcome.steps if not s.ok]
    assert [s.path for s in failed] == [str(odd)]
    assert not plain.exists() and not outcome.fixed
    assert f"FAILED: could not remove {odd.name}" in render_outcome(outcome)


def prev_name(state: Path, tag: str = "0a1b2c") -> Path:
    return state.with_name(f".{state.name}.prev-{tag}.tmp")


def test_previous_version_left_by_a_commit_becomes_the_newest_backup(state: Path):
    # The commit was durable but stopped before rotating: .prev must become NAME.bak, and
    # the backups already there move up one generation; none is dropped.
    put(state, NEWER)
    prev = put(prev_name(state), GOOD, age=10)
    put(state.with_name("state.json.bak"), OLDER, age=100)
    p = plan_for(state)
    assert actions(p) == {"state.json": "keep", prev.name: "move-to-backup",
                          "state.json.bak": "keep"}
    outcome = apply(p, FS)
    assert outcome.fixed, render_outcome(outcome)
    assert [s.action for s in outcome.steps] == ["move-to-backup"]
    assert state.with_name("state.json.bak").read_bytes() == GOOD
    assert state.with_name("state.json.bak.2").read_bytes() == OLDER
    assert not prev.exists() and state.read_bytes() == NEWER


def test_previous_version_fills_the_gap_a_stopped_rotation_left(state: Path):
    put(state, NEWER)
    prev = put(prev_name(state), GOOD, age=10)
    put(state.with_name("state.json.bak.2"), OLDER, age=100)  # bak -> bak.2 happened
    assert apply(plan_for(state), FS).fixed
    assert state.with_name("state.json.bak").read_bytes() == GOOD
    assert state.with_name("state.json.bak.2").read_bytes() == OLDER
    assert not state.with_name("state.json.bak.3").exists() and not prev.exists()


def test_previous_link_to_the_current_file_is_removed(state: Path):
    put(state, GOOD)
    prev = prev_name(state)
    os.link(state, prev)  # stopped after linking, before the rename
    put(temp_name(state), NEWER)
    p = plan_for(state)
    assert actions(p) == {"state.json": "keep", temp_name(state).name: "remove",
                          prev.name: "remove"}
    assert apply(p, FS).fixed and not prev.exists() and state.read_bytes() == GOOD


def test_previous_version_older_than_the_newest_backup_is_removed_as_rotated_past(state: Path):
    # A crash between a commit's rename and its rotation leaves a .prev; the next commit
    # rotates its own previous version into NAME.bak, leaving the stale one behind. Kept, such
    # files would pile up after every crash (and `check` would report them for ever).
    put(state, NEWER)
    prev = put(prev_name(state), OLDER, age=100)
    put(state.with_name("state.json.bak"), GOOD, age=10)
    p = plan_for(state)
    assert actions(p)[prev.name] == "remove" and not p.clean
    assert apply(p, FS).fixed and not prev.exists()
    assert state.with_name("state.json.bak").read_bytes() == GOOD


def test_missing_file_is_restored_from_a_previous_version(state: Path):
    prev = put(prev_name(state), GOOD)
    p = plan_for(state)
    assert actions(p) == {"state.json": "restore", prev.name: "restore-from"}
    assert apply(p, FS).fixed and state.read_bytes() == GOOD and not prev.exists()


def builders():
    """Every golden directory, for the dry-run test."""

    def good_and_temp(s):
        put(s, GOOD)
        put(temp_name(s), NEWER)

    def missing_and_backup(s):
        put(s.with_name("state.json.bak"), GOOD)

    def corrupt_backup_temp(s):
        put(s, CORRUPT)
        put(s.with_name("state.json.bak"), OLDER, age=50)
        put(temp_name(s), NEWER, age=5)

    def corrupt_and_nothing(s):
        put(s, CORRUPT)

    def stale_lock(s):
        put(s, GOOD)
        write_stale_lock(s, dead_pid())

    return [good_and_temp, missing_and_backup, corrupt_backup_temp, corrupt_and_nothing,
            stale_lock]


@pytest.mark.parametrize("build", builders(), ids=lambda b: b.__name__)
def test_dry_run_changes_nothing(state: Path, build):
    build(state)
    before = listing(state.parent)
    p = plan_for(state)
    render_plan(p)
    json.dumps(p.to_dict())
    assert listing(state.parent) == before
    assert apply(p, FS) is not None
    again = plan_for(state)
    assert again.clean or again.problems  # applying leaves only what needs a person


def test_plan_as_json_has_the_documented_fields(state: Path):
    put(state, CORRUPT)
    put(state.with_name("state.json.bak"), GOOD)
    doc = plan_for(state, SCHEMA).to_dict()
    assert set(doc) == {"file", "target", "schema", "state", "holder", "restore_from",
                        "actionable", "clean", "problems", "advice", "items"}
    first = doc["items"][0]
    assert first["kind"] == "state" and first["json"] == "incomplete"
    assert first["problem"]["line"] == 4 and first["problem"]["column"] == 3
    assert first["action"] == "set-aside" and first["to"].startswith(str(state) + ".corrupt-")
    assert doc["items"][1]["schema"] == "valid" and doc["items"][1]["action"] == "restore-from"


def test_recovery_running_beside_a_busy_writer_never_breaks_its_commits(state: Path):
    # A non-exclusive writer holds the lock only while it commits: recovery may plan while a
    # temp file is in flight, but it applies under the lock, so it never removes one.
    # The writer commits until told to stop (bounded), so the rounds overlap its commits
    # however fast the disk is.
    stop = state.with_name("stop")
    code = ("import os, sys, stateview\n"
            "s = stateview.open(sys.argv[1], default={'n': -1})\n"
            "print('ready', flush=True)\n"
            "i = 0\n"
            "while i < 20000 and not os.path.exists(sys.argv[2]):\n"
            "    s['n'] = i\n"
            "    i += 1\n"
            "s.close()\n"
            "print(i - 1, flush=True)\n")
    writer = subprocess.Popen([sys.executable, "-c", code, str(state), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        rounds = 0
        while writer.poll() is None and rounds < 20:
            # A planted orphan each round makes every round take the lock and remove it.
            orphan = put(temp_name(state, f"orphan{rounds}"), TRUNCATED)
            outcome = apply(plan_for(state), FS, lock_timeout=30)
            assert all(step.ok for step in outcome.steps), render_outcome(outcome)
            assert [s.path for s in outcome.steps] == [str(orphan)]
            rounds += 1
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert json.loads(state.read_bytes()) == {"n": int(out.split()[-1])}
    stop.unlink()
    assert rounds == 20
    assert plan_for(state).clean


# -- interrupted recovery ----------------------------------------------------------------


def interrupted_scene(directory: Path) -> Path:
    """Corrupt file, an older backup, a newer complete temp, a truncated temp, a stale lock,
    and the .prev version of a commit that stopped before it became the backup."""
    s = directory / "state.json"
    put(s, CORRUPT)
    put(directory / "state.json.bak", OLDER, age=100)
    put(prev_name(s), GOOD, age=50)
    put(temp_name(s, "good00"), NEWER, age=10)
    put(temp_name(s, "trunc0"), TRUNCATED, age=5)
    write_stale_lock(s, dead_pid())
    return s


def assert_nothing_lost(s: Path) -> None:
    """Every version still has a name: the corrupt bytes and the newest good one."""
    everything = [p.read_bytes() for p in s.parent.iterdir() if p.is_file()]
    for version in (CORRUPT, NEWER, OLDER, GOOD):
        assert version in everything


def assert_finished(s: Path) -> None:
    assert s.read_bytes() == NEWER
    assert (s.parent / "state.json.bak").read_bytes() == GOOD
    assert (s.parent / "state.json.bak.2").read_bytes() == OLDER
    assert not prev_name(s).exists()
    assert [c.read_bytes() for c in corrupt_copies(s.parent)] == [CORRUPT]
    assert temps(s.parent) == []
    assert not probe(str(s) + ".lock").stale
    assert plan_for(s).clean


def count_steps(tmp_path: Path) -> int:
    probe_dir = tmp_path / "count"
    probe_dir.mkdir()
    s = interrupted_scene(probe_dir)
    fs = StepFS()
    assert apply(plan_for(s, fs=fs), fs).fixed
    assert_finished(s)
    return len(fs.calls)


@pytest.mark.parametrize("mode", ["fail", "stop"])
def test_recovery_interrupted_at_every_step_finishes_when_run_again(tmp_path: Path, mode: str):
    steps = count_steps(tmp_path)
    assert steps >= 10
    for k in range(1, steps + 1):
        directory = tmp_path / f"{mode}{k}"
        directory.mkdir()
        s = interrupted_scene(directory)
        fs = StepFS(k, mode)
        try:
            outcome = apply(plan_for(s, fs=fs), fs)
        except Stop:
            pass
        else:
            assert mode == "fail" and not outcome.fixed, f"step {k} did not fail"
        assert_nothing_lost(s)
        again = apply(plan_for(s), FS)
        assert again.fixed, f"step {k}: {render_outcome(again)}"
        assert_finished(s)
        assert apply(plan_for(s), FS).steps == ()  # a third run has nothing to do


_CHILD = textwrap.dedent("""
    # Imports once (jsonschema is slow to import), then forks one process per step k; each
    # runs recovery and dies with os._exit at its step, holding the lock, mid-protocol.
    import json, os, sys
    sys.path.insert(0, {tests!r})
    from recover_helpers import StepFS
    from stateview._paths import StatePaths
    from stateview._recovery import apply, plan
    codes = {{}}
    for k, state in json.loads(sys.argv[1]):
        pid = os.fork()
        if pid == 0:
            fs = StepFS(k, "exit")
            apply(plan(StatePaths.of(state), fs, None), fs)
            os._exit(3)  # not reached when step k exists
        codes[k] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    print(json.dumps(codes))
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_recovery_killed_with_os_exit_at_every_step_finishes_when_run_again(tmp_path: Path):
    steps = count_steps(tmp_path)
    scenes = {}
    for k in range(1, steps + 1):
        directory = tmp_path / f"exit{k}"
        directory.mkdir()
        scenes[k] = interrupted_scene(directory)
    work = json.dumps([[k, str(s)] for k, s in scenes.items()])
    done = subprocess.run([sys.executable, "-c", _CHILD.format(tests=str(TESTS)), work],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout).values()) == {77}
    for k, s in scenes.items():
        assert_nothing_lost(s)
        # The process died holding the lock: its record now names a dead process.
        assert probe(str(s) + ".lock").stale
        again = apply(plan_for(s), FS)
        assert again.fixed, f"step {k}: {render_outcome(again)}"
        assert_finished(s)


# -- stateview.open heals with the same planner --------------------------------------------


def test_open_restores_a_corrupt_file_from_its_backup_and_logs_a_warning(
        state: Path, caplog: pytest.LogCaptureFixture):
    put(state, CORRUPT)
    put(state.with_name("state.json.bak"), GOOD)
    put(temp_name(state), TRUNCATED)
    with caplog.at_level(logging.WARNING, logger="stateview"), stateview.open(state) as s:
        assert s.snapshot() == json.loads(GOOD)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("restored the copy in state.json.bak" in w and "set the unreadable file aside"
               in w for w in warnings), warnings
    assert [c.read_bytes() for c in corrupt_copies(state.parent)] == [CORRUPT]
    assert temps(state.parent) == []
    assert state.with_name("state.json.bak").read_bytes() == GOOD


def test_open_raises_corrupt_file_with_line_and_column_and_leaves_the_bytes(state: Path):
    put(state, CORRUPT)
    put(state.with_name("state.json.bak"), FAILS_SCHEMA)
    before = listing(state.parent)
    with pytest.raises(stateview.CorruptFile) as info:
        stateview.open(state, schema=SCHEMA)
    assert (info.value.line, info.value.column) == (4, 3)
    with pytest.raises(stateview.CorruptFile):  # never replaced by the default either
        stateview.open(state, default={"clients": {}}, schema=SCHEMA)
    after = listing(state.parent)
    after.pop("state.json.lock", None)  # open takes the lock; that is all it may change
    assert after == before


def test_open_restores_a_missing_file_from_a_complete_temp(state: Path,
                                                           caplog: pytest.LogCaptureFixture):
    tmp = put(temp_name(state), GOOD)
    with caplog.at_level(logging.WARNING, logger="stateview"), stateview.open(state) as s:
        assert s.snapshot() == json.loads(GOOD)
    assert not tmp.exists() and state.read_bytes() == GOOD
    assert any("missing" in r.getMessage() for r in caplog.records)


def test_heal_on_open_without_a_good_copy_raises_the_callers_error(state: Path):
    put(state, CORRUPT)
    error = stateview.CorruptFile(str(state), "bad", 4, 3)
    with pytest.raises(stateview.CorruptFile) as info:
        heal_on_open(StatePaths.of(state), FS, None, 1, "unreadable", error=error)
    assert info.value is error
    state.unlink()
    with pytest.raises(stateview.StateFileMissing):
        heal_on_open(StatePaths.of(state), FS, None, 1, "missing")


def test_candidates_are_judged_and_sorted_newest_first(state: Path):
    put(state.with_name("state.json.bak"), GOOD, age=50)
    put(temp_name(state), TRUNCATED, age=5)
    put(state.with_name("state.json.bak.2"), FAILS_SCHEMA, age=100)
    found = candidates(StatePaths.of(state), FS, load_schema(SCHEMA))
    assert [os.path.basename(c.path) for c in found] == [
        temp_name(state).name, "state.json.bak", "state.json.bak.2"]
    assert found[0].problem and "not strict JSON" in found[0].problem
    assert found[1].problem is None and found[1].data == GOOD
    assert found[2].problem and "fails the schema" in found[2].problem


# -- helpers -------------------------------------------------------------------------------


class holding_child:
    """A real process holding ``stateview.open(..., exclusive=True)`` until the block ends."""

    _CODE = ("import sys, stateview\n"
             "s = stateview.open(sys.argv[1], exclusive=True)\n"
             "print('ready', flush=True)\n"
             "sys.stdin.readline()\n"
             "s.close()\n")

    def __init__(self, state: Path) -> None:
        self.state = state

    def __enter__(self) -> subprocess.Popen[str]:
        self.proc = subprocess.Popen([sys.executable, "-c", self._CODE, str(self.state)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.__exit__()
            pytest.fail(f"the holder did not start: {line!r}")
        return self.proc

    def __exit__(self, *exc: object) -> None:
        try:
            self.proc.communicate("done\n", timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
