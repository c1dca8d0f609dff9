"""Opening a state file read-only: for monitors and reporting jobs.

A read-only StateFile takes no lock and writes nothing (no lock file, no healing, no file
created from a default), so it works where the process may not write: another user's
directory, a read-only mount, a backup snapshot. It still follows the writers: ``refresh()``
and ``on_change`` reload each commit, which an atomic rename always shows whole.
"""

from __future__ import annotations

from typing import Any

from . import _jsontext
from ._errors import InvalidValue, StateError, StateFileMissing, StorageError, a_type
from ._fs import FileSystem
from ._paths import StatePaths
from ._schema import Schema

__all__ = ["load_readonly", "refuse_write"]


def load_readonly(paths: StatePaths, fs: FileSystem, schema: Schema | None) -> tuple[bytes, Any]:
    """The file's bytes and value, read without the lock.

    Raises:
        StateFileMissing: there is no file (a read-only open never creates one).
        CorruptFile: the file is not strict JSON (``stateview recover`` repairs it; a
            read-only open does not).
        InvalidValue, SchemaViolation, StorageError.
    """
    try:
        data = fs.read_bytes(paths.target)
    except FileNotFoundError:
        raise StateFileMissing(paths.given) from None
    except OSError as e:
        raise StorageError(paths.target, "reading the state file", e) from e
    value = _jsontext.loads(data, paths.target)
    if not isinstance(value, (dict, list)):
        raise InvalidValue("", f"{paths.target}: the document's root is "
                           f"{a_type(value)}; a state file holds an object or an array")
    if schema is not None:
        schema.validate(value)
    return data, value


def refuse_write(path: str) -> StateError:
    """The error every mutation of a read-only StateFile raises (memory is left unchanged)."""
    return StateError(f"{path}: opened with readonly=True; nothing was changed. Open it "
                      "without readonly=True to change it")
