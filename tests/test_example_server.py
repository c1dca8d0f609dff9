"""The example server, run for real: clients, `kill -9`, restart, nothing acknowledged lost."""

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from example_helpers import kill_example, start_example


def _post(port: int, name: str) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/clients/{name}/score", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(json.load(resp)[name])


def test_acknowledged_scores_survive_kill_9_and_restart(tmp_path):
    state = tmp_path / "scores.json"
    proc, port = start_example("scoreboard_server.py", state)
    try:
        with ThreadPoolExecutor(8) as pool:
            acknowledged = list(pool.map(lambda i: _post(port, f"c{i % 4}"), range(80)))
    finally:
        kill_example(proc)
    # every increment was acknowledged with a distinct count per client
    for name in range(4):
        assert sorted(a for i, a in enumerate(acknowledged) if i % 4 == name) == list(range(1, 21))

    proc, port = start_example("scoreboard_server.py", state)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/clients", timeout=10) as resp:
            board = json.load(resp)
        assert {k: v["score"] for k, v in board.items()} == {f"c{i}": 20 for i in range(4)}
        assert _post(port, "c0") == 21
    finally:
        kill_example(proc)
    assert json.loads(state.read_text())["clients"]["c0"]["score"] == 21


def test_profile_refused_by_schema_is_a_400_and_changes_nothing(tmp_path):
    state = tmp_path / "scores.json"
    proc, port = start_example("scoreboard_server.py", state)
    try:
        _post(port, "alice")
        before = state.read_bytes()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/clients/alice/profile",
                                     data=b"[1, 2]", method="PUT")
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError("expected HTTP 400")
        except urllib.error.HTTPError as e:
            assert e.code == 400
            assert "schema violation at /clients/alice/profile" in json.load(e)["error"]
        assert state.read_bytes() == before
    finally:
        kill_example(proc)
