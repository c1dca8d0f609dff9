"""Reading a state file when it is opened: strictly, healing it, or creating it.

The caller holds the lock. An unreadable file is replaced by the newest good copy (a backup or
a complete temp file; the bad bytes are set aside), never by the default; a missing file is
created from the default only when there is no good copy of anything to restore.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from . import _jsontext
from ._commit import replace_file
from ._errors import CorruptFile, InvalidValue, StateFileMissing, StorageError
from ._fs import FileSystem
from ._lock import ProcessLock
from ._paths import StatePaths
from ._recovery import candidates, heal_on_open
from ._schema import Schema

__all__ = ["UNSET", "load_initial"]

UNSET: Any = object()

log = logging.getLogger("stateview")


def load_initial(
    paths: StatePaths,
    fs: FileSystem,
    schema: Schema | None,
    backups: int,
    default: Any,
    lock: ProcessLock,
) -> tuple[bytes, Any]:
    """The file's bytes and its value (plain), after healing or creating it if needed.

    ``default`` is a plain value already checked against the JSON-value rules, or UNSET.

    Raises:
        StateFileMissing: no file, no good copy, no default.
        CorruptFile: not strict JSON and no good copy to restore.
        InvalidValue: the root is not an object or an array.
        SchemaViolation: the document breaks the schema.
        StorageError, CommitFailed: the disk failed.
    """
    target = paths.target
    try:
        data = fs.read_bytes(target)
    except FileNotFoundError:
        # A good copy (a backup, a complete temp file) is data someone had: restore it
        # rather than start from the default. Torn temp files of a first commit that never
        # finished are not, and do not stop the default from being created.
        if any(c.problem is None for c in candidates(paths, fs, schema)):
            data = heal_on_open(paths, fs, schema, backups, "the state file is missing")
        elif default is UNSET:
            raise StateFileMissing(paths.given) from None
        else:
            data = _create(paths, fs, schema, backups, default, lock)
    except IsADirectoryError as e:
        raise StorageError(target, "reading the state file (it is a directory)", e) from e
    except OSError as e:
        raise StorageError(target, "reading the state file", e) from e
    try:
        value = _jsontext.loads(data, target)
    except CorruptFile as e:
        data = heal_on_open(paths, fs, schema, backups, str(e), error=e)
        value = _jsontext.loads(data, target)
    if not isinstance(value, (dict, list)):
        raise InvalidValue("", f"{target}: the document's root is {_jsontext.a_json_type(value)};"
                           " a state file holds an object or an array")
    if schema is not None:
        schema.validate(value)
    return data, value


def _create(paths: StatePaths, fs: FileSystem, schema: Schema | None, backups: int,
            default: Any, lock: ProcessLock) -> bytes:
    if schema is not None:
        schema.validate(default)
    data = _jsontext.dumps(default).encode("utf-8")
    replace_file(paths, data, fs, backups, after_create=lock.match)
    try:
        lock.record_commit(secrets.token_hex(8))
    except OSError as e:  # as for any commit: the file is durable, the note is a courtesy
        log.warning("%s: could not note the commit in the lock file: %s", paths.lock, e)
    return data
