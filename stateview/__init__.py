"""stateview: a program's JSON state in memory, durably in sync with a human-readable file.

    import stateview

    state = stateview.open("state.json", default={"clients": {}})
    state["clients"]["alice"] = {"score": 1}      # durable when the statement returns
    with state.transaction() as root:             # one commit, all or nothing
        root["clients"]["alice"]["score"] += 1
"""

from __future__ import annotations

from ._async_api import aopen
from ._errors import (
    Closed,
    CommitFailed,
    CorruptFile,
    InvalidValue,
    LockTimeout,
    PointerError,
    SchemaError,
    SchemaViolation,
    StateError,
    StateFileMissing,
    StorageError,
)
from ._fs import FileSystem
from ._statefile import ChangeEvent, StateFile, open
from ._views import DictView, ListView
from .types import JSON, ChangeSource, LeftoverKind, Node, RecoveryAction, RecoveryVerdict

__version__ = "0.1.0"

__all__ = [
    "JSON",
    "ChangeEvent",
    "ChangeSource",
    "Closed",
    "CommitFailed",
    "CorruptFile",
    "DictView",
    "FileSystem",
    "InvalidValue",
    "LeftoverKind",
    "ListView",
    "LockTimeout",
    "Node",
    "PointerError",
    "RecoveryAction",
    "RecoveryVerdict",
    "SchemaError",
    "SchemaViolation",
    "StateError",
    "StateFile",
    "StateFileMissing",
    "StorageError",
    "__version__",
    "aopen",
    "open",
]
