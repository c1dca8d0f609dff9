"""``stateview recover FILE [--apply] [-o text|json] [--schema S]``: resolve crash leftovers.

A dry run unless ``--apply``: it lists every file beside the state file (temp files of
interrupted commits, ``.NAME.prev-*.tmp`` versions a commit replaced, backups, set-aside corrupt
copies, the lock file's record), what each one is and what recovery will do with it and why.
``--apply`` carries the plan out under the lock. The decisions are in
:mod:`stateview._recovery._planner`; the text form is :mod:`stateview._recovery._render`.

Exit codes: a dry run exits 0 when there is nothing to do and nothing wrong, 1 when there are
leftovers or problems; ``--apply`` exits 0 when everything was fixed, 1 when something remains
(a live writer holds the lock, no good copy exists, a step failed); 2 is a usage error.

``-o json`` prints one object::

    {
      "version": 1,
      "applied": false,                 # true with --apply
      "exit_code": 1,
      "blocked_by": null,               # the live lock holder's record when it kept us out
      "plan": PLAN,                     # what was found and decided (before applying)
      "steps": [STEP, ...],             # --apply: what was done, in order ([] for a dry run)
      "after": PLAN | null              # --apply: the directory examined again afterwards
    }

    PLAN = {
      "file": "/abs/state.json", "target": "/abs/real.json" (the symlink resolved),
      "schema": "/abs/state.schema.json" | null,
      "state": "good" | "missing" | "unreadable" | "invalid" | "inaccessible",
      "holder": {pid, host, program, since, exclusive, ...} | null,   # a live writer
      "restore_from": "/abs/state.json.bak" | null,
      "actionable": bool,               # --apply would change something
      "clean": bool,                    # nothing wrong (at most a stale lock record)
      "problems": [str, ...],           # what stays wrong after --apply
      "advice": [str, ...],             # what a person can do about it
      "items": [ITEM, ...]              # the state file first, then temp files, .prev files,
    }                                   # backups, corrupt copies, the lock file

    ITEM = {
      "kind": "state" | "temp" | "previous" | "backup" | "corrupt" | "lock",
      "path": str, "name": str, "generation": int | null (backups: 1 = NAME.bak),
      "exists": bool, "size": int | null, "mtime": "2026-11-27T22:15:00Z" | null,
      "age_seconds": float | null, "error": str | null (could not read it),
      "json": "complete" | "incomplete" | null,
      "problem": {"message": str, "line": int | null, "column": int | null} | null,
      "schema": "valid" | "invalid" | "unchecked" | null, "schema_problem": str | null,
      "relation": "same" | "older" | "newer" | "different" | null,   # vs the state file
      "action": "keep" | "remove" | "restore" | "restore-from" | "set-aside"
                | "move-to-backup" | "clear-stale-lock-record",
      "reason": str,
      "to": str | null,                 # set-aside: the NAME.corrupt-<timestamp> path;
                                        # move-to-backup: NAME.bak
      "lock": "held" | "stale" | "free", "holder": {...}    # lock items only
    }

    STEP = {"action": "set-aside" | "restore" | "move-to-backup" | "remove"
                      | "clear-stale-lock-record" | "lock" | "sync-directory",
            "path": str, "to": str | null, "ok": bool, "note": str | null}
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from .._postgres._url import hide_url_passwords
from ._targets import is_url
from ._targets import shown as shown_target

if TYPE_CHECKING:
    from .._recovery import Outcome, Plan

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "recover",
        help="explain and resolve crash leftovers beside a state file (dry run unless --apply)",
        description="List every leftover beside FILE (temp files, backups, set-aside corrupt "
        "copies, the lock record), what it is and what will be done with it. A missing or "
        "unreadable file is restored from the newest good copy; the unreadable bytes are set "
        "aside as FILE.corrupt-<timestamp>, never deleted.",
        epilog="Exit codes: 0 nothing to do (or, with --apply, everything fixed); 1 leftovers "
        "or problems (with --apply: something remains); 2 usage error.",
    )
    parser.add_argument("file", metavar="FILE", help="the state file")
    parser.add_argument("--apply", action="store_true", help="carry the plan out")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text",
                        help="output format (default: text)")
    parser.add_argument("--schema", metavar="S",
                        help="JSON Schema copies must pass (default: STEM.schema.json beside "
                        "FILE, if it exists)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan, maybe apply, report; returns the exit code."""
    from .. import _fs
    from .._errors import SchemaError
    from .._paths import StatePaths
    from .._recovery import apply, plan
    from .._schema import load_schema

    if not args.file:
        print("stateview recover: error: FILE must not be empty", file=sys.stderr)
        return 2
    if is_url(args.file):
        print(f"stateview recover: error: {shown_target(args.file)}: recover is for state files; "
              "a database has no crash leftovers (the server replays its own log), and "
              "`stateview check URL` checks the document", file=sys.stderr)
        return 2
    paths = StatePaths.of(args.file)
    source = args.schema if args.schema is not None else paths.schema_beside()
    try:
        schema = load_schema(source)
    except SchemaError as e:
        how = "" if args.schema else " (fix it, or pass another with --schema)"
        print(f"stateview recover: error: {e}{how}", file=sys.stderr)
        return 2 if args.schema else 1
    fs = _fs.get_default()
    shown = plan(paths, fs, schema)
    if not args.apply:
        code = 0 if shown.clean else 1
        _report(args.output, shown, None, code)
        return code
    outcome = apply(shown, fs)
    code = 0 if outcome.fixed else 1
    _report(args.output, shown, outcome, code)
    return code


def _programs_shown(value: Any) -> Any:
    """``value`` with the URL passwords hidden in every lock record's ``program`` (a record
    an older version wrote holds the writer's whole command line)."""
    if isinstance(value, dict):
        return {k: hide_url_passwords(v) if k == "program" and isinstance(v, str)
                else _programs_shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_programs_shown(v) for v in value]
    return value


def _report(output: str, shown: Plan, outcome: Outcome | None, code: int) -> None:
    from .._recovery import render_outcome, render_plan

    if output == "json":
        doc = {
            "version": 1,
            "applied": outcome is not None,
            "exit_code": code,
            "blocked_by": outcome.blocked if outcome is not None else None,
            "plan": shown.to_dict(),
            "steps": [s.to_dict() for s in outcome.steps] if outcome is not None else [],
            "after": outcome.after.to_dict() if outcome is not None else None,
        }
        sys.stdout.write(json.dumps(_programs_shown(doc), indent=2, ensure_ascii=False) + "\n")
        return
    if outcome is None:
        sys.stdout.write(render_plan(shown))
        return
    sys.stdout.write(render_plan(shown, dry_run=False))
    sys.stdout.write("\n" + render_outcome(outcome))
