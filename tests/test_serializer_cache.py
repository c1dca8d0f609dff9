"""The serializer's caches stay exact on large containers (the ones that keep per-entry parts)
and small ones (re-encoded whole), through mutations, rollbacks and reloads."""

import json
import random

import pytest

import stateview


def _expected(state):
    return json.dumps(state.snapshot(), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("seed", range(3))
def test_random_mutations_on_wide_and_narrow_containers_serialize_exactly(tmp_path, seed):
    rnd = random.Random(seed)
    path = tmp_path / "state.json"
    wide = {f"k{i:03d}": {"n": i, "tags": [i, str(i)]} for i in range(40)}
    state = stateview.open(path, default={"wide": wide, "rows": [{"i": i} for i in range(30)]})
    for step in range(150):
        op = rnd.randrange(8)
        key = f"k{rnd.randrange(45):03d}"
        if op == 0:
            state["wide"][key] = {"n": step, "tags": [step]}
        elif op == 1 and key in state["wide"]:
            state["wide"][key]["n"] = step
        elif op == 2 and key in state["wide"]:
            del state["wide"][key]
        elif op == 3:
            state["rows"][rnd.randrange(len(state["rows"]))]["i"] = step
        elif op == 4:
            state["rows"].insert(rnd.randrange(len(state["rows"]) + 1), {"i": -step})
        elif op == 5 and len(state["rows"]) > 1:
            state["rows"].pop(rnd.randrange(len(state["rows"])))
        elif op == 6:
            with pytest.raises(RuntimeError), state.transaction() as root:
                root["wide"].setdefault(key, {"n": 0})["n"] = -1
                root["rows"].reverse()
                raise RuntimeError
        else:
            state["wide"].setdefault(key, {"n": 0})["tags"] = [step] * rnd.randrange(20)
        assert path.read_text() == _expected(state), (step, op)
    state.close()


def test_another_writers_commit_merged_in_keeps_the_caches_exact(tmp_path):
    path = tmp_path / "state.json"
    first = stateview.open(path, default={"wide": {f"k{i:02d}": i for i in range(30)}})
    second = stateview.open(path)
    first["wide"]["k05"] = "changed by first"
    second["wide"]["k06"] = "changed by second"  # reloads first's commit, then commits
    first["wide"]["k07"] = "first again"  # reloads second's commit into cached parts
    assert path.read_text() == _expected(first)
    assert first.snapshot()["wide"]["k06"] == "changed by second"
    first.close()
    second.close()
