"""The ``stateview`` command: parse arguments, hand them to one command module, exit.

Each command lives in its own module with ``register(subparsers)`` (which sets ``run`` as the
parser's ``func``). Command modules import nothing heavy at module level: ``stateview check``
and ``get`` must not pay Textual's import time (about 150 ms).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .._errors import StateError
from . import _check, _get_set_delete, _recover, _tui

__all__ = ["main"]

_COMMANDS = ("view", "check", "recover", "get", "set", "delete", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stateview",
        description="Keep JSON state durably in a human-readable file; watch, check, "
        "recover and edit it.",
        epilog="`stateview FILE` is short for `stateview view FILE`. "
        "Exit codes: 0 fine, 1 problems found, 2 usage error.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"stateview {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _tui.register(sub)
    _check.register(sub)
    _recover.register(sub)
    _get_set_delete.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and not args_list[0].startswith("-") and args_list[0] not in _COMMANDS:
        args_list.insert(0, "view")
    parser = build_parser()
    args = parser.parse_args(args_list)
    # The engine logs what it repaired (a restored backup, say); a person should see it.
    logging.basicConfig(format="stateview: warning: %(message)s", level=logging.WARNING)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.func(args)
    except StateError as e:
        print(f"stateview: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `stateview get big.json | head`: the reader left; nothing to report.
        sys.stderr.close()
        return 1
    return code
