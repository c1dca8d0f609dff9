"""``stateview check FILE...``: the validator for CI and pre-commit.

A pipeline: arguments -> :class:`~stateview._check.Checker` -> one
:class:`~stateview._check.FileReport` per file -> a text or JSON reporter -> the exit code
(0 every file fine, 1 any problem, 2 usage error, which argparse handles).
"""

from __future__ import annotations

import argparse
import sys

from .._check import Checker, FileReport
from ._check_report import report_json, report_text, use_colour

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "check",
        help="check state files: strict JSON, schema, crash leftovers",
        description="Check state files: readable, strict JSON (RFC 8259), valid against their "
        "schema, and free of crash leftovers. Every problem is reported with line, column and "
        "JSON Pointer. Exit codes: 0 every file fine, 1 a problem found, 2 usage error.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="state files; - reads stdin")
    parser.add_argument("--schema", metavar="S",
                        help="JSON Schema for every file (default: STEM.schema.json beside it)")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text",
                        help="report format (default: text)")
    parser.add_argument("--color", "--colour", choices=("auto", "always", "never"),
                        default="auto", help="colour the text report (auto: on a terminal, "
                        "unless NO_COLOR is set)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only problems; nothing when every file is fine")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also print fine files, backups, lock holders and schemas used")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    checker = Checker(args.schema)
    reports: list[FileReport] = []
    for name in args.files:
        if name == "-":
            reports.append(checker.check_bytes(sys.stdin.buffer.read()))
        else:
            reports.append(checker.check(name))
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        # Keys from the files may be any Unicode (even lone surrogates); never crash printing one.
        out.reconfigure(errors="backslashreplace")
    if args.output == "json":
        report_json(reports, out)
    else:
        report_text(reports, out, colour=use_colour(args.color, out),
                    quiet=args.quiet, verbose=args.verbose)
    return 0 if all(r.ok for r in reports) else 1
