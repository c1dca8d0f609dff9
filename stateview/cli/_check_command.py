"""``stateview check FILE...``: the validator for CI and pre-commit.

A pipeline: arguments -> :class:`~stateview._check.Checker` -> one
:class:`~stateview._check.FileReport` per file -> a text or JSON reporter -> the exit code
(0 every file fine, 1 any problem, 2 usage error, which argparse handles).

A ``postgresql://...#DOC`` URL is checked as its stored text: strict JSON and the schema
(``--schema`` only: a database has no sibling files). Crash leftovers and lock records are
the file engine's; on a database there are none to check, and a note (``-v``) says so.
"""

from __future__ import annotations

import argparse
import sys

from .._check import INFO, Checker, FileReport, Problem
from .._errors import StateError
from .._postgres._url import hide_url_passwords
from ._check_report import report_json, report_text, use_colour
from ._targets import check_url, is_url, open_store, shown

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "check",
        help="check state files: strict JSON, schema, crash leftovers",
        description="Check state files: readable, strict JSON (RFC 8259), valid against their "
        "schema, and free of crash leftovers. Every problem is reported with line, column and "
        "JSON Pointer. A postgresql://...#DOC URL is checked for strict JSON and the schema "
        "(--schema); crash leftovers do not apply to a database. "
        "Exit codes: 0 every file fine, 1 a problem found, 2 usage error.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="state files or postgresql://...#DOC URLs; - reads stdin")
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
    for name in args.files:
        if is_url(name):
            check_url(name)  # a URL without #DOCUMENT is a usage error, before any check
    checker = Checker(args.schema)
    reports: list[FileReport] = []
    for name in args.files:
        if name == "-":
            reports.append(checker.check_bytes(sys.stdin.buffer.read()))
        elif is_url(name):
            reports.append(check_document(checker, name))
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


def check_document(checker: Checker, url: str) -> FileReport:
    """A database document's report: its stored text as strict JSON, and the schema."""
    label = shown(url)
    try:
        with open_store(url) as store:
            snap = store.load()
    except StateError as e:
        message = str(e).removeprefix(label + ": ")
        report = FileReport(label)
        report.problems.append(Problem("unreadable", message))
        return report
    if snap.version is None or snap.data is None:
        report = FileReport(label)
        report.problems.append(Problem(
            "missing", f"no document named {store.url.document!r} in this database"))
        return report
    report = checker.check_bytes(snap.data, label)
    writer = snap.writer
    by = (f", last written by pid {writer.pid} ({hide_url_passwords(writer.program or '?')})"
          if writer else "")
    report.problems.append(Problem(
        "database", f"version {snap.version}{by}: checked its stored text (strict JSON) and "
        "the schema; crash leftovers and lock records are the file engine's and do not apply "
        "to a database", severity=INFO))
    return report
