"""JSON Schema for a state file: loading it once, checking every commit against it.

``$schema`` in the schema picks the draft; without it Draft 2020-12 applies. Format checks
(``date-time``, ``email`` ...) are on, because a state file's schema is a contract, not a hint.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import CorruptFile, SchemaError, SchemaViolation, show_pointer
from ._jsontext import join_pointer, loads

__all__ = ["Schema", "SchemaIssue", "load_schema"]


@dataclass(frozen=True)
class SchemaIssue:
    """One violation: where in the document, which rule, where in the schema, and why."""

    pointer: str
    rule: str
    schema_path: str
    message: str


class Schema:
    """A checked, ready-to-use JSON Schema.

    Attributes:
        source: the file it came from, or ``"<dict>"``.
        document: the schema itself.
    """

    def __init__(self, document: Mapping[str, Any] | bool, source: str = "<dict>") -> None:
        self.source = source
        self.document = document
        if not isinstance(document, (Mapping, bool)):
            raise SchemaError(source, "a JSON Schema must be an object or a boolean")
        # Imported here: jsonschema and its format checkers cost ~100 ms, which a program
        # (or `stateview get`) without a schema should not pay.
        import jsonschema

        cls = jsonschema.validators.validator_for(document, default=jsonschema.Draft202012Validator)
        try:
            cls.check_schema(document)
        except jsonschema.SchemaError as e:
            where = show_pointer(join_pointer(list(e.absolute_path)))
            raise SchemaError(source, f"not a valid JSON Schema at {where}: {e.message}") from None
        self._validator = cls(document, format_checker=cls.FORMAT_CHECKER)

    def issues(self, instance: Any) -> list[SchemaIssue]:
        """Every violation in ``instance``, in document order of their pointers."""
        from jsonschema.exceptions import best_match

        found = [
            SchemaIssue(
                pointer=join_pointer(list(e.absolute_path)),
                rule=str(e.validator),
                schema_path=join_pointer(list(e.absolute_schema_path)),
                message=(best_match(e.context) if e.context else e).message,
            )
            for e in self._validator.iter_errors(instance)
        ]
        found.sort(key=lambda i: i.pointer)
        return found

    def validate(self, instance: Any) -> None:
        """Raise :class:`SchemaViolation` naming every violation, or return."""
        if self._validator.is_valid(instance):
            return
        issues = self.issues(instance)
        raise SchemaViolation([(i.pointer, i.rule, i.schema_path, i.message) for i in issues])


def load_schema(
    source: str | os.PathLike[str] | Mapping[str, Any] | Schema | None,
) -> Schema | None:
    """A :class:`Schema` from a path, a dict, or ``None``.

    Raises:
        SchemaError: the file is missing, unreadable, not JSON, or not a valid schema.
    """
    if source is None or isinstance(source, Schema):
        return source
    if isinstance(source, Mapping):
        return Schema(source)
    path = os.fspath(source)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SchemaError(path, f"cannot read it: {e.strerror or e}") from None
    try:
        document = loads(data, path)
    except CorruptFile as e:
        raise SchemaError(path, f"not valid JSON: {e}") from None
    return Schema(document, path)
