"""What a change callback receives, and the JSON Pointers at which two versions differ.

Local commits report what they changed with the same precision as a reload reports another
writer's commit (``_document_merge.merge``): a changed, added or removed value is named by its own
pointer, a container only when its type changed or it was added or removed whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._jsontext import escape_token
from .types import ChangeSource

__all__ = ["ChangeEvent", "changed_pointers"]


@dataclass(frozen=True)
class ChangeEvent:
    """What a change callback receives.

    Attributes:
        source: ``"local"`` for a commit of this StateFile, ``"external"`` for another
            writer's commit picked up by a reload.
        pointers: JSON Pointers of the values that changed, added or removed (``""`` for the
            whole document), for local commits and transactions as for external ones.
    """

    source: ChangeSource
    pointers: list[str] = field(default_factory=list)


def changed_pointers(old: Any, new: Any) -> list[str]:
    """Sorted pointers of every value that differs between ``old`` and ``new`` (plain JSON)."""
    out: list[str] = []
    _diff(old, new, "", out)
    return sorted(set(out))


def _diff(old: Any, new: Any, base: str, out: list[str]) -> None:
    told, tnew = type(old), type(new)
    if told is dict and tnew is dict:
        for k, v in new.items():
            pointer = f"{base}/{escape_token(k)}"
            if k in old:
                _diff(old[k], v, pointer, out)
            else:
                out.append(pointer)
        out.extend(f"{base}/{escape_token(k)}" for k in old if k not in new)
    elif told is list and tnew is list:
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            _diff(a, b, f"{base}/{i}", out)
        longer = old if len(old) > len(new) else new
        out.extend(f"{base}/{i}" for i in range(min(len(old), len(new)), len(longer)))
    elif told is not tnew or old != new:
        out.append(base)

