"""The human-readable form of a plan and of what ``apply`` did (the CLI and the UI show it)."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Sequence

from .._errors import describe_holder
from ._findings import Examined, Item, Outcome, Plan, Step

__all__ = ["render_outcome", "render_plan"]

_STATE_WORDS = {
    "good": "good",
    "missing": "missing",
    "unreadable": "unreadable (not strict JSON)",
    "invalid": "needs attention",
    "inaccessible": "cannot be read",
}


def render_plan(plan: Plan, *, dry_run: bool = True, command: str = "stateview recover") -> str:
    """The plan, one line per file with its action and reason, then what to run.

    Args:
        plan: what to show.
        dry_run: end with the command that carries the plan out (or "Nothing to recover").
        command: how the reader runs recovery (the UI may offer a key instead).
    """
    lines = [f"{plan.paths.given}: {_STATE_WORDS[plan.state]}"]
    if plan.paths.target != plan.paths.given:
        lines.append(f"  (a symlink to {plan.paths.target})")
    lines.append(f"schema: {plan.schema.source if plan.schema is not None else 'none'}")
    lines.append("")
    lines.extend(_item_lines(plan.items))
    lines.extend(_tail(plan))
    if dry_run and plan.actionable and plan.holder is None:
        lines.append("")
        lines.append("Dry run: nothing was changed. To carry out this plan, run:")
        lines.append(f"  {command} {shlex.quote(plan.paths.given)} --apply")
    elif dry_run and plan.clean:
        lines.append("")
        lines.append("Nothing to recover.")
    return "\n".join(lines) + "\n"


def render_outcome(outcome: Outcome) -> str:
    """What was done, then whether anything is left to fix."""
    given = outcome.plan.paths.given
    if outcome.blocked is not None:
        return (f"{given}: {describe_holder(outcome.blocked)}; nothing was touched.\n"
                "Stop that program (or wait until it exits), then run recovery again.\n")
    lines = [_step_line(step) for step in outcome.steps]
    if not outcome.steps:
        lines.append("Nothing was changed.")
    after = outcome.after
    lines.append("")
    if outcome.fixed:
        lines.append(f"{given}: {_STATE_WORDS[after.state]}; nothing left to recover.")
    else:
        lines.append(f"{given}: {_STATE_WORDS[after.state]}; not everything could be fixed.")
        if any(not s.ok for s in outcome.steps):
            lines.append("A step failed (above); run recovery again once the cause is fixed: "
                         "it picks up where this run stopped.")
        pending = [i for i in after.items if i.action != "keep"]
        lines.extend(_item_lines(pending))
        lines.extend(_tail(after))
    return "\n".join(lines) + "\n"


def _item_lines(items: Sequence[Item]) -> list[str]:
    """One line per file: action, name, facts, reason, in aligned columns."""
    rows = [(item.action, item.file.name, _facts(item.file), item.reason) for item in items]
    if not rows:
        return []
    action_w = len("move-to-backup")  # the long "clear-stale-lock-record" may overflow
    name_w = max(len(r[1]) for r in rows)
    facts_w = max(len(r[2]) for r in rows)
    return [f"  {a:<{action_w}} {n:<{name_w}}  {f:<{facts_w}}  {why}".rstrip()
            for a, n, f, why in rows]


def _tail(plan: Plan) -> list[str]:
    lines: list[str] = []
    if plan.problems:
        lines.append("")
        lines.append("Problems:")
        lines.extend(f"  - {p}" for p in plan.problems)
    if plan.advice:
        lines.append("What to do:")
        lines.extend(f"  - {a}" for a in plan.advice)
    return lines


def _step_line(step: Step) -> str:
    name, to = _base(step.path), _base(step.to)
    done, failed = {
        "set-aside": (f"set aside {name} as {to}", f"could not set {name} aside as {to}"),
        "restore": (f"restored {name} from {to}", f"could not restore {name} from {to}"),
        "clear-stale-lock-record": (f"cleared the stale lock record in {name}",
                                    f"could not clear the stale lock record in {name}"),
        "lock": (f"took the lock {name}", f"could not take the lock {name}"),
        "move-to-backup": (f"moved {name} to {to}", f"could not move {name} to {to}"),
        "sync-directory": (f"synced {name}", f"could not sync the directory {name}"),
    }.get(step.action, (f"removed {name}", f"could not remove {name}"))
    if not step.ok:
        return f"FAILED: {failed}: {step.note}"
    return done + (f" ({step.note})" if step.note else "")


def _facts(x: Examined) -> str:
    if not x.exists:
        return "missing"
    parts: list[str] = []
    if x.size is not None:
        parts.append(_size(x.size))
    if x.mtime_ns is not None:
        parts.append(_age(x.mtime_ns))
    if x.relation is not None and x.kind != "state":
        parts.append({"same": "same as the state file", "older": "older",
                      "newer": "newer", "different": "different"}[x.relation])
    return ", ".join(parts)


def _size(n: int) -> str:
    if n < 10_000:
        return f"{n} B"
    if n < 10_000_000:
        return f"{n // 1000} kB"
    return f"{n // 1_000_000} MB"


def _age(mtime_ns: int) -> str:
    seconds = max(0, int(time.time() - mtime_ns / 1e9))
    if seconds < 60:
        return f"{seconds} s old"
    if seconds < 3600:
        return f"{seconds // 60} min old"
    if seconds < 86400:
        return f"{seconds // 3600} h old"
    return f"{seconds // 86400} d old"


def _base(path: str | None) -> str:
    return os.path.basename(path) if path else "?"
