"""Recovery: explain and resolve what a crash, a power cut or a full disk left beside a state file.

    _model      Examined (one file's facts), Item (its action and reason), Plan, Step, Outcome
    _examine    reading and judging each file (strict JSON? schema? relation to the state file)
    _planner    plan(): the decision table
    _apply      apply() / execute(): carrying a plan out, crash-safe, under the lock
    _text       the human-readable plan and outcome

``stateview._recover`` is the import point the engine, the CLI and the UI use.
"""

from __future__ import annotations

from ._apply import apply, execute
from ._model import ACTIONS, STATES, Examined, Item, Outcome, Plan, Step
from ._planner import plan
from ._text import render_outcome, render_plan

__all__ = [
    "ACTIONS",
    "STATES",
    "Examined",
    "Item",
    "Outcome",
    "Plan",
    "Step",
    "apply",
    "execute",
    "plan",
    "render_outcome",
    "render_plan",
]
