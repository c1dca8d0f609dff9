# mypy: allow-untyped-defs, allow-untyped-calls
"""PostgresStore with real writer processes: contention, SIGKILL, killed backends, a crashed
server. Each writer reports every outcome (see ``_child.append``); the checks compare what was
acknowledged with what the database holds afterwards."""

from __future__ import annotations

import json
import random
import signal
import time

import psycopg

from stateview._postgres import PostgresStore

from .helpers import dumps, read_until, report, spawn


def _create(url, doc):
    with PostgresStore(url) as store:
        store.commit(dumps(doc), None)


def _log(url):
    with PostgresStore(url) as store:
        snap = store.load()
    assert snap.data is not None
    return json.loads(snap.data)["log"]


def _check_outcomes(lines, log):
    """Every acknowledged item is in the log; every item that failed cleanly is not."""
    acked = [line["ack"] for line in lines if "ack" in line]
    failed = [line["failed"] for line in lines if "failed" in line]
    assert set(acked) <= set(log), sorted(set(acked) - set(log))
    assert not set(failed) & set(log), sorted(set(failed) & set(log))
    assert len(log) == len(set(log))  # nothing committed twice
    return acked


def test_four_processes_times_200_transactions_lose_no_update(pg_url):
    _create(pg_url, {"counter": 0})
    children = [spawn("incr", pg_url, "200") for _ in range(4)]
    for child in children:
        assert report(child, timeout=120)[-1] == {"done": True}
    with PostgresStore(pg_url) as store:
        assert json.loads(store.load().data or b"") == {"counter": 800}


def test_a_writer_killed_mid_transaction_leaves_no_lock_and_loses_no_ack(pg_url):
    _create(pg_url, {"log": []})
    rng = random.Random(15)
    acked_total = 0
    for round_ in range(6):
        # Even rounds are killed while the row is locked (the writer pauses 50 ms there);
        # odd rounds at any moment.
        inside = round_ % 2 == 0
        child = spawn("append", pg_url, f"r{round_}", "20", "100000",
                      "0.05" if inside else "0.002")
        wanted, acks = rng.randint(1, 15), 0

        def far_enough(line, wanted=wanted, inside=inside):
            nonlocal acks
            acks += "ack" in line
            return acks >= wanted and (not inside or "locked" in line)

        read = read_until(child, far_enough, 20)
        if not inside:
            time.sleep(rng.uniform(0, 0.004))
        child.send_signal(signal.SIGKILL)
        lines = read + report(child)
        if inside:
            assert "locked" in lines[-1], lines[-3:]
        with PostgresStore(pg_url) as store:
            store.lock(timeout=5)  # the dead writer's row lock went with its connection
            store.unlock()
        acked_total += len(_check_outcomes(lines, _log(pg_url)))
    assert acked_total >= 6


def _backends_of(conn, pid):
    rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s",
                        (f"stateview {pid}@%",)).fetchall()
    return [r[0] for r in rows]


def test_a_backend_terminated_mid_commit_never_yields_a_false_ack(pg_server, pg_url,
                                                                   tmp_path):
    _create(pg_url, {"log": []})
    stop = tmp_path / "stop"
    child = spawn("append", pg_url, "t", "60", "100000", "0", str(stop))
    lines = read_until(child, lambda line: "ack" in line, 30)
    rng = random.Random(7)
    kills = 0
    with psycopg.connect(pg_server.conninfo, autocommit=True) as admin:
        deadline = time.monotonic() + 20
        while kills < 30 and time.monotonic() < deadline:
            for backend in _backends_of(admin, child.pid):
                kills += admin.execute("SELECT pg_terminate_backend(%s)",
                                       (backend,)).fetchone() == (True,)
            time.sleep(rng.uniform(0.01, 0.06))
    after = time.time()
    lines += read_until(child, lambda line: line.get("t", 0) > after, 30)  # resumed
    stop.touch()
    lines += report(child)
    assert lines[-1] == {"done": True}
    acked = _check_outcomes(lines, _log(pg_url))
    errors = [line for line in lines if "error" in line]
    assert kills >= 10 and errors, (kills, len(errors))
    assert len(acked) >= 2


def test_a_server_crash_keeps_every_ack_and_writers_resume(private_server, tmp_path):
    url = private_server.url("crash")
    _create(url, {"log": []})
    announced: list[tuple[float, int]] = []
    watching = PostgresStore(url)
    watching.watch(lambda version: announced.append((time.time(), version)))
    stop = tmp_path / "stop"
    children = [spawn("append", url, tag, "60", "100000", "0", str(stop)) for tag in "ab"]
    early = [read_until(child, lambda line: "ack" in line, 30) for child in children]
    stopped_at = time.time()
    private_server.stop_immediate()
    time.sleep(1.0)
    private_server.start()
    restarted_at = time.time()
    late = [read_until(child, lambda line: line.get("t", 0) > restarted_at, 30)
            for child in children]
    stop.touch()
    reports = [a + b + report(child) for a, b, child in zip(early, late, children, strict=True)]
    log = _log(url)
    for lines in reports:
        assert lines[-1] == {"done": True}
        _check_outcomes(lines, log)
        assert any(line.get("t", 0) < stopped_at for line in lines if "ack" in line)
        errors = [line["error"] for line in lines if "error" in line]
        assert errors, "the writer did not notice the crash"
        assert all(e.startswith(f"{url}: ") for e in errors), errors  # names the store
    # The watcher reconnected by itself and announced commits made after the restart.
    last = max(line["version"] for lines in reports for line in lines if "ack" in line)
    deadline = time.monotonic() + 10
    while last not in [v for _, v in announced] and time.monotonic() < deadline:
        time.sleep(0.05)
    watching.close()
    assert any(t > restarted_at for t, _ in announced)
    assert last in [v for _, v in announced]


def test_a_commit_interrupted_on_the_server_leaves_the_next_one_working(pg_url):
    """Ctrl-C while the server holds a commit up leaves its transaction aborted on the
    connection: the store ends it, and the next mutation commits (rather than failing with
    "can't change 'autocommit' now")."""
    lines = report(spawn("interrupted", pg_url))
    assert lines == [{"first": "interrupted"}, {"second": "committed"}]
    with PostgresStore(pg_url) as store:
        assert json.loads(store.load().data) == {"n": 3}
