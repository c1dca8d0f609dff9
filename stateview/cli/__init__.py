"""The ``stateview`` command: parse arguments, hand them to one command module, exit.

Each command lives in a module named after it (``_check_command``, ``_recover_command``,
``_copy_command``; ``_get_set_delete_commands`` and ``_tui_commands`` for ``view`` and
``demo``), apart from the engine's packages of the same concepts (``stateview._check``,
``stateview._recovery``), with ``register(subparsers)`` (which sets ``run`` as the parser's
``func``). Command modules import nothing heavy at module level: ``stateview check`` and
``get`` must not pay Textual's import time (about 150 ms).
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from .._errors import StateError
from . import (
    _check_command,
    _copy_command,
    _get_set_delete_commands,
    _recover_command,
    _tui_commands,
)
from ._targets import UsageError

__all__ = ["main"]

_COMMANDS = ("view", "check", "recover", "get", "set", "delete", "copy", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stateview",
        description="Keep JSON state durably in a human-readable file (or a PostgreSQL "
        "row); watch, check, recover and edit it.",
        epilog="`stateview FILE` is short for `stateview view FILE`. Where a command takes "
        "a FILE, a postgresql://USER@HOST/DB#DOCUMENT URL names a document in PostgreSQL "
        "(pip install 'stateview[postgres]'). "
        "Exit codes: 0 fine, 1 problems found, 2 usage error.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"stateview {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _tui_commands.register(sub)
    _check_command.register(sub)
    _recover_command.register(sub)
    _get_set_delete_commands.register(sub)
    _copy_command.register(sub)
    return parser


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    # The engine's warnings (a server that would lose commits) are for the person at the
    # terminal: one line, without the Python source location.
    print(f"stateview: warning: {message}", file=sys.stderr)


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
    shown_before, warnings.showwarning = warnings.showwarning, _show_warning
    try:
        code: int = args.func(args)
    except UsageError as e:
        print(f"stateview: error: {e}", file=sys.stderr)
        return 2
    except StateError as e:
        print(f"stateview: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `stateview get big.json | head`: the reader left; nothing to report.
        sys.stderr.close()
        return 1
    finally:
        warnings.showwarning = shown_before
    return code
