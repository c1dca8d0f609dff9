# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""stateview._paths: every on-disk name of a state file, and finding the leftovers."""

from __future__ import annotations

import os
import re

from stateview._paths import Leftover, StatePaths


def test_names_sit_next_to_the_file(tmp_path):
    paths = StatePaths.of(tmp_path / "state.json")
    assert paths.given == paths.target == str(tmp_path / "state.json")
    assert paths.directory == str(tmp_path)
    assert paths.name == "state.json"
    assert paths.lock == str(tmp_path / "state.json.lock")
    assert paths.backup(1) == str(tmp_path / "state.json.bak")
    assert paths.backup(3) == str(tmp_path / "state.json.bak.3")


def test_relative_paths_become_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert StatePaths.of("s.json").given == str(tmp_path / "s.json")


def test_a_symlink_puts_every_name_next_to_its_target(tmp_path):
    (tmp_path / "real").mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "real" / "data.json")  # dangling: the file comes later
    paths = StatePaths.of(link)
    assert paths.given == str(link)
    assert paths.target == str(tmp_path / "real" / "data.json")
    assert paths.lock == str(tmp_path / "real" / "data.json.lock")
    assert paths.new_temp().startswith(str(tmp_path / "real" / ".data.json."))
    # The schema sibling is found beside the name the user gave.
    assert paths.schema_sibling == str(tmp_path / "link.schema.json")


def test_temp_names_are_hidden_unique_and_recognised(tmp_path):
    paths = StatePaths.of(tmp_path / "s.json")
    temps = {paths.new_temp() for _ in range(50)}
    assert len(temps) == 50
    for temp in temps:
        assert re.fullmatch(r"\.s\.json\.[0-9a-f]+\.tmp", os.path.basename(temp))
    one = sorted(temps)[0]
    open(one, "w").close()
    assert paths.leftovers() == [Leftover("temp", one)]


def test_schema_sibling_replaces_the_extension(tmp_path):
    assert StatePaths.of(tmp_path / "state.json").schema_sibling == str(
        tmp_path / "state.schema.json")


def test_schema_beside_is_the_sibling_only_when_it_exists(tmp_path):
    paths = StatePaths.of(tmp_path / "state.json")
    assert paths.schema_beside() is None
    (tmp_path / "state.schema.json").write_text("{}")
    assert paths.schema_beside() == str(tmp_path / "state.schema.json")


def test_new_corrupt_never_reuses_a_name(tmp_path):
    paths = StatePaths.of(tmp_path / "s.json")
    first = paths.new_corrupt()
    open(first, "w").close()
    second = paths.new_corrupt()
    assert second != first and not os.path.exists(second)
    assert os.path.basename(first).startswith("s.json.corrupt-")


def test_leftovers_are_classified_and_ordered(tmp_path):
    for name in ["s.json", "s.json.lock", "s.json.bak.2", "s.json.bak", "s.json.bak.10",
                 ".s.json.abc123.tmp", "s.json.corrupt-20260101T000000Z", "other.json.bak",
                 ".other.json.abc.tmp", "s.json.bakx", "s.json.tmp"]:
        (tmp_path / name).write_text("{}")
    found = StatePaths.of(tmp_path / "s.json").leftovers()
    assert [(x.kind, os.path.basename(x.path), x.generation) for x in found] == [
        ("temp", ".s.json.abc123.tmp", 0),
        ("backup", "s.json.bak", 1),
        ("backup", "s.json.bak.2", 2),
        ("backup", "s.json.bak.10", 10),
        ("corrupt", "s.json.corrupt-20260101T000000Z", 0),
    ]


def test_leftovers_of_a_missing_directory_is_empty(tmp_path):
    assert StatePaths.of(tmp_path / "nowhere" / "s.json").leftovers() == []
