"""What ``stateview check`` found in one file: plain data, ready for any reporter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ERROR", "INFO", "WARNING", "FileReport", "Problem"]

#: Fails the file (exit 1).
ERROR = "error"
#: Shown by default but does not fail the file: something a person should look at that
#: stateview itself keeps on purpose (a set-aside corrupt copy).
WARNING = "warning"
#: Detail shown with ``-v`` only (backups, a live lock holder, which schema applied).
INFO = "info"

_MESSAGE_LIMIT = 400  # jsonschema quotes the whole offending value; a 100 MB object is no message


def _shorten(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Problem:
    """One finding.

    Attributes:
        kind: a stable short name (``syntax``, ``duplicate-key``, ``schema``, ``orphan-temp`` ...).
        message: what is wrong and what to do, one line.
        line, column: 1-based position in the checked file, when the finding has one.
        pointer: JSON Pointer of the value concerned (``""`` is the root), when it has one.
        severity: :data:`ERROR`, :data:`WARNING` or :data:`INFO`.
        rule: the schema keyword that failed (schema violations).
        schema_path: JSON Pointer into the schema of that rule (schema violations).
        file: the other file this is about (a leftover, the schema), when not the checked one.
        fix: a shell command that resolves it, when there is one.
    """

    kind: str
    message: str
    line: int | None = None
    column: int | None = None
    pointer: str | None = None
    severity: str = ERROR
    rule: str | None = None
    schema_path: str | None = None
    file: str | None = None
    fix: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", _shorten(self.message))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see ``schemas/check-report.schema.json``)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "pointer": self.pointer,
            "line": self.line,
            "column": self.column,
        }
        for name in ("rule", "schema_path", "file", "fix"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass
class FileReport:
    """Everything found in one file.

    Attributes:
        path: the file as given (``<stdin>`` for standard input).
        schema: the schema file applied, or ``None``.
        problems: every finding, errors and warnings first in file order, then notes.
    """

    path: str
    schema: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def notes(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == INFO]

    @property
    def ok(self) -> bool:
        """No errors (warnings and notes do not fail a file)."""
        return not any(p.severity == ERROR for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "schema": self.schema,
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
            "notes": [p.to_dict() for p in self.notes],
        }
