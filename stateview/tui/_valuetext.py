"""A value as the editor shows it, the text a person typed as a value, and checks as they type.

No Textual here: the dialogs call these on every keystroke, tests call them directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import CorruptFile
from .._jsontext import join_pointer, loads

__all__ = ["Refusal", "ValueChecker", "multi_line", "parse_value", "to_text", "wants_string"]

_LONG_STRING = 60


class Refusal(ValueError):
    """Text that cannot be saved, with where and what to change."""


def multi_line(value: Any) -> bool:
    """Whether the value gets the multi-line JSON editor rather than a one-line field."""
    if isinstance(value, (dict, list)):
        return True
    return isinstance(value, str) and (len(value) > _LONG_STRING or "\n" in value)


def to_text(value: Any) -> str:
    """The editor's starting text: indented JSON for containers, one line for the rest."""
    if isinstance(value, (dict, list)) and value:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def wants_string(schema: Mapping[str, Any] | None, current: Any) -> bool:
    """Whether a bare word is meant as a string: the schema, or else the value, says string."""
    if schema is not None and "type" in schema:
        kinds = schema["type"]
        return kinds == "string" or (isinstance(kinds, list) and "string" in kinds)
    return isinstance(current, str)


def parse_value(text: str, schema: Mapping[str, Any] | None, current: Any) -> Any:
    """The value ``text`` stands for.

    Strict JSON first. A bare word where a string is expected (``lobby`` for ``"lobby"``) is
    taken as that string: asking an operator to type quotes is asking for typos.

    Raises:
        Refusal: naming the line, column and what to change.
    """
    try:
        return loads(text.encode("utf-8"), "the new value")
    except CorruptFile as e:
        bare = text.strip()
        looks_json = bare[:1] in ('{', '[', '"') or bare in ("true", "false", "null")
        if bare and "\n" not in bare and not looks_json and wants_string(schema, current):
            return bare
        hint = ""
        if not looks_json and bare and e.line == 1 and e.column == 1:
            hint = f'; a string needs JSON quotes: "{bare}"'
        raise Refusal(f"not JSON at line {e.line}, column {e.column}: {e.reason}{hint}") \
            from None


@dataclass(frozen=True)
class Problem:
    """One rule the value breaks: where inside it, which rule, and the validator's words."""

    pointer: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"at {self.pointer}: " if self.pointer else ""
        return f"{where}{self.message} [rule {self.rule!r}]"


class ValueChecker:
    """Checks a value against the part of the schema that applies where it goes."""

    def __init__(self, root: Mapping[str, Any] | bool | None,
                 node: Mapping[str, Any] | None) -> None:
        self._validator = None
        if isinstance(root, Mapping) and node is not None:
            # Imported here: jsonschema costs ~100 ms; a file without a schema never pays.
            from jsonschema.validators import validator_for

            cls = validator_for(root)
            # evolve() keeps the root's resolver, so "$ref": "#/..." inside node still works.
            self._validator = cls(root, format_checker=cls.FORMAT_CHECKER).evolve(schema=node)

    def problems(self, value: Any, base: tuple[Any, ...] = ()) -> list[Problem]:
        """What the schema says is wrong with ``value``; pointers are from ``base`` on."""
        if self._validator is None:
            return []
        return [Problem(join_pointer([*base, *e.absolute_path]), str(e.validator), e.message)
                for e in self._validator.iter_errors(value)]
