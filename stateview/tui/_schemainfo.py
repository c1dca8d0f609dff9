"""What a JSON Schema says about one place in the document, for the details pane.

A best-effort walk, not a validator: it follows ``properties``, ``patternProperties``,
``additionalProperties``, ``items``/``prefixItems`` and local ``$ref``s, and takes the first
branch of ``allOf``/``anyOf``/``oneOf`` that has something to say. The verdict on the value
itself comes from :meth:`stateview._schema.Schema.issues`, which is exact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._jsontext import unescape_token
from ._model import Key

__all__ = ["CONSTRAINT_KEYWORDS", "constraints", "subschema"]

CONSTRAINT_KEYWORDS = (
    "enum", "const", "format", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "minItems", "maxItems",
    "uniqueItems", "minProperties", "maxProperties", "required", "additionalProperties",
)


def _deref(root: Mapping[str, Any], node: Any, hops: int = 0) -> Any:
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and hops < 20:
        ref = node["$ref"]
        if not ref.startswith("#"):
            return node  # remote refs are not fetched for a hint
        target: Any = root
        for token in (ref[1:].lstrip("/").split("/") if ref != "#" else []):
            token = unescape_token(token)
            if not isinstance(target, Mapping) or token not in target:
                return node
            target = target[token]
        node, hops = target, hops + 1
    return node


def _step(root: Mapping[str, Any], node: Any, key: Key) -> Any:
    node = _deref(root, node)
    if not isinstance(node, Mapping):
        return None
    if isinstance(key, str):
        props = node.get("properties")
        if isinstance(props, Mapping) and key in props:
            return props[key]
        for pattern, sub in (node.get("patternProperties") or {}).items():
            try:
                if re.search(pattern, key):
                    return sub
            except re.error:
                continue
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            return extra
    else:
        prefix = node.get("prefixItems")
        if isinstance(prefix, list) and key < len(prefix):
            return prefix[key]
        items = node.get("items")
        if isinstance(items, list):  # draft 4-7 tuple form
            return items[key] if key < len(items) else node.get("additionalItems")
        if isinstance(items, Mapping):
            return items
    for combinator in ("allOf", "anyOf", "oneOf"):
        for branch in node.get(combinator) or []:
            found = _step(root, branch, key)
            if found is not None:
                return found
    return None


def subschema(schema: Any, path: tuple[Key, ...] | list[Key]) -> Mapping[str, Any] | None:
    """The schema that applies at ``path``, as far as a simple walk can tell, or ``None``."""
    if not isinstance(schema, Mapping):
        return None
    node: Any = schema
    for key in path:
        node = _step(schema, node, key)
        if node is None:
            return None
    node = _deref(schema, node)
    return node if isinstance(node, Mapping) else None


def constraints(node: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The constraint keywords of a schema node, in a fixed order."""
    return [(k, node[k]) for k in CONSTRAINT_KEYWORDS if k in node]
