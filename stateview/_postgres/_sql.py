"""The tables and statements of the PostgreSQL store.

One row per document in ``stateview_documents``; its previous versions (the backups) in
``stateview_history``. ``data`` is ``json``: the server checks it is JSON and keeps the text as
it was written (key order, indentation), so a DBA can read and query it and stateview gets back
the bytes it committed. ``version`` counts the document's commits; a compare-and-set commit is
an ``UPDATE ... WHERE version = expected``, which under READ COMMITTED re-checks the row after
waiting for a concurrent writer, so exactly one of two commits against one version wins.
"""

from __future__ import annotations

__all__ = ["CHANNEL", "COMMIT", "CREATE", "DDL", "DOCUMENTS", "HISTORY", "SELECT", "SLOTS"]

DOCUMENTS = "stateview_documents"
HISTORY = "stateview_history"
CHANNEL = "stateview_commits"  # one channel per database; the payload names the document
DDL_LOCK = 0x5374617465766965  # pg_advisory_xact_lock key serializing the first CREATE TABLEs

DDL = f"""
CREATE TABLE IF NOT EXISTS {DOCUMENTS} (
    name            text        PRIMARY KEY,
    version         bigint      NOT NULL,
    data            json        NOT NULL,
    commit_id       text        NOT NULL,
    writer_pid      integer,
    writer_host     text,
    writer_program  text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {HISTORY} (
    name            text        NOT NULL,
    slot            integer     NOT NULL,
    version         bigint      NOT NULL,
    data            json        NOT NULL,
    commit_id       text        NOT NULL,
    writer_pid      integer,
    writer_host     text,
    writer_program  text,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (name, slot)
);
"""

# Run after DDL: a history table from before the slots was keyed by (name, version); its rows
# take slots -1, -2, ... (newest first), which no commit writes, and stay, older than the rest.
SLOTS = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '{HISTORY}'::regclass
                   AND attname = 'slot' AND NOT attisdropped) THEN
        ALTER TABLE {HISTORY} ADD COLUMN slot integer;
        UPDATE {HISTORY} h SET slot = o.slot
        FROM (SELECT name, version,
                     -row_number() OVER (PARTITION BY name ORDER BY version DESC) AS slot
              FROM {HISTORY}) o
        WHERE h.name = o.name AND h.version = o.version;
        ALTER TABLE {HISTORY} ALTER COLUMN slot SET NOT NULL;
        ALTER TABLE {HISTORY} DROP CONSTRAINT {HISTORY}_pkey;
        ALTER TABLE {HISTORY} ADD PRIMARY KEY (name, slot);
    END IF;
END $$;
"""

_COLUMNS = "name, version, data, commit_id, writer_pid, writer_host, writer_program, updated_at"
_REPLACE = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS.split(", ")[1:])
_NOTIFY = (f"pg_notify('{CHANNEL}', json_build_object('document', %(name)s::text, 'version', "
           "{v}, 'origin', %(origin)s::text)::text)")

# Reads: ``data`` only when the caller does not have this version already (the same number
# with another commit id is another document: see COMMIT).
SELECT = f"""
SELECT version, CASE WHEN version = %(known)s::bigint
                      AND commit_id = COALESCE(%(known_commit)s::text, commit_id)
                     THEN NULL ELSE data::text END,
       writer_pid, writer_host, writer_program,
       to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), commit_id
FROM {DOCUMENTS} WHERE name = %(name)s::text
"""
SELECT_FOR_UPDATE = SELECT + " FOR UPDATE"

# Compare-and-set in one statement (one round trip in autocommit): the previous version goes to
# the history (all CTEs see the statement's snapshot, so ``prev`` is the row before the
# UPDATE), and the notification is queued: PostgreSQL delivers it only when the transaction
# commits. The history keeps ``backups`` slots per document, version V in slot V mod backups:
# the last ``backups`` versions each have their own, and a commit overwrites the one that
# falls out (one row written, none deleted; inserting and trimming cost a sixth more per
# commit at 1 KB). Rows in slots beyond a smaller ``backups`` stay, older than the rest.
# A version number can repeat: a row a DBA deleted is created again numbered after the history,
# which lacks the deleted row's own version. So the writer also names the commit id it knows
# for ``expected`` (NULL when it knows none): a stale writer does not take the new document for
# the one it knew.
COMMIT = f"""
WITH prev AS (
    SELECT {_COLUMNS} FROM {DOCUMENTS}
    WHERE name = %(name)s::text AND version = %(expected)s::bigint
          AND commit_id = COALESCE(%(expected_commit)s::text, commit_id)
), upd AS (
    UPDATE {DOCUMENTS} SET version = version + 1, data = %(data)s::json,
        commit_id = %(commit)s::text, writer_pid = %(pid)s::integer,
        writer_host = %(host)s::text, writer_program = %(program)s::text, updated_at = now()
    WHERE name = %(name)s::text AND version = %(expected)s::bigint
          AND commit_id = COALESCE(%(expected_commit)s::text, commit_id)
    RETURNING version
), kept AS (
    INSERT INTO {HISTORY} (slot, {_COLUMNS})
    SELECT prev.version %% %(backups)s::integer, prev.* FROM prev, upd
    WHERE %(backups)s::integer > 0
    ON CONFLICT (name, slot) DO UPDATE SET {_REPLACE}
)
SELECT upd.version, {_NOTIFY.format(v="upd.version")} FROM upd
"""

# The first version of a document: numbered after any history left by a deleted one. The
# deleted row's own version is not in the history, so this one may take its number: commits and
# reads tell the two apart by commit id (COMMIT, SELECT).
CREATE = f"""
WITH ins AS (
    INSERT INTO {DOCUMENTS} ({_COLUMNS})
    SELECT %(name)s::text,
           COALESCE((SELECT max(version) FROM {HISTORY} WHERE name = %(name)s::text), 0) + 1,
           %(data)s::json, %(commit)s::text, %(pid)s::integer, %(host)s::text,
           %(program)s::text, now()
    ON CONFLICT (name) DO NOTHING
    RETURNING version
)
SELECT ins.version, {_NOTIFY.format(v="ins.version")} FROM ins
"""

HISTORY_ROWS = f"""
SELECT version, data::text, writer_pid, writer_host, writer_program,
       to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM {HISTORY} WHERE name = %(name)s::text ORDER BY version DESC LIMIT %(limit)s::integer
"""

# A document not created yet has no row to lock: its lockers take this instead.
ADVISORY_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('stateview:' || %(name)s::text, 0))"

# Who holds a document's lock: the backend whose transaction id locked the row (a row lock
# sets the row's xmax), or, for a document not created yet, the advisory lock on its name.
HOLDER = f"""
WITH k AS (SELECT hashtextextended('stateview:' || %(name)s::text, 0) AS key)
SELECT a.application_name,
       to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), a.pid
FROM pg_stat_activity a, k
WHERE a.pid <> pg_backend_pid() AND (
    a.backend_xid = (SELECT xmax FROM {DOCUMENTS} WHERE name = %(name)s::text)
    OR a.pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
                 AND classid::bigint = ((k.key >> 32) & 4294967295)
                 AND objid::bigint = (k.key & 4294967295) AND objsubid = 1))
LIMIT 1
"""

SETTINGS = ("SELECT current_setting('synchronous_commit'), current_setting('fsync'), "
            f"to_regclass('{DOCUMENTS}') IS NOT NULL AND EXISTS (SELECT 1 FROM pg_attribute "
            f"WHERE attrelid = to_regclass('{HISTORY}') AND attname = 'slot' "
            "AND NOT attisdropped)")
