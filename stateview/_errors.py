"""The one exception tree of stateview.

    StateError
    ├── InvalidValue (ValueError)        a value that is not JSON; names its pointer
    ├── SchemaViolation (ValueError)     the document breaks the schema; pointer and rule
    ├── SchemaError (ValueError)         the schema itself is unusable
    ├── PointerError (KeyError)          a JSON Pointer that is malformed or leads nowhere
    ├── CorruptFile (ValueError)         a state file that is not strict JSON; line and column
    ├── StateFileMissing (FileNotFoundError)
    ├── LockTimeout (TimeoutError)       another writer holds the lock; names the holder
    ├── StorageError (OSError)           a file-system call failed; carries the OSError
    │   └── CommitFailed                 ... during a commit; file and memory are as before
    └── Closed                           the StateFile (or a view detached from it) is gone

Every error carries its data as attributes and pickles, so a server can log or re-raise it
across process boundaries.
"""

from __future__ import annotations

from typing import Any

from ._postgres._url import hide_url_passwords

__all__ = [
    "Closed",
    "CommitFailed",
    "CorruptFile",
    "InvalidValue",
    "LockTimeout",
    "PointerError",
    "SchemaError",
    "SchemaViolation",
    "StateError",
    "StateFileMissing",
    "StorageError",
]


class StateError(Exception):
    """Base of every error stateview raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses keep extra attributes in __dict__; rebuilding through __new__ and
        # restoring the dict keeps them across pickling without per-class boilerplate.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[StateError], args: tuple[Any, ...], state: dict[str, Any]) -> StateError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidValue(StateError, ValueError):
    """A value that cannot be stored as JSON (wrong type, NaN, non-string key, a cycle)."""

    def __init__(self, pointer: str, reason: str) -> None:
        where = f"JSON Pointer {pointer}" if pointer else "the document root"
        super().__init__(f"{reason} (at {where}); nothing was written")
        self.pointer = pointer
        self.reason = reason


class SchemaViolation(StateError, ValueError):
    """The document would not match its JSON Schema; nothing was written.

    Attributes:
        pointer: JSON Pointer of the first offending value.
        rule: the schema keyword that failed (``"type"``, ``"minimum"`` ...).
        schema_path: JSON Pointer into the schema of the failing rule.
        errors: every violation as ``(pointer, rule, schema_path, message)``.
    """

    def __init__(self, errors: list[tuple[str, str, str, str]]) -> None:
        pointer, rule, schema_path, message = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            f"schema violation at {show_pointer(pointer)}: {message} [rule {rule!r} at "
            f"{show_pointer(schema_path)}]"
            f"{more}; nothing was written"
        )
        self.pointer = pointer
        self.rule = rule
        self.schema_path = schema_path
        self.errors = errors


class SchemaError(StateError, ValueError):
    """The schema cannot be used: unreadable, not JSON, or not a valid JSON Schema."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"schema {source}: {reason}")
        self.source = source
        self.reason = reason


class PointerError(StateError, KeyError):
    """A JSON Pointer that is malformed or names nothing in the document."""

    def __init__(self, pointer: str, reason: str) -> None:
        super().__init__(f"JSON Pointer {pointer!r}: {reason}")
        self.pointer = pointer
        self.reason = reason

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return self.message


class CorruptFile(StateError, ValueError):
    """A file that is not strict JSON (RFC 8259).

    Attributes:
        path: the file.
        reason: what is wrong.
        line, column: 1-based position of the problem, when known.
        pointer: JSON Pointer of the value being read there, when known.
    """

    def __init__(
        self,
        path: str,
        reason: str,
        line: int | None = None,
        column: int | None = None,
        pointer: str | None = None,
    ) -> None:
        where = f":{line}:{column}" if line is not None and column is not None else ""
        shown = pointer if pointer is None or len(pointer) <= 80 else pointer[:77] + "..."
        at = f" (at {shown})" if shown else ""
        super().__init__(f"{path}{where}: {reason}{at}")
        self.path = path
        self.reason = reason
        self.line = line
        self.column = column
        self.pointer = pointer


class StateFileMissing(StateError, FileNotFoundError):
    """The state file does not exist and no default was given."""

    def __init__(self, path: str, *, document: bool = False) -> None:
        # A database document has no backups beside it for ``stateview recover`` to find.
        lost = ("" if document else
                f"; if it was lost, run `stateview recover {path}`")
        super().__init__(
            f"{path}: no such {'document' if document else 'state file'} (stateview.open "
            f"creates one only when given default=...{lost})"
        )
        self.path = path


class LockTimeout(StateError, TimeoutError):
    """Another writer held the lock for longer than the wait allowed.

    Attributes:
        path: the lock file.
        holder: what the lock file says about its holder (pid, host, program, since,
            exclusive), or an empty dict when it says nothing.
    """

    def __init__(self, path: str, holder: dict[str, Any], waited: float) -> None:
        super().__init__(f"{path}: {describe_holder(holder)}; gave up after {waited:.1f}s")
        self.path = path
        self.holder = holder
        self.waited = waited


def a_type(value_or_type: Any) -> str:
    """``"a list"``, ``"an object"``, ``"an int"``: a type's name with its article."""
    t = value_or_type if isinstance(value_or_type, type) else type(value_or_type)
    name = t.__name__
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def show_pointer(pointer: str) -> str:
    """A JSON Pointer for a message; the root is ``''`` (RFC 6901), which would read as
    nothing at all, and ``/`` is another pointer (the key ``""``)."""
    return pointer if pointer else "'' (the root)"


def describe_holder(holder: dict[str, Any]) -> str:
    """One line naming a lock holder, for messages and the status bar."""
    if holder.get("unknown"):
        return "locked by a process the lock file does not name (unknown)"
    since = f" since {holder['since']}" if holder.get("since") else ""
    program = hide_url_passwords(str(holder.get("program") or "?"))
    if not holder.get("pid"):
        if holder.get("program"):  # a database session that is not a stateview writer
            return f"locked by {program}{since}"
        return "locked by another writer"
    mode = "exclusively " if holder.get("exclusive") else ""
    host = holder.get("host")
    return (
        f"locked {mode}by pid {holder['pid']} ({program})"
        + (f" on {host}" if host else "")
        + since
        + (" (another StateFile of this process)" if holder.get("this_process") else "")
        + (" (as the kernel's lock table says)" if holder.get("source") == "kernel" else "")
    )


class StorageError(StateError, OSError):
    """A file-system call failed (reading the file, opening the lock, a disk error).

    The original :class:`OSError` is ``__cause__``; ``errno`` and ``step`` say what failed.
    """

    def __init__(self, path: str, step: str, error: OSError) -> None:
        StateError.__init__(self, self._describe(path, step, error))
        self.errno = error.errno
        self.strerror = error.strerror
        self.filename = path
        self.path = path
        self.step = step

    @staticmethod
    def _describe(path: str, step: str, error: OSError) -> str:
        return f"{path}: failed while {step}: {error.strerror or error}"

    def __str__(self) -> str:  # OSError would format errno/strerror itself
        return self.message


class CommitFailed(StorageError):
    """A file-system step of a commit failed. The file and memory are as before."""

    @staticmethod
    def _describe(path: str, step: str, error: OSError) -> str:
        return f"{path}: commit failed while {step}: {error.strerror or error}; nothing was changed"


class Closed(StateError):
    """The StateFile was closed, or a view was removed from the document."""
