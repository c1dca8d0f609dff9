# mypy: allow-untyped-defs, allow-untyped-calls
"""A history table made before the slots (keyed by name and version) is brought over."""

from __future__ import annotations

from stateview._postgres import PostgresStore

from .helpers import dumps


def test_a_history_table_keyed_by_version_takes_slots_and_keeps_its_rows(pg_server):
    pg_server.psql("CREATE SCHEMA IF NOT EXISTS before_slots")
    pg_server.psql(
        "CREATE TABLE before_slots.stateview_history (name text NOT NULL, version bigint "
        "NOT NULL, data json NOT NULL, commit_id text NOT NULL, writer_pid integer, "
        "writer_host text, writer_program text, updated_at timestamptz NOT NULL, "
        "PRIMARY KEY (name, version))")
    pg_server.psql("INSERT INTO before_slots.stateview_history VALUES "
                   "('old', 1, '{\"v\": 1}', 'c1', 1, 'h', 'p', now()), "
                   "('old', 2, '{\"v\": 2}', 'c2', 1, 'h', 'p', now())")
    url = pg_server.conninfo + "&options=-csearch_path%3Dbefore_slots#doc"
    with PostgresStore(url, backups=2) as store:
        version = store.commit(dumps({"i": 0}), None)
        for i in range(1, 4):
            version = store.commit(dumps({"i": i}), version)
        assert [s.data for s in store.history()] == [dumps({"i": 2}), dumps({"i": 1})]
    assert pg_server.psql("SELECT string_agg(slot || ':' || version, ' ' ORDER BY slot) "
                          "FROM before_slots.stateview_history WHERE name = 'old'") == \
        "-2:1 -1:2"
