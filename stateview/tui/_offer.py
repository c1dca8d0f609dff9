"""The text of the recovery offer: what is wrong, and the plan ``stateview recover`` would run."""

from __future__ import annotations

import shlex

from .. import _fs, _recovery
from .._errors import StateError
from .._paths import StatePaths
from .._schema import Schema
from ._load import Broken

__all__ = ["recovery_offer"]


def recovery_offer(paths: StatePaths, broken: Broken, schema: Schema | None) -> str:
    """A plain-text recovery offer for the modal (no Textual: testable on its own).

    The plan is the one ``stateview recover`` prints (a dry run: nothing changes here).
    """
    where = f" (line {broken.line}, column {broken.column})" if broken.line else ""
    lines = [f"{paths.given}{where}:", f"  {broken.reason}", ""]
    try:
        plan = _recovery.plan(paths, _fs.get_default(), schema)
    except (StateError, OSError) as e:  # an offer, not a requirement
        lines += [f"(no recovery plan could be worked out: {e})", "",
                  f"Run: stateview recover {shlex.quote(paths.given)}"]
    else:
        lines.append("What `stateview recover` would do:")
        lines.append(_recovery.render_plan(plan, dry_run=True).rstrip())
    return "\n".join(lines)
