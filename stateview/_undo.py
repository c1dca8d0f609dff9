"""Putting a container's own entries back after a refused or rolled-back change.

Values are compared and merged afterwards (:func:`stateview._document_merge.merge`); what this
restores is identity: the very objects a program may hold as views return to their places.
"""

from __future__ import annotations

from typing import Any

from ._document import detach, touch
from ._views import DictView, ListView

__all__ = ["restore", "shallow"]


def shallow(node: Any) -> dict[str, Any] | list[Any]:
    """The container's entries as they are now (the same objects, not copies)."""
    return dict(node) if type(node) is DictView else list(node)


def restore(node: Any, saved: dict[str, Any] | list[Any]) -> None:
    """Give ``node`` back the entries :func:`shallow` saved, detaching the ones added since."""
    keep = {id(v) for v in (saved.values() if isinstance(saved, dict) else saved)}
    for value in list(dict.values(node) if type(node) is DictView else node):
        if id(value) not in keep:
            detach(value)
    if isinstance(saved, dict):
        dict.clear(node)
        dict.update(node, saved)
        children: Any = saved.items()
    else:
        list.__setitem__(node, slice(None), saved)
        children = ((None, v) for v in saved)
    for key, value in children:
        if type(value) is DictView or type(value) is ListView:
            value._parent, value._key = node, key
    touch(node, whole=True)
