"""``stateview FILE`` / ``stateview view FILE`` (the live UI) and ``stateview demo``.

Textual is imported inside :func:`run_view` and :func:`run_demo` only: it costs about 150 ms
of import time that ``stateview check`` and ``get`` must not pay.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from .._errors import StateFileMissing
from .._paths import StatePaths
from ._targets import is_url, load, open_store

if TYPE_CHECKING:
    from .._schema import Schema

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    view = sub.add_parser(
        "view", help="watch a state file live in a terminal UI (also: stateview FILE)",
        description="A live tree of the state file: it follows other processes' commits, "
        "shows the schema verdict and the lock holder, and edits through the engine.")
    view.add_argument("file", metavar="FILE",
                      help="the state file, or a postgresql://USER@HOST/DB#DOCUMENT URL "
                      "(followed through LISTEN/NOTIFY)")
    view.add_argument("--schema", metavar="S",
                      help="JSON Schema (default: STEM.schema.json beside FILE, if present)")
    view.add_argument("--readonly", action="store_true", help="never write to the file")
    view.set_defaults(func=run_view)

    demo = sub.add_parser(
        "demo", help="a live demo: a state file changed by a background writer, in the UI",
        description="Creates demo.json and demo.schema.json, starts a writer process that "
        "commits a change every half second, and opens the UI on the file. q quits and "
        "stops the writer.")
    demo.add_argument("--dir", metavar="D",
                      help="where to put the demo files (default: a new temporary directory)")
    demo.set_defaults(func=run_demo)


def _schema_for(file: str, given: str | None) -> Schema | None:
    from .._schema import load_schema  # jsonschema: only for the commands that use it

    if given is not None:
        return load_schema(given)
    sibling = StatePaths.of(file).schema_beside()
    return load_schema(sibling) if sibling is not None else None


def run_view(args: argparse.Namespace) -> int:
    if is_url(args.file):
        return _view_url(args)
    paths = StatePaths.of(args.file)
    if not os.path.lexists(paths.target) and not paths.leftovers():
        raise StateFileMissing(args.file)
    if os.path.isdir(paths.target):
        print(f"stateview: error: {args.file} is a directory, not a state file",
              file=sys.stderr)
        return 2
    schema = _schema_for(args.file, args.schema)
    from ..tui.app import StateViewApp  # Textual: ~150 ms, only for the UI

    StateViewApp(args.file, schema, readonly=args.readonly).run()
    return 0


def _view_url(args: argparse.Namespace) -> int:
    """The UI on a database document: refused at once if it cannot be read at all."""
    from .._schema import load_schema

    with open_store(args.file) as store:
        load(store)  # the server is up, lets us in, and the document exists
    schema = load_schema(args.schema) if args.schema is not None else None
    from ..tui.app import StateViewApp  # Textual: ~150 ms, only for the UI

    StateViewApp(args.file, schema, readonly=args.readonly).run()
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from ..tui.demo import run  # Textual: ~150 ms, only for the UI

    return run(args.dir)
