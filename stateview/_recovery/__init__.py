"""Recovery: explain and resolve what a crash, a power cut or a full disk left beside a state file.

    _findings   Examined (one file's facts), Item (its action and reason), Plan, Step, Outcome
    _examine    reading and judging each file (strict JSON? schema? relation to the state file)
    _reasons    the sentence a plan gives for each file (what it is, why it is kept)
    _planner    plan(): the decision table
    _apply      apply() / execute(): carrying a plan out, crash-safe, under the lock
    _render     the human-readable plan and outcome
    _heal       heal_on_open(): what ``stateview.open`` does with a damaged or missing file

This package is the import point the engine, the CLI and the UI use
(docs/design.md, "Recovery").
"""

from __future__ import annotations

from ._apply import apply, execute
from ._findings import ACTIONS, STATES, Examined, Item, Outcome, Plan, Step
from ._heal import Candidate, candidates, heal_on_open
from ._planner import plan
from ._render import render_outcome, render_plan

__all__ = [
    "ACTIONS",
    "STATES",
    "Candidate",
    "Examined",
    "Item",
    "Outcome",
    "Plan",
    "Step",
    "apply",
    "candidates",
    "execute",
    "heal_on_open",
    "plan",
    "render_outcome",
    "render_plan",
]
